"""What the change log costs a whole write through the API: `addDiagnosis` mutations.

    .venv/bin/python -m bench.change_log_mutation_benchmark --patients 50 --seconds 10

bench/change_log_benchmark.py measures the worst case, a bare single-row INSERT. A client's
write is a mutation: token, policy, idempotency, the INSERT, the audit entry, one transaction.
This benchmark starts `vardkedja serve` (policy and audit on) on an embedded PostgreSQL (or a
fresh database on the server in VARDKEDJA_DATABASE_URL) with a small demo population, and has
the ER doctor of the demo add diagnoses to Tolvan's record from 4 concurrent clients, in
alternating rounds with the change log's triggers on the diagnosis table enabled and disabled
(`ALTER TABLE diagnosis DISABLE TRIGGER USER`); the ratio of the medians is the log's cost.

Writes bench/results/change-log-mutation.json and a line in bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import asyncpg
import httpx

from bench.change_log_benchmark import bench_database, readme_row, record

SECTION = "## Change log in a whole mutation"
SECTION_TEXT = """
`bench/change_log_mutation_benchmark.py`: the ER doctor's `addDiagnosis` mutations through a
live `vardkedja serve` (policy and audit on) from 4 clients, in alternating rounds with the
change log's triggers on the diagnosis table on and off; cost = off/on of the median rates.

| date (UTC) | seconds/round | on mutations/s | off mutations/s | cost (off/on) | load |
|---|---|---|---|---|---|
"""
CONCURRENCY = 4
ROUNDS = 3
MUTATION = """mutation Add($input: AddDiagnosisInput!) {
  addDiagnosis(input: $input) { diagnosis { id } userErrors { code message } }
}"""


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _cli(*args: str, env: dict[str, str]) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "app", *args], env=env, capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


@contextmanager
def _serving(env: dict[str, str], port: int) -> Iterator[str]:
    server = subprocess.Popen(
        [sys.executable, "-m", "app", "serve", "--no-demo", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.3)
        else:
            raise SystemExit("vardkedja serve did not become ready in 120 s")
        yield base
    finally:
        server.terminate()
        server.wait(timeout=60)


async def _tolvan(http: httpx.AsyncClient, token: str) -> str:
    answer = await http.post(
        "/graphql",
        json={"query": '{ patient(personnummer: "19121212-1212") { id } }'},
        headers={"authorization": f"Bearer {token}"},
    )
    return str(answer.json()["data"]["patient"]["id"])


async def _round(http: httpx.AsyncClient, token: str, patient: str, seconds: float) -> float:
    done = 0
    stop = time.perf_counter() + seconds

    async def client() -> None:
        nonlocal done
        while time.perf_counter() < stop:
            answer = await http.post(
                "/graphql",
                json={
                    "query": MUTATION,
                    "variables": {
                        "input": {
                            "patientId": patient,
                            "code": "J06.9",
                            "display": "Övre luftvägsinfektion",
                            "diagnosisType": "BIDIAGNOS",
                        }
                    },
                },
                headers={"authorization": f"Bearer {token}"},
            )
            body = answer.json()
            payload = (body.get("data") or {}).get("addDiagnosis") or {}
            if answer.status_code != 200 or payload.get("userErrors") or "errors" in body:
                raise SystemExit(f"the mutation failed: {answer.status_code} {body}")
            done += 1

    start = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(CONCURRENCY)))
    return done / (time.perf_counter() - start)


async def measure(url: str, base: str, token: str, seconds: float) -> dict[str, Any]:
    on: list[float] = []
    off: list[float] = []
    conn = await asyncpg.connect(url)
    limits = httpx.Limits(max_connections=CONCURRENCY)
    try:
        async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as http:
            patient = await _tolvan(http, token)
            await _round(http, token, patient, seconds / 4)  # warm-up
            for _ in range(ROUNDS):
                await conn.execute("ALTER TABLE diagnosis ENABLE TRIGGER USER")
                on.append(await _round(http, token, patient, seconds))
                await conn.execute("ALTER TABLE diagnosis DISABLE TRIGGER USER")
                off.append(await _round(http, token, patient, seconds))
    finally:
        await conn.execute("ALTER TABLE diagnosis ENABLE TRIGGER USER")
        await conn.close()
    on_rate, off_rate = statistics.median(on), statistics.median(off)
    return {
        "seconds_per_round": seconds,
        "on_mutations_per_s": round(on_rate, 1),
        "off_mutations_per_s": round(off_rate, 1),
        "cost_ratio": round(off_rate / on_rate, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=50, help="size of the demo population")
    parser.add_argument("--seconds", type=float, default=10.0, help="length of one round")
    args = parser.parse_args()
    load = os.getloadavg()[0]
    with bench_database() as (url, folder):
        env = {k: v for k, v in os.environ.items() if not k.startswith("VARDKEDJA_")} | {
            "VARDKEDJA_DATABASE_URL": url,
            "VARDKEDJA_DATA_DIR": str(folder / "data"),
            "VARDKEDJA_JWT_SECRET": secrets.token_hex(32),
            "VARDKEDJA_AUDIT_KEY": secrets.token_hex(32),
            "VARDKEDJA_PSEUDONYM_KEY": secrets.token_hex(32),
            "VARDKEDJA_RATE_LIMIT_PER_SECOND": "0",
            "VARDKEDJA_RATE_LIMIT_ADDRESS_PER_SECOND": "0",
            "VARDKEDJA_WEBHOOKS_IN_SERVER": "false",
        }
        _cli("seed", "--patients", str(args.patients), env=env)
        token = _cli("token", "--as", "clinician", env=env).splitlines()[-1]
        with _serving(env, _free_port()) as base:
            measured = asyncio.run(measure(url, base, token, args.seconds))
    r = record("change-log-mutation", measured, load)
    readme_row(
        SECTION,
        SECTION_TEXT,
        f"| {r['date']} | {r['seconds_per_round']} | {r['on_mutations_per_s']:,} |"
        f" {r['off_mutations_per_s']:,} | {r['cost_ratio']} | {r['load']} |\n",
    )
    print(json.dumps(r, indent=2))


if __name__ == "__main__":
    main()
