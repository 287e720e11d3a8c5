"""The emergency overview with a large audit trail: `audit_entry` partitioned by month
(migration 0018) against the same rows in one heap (as before 0018).

    .venv/bin/python -m bench.audit_partitions [--rows 1000000] [--patients 500] [--rounds 4]

Two databases on the PostgreSQL server of VARDKEDJA_BENCH_SERVER_URL (default the local one),
migrated and seeded alike; in one, `audit_entry` is turned back into a plain table with the
indexes it had. Both get the same `--rows` entries spread over the last year in id order (as a
trail grows), then VACUUM ANALYZE. The workload is policy_overhead's: in-process ASGI requests
of EmergencyOverview by the fixture's clinician (purpose TREAT), each patient asked of both
databases back to back in a rotating order. Measured per request: wall time (median of paired
ratios) and the CPU time of the database backends serving each database (from /proc, so the
server must run on this machine); and the audit hot path alone (`audit.flush` of one entry:
chain lock, chain head, INSERT). Writes bench/results/audit-partitions.json (for 1 M rows;
audit-partitions-10m.json for --rows 10000000).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from app import audit, migrate
from app.access.principal import Principal, PrincipalKind, Purpose
from app.audit_partitions import TABLE, guard
from app.db import PooledDatabase, in_transaction, to_plain_url
from app.main import create_app
from app.partitions import create_month, month_start
from app.seed import seed_population
from app.settings import Settings
from bench.fixture import choose_fixture

RESULTS = Path(__file__).resolve().parent / "results"


def results_file(rows: int) -> Path:
    """audit-partitions.json for the default million rows, else one per size (-10m)."""
    if rows == 1_000_000:
        return RESULTS / "audit-partitions.json"
    size = f"{rows // 1_000_000}m" if rows % 1_000_000 == 0 else str(rows)
    return RESULTS / f"audit-partitions-{size}.json"


OPERATION = Path(__file__).resolve().parent.parent / "schema" / "operations"
SECRET = "audit-partitions-benchmark-secret-0123456789"
KINDS = ("heap", "partitioned")
# As audit_entry was before migration 0018 (the bench needs no trigger).
UNPARTITION = [
    f"CREATE TABLE {TABLE}_heap (LIKE {TABLE} INCLUDING DEFAULTS INCLUDING IDENTITY)",
    f"DROP TABLE {TABLE}",
    f"ALTER TABLE {TABLE}_heap RENAME TO {TABLE}",
    f"ALTER TABLE {TABLE} ADD CONSTRAINT pk_{TABLE} PRIMARY KEY (id)",
    f"CREATE INDEX ix_{TABLE}_patient_time ON {TABLE} (patient_id, occurred_at)",
    f"CREATE INDEX ix_{TABLE}_chain_id ON {TABLE} (chain, id)",
]
# `rows` entries over the last 365 days, oldest first, on the 16 chains, about the seeded
# patients (a third) and others; the hashes only have to look like hashes here.
FILL = f"""
INSERT INTO {TABLE} (occurred_at, principal_kind, principal_id, care_unit_hsa_id, patient_id,
  purpose, action, operation, resources, outcome, reason, review_required, chain, prev_hash, hash)
SELECT now() - interval '365 days' * (1 - g::float8 / $3::bigint),
  'clinician', 'SE2321000016-B' || (g % 500), 'SE2321000016-U' || (g % 40),
  CASE WHEN g % 3 = 0 THEN ids[1 + g % array_length(ids, 1)] ELSE gen_random_uuid() END,
  'TREAT', 'read', 'EmergencyOverview', '["CareDocument:x", "Diagnosis:y"]', 'disclosed',
  'care relationship', false, g % 16,
  md5((g - 16)::text) || md5(g::text), md5(g::text) || md5(g::text)
FROM generate_series($1::bigint, $2::bigint) g, (SELECT array_agg(id) AS ids FROM patient) p
"""


def _with_database(server: str, name: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(to_plain_url(server)).set(database=name).render_as_string(hide_password=False)


async def _admin(server: str, sql: str) -> None:
    conn = await asyncpg.connect(to_plain_url(server))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def build(server: str, kind: str, rows: int, patients: int) -> str:
    name = f"vardkedja_bench_audit_{kind}"
    asyncio.run(_admin(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    asyncio.run(_admin(server, f'CREATE DATABASE "{name}"'))
    url = _with_database(server, name)
    migrate.upgrade(url)
    asyncio.run(seed_population(url, patients=patients, seed=1))

    async def shape(conn: Any) -> None:
        from sqlalchemy import text

        if kind == "heap":
            for statement in UNPARTITION:
                await conn.execute(text(statement))
            return
        start = month_start(datetime.now(UTC) - timedelta(days=366))
        while start < month_start(datetime.now(UTC)):
            await create_month(conn, TABLE, start, guard=lambda n: guard(conn, n))
            start = month_start(start + timedelta(days=32))

    asyncio.run(in_transaction(url, shape))
    asyncio.run(_fill(url, rows))
    return url


async def _fill(url: str, rows: int) -> None:
    conn = await asyncpg.connect(to_plain_url(url))
    try:
        step = 250_000
        for first in range(1, rows + 1, step):
            await conn.execute(FILL, first, min(first + step - 1, rows), rows)
        await conn.execute(f"VACUUM ANALYZE {TABLE}")
    finally:
        await conn.close()


def _backend_cpu(pids: list[int]) -> float:
    """CPU seconds (user + system) the backends have used so far."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])
    return total / ticks


