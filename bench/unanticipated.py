"""A query nobody anticipated against a shipped one (issue 18): the same operations as the
roles they serve, once with the values a shipped client sends on every request (`fixed`),
once with values that change on every request (`varied`), as a UI paging, resizing or
narrowing a list sends them:

- `page size`: MyRecord as the patient, `first: 20` against another size each time (ten
  sizes from 15 to 25, averaging 20, so that both modes read as much);
- `cursor`: MyRecord as the patient, the first page against the page after its end (another
  cursor for every patient);
- `since`: EmergencyOverview as the clinician, one `since` against another on every request;
- `node id`: a dispensation by `node(id:)` as the pharmacist, one id against another each time;
- `filter value`: a patient's care contacts at some units (`careUnitHsaIds: $units`) as the
  clinician: the clinician's own unit and one HSA-id that no unit has, the same one against
  another on every request (both modes read the same contacts);
- `changed since`: a patient app's delta sync of three lists (`changedSince: $since`) as the
  patient, one time against another on every request.

    .venv/bin/python -m bench.unanticipated [--size 1000] [--rounds 3]

One process, in-process ASGI requests (no network), one request at a time, on a seeded
dataset of its own (bench/.data/unanticipated-<size>, reused). Each case asks its requests in
both modes back to back (rotating order), first once over (`cold`: every varied value is new
to the process, its plans and PostgreSQL's prepared statements), then `--rounds` times more
(`warm`). Reported per case and pass: median latency (the server and PostgreSQL, one request
at a time), the process's CPU per request, the statements per request, and the median of the
paired latency ratios varied ÷ fixed (1.0: as fast as the shipped values).
Writes bench/results/unanticipated.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from app.db import DRIVER_LISTENERS, PooledDatabase
from app.main import create_app
from app.settings import Settings
from bench.fixture import Fixture, Situation, choose_fixture
from bench.policy_overhead import counting

RESULTS = Path(__file__).resolve().parent / "results" / "unanticipated.json"
SECRET = "unanticipated-benchmark-secret-0123456789"
# Ten sizes around the shipped 20, averaging 20: the same work per request as the fixed mode.
SIZES = (15, 16, 17, 18, 19, 21, 22, 23, 24, 25)
CASES = ("page size", "cursor", "since", "node id", "filter value", "changed since")
DISPENSATIONS = """
query Dispensation($id: ID!) {
  node(id: $id) { ... on Dispensation { id eventTime amount articleName reverses { id } } }
}
"""
CONTACTS_AT = """
query ContactsAt($personnummer: String!, $units: [String!]) {
  patient(personnummer: $personnummer) {
    careContacts(filter: { careUnitHsaIds: $units }, first: 20) {
      totalCount
      nodes { id eventTime contactType careUnit { hsaId name } }
    }
  }
}
"""
SYNC = """
query Sync($personnummer: String!, $since: DateTime) {
  patient(personnummer: $personnummer) {
    careContacts(changedSince: $since, first: 50) { nodes { id eventTime status } }
    diagnoses(changedSince: $since, first: 50) { nodes { id code } }
    prescriptions(changedSince: $since, first: 50) { nodes { id atcCode status } }
  }
}
"""

Body = dict[str, Any]


@dataclass
class Case:
    """One case: for request i, its headers and the bodies of both modes."""

    name: str
    requests: list[tuple[dict[str, str], Body, Body]]


@dataclass
class Mode:
    latencies: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    statements: list[int] = field(default_factory=list)


async def post(http: httpx.AsyncClient, headers: dict[str, str], body: Body) -> Body:
    response = await http.post("/graphql", json=body, headers=headers)
    answer: Body = response.json()
    if response.status_code != 200 or answer.get("errors"):
        raise SystemExit(f"{response.status_code} {str(answer)[:500]}")
    return answer


def my_record(pnr: str, first: int = 20, after: str | None = None) -> Body:
    variables = {"personnummer": pnr, "first": first, "after": after}
    return {"operationName": "MyRecord", "variables": variables}


def emergency(pnr: str, since: datetime) -> Body:
    variables = {"personnummer": pnr, "since": since.isoformat()}
    return {"operationName": "EmergencyOverview", "variables": variables}


async def cases(http: httpx.AsyncClient, fx: Fixture, count: int) -> list[Case]:
    """The four cases over the fixture's callers and patients (`count` requests each)."""
    own = fx.situations["my_record"]
    patients = own.patients[:count]
    sizes = Case(
        "page size",
        [
            (
                own.headers_for(i),
                my_record(p.personnummer),
                my_record(p.personnummer, SIZES[i % len(SIZES)]),
            )
            for i, p in enumerate(patients)
        ],
    )
    paged = []
    for i, p in enumerate(patients):
        first = await post(http, own.headers_for(i), my_record(p.personnummer))
        end = first["data"]["patient"]["timeline"]["pageInfo"]["endCursor"]
        if end is not None:
            body = my_record(p.personnummer, after=end)
            paged.append((own.headers_for(i), my_record(p.personnummer), body))
    now = datetime.now(UTC).replace(microsecond=0)
    since = Case(
        "since",
        [
            (
                fx.ours_headers,
                emergency(p.personnummer, now - timedelta(days=30)),
                emergency(p.personnummer, now - timedelta(days=30 + 7 * i, hours=i)),
            )
            for i, p in enumerate(fx.patients[:count])
        ],
    )
    synced = Case(
        "changed since",
        [
            (own.headers_for(i), sync(p.personnummer, now), sync(p.personnummer, now, i + 1))
            for i, p in enumerate(patients)
        ],
    )
    return [
        sizes,
        Case("cursor", paged),
        since,
        await by_id(http, fx.situations["pharmacy"]),
        await at_units(http, fx, count),
        synced,
    ]


