"""Change log benchmark: what the log costs a write, and how fast a commit reaches a listener.

    .venv/bin/python -m bench.change_log_benchmark --writes 2000 --samples 200

Starts an embedded PostgreSQL in a temporary folder (or uses a fresh database on the server in
VARDKEDJA_DATABASE_URL), migrates it, and then:

1. write throughput: single-row INSERT transactions (as a mutation writes a diagnosis) from 4
   concurrent connections, in alternating rounds with the change log triggers enabled and
   disabled (`ALTER TABLE diagnosis DISABLE TRIGGER USER`); the ratio of the medians;
2. commit -> subscription latency: two ChangeDispatchers (the listener of two server
   processes); the writer wakes its own after COMMIT (as the GraphQL endpoint does), which
   NOTIFYs the other; the time from before the write's COMMIT to the entry reaching a
   subscriber's queue in each (p50, p99). The policy decision and the WebSocket frame of a
   real subscription come on top (a few milliseconds: one transaction with a decision and a
   row);
3. commit -> webhook latency: the webhook worker of a "server process" woken by its listener,
   the write from another; the time from before COMMIT to a local receiver getting the signed
   POST (p50, p99).

Writes bench/results/change-log.json and a line in bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import statistics
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import asyncpg

from app import migrate
from app.changes.notify import HEAD, ChangeDispatcher
from app.changes.webhooks import run_worker
from app.db import EmbeddedServer, PooledDatabase, to_plain_url

BENCH_DIR = Path(__file__).resolve().parent
RESULTS = BENCH_DIR / "results"
README = BENCH_DIR / "README.md"
SECTION = "## Change log"
SECTION_TEXT = """
`bench/change_log_benchmark.py` measures what the change log (docs/changes.md) costs a write:
single-row INSERT transactions from 4 connections, in alternating rounds with the log's
triggers on and off (ratio of the medians; under 1.10 is the target), and the latency from a
write's COMMIT to the entry reaching a subscription's queue in the writing process and in
another one, and to a webhook receiver getting the POST (p50 / p99, ms). `load` is the
1-minute load average at the start: the machine is shared.

    .venv/bin/python -m bench.change_log_benchmark --writes 2000 --samples 200