async def _pids(url: str) -> list[int]:
    conn = await asyncpg.connect(to_plain_url(url))
    try:
        name = await conn.fetchval("SELECT current_database()")
        rows = await conn.fetch(
            "SELECT pid FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
            name,
        )
        return [r["pid"] for r in rows]
    finally:
        await conn.close()


async def measure(urls: dict[str, str], rounds: int, patients: int) -> dict[str, Any]:
    query = (OPERATION / "EmergencyOverview.graphql").read_text()
    fx = await choose_fixture(urls["heap"], SECRET, "audit-partitions")
    chosen = [p.personnummer for p in fx.patients][:patients]
    settings = Settings(
        jwt_secret=SECRET,
        audit_key="audit-partitions-key",
        rate_limit_per_second=0,
        rate_limit_address_per_second=0,
    )
    dbs = {k: PooledDatabase(urls[k], pool_size=2) for k in KINDS}
    clients = {}
    for kind, db in dbs.items():
        db.start()
        transport = httpx.ASGITransport(app=create_app(settings, db=db))
        clients[kind] = httpx.AsyncClient(transport=transport, base_url="http://bench")
    latencies: dict[str, list[float]] = {k: [] for k in KINDS}

    async def ask(kind: str, personnummer: str) -> float:
        body = {
            "query": query,
            "operationName": "EmergencyOverview",
            "variables": {"personnummer": personnummer},
        }
        started = time.perf_counter()
        response = await clients[kind].post("/graphql", json=body, headers=fx.ours_headers)
        elapsed = time.perf_counter() - started
        if response.status_code != 200 or response.json().get("errors"):
            raise SystemExit(f"{kind}: {response.status_code} {response.text[:300]}")
        return elapsed

    try:
        for personnummer in chosen:  # warm up: plans, caches, pool connections
            for kind in KINDS:
                await ask(kind, personnummer)
        pids = {k: await _pids(urls[k]) for k in KINDS}
        cpu_before = {k: _backend_cpu(pids[k]) for k in KINDS}
        for round_ in range(rounds):
            for i, personnummer in enumerate(chosen):
                order = KINDS if (round_ + i) % 2 == 0 else KINDS[::-1]
                for kind in order:
                    latencies[kind].append(await ask(kind, personnummer))
        cpu = {k: _backend_cpu(pids[k]) - cpu_before[k] for k in KINDS}
        flush = await _flushes(dbs, 300)
    finally:
        for kind in KINDS:
            await clients[kind].aclose()
            await dbs[kind].stop()
    requests = len(latencies["heap"])
    paired = statistics.median(
        p / h for p, h in zip(latencies["partitioned"], latencies["heap"], strict=True)
    )
    return {
        "requests_each": requests,
        "paired_latency_ratio_partitioned_to_heap": round(paired, 3),
        "database_cpu_ms_per_request": {k: round(cpu[k] * 1000 / requests, 3) for k in KINDS},
        "database_cpu_ratio_partitioned_to_heap": round(cpu["partitioned"] / cpu["heap"], 3),
        "median_ms": {k: round(statistics.median(latencies[k]) * 1000, 3) for k in KINDS},
        "audit_flush_median_ms": flush,
    }


async def _flushes(dbs: dict[str, PooledDatabase], count: int) -> dict[str, float]:
    """The audit hot path alone: one entry per flush and transaction, on the chains in turn,
    alternating between the databases; the median per database, and of the paired ratios."""
    principal = Principal(
        kind=PrincipalKind.CLINICIAN, subject="SE2321000016-BENCH", purpose=Purpose.TREAT
    )
    times: dict[str, list[float]] = {k: [] for k in KINDS}
    for i in range(count):
        for kind in KINDS if i % 2 == 0 else KINDS[::-1]:
            buffer = audit.AuditBuffer(chain_key=b"audit-partitions-key")
            buffer.disclose(uuid.uuid4(), "CareDocument", uuid.uuid4())
            started = time.perf_counter()
            async with dbs[kind].transaction() as conn:
                await audit.flush(conn, buffer, principal, "bench")
            times[kind].append(time.perf_counter() - started)
    paired = statistics.median(
        p / h for p, h in zip(times["partitioned"], times["heap"], strict=True)
    )
    return {
        **{k: round(statistics.median(times[k]) * 1000, 3) for k in KINDS},
        "paired_ratio_partitioned_to_heap": round(paired, 3),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="audit entries in each")
    parser.add_argument("--patients", type=int, default=500, help="seeded patients in each")
    parser.add_argument("--asked", type=int, default=40, help="patients asked per round")
    parser.add_argument("--rounds", type=int, default=4)
    args = parser.parse_args(argv)
    server = os.environ.get(
        "VARDKEDJA_BENCH_SERVER_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
    )
    started = time.perf_counter()
    urls = {kind: build(server, kind, args.rows, args.patients) for kind in KINDS}
    built = time.perf_counter() - started
    try:
        results = asyncio.run(measure(urls, args.rounds, args.asked))
    finally:
        for kind in KINDS:
            name = f"vardkedja_bench_audit_{kind}"
            asyncio.run(_admin(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    report = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M"),
        "operation": "EmergencyOverview (TREAT)",
        "audit_rows_each": args.rows,
        "seeded_patients": args.patients,
        "rounds": args.rounds,
        "build_seconds": round(built, 1),
        "load_average": os.getloadavg()[0],
        **results,
    }
    out = results_file(args.rows)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