def sync(pnr: str, now: datetime, minutes: int = 0) -> Body:
    """A delta sync since 30 days ago, `minutes` later (another time for every request)."""
    since = now - timedelta(days=30) + timedelta(minutes=minutes)
    return {"query": SYNC, "variables": {"personnummer": pnr, "since": since.isoformat()}}


async def at_units(http: httpx.AsyncClient, fx: Fixture, count: int) -> Case:
    """The clinician's own unit and one more, which no care contact has: the same HSA-id on
    every request, or another each time (so both modes read the same contacts)."""

    def at(pnr: str, other: str) -> Body:
        units = [fx.writer.care_unit_hsa_id, other]
        return {"query": CONTACTS_AT, "variables": {"personnummer": pnr, "units": units}}

    patients = fx.patients[:count]
    for p in patients:  # (the fixed mode's first request is then not the first one at all)
        await post(http, fx.ours_headers, at(p.personnummer, "SE0000000000-0000"))
    return Case(
        "filter value",
        [
            (
                fx.ours_headers,
                at(p.personnummer, "SE0000000000-0000"),
                at(p.personnummer, f"SE0000000000-{i + 1:04d}"),
            )
            for i, p in enumerate(patients)
        ],
    )


async def by_id(http: httpx.AsyncClient, pharmacy: Situation) -> Case:
    """A dispensation by `node(id:)`: the first one found again, or another each time."""
    ids: list[str] = []
    for i, p in enumerate(pharmacy.patients):
        body = {
            "operationName": "PharmacyDispensing",
            "variables": {"personnummer": p.personnummer},
        }
        answer = await post(http, pharmacy.headers_for(i), body)
        for prescription in answer["data"]["patient"]["prescriptions"]["nodes"]:
            ids += [d["id"] for d in prescription["dispensations"]["nodes"]]
    if not ids:
        raise SystemExit("the pharmacist's patients have no dispensation")

    def node(gid: str) -> Body:
        return {"query": DISPENSATIONS, "variables": {"id": gid}}

    headers = pharmacy.headers_for(0)
    return Case("node id", [(headers, node(ids[0]), node(gid)) for gid in ids[:50]])


@contextmanager
def statements(db: PooledDatabase) -> Iterator[list[int]]:
    """Counts the statements sent, through SQLAlchemy and straight to the driver."""
    with counting(db) as seen:

        def sent(*_: object) -> None:
            seen[0] += 1

        DRIVER_LISTENERS.append(sent)
        try:
            yield seen
        finally:
            DRIVER_LISTENERS.remove(sent)


