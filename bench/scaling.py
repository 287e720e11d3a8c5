"""Scaling across API processes (issue 16): 1, 2 and 4 vardkedja processes behind one
PgBouncer (transaction pooling) in front of one PostgreSQL, on the emergency workload.

Each process is the benchmark's uvicorn app with VARDKEDJA_PGBOUNCER=true and the same audit
key; the load generator's workers are spread over the processes (client-side balancing, as a
load balancer would), at the same total concurrency for every count. The result is req/s per
count and its ratio to one process. The machine is shared: the 1-minute load average before
and after each segment is recorded with it.

Where the CPU goes, per request: each measured segment also records the CPU time (user +
system, from /proc, children included) of the API processes, of PostgreSQL (the postmaster
and its backends), of PgBouncer and of this process (the load generator), and the machine's
busy CPU time (/proc/stat, so what others ran too). With few cores req/s stops at the cores
divided by the CPU a request costs all of them together; the API tier's share, and whether
it stays the same per request as processes are added, is what says how far more processes
on more cores would go.

    .venv/bin/python -m bench.scaling --size 300 --duration 10
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from bench.fixture import Fixture, choose_fixture
from bench.loadgen import drive, graphql_post, http_factory
from bench.procs import BENCH_DIR, REPO_DIR, BenchDatabase, ServerProcess, free_port, ours_argv
from bench.run import BENCH_AUDIT_KEY, BENCH_SECRET, DATA_DIR, prepare_dataset, say
from bench.workloads.emergency import Emergency
from tests.integration.pgbouncer import running_pgbouncer

RESULTS = BENCH_DIR / "results"
TICKS = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> list[str]:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def _children() -> dict[int, list[int]]:
    """Every live process's children (by /proc)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int(_stat(int(entry.name))[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(parent, []).append(int(entry.name))
    return children


def tree_cpu(pid: int, children: dict[int, list[int]]) -> float:
    """CPU seconds of `pid`, its reaped children (cutime, cstime) and its live descendants:
    a backend that exits moves from the last to the second, so the sum only grows."""
    try:
        fields = _stat(pid)
    except OSError:
        return 0.0
    own = sum(int(fields[i]) for i in (11, 12, 13, 14)) / TICKS
    return own + sum(tree_cpu(child, children) for child in children.get(pid, []))


