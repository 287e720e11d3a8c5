"""What the query cost model costs, and what the worst query it lets through costs the server.

    .venv/bin/python -m bench.cost_limits [--size 2000] [--patients 20] [--rounds 3]
                                          [--duration 30] [--concurrency 1 4 8]

On a seeded dataset of its own (bench/.data/cost-limits-<size>, reused between runs):

1. **Overhead** of the cost analysis (schema/limits.py `check_request` in the HTTP endpoint and
   the `RequestGuard` extension, schema/cost.py) on the six shipped operations, each called by
   name, in process (ASGI, no network), one request at a time: EmergencyOverview and
   PopulationList as the fixture's clinician (bench/fixture.py, purpose TREAT), MyRecord as the
   patient themself, DentalVisit, HomeCareVisit and PharmacyDispensing with a system token.
   "off" is done here only: `check_request` answers ({}, []) without parsing or measuring and
   `measure_request` answers a zero cost, so graphql-core's validation still runs; never through
   settings. Each request is sent on and off back to back (rotating order) and the headline is
   the median of these paired ratios. Then the raw time of `check_request` per operation:
   cached (the steady state of a persisted operation), shape uncached (parse cached: the
   analysis itself) and fully uncached (parse + analysis).
2. **Peak memory** of a real server (uvicorn in a subprocess as bench/run.py starts it, on
   127.0.0.1 and a free port; access policy and audit on) while `--concurrency` clients (1,
   then 4, then 8) send the worst *allowed* query in a loop for `--duration` seconds each, and
   /healthz is asked every 0.5 s meanwhile. The worst allowed query: 100 patients with their
   careContacts, documents and labResults (every scalar field), pages grown until the estimate
   is just under the caller's ceiling (`--callers`: the clinician's Settings.max_cost, and the
   system's max_cost_system); the server must answer it (200, no errors); a fresh server per
   caller. VmHWM from /proc/<pid>/status and VmRSS sampled every 100 ms; target: under 300 MB.
   Then the same query with one more care contact per page, which must be refused with
   QUERY_TOO_COSTLY: its latency, server CPU and SQL statements (pg_stat_statements) per
   request.

Writes bench/results/cost-limits.json and bench/results/cost-limits.md. The machine is shared
with other work: the 1-minute load average is recorded before and after each part.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import asyncpg
import httpx
import jwt

import schema.limits as limits
from app.access.principal import Principal
from app.auth import principal_from_claims
from app.db import PooledDatabase
from app.main import create_app
from app.settings import Settings
from app.tokens import mint
from bench.fixture import Fixture, choose_fixture
from bench.procs import (
    BENCH_DIR,
    REPO_DIR,
    BenchDatabase,
    RssSampler,
    ServerProcess,
    cpu_seconds,
    free_port,
    ours_argv,
    tree_hwm_kb,
    tree_rss_kb,
)
from schema.cost import Cost, parse_document
from schema.persisted import REGISTRY

RESULTS = BENCH_DIR / "results" / "cost-limits.json"
SUMMARY = BENCH_DIR / "results" / "cost-limits.md"
LOG_DIR = BENCH_DIR / ".data" / "cost-limits-logs"
SECRET = "cost-limits-benchmark-secret-0123456789"
AUDIT_KEY = "cost-limits-benchmark-audit-key-0123456789"
TARGET_BYTES = 300 * 1000 * 1000  # 300 MB (decimal: the stricter reading)
NO_COST = Cost(fields=0, depth=0, aliases=0, cost=0, steps=0)


def say(message: str) -> None:
    print(f"[cost-limits {datetime.now(UTC):%H:%M:%S}] {message}", file=sys.stderr, flush=True)


def load() -> float:
    return round(os.getloadavg()[0], 2)


# --- who asks what ------------------------------------------------------------------------


@dataclass(frozen=True)
class Call:
    """One shipped operation, called by name by the kind of caller it serves."""

    operation: str
    headers: dict[str, str]
    variables: dict[str, Any]
    principal: Principal


def principal_of(headers: dict[str, str]) -> Principal:
    """The principal the endpoint will see for these headers (the token was minted here)."""
    token = headers["Authorization"].removeprefix("Bearer ")
    claims = jwt.decode(token, options={"verify_signature": False})
    return principal_from_claims(claims, None, None)


def calls_for(fx: Fixture, settings: Settings, personnummer: str) -> list[Call]:
    clinician = dict(fx.ours_headers)
    patient_token = mint(settings, kind="patient", subject=personnummer, pnr=personnummer)
    patient = {"Authorization": f"Bearer {patient_token}"}
    system = {"Authorization": f"Bearer {mint(settings, kind='system', subject='cost-bench')}"}
    who = {"clinician": clinician, "patient": patient, "system": system}
    plan: list[tuple[str, str, dict[str, Any]]] = [
        ("EmergencyOverview", "clinician", {"personnummer": personnummer}),
        (
            "PopulationList",
            "clinician",
            {"first": 50, "items": 5, "provider": fx.clinician["care_provider"]},
        ),
        ("MyRecord", "patient", {"personnummer": personnummer, "first": 20}),
        ("DentalVisit", "system", {"personnummer": personnummer}),
        ("HomeCareVisit", "system", {"personnummer": personnummer}),
        ("PharmacyDispensing", "system", {"personnummer": personnummer}),
    ]
    assert {name for name, _, _ in plan} == set(REGISTRY.by_name), "a shipped operation is missing"
    # The principal comes from the token only; a purpose header changes the purpose, not the
    # kind, and the kind is what chooses the cost ceiling.
    return [
        Call(name, who[kind], variables, principal_of(who[kind])) for name, kind, variables in plan
    ]


# --- part 1: overhead ---------------------------------------------------------------------


def _skip_check(*args: Any, **kwargs: Any) -> tuple[dict[str, Any], list[Any]]:
    return {}, []


def _skip_measure(*args: Any, **kwargs: Any) -> tuple[Cost, list[Any]]:
    # A zero cost, not None: AsyncRequestGuard then validates inline, as it does every shipped
    # operation (all under INLINE_VALIDATION_FIELDS).
    return NO_COST, []


@contextmanager
def analysis_off() -> Iterator[None]:
    """The cost analysis skipped for the requests inside (validation still runs)."""
    saved = limits.check_request, limits.measure_request
    limits.check_request, limits.measure_request = _skip_check, _skip_measure
    try:
        yield
    finally:
        limits.check_request, limits.measure_request = saved


@dataclass
class Series:
    on: list[float] = field(default_factory=list)
    off: list[float] = field(default_factory=list)


async def ask(client: httpx.AsyncClient, call: Call) -> tuple[float, dict[str, Any]]:
    body = {"operationName": call.operation, "variables": call.variables}
    started = time.perf_counter()
    response = await client.post("/graphql", json=body, headers=call.headers)
    elapsed = time.perf_counter() - started
    answer: dict[str, Any] = response.json()
    if response.status_code != 200 or answer.get("errors"):
        raise SystemExit(f"{call.operation}: {response.status_code} {answer}")
    return elapsed, answer


async def overhead(url: str, fx: Fixture, settings: Settings, patients: int, rounds: int) -> Any:
    db = PooledDatabase(url, pool_size=2)
    db.start()
    app = create_app(settings, db=db)
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench")
    chosen = [p.personnummer for p in fx.patients[:patients]]
    calls = {pnr: calls_for(fx, settings, pnr) for pnr in chosen}
    series = {name: Series() for name in REGISTRY.by_name}
    estimates: dict[str, list[int]] = {name: [] for name in REGISTRY.by_name}
    try:
        # Warm up (caches, pool, compiled statements) and check that "off" changes nothing
        # but the cost in `extensions`.
        for pnr in chosen:
            for call in calls[pnr]:
                _, answer_on = await ask(client, call)
                with analysis_off():
                    _, answer_off = await ask(client, call)
                if answer_on["data"] != answer_off["data"]:
                    raise SystemExit(f"{call.operation}: different data with the analysis off")
                # Off must really skip the analysis: no estimate (or the stub's zero).
                skipped = answer_off.get("extensions", {}).get("cost", {}).get("estimated", 0)
                assert skipped == 0, (call.operation, answer_off.get("extensions"))
                estimates[call.operation].append(answer_on["extensions"]["cost"]["estimated"])
        for round_ in range(rounds):
            for i, pnr in enumerate(chosen):
                for j, call in enumerate(calls[pnr]):
                    first_on = (round_ + i + j) % 2 == 0
                    for on in (first_on, not first_on):
                        if on:
                            elapsed, _ = await ask(client, call)
                            series[call.operation].on.append(elapsed)
                        else:
                            with analysis_off():
                                elapsed, _ = await ask(client, call)
                            series[call.operation].off.append(elapsed)
    finally:
        await client.aclose()
        await db.stop()
    out: dict[str, dict[str, Any]] = {}
    for call in calls[chosen[0]]:
        s = series[call.operation]
        pairs = list(zip(s.on, s.off, strict=True))
        out[call.operation] = {
            "caller": call.principal.kind.value,
            "requests_per_mode": len(pairs),
            "paired_ratio_median": round(statistics.median(a / b for a, b in pairs), 4),
            "on_median_ms": round(statistics.median(s.on) * 1000, 3),
            "off_median_ms": round(statistics.median(s.off) * 1000, 3),
            "paired_difference_median_us": round(
                statistics.median(a - b for a, b in pairs) * 1e6, 1
            ),
            "estimated_cost": max(estimates[call.operation]),
        }
    return out


def time_calls(
    fn: Callable[[], object], before: Callable[[], object], n: int
) -> tuple[float, float]:
    """Median and least microseconds of fn() over n calls, before() run (untimed) ahead of
    each. The least is what the code costs undisturbed by the other work on the machine."""
    gc.collect()
    times = []
    for _ in range(n):
        before()
        started = time.perf_counter_ns()
        fn()
        times.append(time.perf_counter_ns() - started)
    return round(statistics.median(times) / 1000, 1), round(min(times) / 1000, 1)


def check_request_times(fx: Fixture, settings: Settings, n: int) -> dict[str, dict[str, Any]]:
    """`check_request` alone per operation: cached, shape uncached, parse and shape uncached."""
    from schema import schema

    graphql_schema = schema._schema
    out: dict[str, dict[str, Any]] = {}
    for call in calls_for(fx, settings, fx.patients[0].personnummer):
        query = REGISTRY.by_name[call.operation].document

        def check(call: Call = call, query: str = query) -> object:
            extensions, errors = limits.check_request(
                graphql_schema, query, call.operation, call.variables, call.principal, settings
            )
            assert extensions and not errors, (call.operation, errors)
            return extensions

        def nothing() -> None:
            return None

        def forget_shape() -> None:
            limits._shapes.clear()

        def forget_all() -> None:
            limits._shapes.clear()
            parse_document.cache_clear()

        def guard(call: Call = call, query: str = query) -> object:
            # What RequestGuard adds for an operation that GraphQL executes (shape cached).
            limit = limits.cost_limit(call.principal, settings)
            document = parse_document(query)
            return limits.measure_request(
                graphql_schema, query, call.operation, document, call.variables, limit
            )

        check()
        cached, cached_min = time_calls(check, nothing, n)
        guard_us, guard_min = time_calls(guard, nothing, n)
        shape, shape_min = time_calls(check, forget_shape, n)
        uncached, uncached_min = time_calls(check, forget_all, n)
        out[call.operation] = {
            "document_chars": len(query),
            "guard_cached_us": guard_us,
            "cached_us": cached,
            "shape_uncached_us": shape,
            "uncached_us": uncached,
            "min_us": {
                "cached": cached_min,
                "guard_cached": guard_min,
                "shape_uncached": shape_min,
                "uncached": uncached_min,
            },
        }
    return out


# --- part 2: the worst allowed query against a real server ----------------------------------

PATIENT_FIELDS = (
    "id personnummer identifierKind givenName familyName birthDate sex protectedIdentity "
    "deceasedOn municipalityCode address { streetAddress postalCode city }"
)
RECORD_FIELDS = (
    "id eventTime documentId sourceSystemHsaId authorTime approvedForPatient nullified "
    "nullifiedReason version signed"
)
LISTS = {
    "careContacts": f"{RECORD_FIELDS} contactType status reason periodEnd "
    "careUnit { name hsaId } careProvider { name }",
    "documents": f"{RECORD_FIELDS} documentType title text careUnit {{ name }}",
    "labResults": f"{RECORD_FIELDS} orderId codeSystem code name valueNumeric valueText unit "
    "interpretation referenceLow referenceHigh specimen careUnit { name }",
}
PATIENTS_PAGE = 100


def worst_query(pages: dict[str, int]) -> str:
    lists = " ".join(
        f"{name}(first: {pages[name]}) {{ nodes {{ {fields} }} }}" for name, fields in LISTS.items()
    )
    return (
        f"query WorstAllowed {{ patients(first: {PATIENTS_PAGE}) "
        f"{{ nodes {{ {PATIENT_FIELDS} {lists} }} }} }}"
    )


def estimate_of(query: str, principal: Principal, settings: Settings) -> tuple[int, list[str]]:
    from schema import schema

    extensions, errors = limits.check_request(
        schema._schema, query, None, None, principal, settings
    )
    codes = [str((e.extensions or {}).get("code")) for e in errors]
    return int(extensions.get("cost", {}).get("estimated", -1)), codes


def size_worst(principal: Principal, settings: Settings) -> dict[str, Any]:
    """Pages for every list, the same as large as allowed, then careContacts grown alone: the
    largest estimate under the principal's ceiling; and the refused one with one more contact."""
    page = 1
    while not estimate_of(worst_query(dict.fromkeys(LISTS, page + 1)), principal, settings)[1]:
        page += 1
    pages = dict.fromkeys(LISTS, page)
    while True:
        bigger = pages | {"careContacts": pages["careContacts"] + 1}
        if estimate_of(worst_query(bigger), principal, settings)[1]:
            break
        pages = bigger
    refused_pages = pages | {"careContacts": pages["careContacts"] + 1}
    allowed, codes = estimate_of(worst_query(pages), principal, settings)
    refused, refused_codes = estimate_of(worst_query(refused_pages), principal, settings)
    assert not codes and refused_codes == ["QUERY_TOO_COSTLY"], (codes, refused_codes)
    return {
        "pages": {"patients": PATIENTS_PAGE, **pages},
        "estimated": allowed,
        "query": worst_query(pages),
        "refused_pages": {"patients": PATIENTS_PAGE, **refused_pages},
        "refused_estimated": refused,
        "refused_query": worst_query(refused_pages),
    }


