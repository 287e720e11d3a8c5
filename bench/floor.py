"""The floor: the same workloads as plain SQL over asyncpg, with no API layer at all.

Run by bench.run as its own process, so its memory and CPU are measured like a server's:
it connects a pool, warms up, prints `ready`, waits for `go` on stdin, runs the closed loop for
the duration, writes the result as JSON to --out, prints `done`, and closes its connections
when told (any line on stdin). The SQL of each workload is in
bench/workloads (`floor` methods): one statement per request, JSON built by PostgreSQL, decoded
here, which is the least work any API over this database must also do.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

import asyncpg
import orjson

from bench.fixture import Fixture
from bench.loadgen import Operation, drive, install_uvloop
from bench.workloads import WORKLOADS


async def run(args: argparse.Namespace, fx: Fixture) -> None:
    workload = WORKLOADS[args.workload]
    pool = await asyncpg.create_pool(args.url, min_size=args.concurrency, max_size=args.concurrency)

    def factory(
        offset: int,
    ) -> Callable[[], Awaitable[tuple[Operation, Callable[[], Awaitable[None]]]]]:
        async def make() -> tuple[Operation, Callable[[], Awaitable[None]]]:
            conn = await pool.acquire()

            async def op(i: int) -> str | None:
                try:
                    await workload.floor(conn, fx, i + offset)
                except asyncpg.PostgresError as exc:
                    return type(exc).__name__
                return None

            async def release() -> None:
                await pool.release(conn)

            return op, release

        return make

    # Warm up prepared statements and caches outside the measured window.
    await drive(factory(50_000_000), concurrency=args.concurrency, duration=1.0, max_requests=10**9)
    print("ready", flush=True)
    go = await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    if go.strip() != "go":
        await pool.close()
        return
    result = await drive(
        factory(args.offset),
        concurrency=args.concurrency,
        duration=args.duration,
        max_requests=args.max_requests,
    )
    payload = orjson.dumps({**result.summary(), "latencies_ms": result.latencies_ms})
    await asyncio.get_running_loop().run_in_executor(None, Path(args.out).write_bytes, payload)
    # Keep the connections (and so their server processes' CPU counters) until the runner
    # has read them.
    print("done", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    await pool.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", required=True)
    parser.add_argument("--workload", required=True, choices=list(WORKLOADS))
    parser.add_argument("--fixture", required=True)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--max-requests", type=int, default=1_000_000)
    parser.add_argument("--offset", type=int, default=0)
    parser.add_argument("--out", required=True, help="where to write the result (JSON)")
    args = parser.parse_args()
    install_uvloop()
    asyncio.run(run(args, Fixture.load(Path(args.fixture).read_bytes())))


if __name__ == "__main__":
    main()