"""
SECTION_TEXT += (
    "| date (UTC) | writes/round | on writes/s | off writes/s | cost (off/on) | same process"
    " p50/p99 | other process p50/p99 | webhook p50/p99 | load |\n"
    "|---|---|---|---|---|---|---|---|---|\n"
)
CONCURRENCY = 4
ROUNDS = 3


async def _world(url: str) -> tuple[uuid.UUID, uuid.UUID, uuid.UUID]:
    provider, unit, patient = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(
            "INSERT INTO care_provider (id, hsa_id, name, organisation_number, kind, public)"
            " VALUES ($1, 'SE2321000016-BENCH', 'Region Bench', '2321000016', 'region', true)",
            provider,
        )
        await conn.execute(
            "INSERT INTO care_unit (id, hsa_id, name, care_provider_id, kind)"
            " VALUES ($1, 'SE2321000016-BENCHU', 'VC Bench', $2, 'primary_care')",
            unit,
            provider,
        )
        await conn.execute(
            "INSERT INTO patient (id, identifier_kind, identifier, given_name, family_name,"
            " birth_date, sex, protected_identity, created_at, updated_at, version)"
            " VALUES ($1, 'personnummer', '191212121212', 'Tolvan', 'Tolvansson', '1912-12-12',"
            " 'male', false, now(), now(), 1)",
            patient,
        )
    finally:
        await conn.close()
    return provider, unit, patient


INSERT = (
    "INSERT INTO diagnosis (patient_id, id, created_at, updated_at, version, document_id,"
    " source_system_hsa_id, event_time, author_time, care_provider_id, care_unit_id,"
    " approved_for_patient, nullified, code, display, diagnosis_type)"
    " VALUES ($1, $2, now(), now(), 1, $3, 'SE0000000000-bench', now(), now(), $4, $5,"
    " true, false, 'J06.9', 'Övre luftvägsinfektion', 'huvuddiagnos')"
)


async def _write(conn: asyncpg.Connection, world: tuple[uuid.UUID, uuid.UUID, uuid.UUID]) -> None:
    provider, unit, patient = world
    async with conn.transaction():
        await conn.execute(INSERT, patient, uuid.uuid4(), uuid.uuid4().hex, provider, unit)


async def _round(pool: asyncpg.Pool, world: Any, writes: int) -> float:
    per = writes // CONCURRENCY

    async def worker() -> None:
        async with pool.acquire() as conn:
            for _ in range(per):
                await _write(conn, world)

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    return per * CONCURRENCY / (time.perf_counter() - start)


async def _throughput(url: str, world: Any, writes: int) -> tuple[float, float]:
    pool = await asyncpg.create_pool(url, min_size=CONCURRENCY, max_size=CONCURRENCY)
    on: list[float] = []
    off: list[float] = []
    try:
        await _round(pool, world, writes // 4)  # warm-up
        for _ in range(ROUNDS):
            async with pool.acquire() as conn:
                await conn.execute("ALTER TABLE diagnosis ENABLE TRIGGER USER")
            on.append(await _round(pool, world, writes))
            async with pool.acquire() as conn:
                await conn.execute("ALTER TABLE diagnosis DISABLE TRIGGER USER")
            off.append(await _round(pool, world, writes))
        async with pool.acquire() as conn:
            await conn.execute("ALTER TABLE diagnosis ENABLE TRIGGER USER")
    finally:
        await pool.close()
    return statistics.median(on), statistics.median(off)


async def _subscription_latency(url: str, world: Any, samples: int) -> dict[str, list[float]]:
    """Commit -> subscriber queue, in the writing process and in another one.

    Two dispatchers stand for two server processes (each has its own listening connection);
    the writer calls `committed()` on its own, as the GraphQL endpoint does after a write."""
    local, remote = ChangeDispatcher(url), ChangeDispatcher(url)
    for dispatcher in (local, remote):
        dispatcher.start()
        await asyncio.wait_for(dispatcher.ready.wait(), 10)
    here = local.subscribe(frozenset({world[2]}))
    there = remote.subscribe(frozenset({world[2]}))
    conn = await asyncpg.connect(url)
    found: dict[str, list[float]] = {"local": [], "remote": []}
    try:
        for _ in range(samples):
            start = time.perf_counter()
            await _write(conn, world)
            local.committed()

            near, far = await asyncio.gather(_arrival(here, start), _arrival(there, start))
            found["local"].append(near)
            found["remote"].append(far)
    finally:
        await conn.close()
        for dispatcher in (local, remote):
            await dispatcher.stop()
    return found


async def _arrival(subscriber: Any, start: float) -> float:
    await asyncio.wait_for(subscriber.queue.get(), 10)
    return (time.perf_counter() - start) * 1000


class _Receiver:
    """A local webhook endpoint that notes when each delivery arrived."""

    def __init__(self) -> None:
        self.arrived: asyncio.Queue[float] = asyncio.Queue()
        loop = asyncio.get_running_loop()
        arrived = self.arrived

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers["content-length"]))
                loop.call_soon_threadsafe(arrived.put_nowait, time.perf_counter())
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


async def _webhook_latency(url: str, world: Any, samples: int) -> list[float]:
    """Commit -> a signed POST received, with the server process's webhook worker woken by its
    change listener (as `serve` runs it); the writer is another process (a second listener)."""
    receiver = _Receiver()
    conn = await asyncpg.connect(url)
    head = await conn.fetchrow(HEAD)
    await conn.execute(
        "INSERT INTO webhook (id, client_id, url, secret, categories, care_unit_ids, cursor_txid,"
        " cursor_position, active, created_at) VALUES ($1, 'bench', $2, 'bench-secret', '[]',"
        " '[]', $3, $4, true, now())",
        uuid.uuid4(),
        receiver.url,
        head["txid"] if head else 0,
        head["position"] if head else 0,
    )
    writer, server = ChangeDispatcher(url), ChangeDispatcher(url)
    database = PooledDatabase(url, pool_size=4)
    database.start()
    for dispatcher in (writer, server):
        dispatcher.start()
        await asyncio.wait_for(dispatcher.ready.wait(), 10)
    worker = asyncio.create_task(run_worker(database.transaction, wake=server.new_entries))
    latencies = []
    try:
        for _ in range(samples):
            start = time.perf_counter()
            await _write(conn, world)
            writer.committed()
            arrived = await asyncio.wait_for(receiver.arrived.get(), 10)
            latencies.append((arrived - start) * 1000)
    finally:
        worker.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await worker
        for dispatcher in (writer, server):
            await dispatcher.stop()
        await database.stop()
        await conn.execute("UPDATE webhook SET active = false WHERE client_id = 'bench'")
        await conn.close()
        receiver.close()
    return latencies


def _percentiles(values: list[float]) -> tuple[float, float]:
    ordered = sorted(values)
    return (
        round(statistics.median(ordered), 2),
        round(ordered[max(0, int(len(ordered) * 0.99) - 1)], 2),
    )


async def measure(url: str, writes: int, samples: int) -> dict[str, Any]:
    world = await _world(url)
    on, off = await _throughput(url, world, writes)
    subscription = await _subscription_latency(url, world, samples)
    webhook = await _webhook_latency(url, world, samples)
    local, remote, hook = (
        _percentiles(subscription["local"]),
        _percentiles(subscription["remote"]),
        _percentiles(webhook),
    )
    return {
        "writes_per_round": writes,
        "on_writes_per_s": round(on, 1),
        "off_writes_per_s": round(off, 1),
        "cost_ratio": round(off / on, 3),
        "latency_samples": samples,
        "subscription_local_p50_ms": local[0],
        "subscription_local_p99_ms": local[1],
        "subscription_other_process_p50_ms": remote[0],
        "subscription_other_process_p99_ms": remote[1],
        "webhook_p50_ms": hook[0],
        "webhook_p99_ms": hook[1],
    }


@contextmanager
def bench_database() -> Iterator[tuple[str, Path]]:
    """A migrated database: a fresh embedded server, or the one in VARDKEDJA_DATABASE_URL; and
    a scratch folder. Both are removed afterwards."""
    folder = Path(tempfile.mkdtemp(prefix="vardkedja-bench-"))
    folder.chmod(0o755)
    server = None
    try:
        if os.environ.get("VARDKEDJA_DATABASE_URL"):
            url = to_plain_url(os.environ["VARDKEDJA_DATABASE_URL"])
        else:
            server = EmbeddedServer(folder / "pgdata", delete_on_stop=True)
            url = server.start()
        migrate.upgrade(url)
        yield url, folder
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(folder, ignore_errors=True)


def record(name: str, result: dict[str, Any], load: float) -> dict[str, Any]:
    """`result` with its date and load, written to bench/results/<name>.json."""
    result = result | {"date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M"), "load": round(load, 2)}
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps(result, indent=2) + "\n")
    return result


def readme_row(section: str, section_text: str, line: str) -> None:
    """Put `line` first in the table of `section` in bench/README.md (made when missing)."""
    text = README.read_text() if README.exists() else ""
    if section not in text:
        text = text.rstrip("\n") + "\n\n" + section + "\n" + section_text
    head, _, tail = text.partition(section)
    table_end = tail.index("|---|")
    row_start = tail.index("\n", table_end) + 1
    README.write_text(head + section + tail[:row_start] + line + tail[row_start:])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--writes", type=int, default=2000)
    parser.add_argument("--samples", type=int, default=200, help="latency samples of each kind")
    args = parser.parse_args()
    load = os.getloadavg()[0]
    with bench_database() as (url, _):
        result = record("change-log", asyncio.run(measure(url, args.writes, args.samples)), load)
    r = result
    readme_row(
        SECTION,
        SECTION_TEXT,
        f"| {r['date']} | {r['writes_per_round']:,} | {r['on_writes_per_s']:,} |"
        f" {r['off_writes_per_s']:,} | {r['cost_ratio']} |"
        f" {r['subscription_local_p50_ms']} / {r['subscription_local_p99_ms']} |"
        f" {r['subscription_other_process_p50_ms']} / {r['subscription_other_process_p99_ms']} |"
        f" {r['webhook_p50_ms']} / {r['webhook_p99_ms']} | {r['load']} |\n",
    )
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
