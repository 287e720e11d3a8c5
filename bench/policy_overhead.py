"""What the access policy and the audit trail cost: the emergency care-situation operation
(schema/operations/EmergencyOverview.graphql) with policy + audit on, against the same
operation with both off (settings.access_policy = False: the open policy, no audit flush).

    .venv/bin/python -m bench.policy_overhead [--size 2000] [--patients 50] [--rounds 5]

One process, in-process ASGI requests (no network), one request at a time, on a seeded
dataset of its own (bench/.data/policy-overhead-<size>, reused between runs). The clinician and
the patients are the runner's fixture (bench/fixture.py): patients whose whole overview the
policy shows, so all modes return the same answer (checked). Each patient is asked in every
mode back to back (rotating order), and the headline is the median of these paired ratios
(robust to load from other processes), with the ratio of medians and the statements per
request of each mode.
Writes bench/results/policy-overhead.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import statistics
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import event

from app.db import PooledDatabase
from app.main import create_app
from app.settings import Settings
from bench.fixture import Fixture, choose_fixture

RESULTS = Path(__file__).resolve().parent / "results" / "policy-overhead.json"
OPERATION = Path(__file__).resolve().parent.parent / "schema" / "operations"
SECRET = "policy-overhead-benchmark-secret-0123456789"
REASON = "Unconscious on arrival"
MODES = ("off", "on", "on-etreat")


@dataclass
class Mode:
    name: str
    client: httpx.AsyncClient
    headers: dict[str, str]
    latencies: list[float] = field(default_factory=list)
    statements: list[int] = field(default_factory=list)


@contextmanager
def counting(db: PooledDatabase) -> Iterator[list[int]]:
    """Counts the SQL statements the pool's engine runs."""
    assert db.engine is not None
    seen = [0]

    def count(*args: object) -> None:
        seen[0] += 1

    event.listen(db.engine.sync_engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", count)


async def ask(mode: Mode, query: str, patient: str) -> tuple[float, dict[str, Any]]:
    body = {
        "query": query,
        "operationName": "EmergencyOverview",
        "variables": {"personnummer": patient},
    }
    started = time.perf_counter()
    response = await mode.client.post("/graphql", json=body, headers=mode.headers)
    elapsed = time.perf_counter() - started
    answer: dict[str, Any] = response.json()
    if response.status_code != 200 or answer.get("errors"):
        raise SystemExit(f"{mode.name}: {response.status_code} {answer}")
    return elapsed, answer


async def measure(url: str, fx: Fixture, rounds: int, patients: int) -> dict[str, Any]:
    query = (OPERATION / "EmergencyOverview.graphql").read_text()
    candidates = [p.personnummer for p in fx.patients]
    chosen: list[str] = []
    dbs: dict[str, PooledDatabase] = {}
    modes: dict[str, Mode] = {}
    for name in MODES:
        settings = Settings(
            jwt_secret=SECRET,
            audit_key="policy-overhead-audit-key",
            access_policy=name != "off",
            # One token as fast as it goes: the rate limits would measure themselves.
            rate_limit_per_second=0,
            rate_limit_address_per_second=0,
        )
        db = dbs[name] = PooledDatabase(url, pool_size=2)
        db.start()
        app = create_app(settings, db=db)
        headers = dict(fx.ours_headers)
        if name == "on-etreat":
            headers |= {"X-Purpose-Of-Use": "ETREAT", "X-Emergency-Reason": REASON}
        transport = httpx.ASGITransport(app=app)
        client = httpx.AsyncClient(transport=transport, base_url="http://bench")
        modes[name] = Mode(name, client, headers)
    try:
        # Warm up, keeping the patients of whom the policy shows what the open policy does
        # (the others differ by design: NLL without consent, blocks): the same work in each mode.
        for personnummer in candidates:
            answers = [(await ask(modes[m], query, personnummer))[1] for m in MODES]
            if answers[0] == answers[1] == answers[2]:
                chosen.append(personnummer)
            if len(chosen) == patients:
                break
        if not chosen:
            raise SystemExit("no patient whose overview the policy shows in full")
        # Paired: each patient is asked in every mode back to back, in a rotating order, so
        # load from other processes hits the modes alike; the ratios are taken per pair.
        for round_ in range(rounds):
            for i, personnummer in enumerate(chosen):
                shift = (round_ + i) % len(MODES)
                for name in MODES[shift:] + MODES[:shift]:
                    mode = modes[name]
                    with counting(dbs[name]) as seen:
                        elapsed, _ = await ask(mode, query, personnummer)
                    mode.latencies.append(elapsed)
                    mode.statements.append(seen[0])
    finally:
        for name in MODES:
            await modes[name].client.aclose()
            await dbs[name].stop()
    off = modes["off"].latencies
    paired = {
        name: round(
            statistics.median(a / b for a, b in zip(modes[name].latencies, off, strict=True)), 3
        )
        for name in MODES
        if name != "off"
    }
    return {
        "patients": len(chosen),
        "paired_ratio_median": paired,
        **{name: summary(modes[name]) for name in MODES},
    }


def summary(mode: Mode) -> dict[str, float]:
    ms = sorted(x * 1000 for x in mode.latencies)
    return {
        "requests": len(ms),
        "median_ms": round(statistics.median(ms), 3),
        "mean_ms": round(statistics.fmean(ms), 3),
        "p95_ms": round(ms[int(len(ms) * 0.95) - 1], 3),
        "statements_per_request": round(statistics.fmean(mode.statements), 2),
    }


def prepare(size: int, seed: int) -> Any:
    """The dataset in bench/.data/policy-overhead-<size> (its own folder: the load runner may be
    using its datasets at the same time)."""
    from bench.run import prepare_dataset

    return prepare_dataset(size, seed, name="policy-overhead")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=2000, help="seeded patients (dataset)")
    parser.add_argument("--patients", type=int, default=50, help="patients asked per round")
    parser.add_argument("--rounds", type=int, default=5, help="rounds per mode")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    db = prepare(args.size, args.seed)
    try:
        fx = asyncio.run(choose_fixture(db.url, SECRET, "policy-overhead"))
        results = asyncio.run(measure(db.url, fx, args.rounds, args.patients))
    finally:
        db.stop()
    on, off, etreat = results["on"], results["off"], results["on-etreat"]
    report = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M"),
        "operation": "EmergencyOverview",
        "dataset_patients": args.size,
        "patients_per_round": results.pop("patients"),
        "paired_ratio_median": results.pop("paired_ratio_median"),
        "rounds": args.rounds,
        "modes": results,
        "ratio_median": round(on["median_ms"] / off["median_ms"], 3),
        "ratio_mean": round(on["mean_ms"] / off["mean_ms"], 3),
        "ratio_median_etreat": round(etreat["median_ms"] / off["median_ms"], 3),
        "machine": f"{platform.machine()}, {platform.python_implementation()} "
        f"{platform.python_version()}",
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))
    paired = report["paired_ratio_median"]
    print(
        f"| {report['date']} | {args.size:,} | {report['patients_per_round']} x {args.rounds} | "
        f"{off['median_ms']} | {on['median_ms']} | {etreat['median_ms']} | "
        f"{paired['on']} | {paired['on-etreat']} | {off['statements_per_request']} / "
        f"{on['statements_per_request']} / {etreat['statements_per_request']} |"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