def machine_busy() -> float:
    """CPU seconds the whole machine has been busy (all cores; not idle, not iowait)."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    return (sum(values[:8]) - values[3] - values[4]) / TICKS


def cpu_snapshot(servers: list[ServerProcess], postgres: int, bouncer: int) -> dict[str, float]:
    children = _children()
    self_usage = resource.getrusage(resource.RUSAGE_SELF)
    return {
        "api": sum(tree_cpu(server.pid, children) for server in servers),
        "postgres": tree_cpu(postgres, children),
        "pgbouncer": tree_cpu(bouncer, children),
        "loadgen": self_usage.ru_utime + self_usage.ru_stime,
        "machine": machine_busy(),
    }


def _bouncer_pid() -> int:
    """PgBouncer, which running_pgbouncer started as a child of this process."""
    children = _children().get(os.getpid(), [])
    found = [
        pid for pid in children if Path(f"/proc/{pid}/comm").read_text().strip() == "pgbouncer"
    ]
    assert len(found) == 1, found
    return found[0]


def cpu_per_request(
    before: dict[str, float], after: dict[str, float], requests: int, seconds: float
) -> dict[str, Any]:
    spent = {k: after[k] - before[k] for k in before}
    ours = sum(v for k, v in spent.items() if k != "machine")
    per = {k: round(v * 1000 / max(requests, 1), 2) for k, v in spent.items() if k != "machine"}
    return {
        "cpu_ms_per_request": per | {"all_of_ours": round(ours * 1000 / max(requests, 1), 2)},
        "busy_cores": {
            "ours": round(ours / seconds, 2),
            "others": round(max(spent["machine"] - ours, 0.0) / seconds, 2),
        },
    }


def _servers(
    count: int, bouncer: str, direct: str, pool_size: int, logs: Path
) -> list[ServerProcess]:
    servers = []
    for n in range(count):
        port = free_port()
        env = {
            "VARDKEDJA_DATABASE_URL": bouncer,
            "VARDKEDJA_PGBOUNCER": "true",
            "VARDKEDJA_DIRECT_URL": direct,
            "VARDKEDJA_JWT_SECRET": BENCH_SECRET,
            "VARDKEDJA_AUDIT_KEY": BENCH_AUDIT_KEY,
            "VARDKEDJA_POOL_SIZE": str(pool_size),
            "VARDKEDJA_RATE_LIMIT_PER_SECOND": "0",
            "VARDKEDJA_RATE_LIMIT_ADDRESS_PER_SECOND": "0",
        }
        log = logs / f"scaling-{count}-{n}.log"
        servers.append(
            ServerProcess(f"vardkedja-{n}", ours_argv(port), port, env, REPO_DIR, log, "/healthz")
        )
    return servers


async def _segment(
    servers: list[ServerProcess], fx: Fixture, concurrency: int, duration: float
) -> dict[str, Any]:
    workload = Emergency()
    ports = [server.port for server in servers]
    samples: dict[str, str] = {}

    def request(port: int) -> Any:
        return lambda i: graphql_post(
            port, workload.ours_request(fx, i), fx.ours_headers, "/graphql"
        )

    factories = [http_factory(p, request(p), None, samples) for p in ports]
    turn = iter(range(1_000_000))

    async def spread() -> Any:
        return await factories[next(turn) % len(factories)]()

    result = await drive(spread, concurrency=concurrency, duration=duration, max_requests=10**9)
    return result.summary() | {"error_samples": samples}


def _postmaster(db: BenchDatabase) -> int:
    assert db.pid is not None
    return db.pid


def measure(args: argparse.Namespace) -> dict[str, Any]:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    db = prepare_dataset(args.size, args.seed, name="scaling")
    rows: list[dict[str, Any]] = []
    try:
        fx = asyncio.run(choose_fixture(db.url, BENCH_SECRET, stamp))
        with running_pgbouncer(db.url, server_sessions=args.server_sessions) as bouncer:
            bouncer_pid = _bouncer_pid()
            for count in args.processes:
                servers = _servers(count, bouncer, db.url, args.pool_size, DATA_DIR / "logs")
                started: list[ServerProcess] = []
                try:
                    for server in servers:
                        server.start()
                        started.append(server)
                    asyncio.run(_segment(servers, fx, args.concurrency, args.warmup))
                    load_before = os.getloadavg()[0]
                    before = cpu_snapshot(servers, _postmaster(db), bouncer_pid)
                    began = time.monotonic()
                    summary = asyncio.run(_segment(servers, fx, args.concurrency, args.duration))
                    spent = time.monotonic() - began
                    after = cpu_snapshot(servers, _postmaster(db), bouncer_pid)
                    load_after = os.getloadavg()[0]
                    summary |= cpu_per_request(before, after, summary["requests"], spent)
                finally:
                    for server in started:
                        server.stop()
                row = {"processes": count, "load_before": load_before, "load_after": load_after}
                rows.append(row | summary)
                say(f"{count} process(es): {summary['rps']:.0f} req/s, {summary['errors']} errors")
    finally:
        db.stop()
    one = rows[0]["rps"] or 1.0
    for row in rows:
        row["ratio"] = row["rps"] / one
    return {
        "date": stamp,
        "options": {k: v for k, v in vars(args).items()},
        "cores": os.cpu_count(),
        "rows": rows,
    }


def table(result: dict[str, Any]) -> str:
    lines = [
        "| processes | req/s | ratio to 1 | p50 ms | p99 ms | errors | load before-after"
        " | CPU ms/request: API, PostgreSQL, PgBouncer, load generator (all) | busy cores:"
        " ours, others |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in result["rows"]:
        cpu, cores = r["cpu_ms_per_request"], r["busy_cores"]
        lines.append(
            f"| {r['processes']} | {r['rps']:.0f} | {r['ratio']:.2f} | {r['p50_ms']:.1f} "
            f"| {r['p99_ms']:.1f} | {r['errors']} | {r['load_before']:.1f}-{r['load_after']:.1f} "
            f"| {cpu['api']:.2f}, {cpu['postgres']:.2f}, {cpu['pgbouncer']:.2f}, "
            f"{cpu['loadgen']:.2f} ({cpu['all_of_ours']:.2f}) "
            f"| {cores['ours']:.2f}, {cores['others']:.2f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=300, help="patients in the dataset")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--processes", type=lambda s: [int(p) for p in s.split(",")], default=[1, 2, 4]
    )
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per count")
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--concurrency", type=int, default=16, help="requests in flight")
    parser.add_argument("--pool-size", type=int, default=4, help="connections per process")
    parser.add_argument("--server-sessions", type=int, default=8, help="PgBouncer pool size")
    args = parser.parse_args(argv)
    started = time.monotonic()
    result = measure(args)
    result["seconds"] = time.monotonic() - started
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"scaling-{result['date']}.json"
    path.write_bytes(orjson.dumps(result, option=orjson.OPT_INDENT_2))
    print(table(result))
    print(f"written to {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