def start_server(db: BenchDatabase) -> ServerProcess:
    """vardkedja as bench/run.py starts it (production settings, policy and audit on)."""
    port = free_port()
    server = ServerProcess(
        name="vardkedja",
        argv=ours_argv(port),
        port=port,
        env={
            "VARDKEDJA_DATABASE_URL": db.url,
            "VARDKEDJA_JWT_SECRET": SECRET,
            "VARDKEDJA_AUDIT_KEY": AUDIT_KEY,
            "VARDKEDJA_POOL_SIZE": "10",
            "VARDKEDJA_ACCESS_POLICY": "true",
            "PYTHONOPTIMIZE": "",
        },
        cwd=REPO_DIR,
        log_path=LOG_DIR / "vardkedja.log",
        ready_path="/healthz",
    )
    server.start()
    return server


def rows_in(answer: dict[str, Any]) -> dict[str, int]:
    nodes = answer["data"]["patients"]["nodes"]
    counts = {"patients": len(nodes)}
    for name in LISTS:
        counts[name] = sum(len(n[name]["nodes"]) for n in nodes)
    return counts


def values_in(value: Any) -> int:
    """Values in an answer as the estimate counts them: every field, leaf or not."""
    if isinstance(value, dict):
        return sum(1 + values_in(v) for v in value.values())
    if isinstance(value, list):
        return sum(values_in(v) for v in value)
    return 0


