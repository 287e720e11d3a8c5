"""Profile vardkedja under load with pyinstrument: where does a request's time go?

    .venv/bin/python -m bench.profile --patients 1000 --workload emergency --duration 20

Starts the dataset's database and vardkedja under `pyinstrument` (the same uvicorn command as
bench.run), drives one workload at the run's concurrency, stops the server cleanly so that
pyinstrument writes its report, and saves bench/results/profile-<workload>-<N>.txt (call tree),
-flat.txt (self time per function) and .json (rates, the most executed SQL statements).
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path
from typing import Any

import asyncpg
import orjson

from bench import pgstats
from bench.fixture import Fixture, choose_fixture
from bench.loadgen import drive, http_factory, install_uvloop
from bench.procs import REPO_DIR, ServerProcess
from bench.run import (
    BENCH_SECRET,
    DATA_DIR,
    RESULTS_DIR,
    Options,
    prepare_dataset,
    request_fn,
    say,
    start_servers,
)
from bench.workloads import WORKLOADS


def profiled(server: ServerProcess, out: Path) -> ServerProcess:
    """The same server (environment, port) run by bench.profiled_server under pyinstrument."""
    return ServerProcess(
        name=server.name,
        argv=[server.argv[0], "-m", "bench.profiled_server", str(out), str(server.port)],
        port=server.port,
        env=server.env,
        cwd=REPO_DIR,
        log_path=server.log_path,
        ready_path=server.ready_path,
        stop_timeout=120.0,  # pyinstrument writes its report on the way out
    )


async def load(
    server: ServerProcess, workload: str, fx: Fixture, opts: Options, url: str
) -> dict[str, Any]:
    w = WORKLOADS[workload]
    stats = await asyncpg.connect(url)
    try:
        request = request_fn("vardkedja", w, fx, server.port)
        await drive(
            http_factory(server.port, request), concurrency=opts.concurrency,
            duration=2.0, max_requests=10**9,
        )  # fmt: skip
        before = await pgstats.snapshot(stats)
        result = await drive(
            http_factory(server.port, lambda i: request(i + 1_000_000)),
            concurrency=opts.concurrency, duration=opts.duration, max_requests=10**9,
        )  # fmt: skip
        top = await pgstats.top_statements(stats, before)
        counts = pgstats.delta(before, await pgstats.snapshot(stats))
    finally:
        await stats.close()
    return {**result.summary(), **counts.per_request(result.requests), "top_sql": top}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.profile", description=__doc__)
    parser.add_argument("--patients", type=int, default=1000)
    parser.add_argument("--workload", default="emergency", choices=list(WORKLOADS))
    parser.add_argument("--duration", type=float, default=20.0)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--seed", type=int, default=1)
    a = parser.parse_args()
    install_uvloop()
    opts = Options(
        sizes=[a.patients], duration=a.duration, rounds=1, concurrency=a.concurrency,
        warmup=0, seed=a.seed, max_requests=10**9, workloads=[a.workload],
        systems=["vardkedja"], pool_size=10, compare=0, label="profile",
    )  # fmt: skip
    RESULTS_DIR.mkdir(exist_ok=True)
    out = RESULTS_DIR / f"profile-{a.workload}-{a.patients}"
    log_dir = DATA_DIR / "runs" / "profile"
    db = prepare_dataset(a.patients, a.seed)
    try:
        fx = asyncio.run(choose_fixture(db.url, BENCH_SECRET, "profile"))
        plain = start_servers(db, a.patients, opts, log_dir)
        plain.ours.stop()  # only needed its command line and port
        server = profiled(plain.ours, out)
        server.start()
        try:
            summary = asyncio.run(load(server, a.workload, fx, opts, db.url))
        finally:
            server.stop()
    finally:
        db.stop()
    out.with_suffix(".json").write_bytes(orjson.dumps(summary, option=orjson.OPT_INDENT_2))
    say(
        f"{summary['rps']:.0f} req/s under the profiler, p50 {summary['p50_ms']:.1f} ms, "
        f"{summary['sql_per_request']:.1f} SQL/request; wrote {out.relative_to(REPO_DIR)}.txt/.json"
    )


if __name__ == "__main__":
    main()
