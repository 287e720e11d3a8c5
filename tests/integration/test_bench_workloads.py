"""The benchmark's situation workloads (bench/workloads/situations.py) on a small seeded
population: each shipped operation, called as its role with the token the bench mints, gives
for some of the bench's candidate patients exactly the data of the workload's floor SQL (so the
runner has patients to time and compares real rows), and each PostGraphile twin is a valid
GraphQL document. The comparison with PostGraphile itself needs Node and runs in bench.run."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import asyncpg
import graphql
import httpx
import pytest

from app import migrate
from app.db import ConnectionDatabase, create_engine
from app.main import create_app
from app.seed import seed_population
from app.settings import Settings
from bench.fixture import choose_fixture
from bench.workloads import WORKLOADS
from bench.workloads.situations import SituationWorkload
from tests.conftest import TEST_SECRET

PATIENTS = 40
TRIED = 8  # candidates asked per workload


@pytest.fixture(scope="module")
def seeded_url(fresh_database: Callable[[], str]) -> str:
    url = fresh_database()
    migrate.upgrade(url)
    asyncio.run(seed_population(url, patients=PATIENTS, seed=3))
    return url


def rows(answer: Any) -> int:
    """How many list rows an answer holds, at any depth."""
    if isinstance(answer, dict):
        return len(answer.get("nodes", [])) + sum(rows(v) for v in answer.values())
    if isinstance(answer, list):
        return sum(rows(v) for v in answer)
    return 0


async def test_every_situation_workload_compares_real_rows(
    seeded_url: str, settings: Settings
) -> None:
    situations = [w for w in WORKLOADS.values() if isinstance(w, SituationWorkload)]
    assert {w.operation for w in situations} >= {
        "DentalVisit",
        "DischargeHandover",
        "HomeCareVisit",
        "MyRecord",
        "PharmacyDispensing",
        "PatientOverview",
    }
    fx = await choose_fixture(seeded_url, TEST_SECRET, "test")
    engine = create_engine(seeded_url, pool_size=1)
    floor = await asyncpg.connect(seeded_url)
    agreed: dict[str, int] = {}
    compared_rows: dict[str, int] = {}
    try:
        async with engine.connect() as conn:
            app = create_app(settings, db=ConnectionDatabase(conn))
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
                for w in situations:
                    graphql.parse(w.postgraphile_request(fx, 0)["query"])
                    agreed[w.name] = compared_rows[w.name] = 0
                    for i in range(min(TRIED, w.cycle_length(fx))):
                        response = await http.post(
                            "/graphql", json=w.ours_request(fx, i), headers=w.headers(fx, i)
                        )
                        body = response.json()
                        assert response.status_code == 200 and "errors" not in body, body
                        ours = w.canonical("vardkedja", body["data"])
                        theirs = w.canonical("floor", await w.floor(floor, fx, i))
                        if ours is not None and ours == theirs:
                            agreed[w.name] += 1
                            compared_rows[w.name] += rows(theirs)
    finally:
        await floor.close()
        await engine.dispose()
    assert all(agreed.values()), agreed
    assert all(compared_rows.values()), compared_rows


async def test_the_unanticipated_benchmark_asks_every_case_with_the_same_statements(
    seeded_url: str,
) -> None:
    """bench/unanticipated.py end to end on the small population: every case answers in both
    modes (it stops on any GraphQL error), and once warm a varied value (another page size,
    a cursor, a time, an id, a filter value) sends as many statements as the shipped value:
    planned too."""
    from bench.unanticipated import CASES, measure

    results = await measure(seeded_url, 1, 3, [])
    assert set(results) == set(CASES)
    for name, passes in results.items():
        warm = passes["warm"]
        assert warm["requests"] > 0, name
        assert warm["fixed"]["statements_per_request"] == 2.0 or name == "node id", warm
        assert warm["varied"]["statements_per_request"] == warm["fixed"]["statements_per_request"]