async def sql_calls(url: str) -> int:
    """Statements PostgreSQL has run (pg_stat_statements), not counting this query's own."""
    conn = await asyncpg.connect(url)
    try:
        return int(
            await conn.fetchval(
                "SELECT coalesce(sum(calls), 0) FROM pg_stat_statements "
                "WHERE query NOT ILIKE '%pg_stat_statements%'"
            )
        )
    finally:
        await conn.close()


def mb(kb: int) -> float:
    return round(kb * 1024 / 1e6, 1)


async def worst_loop(
    server: ServerProcess,
    headers: dict[str, str],
    worst: dict[str, Any],
    duration: float,
    concurrency: int,
) -> dict[str, Any]:
    base = f"http://127.0.0.1:{server.port}"
    body = {"query": worst["query"]}
    idle_rss, idle_hwm = tree_rss_kb(server.pid), tree_hwm_kb(server.pid)
    async with httpx.AsyncClient(base_url=base, timeout=120) as client:
        first = await client.post("/graphql", json=body, headers=headers)
        answer = first.json()
        assert first.status_code == 200 and "errors" not in answer, (first.status_code, answer)
        cost = answer["extensions"]["cost"]
        assert cost["estimated"] == worst["estimated"], cost
        rows = rows_in(answer)
        values = values_in(answer["data"])
    sizes: list[int] = []
    latencies: list[float] = []
    health: list[float] = []
    statuses: dict[str, int] = {}
    sampler = RssSampler(server.pid, interval=0.1)
    sampler.start()
    cpu_before = cpu_seconds(server.pid)
    stop_at = time.monotonic() + duration

    async def worker() -> None:
        async with httpx.AsyncClient(base_url=base, timeout=120) as client:
            while time.monotonic() < stop_at:
                started = time.perf_counter()
                response = await client.post("/graphql", json=body, headers=headers)
                latencies.append(time.perf_counter() - started)
                ok = response.status_code == 200 and b'"errors"' not in response.content[:20]
                kind = "ok" if ok else f"{response.status_code}"
                statuses[kind] = statuses.get(kind, 0) + 1
                sizes.append(len(response.content))

    async def healthz() -> None:
        # Does the server still answer others while the worst query runs?
        async with httpx.AsyncClient(base_url=base, timeout=30) as client:
            while time.monotonic() < stop_at:
                started = time.perf_counter()
                await client.get("/healthz")
                health.append(time.perf_counter() - started)
                await asyncio.sleep(0.5)

    started = time.monotonic()
    await asyncio.gather(healthz(), *(worker() for _ in range(concurrency)))
    seconds = time.monotonic() - started
    cpu = cpu_seconds(server.pid) - cpu_before
    await sampler.stop()
    hwm = tree_hwm_kb(server.pid)
    peak_kb = max(hwm, sampler.peak_kb)
    step = max(1, len(sampler.samples) // 60)
    ms = sorted(x * 1000 for x in latencies)
    return {
        "concurrency": concurrency,
        "seconds": round(seconds, 1),
        "requests": len(latencies),
        "statuses": statuses,
        "requests_per_second": round(len(latencies) / seconds, 2),
        "latency_ms": {
            "p50": round(statistics.median(ms), 1),
            "p99": round(ms[max(0, int(len(ms) * 0.99) - 1)], 1),
            "max": round(ms[-1], 1),
        },
        "server_cpu_ms_per_request": round(cpu * 1000 / max(1, len(latencies)), 1),
        "response_bytes": {
            "min": min(sizes),
            "median": int(statistics.median(sizes)),
            "max": max(sizes),
        },
        "rows_per_response": rows,
        "values_per_response": values,
        "values_over_estimate": round(values / cost["estimated"], 3),
        "extensions_cost": cost,
        "healthz_ms": {
            "probes": len(health),
            "median": round(statistics.median(health) * 1000, 1),
            "max": round(max(health) * 1000, 1),
        },
        "rss_mb": {
            "idle_before": mb(idle_rss),
            "hwm_before": mb(idle_hwm),
            "sampled_peak": mb(sampler.peak_kb),
            "vm_hwm": mb(hwm),
            "after": mb(sampler.samples[-1]),
            "timeline_interval_s": round(0.1 * step, 1),
            "timeline": [mb(kb) for kb in sampler.samples[::step]],
        },
        "peak_mb": mb(peak_kb),
        "target_mb": TARGET_BYTES / 1e6,
        "pass": peak_kb * 1024 < TARGET_BYTES,
    }


async def refused_loop(
    server: ServerProcess, url: str, headers: dict[str, str], worst: dict[str, Any], requests: int
) -> dict[str, Any]:
    """The query one page too large: refused, before any SQL, for little CPU."""
    body = {"query": worst["refused_query"]}
    latencies: list[float] = []
    codes: dict[str, int] = {}
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.port}", timeout=30) as client:
        first = (await client.post("/graphql", json=body, headers=headers)).json()
        sql_before, cpu_before = await sql_calls(url), cpu_seconds(server.pid)
        for _ in range(requests):
            started = time.perf_counter()
            response = await client.post("/graphql", json=body, headers=headers)
            latencies.append(time.perf_counter() - started)
            answer = response.json()
            for error in answer.get("errors", []):
                code = error.get("extensions", {}).get("code", "?")
                codes[code] = codes.get(code, 0) + 1
            assert "data" not in answer or answer["data"] is None, answer
        cpu = cpu_seconds(server.pid) - cpu_before
        sql = await sql_calls(url) - sql_before
    ms = sorted(x * 1000 for x in latencies)
    return {
        "requests": requests,
        "codes": codes,
        "first_error": first["errors"][0],
        "status": response.status_code,
        "latency_ms": {"p50": round(statistics.median(ms), 2), "max": round(ms[-1], 2)},
        "server_cpu_ms_per_request": round(cpu * 1000 / requests, 2),
        "sql_statements_per_request": round(sql / requests, 3),
        "rss_mb_after": mb(tree_rss_kb(server.pid)),
        "refused_cheaply": codes == {"QUERY_TOO_COSTLY": requests} and sql == 0,
    }


