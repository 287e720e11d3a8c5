"""Large statements (the planner's) stay prepared per connection (app/prepared.py): PostgreSQL
plans them a few times and then reuses a generic plan; a connection keeps a bounded number; an
engine for PgBouncer keeps none."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from app import prepared
from app.db import create_engine, driver_fetch
from app.sqlplan import Plan


def large(tag: int) -> str:
    """A statement over asyncpg's own cache limit (a long comment), distinct per tag."""
    padding = "x" * (prepared.LARGE + 100)
    return f"SELECT $1::int + {tag} AS v /* {padding} */"


async def kept(conn: AsyncConnection) -> list[tuple[str, int, int]]:
    rows = await driver_fetch(
        conn,
        "SELECT statement, generic_plans, custom_plans FROM pg_prepared_statements"
        " WHERE length(statement) > $1",
        (prepared.LARGE,),
    )
    return [(r["statement"], r["generic_plans"], r["custom_plans"]) for r in rows]


async def test_a_large_statement_is_planned_once_then_reused(database_url: str) -> None:
    engine = create_engine(database_url, pool_size=1)
    try:
        async with engine.connect() as conn:
            for n in range(8):
                rows = await driver_fetch(conn, large(1), (n,))
                assert rows[0]["v"] == n + 1
            [(statement, generic, custom)] = await kept(conn)
            assert statement == large(1)
            # PostgreSQL's own choice (plan_cache_mode = auto): five custom plans, then generic.
            assert custom == 5 and generic == 3
    finally:
        await engine.dispose()


async def test_a_connection_keeps_a_bounded_number(database_url: str) -> None:
    engine = create_engine(database_url, pool_size=1)
    try:
        async with engine.connect() as conn:
            for tag in range(prepared.LARGE_PER_CONNECTION + 8):
                await driver_fetch(conn, large(tag), (0,))
            # The least recently used are deallocated when asyncpg next talks to the server.
            await driver_fetch(conn, large(0), (0,))
            statements = [s for s, _, _ in await kept(conn)]
            assert len(statements) == prepared.LARGE_PER_CONNECTION
            assert large(0) in statements and large(1) not in statements
    finally:
        await engine.dispose()


async def test_no_statement_is_kept_for_pgbouncer(database_url: str) -> None:
    # Behind PgBouncer the next transaction may run on another server session: nothing named
    # may outlive the transaction (tests/integration/test_pgbouncer.py runs the real thing).
    engine = create_engine(database_url, pool_size=1, pgbouncer=True)
    try:
        async with engine.connect() as conn:
            for n in range(3):
                assert (await driver_fetch(conn, large(1), (n,)))[0]["v"] == n + 1
            assert await kept(conn) == []
    finally:
        await engine.dispose()


async def test_the_patient_lookup_settles_on_a_generic_plan(database_url: str) -> None:
    """The personnummer lookup's kinds are written into its SQL (app/sqlplan.py), so the
    partial unique index on (identifier_kind, identifier) serves a generic plan: PostgreSQL
    stops planning it after its five custom plans. Bound as parameters, it planned every run.
    So does a clinician's lookup, made with the assignment and the facts in one statement."""
    from datetime import UTC, datetime

    from app.access.facts import FactsShape, _clinician_patients_plan, _find_plan
    from resolvers.patients import PERSON_NUMBER_KINDS

    shape = FactsShape(
        single=False, related=True, decisions=True, step1=False, step1_unit_known=True,
        consent_kinds=("svod_access",), blocks=True, representatives=False,
        portal_exceptions=False, identifier_kinds=PERSON_NUMBER_KINDS,
    )  # fmt: skip
    now = datetime.now(UTC)
    clinician = {"subject": "x", "unit_hsa_id": "u", "provider_hsa_id": "p", "today": now.date()}
    cases = [
        (_find_plan(PERSON_NUMBER_KINDS), {}),
        (_clinician_patients_plan(False, shape), clinician | {"now": now}),
    ]
    for plan, values in cases:
        assert "'personnummer'" in plan.sql
        await _settles(database_url, plan, values | {"identifier": "191212121212"})


async def _settles(database_url: str, plan: Plan, values: dict[str, Any]) -> None:
    engine = create_engine(database_url, pool_size=1)
    try:
        async with engine.connect() as conn:
            for _ in range(8):
                await plan.rows(conn, **values)
            rows = await driver_fetch(
                conn,
                "SELECT generic_plans, custom_plans FROM pg_prepared_statements"
                " WHERE statement = $1",
                (plan.sql,),
            )
            assert [(r["custom_plans"], r["generic_plans"]) for r in rows] == [(5, 3)]
    finally:
        await engine.dispose()
