"""Seeding benchmark: how long `seed_population` takes for N patients into a fresh database.

    .venv/bin/python -m bench.seed_benchmark --patients 100000

Starts an embedded PostgreSQL (default settings) in a temporary folder, or creates a fresh
database on the server in VARDKEDJA_DATABASE_URL, migrates it, seeds, and writes
bench/results/seed-<patients>.json and a line in bench/README.md. The machine is shared
during development, so the JSON also records CPU seconds and the load average.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg

from app import migrate
from app.db import EmbeddedServer, to_plain_url
from app.seed import SeedStats, seed_population
from bench.procs import cpu_by_process

BENCH_DIR = Path(__file__).resolve().parent
RESULTS = BENCH_DIR / "results"
README = BENCH_DIR / "README.md"
SECTION = "## Seeding"
README_INTRO = """# Benchmarks

Measurements of vardkedja on the development machine; each harness writes its raw results to
`bench/results/` and a summary here.
"""
SECTION_INTRO = """
`bench/seed_benchmark.py` measures how long `vardkedja seed` takes to load a synthetic
population (docs/synthetic-data.md) into a fresh, migrated database: generation in Python,
COPY into PostgreSQL and foreign-key validation, in one transaction (from 5,000 patients on,
ANALYZE is left to autovacuum). It starts an embedded PostgreSQL with default settings (18.x:
data checksums, 128 MB shared buffers) in a temporary folder, or uses a fresh database on the
server in `VARDKEDJA_DATABASE_URL`. The development machine is shared with other work: `load`
is the 1-minute load average before and after the run; the CPU columns are what the seeding
Python process and the PostgreSQL processes used. The JSON has the time of each phase.

    .venv/bin/python -m bench.seed_benchmark --patients 100000

| date (UTC) | patients | rows | seconds | rows/s | python CPU s | PG CPU s | load | server |
|---|---|---|---|---|---|---|---|---|
"""


class CpuSampler:
    """CPU seconds of a process tree (PostgreSQL's), sampled so that exited backends count."""

    def __init__(self, pid: int | None) -> None:
        self.pid = pid
        self.first: dict[int, float] = {}
        self.last: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self) -> None:
        if self.pid is None:
            return
        for proc, cpu in cpu_by_process(self.pid).items():
            self.first.setdefault(proc, cpu)
            self.last[proc] = cpu

    def _run(self) -> None:
        while not self._stop.wait(0.25):
            self._sample()

    def __enter__(self) -> CpuSampler:
        self._sample()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()

    @property
    def seconds(self) -> float | None:
        if self.pid is None:
            return None
        return sum(cpu - self.first.get(p, cpu) for p, cpu in self.last.items())


@contextmanager
def fresh_database() -> Iterator[tuple[str, int | None, str]]:
    """(url, postmaster pid or None, description) of an empty database, removed afterwards."""
    external = os.environ.get("VARDKEDJA_DATABASE_URL")
    if external:
        name = f"vardkedja_bench_{uuid.uuid4().hex[:10]}"
        asyncio.run(_admin(external, f'CREATE DATABASE "{name}"'))
        try:
            yield _with_database(external, name), None, "external"
        finally:
            asyncio.run(_admin(external, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        return
    folder = Path(tempfile.mkdtemp(prefix="vardkedja-seed-bench-"))
    folder.chmod(0o755)
    server = EmbeddedServer(folder / "pgdata", delete_on_stop=True)
    url = server.start()
    try:
        inner = server._server
        yield url, int(inner.get_pid()) if inner is not None else None, "embedded"
    finally:
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)


async def _admin(url: str, sql: str) -> None:
    conn = await asyncpg.connect(to_plain_url(url))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def _with_database(url: str, name: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(to_plain_url(url)).set(database=name).render_as_string(hide_password=False)


async def _server_version(url: str) -> str:
    conn = await asyncpg.connect(to_plain_url(url))
    try:
        return str(await conn.fetchval("SHOW server_version"))
    finally:
        await conn.close()


def machine() -> dict[str, Any]:
    memory_kb = 0
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            memory_kb = int(line.split()[1])
    cpu_model = ""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu_model = line.split(":", 1)[1].strip()
            break
    return {
        "cpus": os.cpu_count(),
        "cpu_model": cpu_model,
        "memory_gb": round(memory_kb / 1024 / 1024, 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def run(patients: int, seed: int) -> dict[str, Any]:
    with fresh_database() as (url, pid, server):
        migrate.upgrade(url)
        version = asyncio.run(_server_version(url))
        load_before = os.getloadavg()
        python_cpu = time.process_time()
        with CpuSampler(pid) as pg_cpu:
            started = time.perf_counter()
            stats: SeedStats = asyncio.run(
                seed_population(url, patients=patients, seed=seed, progress=_progress(patients))
            )
            seconds = time.perf_counter() - started
        python_cpu = time.process_time() - python_cpu
    return {
        "patients": patients,
        "seed": seed,
        "seconds": round(seconds, 1),
        "rows": stats.total,
        "rows_per_second": round(stats.total / seconds),
        "patients_per_second": round(patients / seconds, 1),
        "rows_per_table": stats.rows,
        "phases_seconds": stats.phases,
        "python_cpu_seconds": round(python_cpu, 1),
        "postgres_cpu_seconds": None if pg_cpu.seconds is None else round(pg_cpu.seconds, 1),
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
        "server": f"{server} PostgreSQL {version}",
        "measured_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "machine": machine(),
    }


def _progress(total: int) -> Any:
    started = time.perf_counter()
    step = max(total // 10, 1)

    def report(done: int, _total: int) -> None:
        if done % step < 500 or done == total:
            print(f"  {done:>8,} patients  {time.perf_counter() - started:7.1f} s", flush=True)

    return report


def write_results(result: dict[str, Any]) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"seed-{result['patients']}.json"
    path.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    return path


def update_readme() -> None:
    """Rewrite the seeding table of bench/README.md from bench/results/seed-*.json."""
    text = README.read_text() if README.exists() else README_INTRO
    if SECTION not in text:
        text = text.rstrip("\n") + f"\n\n{SECTION}\n{SECTION_INTRO}"
    head, _, tail = text.partition(SECTION)
    body, next_section, rest = tail.partition("\n## ")
    prose = [row for row in body.rstrip("\n").split("\n") if not row.startswith("| 2")]
    results = [json.loads(p.read_text()) for p in RESULTS.glob("seed-*.json")]
    rows = [_line(r) for r in sorted(results, key=lambda r: int(r["patients"]))]
    body = "\n".join(prose + rows) + "\n"
    README.write_text(head + SECTION + body + (next_section + rest if next_section else ""))


def _line(result: dict[str, Any]) -> str:
    """One table row; result lines start with the date ("| 2...")."""
    load = f"{result['load_average_before'][0]:.1f}-{result['load_average_after'][0]:.1f}"
    return (
        f"| {result['measured_at'][:16].replace('T', ' ')} | {result['patients']:,} "
        f"| {result['rows']:,} | {result['seconds']} | {result['rows_per_second']:,} "
        f"| {result['python_cpu_seconds']} | {result['postgres_cpu_seconds']} "
        f"| {load} | {result['server']} |"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.seed_benchmark", description=__doc__)
    parser.add_argument("--patients", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    print(f"seeding {args.patients:,} patients into a fresh database")
    result = run(args.patients, args.seed)
    path = write_results(result)
    update_readme()
    print(
        f"{result['patients']:,} patients, {result['rows']:,} rows in {result['seconds']} s "
        f"({result['rows_per_second']:,} rows/s); wrote {path.relative_to(BENCH_DIR.parent)}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