def worst_allowed(
    db: BenchDatabase,
    headers: dict[str, str],
    settings: Settings,
    args: argparse.Namespace,
    loads: dict[str, float],
) -> dict[str, Any]:
    """Part 2 for one caller: the worst allowed query in loops, then the refused one."""
    principal = principal_of(headers)
    kind = principal.kind.value
    worst = size_worst(principal, settings)
    worst["limit"] = limits.cost_limit(principal, settings)
    say(f"{kind}: worst allowed pages {worst['pages']}, estimate {worst['estimated']:,}")
    worst["loops"] = []
    # A fresh server per caller: VmHWM is the peak of this caller's loops only.
    server = start_server(db)
    try:
        for clients in args.concurrency:
            loads[f"{kind}_{clients}_start"] = load()
            loop = asyncio.run(worst_loop(server, headers, worst, args.duration, clients))
            loads[f"{kind}_{clients}_end"] = load()
            say(
                f"{kind}, {clients} client(s): peak RSS {loop['peak_mb']} MB "
                f"(target < {loop['target_mb']:.0f}): {'PASS' if loop['pass'] else 'FAIL'}"
            )
            worst["loops"].append(loop)
        worst["refused"] = asyncio.run(refused_loop(server, db.url, headers, worst, args.refused))
    finally:
        server.stop()
    say(f"{kind}: refused cheaply: {worst['refused']['refused_cheaply']}")
    return worst