async def run_pass(
    http: httpx.AsyncClient, db: PooledDatabase, case: Case, rounds: int
) -> dict[str, Mode]:
    modes = {"fixed": Mode(), "varied": Mode()}
    names = list(modes)
    for round_ in range(rounds):
        for i, (headers, fixed, varied) in enumerate(case.requests):
            shift = (round_ + i) % 2
            for name in names[shift:] + names[:shift]:
                body = fixed if name == "fixed" else varied
                mode = modes[name]
                with statements(db) as seen:
                    cpu, started = time.process_time(), time.perf_counter()
                    await post(http, headers, body)
                    mode.latencies.append(time.perf_counter() - started)
                    mode.cpu.append(time.process_time() - cpu)
                mode.statements.append(seen[0])
    return modes


def report(modes: dict[str, Mode]) -> dict[str, Any]:
    fixed, varied = modes["fixed"], modes["varied"]
    ratios = [v / f for v, f in zip(varied.latencies, fixed.latencies, strict=True)]

    def ms(values: list[float], how: Callable[[list[float]], float]) -> float:
        return round(how(values) * 1000, 3)

    return {
        "requests": len(ratios),
        "paired_latency_ratio_median": round(statistics.median(ratios), 3),
        **{
            name: {
                "median_ms": ms(mode.latencies, statistics.median),
                "cpu_ms_per_request": ms(mode.cpu, statistics.fmean),
                "statements_per_request": round(statistics.fmean(mode.statements), 2),
            }
            for name, mode in modes.items()
        },
    }


async def measure(url: str, rounds: int, count: int, chosen: list[str]) -> dict[str, Any]:
    fx = await choose_fixture(url, SECRET, "unanticipated")
    settings = Settings(
        jwt_secret=SECRET,
        audit_key="unanticipated-audit-key",
        rate_limit_per_second=0,
        rate_limit_address_per_second=0,
    )
    # Opened with the timeout, as `vardkedja serve` opens its pool (no SET per statement).
    db = PooledDatabase(url, pool_size=2, statement_timeout=settings.statement_timeout)
    db.start()
    app = create_app(settings, db=db)
    out: dict[str, Any] = {}
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://bench"
        ) as http:
            for case in await cases(http, fx, count):
                if chosen and case.name not in chosen:
                    continue
                cold = report(await run_pass(http, db, case, 1))
                warm = report(await run_pass(http, db, case, rounds))
                out[case.name] = {"cold": cold, "warm": warm}
                print(f"{case.name}: cold {cold}\n{case.name}: warm {warm}", flush=True)
    finally:
        await db.stop()
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1000, help="seeded patients (dataset)")
    parser.add_argument("--rounds", type=int, default=3, help="warm rounds per case")
    parser.add_argument("--requests", type=int, default=40, help="requests per case and round")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--cases", nargs="+", default=[], choices=CASES, help="default: all")
    args = parser.parse_args(argv)
    from bench.run import prepare_dataset

    db = prepare_dataset(args.size, args.seed, name="unanticipated")
    try:
        results = asyncio.run(measure(db.url, args.rounds, args.requests, args.cases))
    finally:
        db.stop()
    document = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M"),
        "dataset_patients": args.size,
        "rounds": args.rounds,
        "cases": results,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(document, indent=2) + "\n")
    print(
        "| case | pass | fixed median ms | varied median ms | varied ÷ fixed (paired) | "
        "CPU ms fixed / varied | SQL/req fixed / varied |"
    )
    for name, passes in results.items():
        for label, r in passes.items():
            f, v = r["fixed"], r["varied"]
            print(
                f"| {name} | {label} | {f['median_ms']} | {v['median_ms']} | "
                f"{r['paired_latency_ratio_median']}x | {f['cpu_ms_per_request']} / "
                f"{v['cpu_ms_per_request']} | {f['statements_per_request']} / "
                f"{v['statements_per_request']} |"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