# --- main ---------------------------------------------------------------------------------


def prepare(size: int, seed: int) -> BenchDatabase:
    """The dataset in bench/.data/cost-limits-<size> (its own folder: other benchmarks may be
    using theirs at the same time)."""
    from bench.run import prepare_dataset

    return prepare_dataset(size, seed, name="cost-limits")


def summary_markdown(report: dict[str, Any]) -> str:
    over, times = report["overhead"], report["check_request_us"]
    lines = [
        "# Cost limits benchmark",
        "",
        f"{report['date']} UTC, dataset {report['dataset_patients']:,} patients, "
        f"{report['machine']}. Command: `{report['command']}`. The machine was shared with "
        f"other work: 1-minute load average {min(report['load'].values())} to "
        f"{max(report['load'].values())} (per part in the JSON).",
        "",
        "## Overhead of the cost analysis on the shipped operations",
        "",
        "In process (ASGI), one request at a time. on/off: median of per-request paired ratios "
        "(on-off: median paired difference). direct: the steady-state analysis time measured "
        "alone (check_request cached, plus RequestGuard when GraphQL executes the operation) "
        "and the ratio it predicts over the off latency. Last three columns: check_request "
        "alone, median µs.",
        "",
        "| operation | caller | estimated cost | pairs | on ms | off ms | on/off "
        "| on-off µs | direct µs | direct ratio | cached | shape uncached | uncached |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, o in over.items():
        t = times[name]
        lines.append(
            f"| {name} | {o['caller']} | {o['estimated_cost']:,} | {o['requests_per_mode']} "
            f"| {o['on_median_ms']} | {o['off_median_ms']} | {o['paired_ratio_median']} "
            f"| {o['paired_difference_median_us']} | {o['direct_us']} | {o['direct_ratio']} "
            f"| {t['cached_us']} | {t['shape_uncached_us']} | {t['uncached_us']} |"
        )
    lines += [
        "",
        "## Peak memory with the worst allowed query in a loop",
        "",
        "A real server (uvicorn subprocess, policy and audit on, a fresh one per caller); the "
        "query: 100 patients with careContacts, documents and labResults (every scalar field), "
        "pages sized to the caller's ceiling. Target: peak RSS (VmHWM, VmRSS sampled every "
        "100 ms) under 300 MB.",
        "",
        "| caller | ceiling | pages | estimate | clients | requests | req/s | p50 ms "
        "| server CPU ms/req | rows per answer | values (of estimate) | response bytes "
        "| /healthz median / max ms "
        "| idle RSS MB | sampled peak MB | VmHWM MB | target |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for caller, worst in report["worst_allowed"].items():
        pages = ", ".join(f"{k} {v}" for k, v in worst["pages"].items())
        for w in worst["loops"]:
            rows = ", ".join(f"{k} {v}" for k, v in w["rows_per_response"].items())
            statuses = ", ".join(f"{k} {v}" for k, v in w["statuses"].items())
            lines.append(
                f"| {caller} | {worst['limit']:,} | {pages} | {worst['estimated']:,} "
                f"| {w['concurrency']} | {w['requests']} ({statuses}) "
                f"| {w['requests_per_second']} | {w['latency_ms']['p50']} "
                f"| {w['server_cpu_ms_per_request']} | {rows} "
                f"| {w['values_per_response']:,} ({w['values_over_estimate']:.0%}) "
                f"| {w['response_bytes']['median']:,} "
                f"| {w['healthz_ms']['median']} / {w['healthz_ms']['max']} "
                f"| {w['rss_mb']['idle_before']} | {w['rss_mb']['sampled_peak']} "
                f"| {w['rss_mb']['vm_hwm']} | **{'PASS' if w['pass'] else 'FAIL'}** |"
            )
    lines.append("")
    for caller, worst in report["worst_allowed"].items():
        r = worst["refused"]
        codes = ", ".join(f"{k} {v}" for k, v in r["codes"].items())
        lines.append(
            f"- {caller}, one more care contact per page (estimate "
            f"{worst['refused_estimated']:,}), {r['requests']} requests: {codes}, HTTP "
            f"{r['status']}, p50 {r['latency_ms']['p50']} ms, {r['server_cpu_ms_per_request']} "
            f"ms server CPU/request, {r['sql_statements_per_request']} SQL statements/request: "
            f"{'refused cheaply' if r['refused_cheaply'] else 'NOT refused cheaply'}."
        )
    lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--size", type=int, default=2000, help="seeded patients (dataset)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--patients", type=int, default=20, help="patients per round (part 1)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds (part 1)")
    parser.add_argument("--calls", type=int, default=300, help="timed check_request calls")
    parser.add_argument("--duration", type=float, default=30.0, help="worst-query loop, seconds")
    parser.add_argument(
        "--concurrency",
        type=int,
        nargs="+",
        default=[1, 4, 8],
        help="clients in the loop; one loop per value, in this order",
    )
    parser.add_argument("--refused", type=int, default=200, help="refused requests sent")
    parser.add_argument(
        "--callers",
        nargs="+",
        choices=("clinician", "system"),
        default=["clinician", "system"],
        help="whose ceiling the worst allowed query is sized to (part 2)",
    )
    parser.add_argument("--skip-overhead", action="store_true", help="part 2 only")
    args = parser.parse_args(argv)
    settings = Settings(jwt_secret=SECRET, audit_key=AUDIT_KEY)
    loads: dict[str, float] = {"start": load()}
    db = prepare(args.size, args.seed)
    report: dict[str, Any] = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M"),
        "command": "python -m bench.cost_limits " + " ".join(argv or sys.argv[1:]),
        "dataset_patients": args.size,
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, "
        f"{platform.python_implementation()} {platform.python_version()}",
    }
    try:
        fx = asyncio.run(choose_fixture(db.url, SECRET, "cost-limits"))
        if not args.skip_overhead:
            say(f"overhead: {args.patients} patients x {args.rounds} rounds x 6 operations")
            loads["overhead_start"] = load()
            report["overhead"] = asyncio.run(
                overhead(db.url, fx, settings, args.patients, args.rounds)
            )
            loads["overhead_end"] = load()
            say("check_request alone")
            times = report["check_request_us"] = check_request_times(fx, settings, args.calls)
            for name, o in report["overhead"].items():
                # The ratio the direct timings predict: steady-state analysis time per request
                # (check_request, plus RequestGuard when GraphQL executes) over the "off" latency.
                direct = times[name]["cached_us"] + times[name]["guard_cached_us"]
                o["direct_us"] = round(direct, 1)
                o["direct_ratio"] = round(1 + direct / 1000 / o["off_median_ms"], 4)
        system_token = mint(settings, kind="system", subject="cost-bench")
        callers = {
            "clinician": fx.ours_headers,
            "system": {"Authorization": f"Bearer {system_token}"},
        }
        report["worst_allowed"] = {
            caller: worst_allowed(db, callers[caller], settings, args, loads)
            for caller in args.callers
        }
    finally:
        db.stop()
    loads["end"] = load()
    report["load"] = loads
    report["clinician"] = {k: fx.clinician[k] for k in ("role", "care_unit", "care_provider")}
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    if "overhead" in report:
        SUMMARY.write_text(summary_markdown(report))
    print(json.dumps(report, indent=2, ensure_ascii=False))
    passed = all(
        loop["pass"] and worst["refused"]["refused_cheaply"]
        for worst in report["worst_allowed"].values()
        for loop in worst["loops"]
    )
    return 0 if passed else 1


if __name__ == "__main__":
    raise SystemExit(main())
