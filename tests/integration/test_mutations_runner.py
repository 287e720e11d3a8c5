"""The mutation runner: all or nothing inside the request transaction, audit only what stayed."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import UTC, date, datetime

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from app import models
from app.access.principal import Principal, PrincipalKind
from app.context import build_context
from app.settings import Settings
from resolvers.mutations.outcome import Code, RowRef, reject
from resolvers.mutations.runner import Writer, fingerprint, run_mutation
from tests.factories import header, personnummer
from tests.integration.mutation_support import (
    call,
    count,
    make_world,
    patient_gid,
    system_token,
    written,
)

SYSTEM = Principal(kind=PrincipalKind.SYSTEM, subject="runner-test")


async def test_a_rejection_after_an_insert_leaves_nothing(
    conn: AsyncConnection, settings: Settings
) -> None:
    world = await make_world(conn)
    ctx = build_context(conn, SYSTEM, settings)
    before = await count(conn, "care_contact")

    async def body(write: Writer) -> Mapping[str, RowRef]:
        values = header(world.patient, world.unit) | {"contact_type": "besok", "status": "avslutad"}
        await write.insert(models.CareContact, values)
        assert await count(conn, "care_contact") == before + 1
        raise reject("input.x", Code.INVALID_STATE, "changed my mind")

    outcome = await run_mutation(ctx, "test", {"a": 1}, body, idempotency_key="k")
    assert [(p.field, p.code) for p in outcome.problems] == [("input.x", Code.INVALID_STATE)]
    assert await count(conn, "care_contact") == before
    assert await count(conn, "idempotency_key") == 0
    assert not ctx.audit.written


async def test_an_unexpected_error_after_an_insert_leaves_nothing(
    conn: AsyncConnection, settings: Settings
) -> None:
    world = await make_world(conn)
    ctx = build_context(conn, SYSTEM, settings)
    before = await count(conn, "care_contact")

    async def body(write: Writer) -> Mapping[str, RowRef]:
        values = header(world.patient, world.unit) | {"contact_type": "besok", "status": "avslutad"}
        await write.insert(models.CareContact, values)
        raise RuntimeError("a bug")

    with pytest.raises(RuntimeError):
        await run_mutation(ctx, "test", {}, body, idempotency_key=None)
    # The request transaction is intact: it can go on and write its audit entries.
    assert await count(conn, "care_contact") == before
    assert not ctx.audit.written


async def test_a_database_error_mid_mutation_is_rolled_back_to_the_savepoint(
    conn: AsyncConnection, settings: Settings
) -> None:
    world = await make_world(conn)
    ctx = build_context(conn, SYSTEM, settings)

    async def body(write: Writer) -> Mapping[str, RowRef]:
        ok = header(world.patient, world.unit) | {"contact_type": "besok", "status": "avslutad"}
        await write.insert(models.CareContact, ok)
        await write.insert(models.CareContact, ok | {"contact_type": "nonsense"})
        return {}

    with pytest.raises(Exception, match="ck_care_contact"):
        await run_mutation(ctx, "test", {}, body, idempotency_key=None)
    assert await count(conn, "care_contact") == 0
    assert (await conn.execute(text("SELECT 1"))).scalar_one() == 1


async def test_out_of_range_values_from_the_database_are_user_errors(
    conn: AsyncConnection, settings: Settings
) -> None:
    world = await make_world(conn)
    ctx = build_context(conn, SYSTEM, settings)

    async def body(write: Writer) -> Mapping[str, RowRef]:
        values = header(world.patient, world.unit) | {
            "contact_type": "besok",
            "status": "avslutad",
            "reason": "x" * 501,
        }
        return {"c": await write.insert(models.CareContact, values)}

    outcome = await run_mutation(ctx, "test", {}, body, idempotency_key=None)
    assert [(p.field, p.code) for p in outcome.problems] == [(None, Code.INVALID_VALUE)]


def test_fingerprint_ignores_the_key_and_sees_every_value() -> None:
    a = {"x": 1, "when": datetime(2024, 1, 1, tzinfo=UTC), "idempotency_key": "a"}
    assert fingerprint(a) == fingerprint(a | {"idempotency_key": "b"})
    assert fingerprint(a) != fingerprint(a | {"x": 2})


BOTH = """
mutation Two($ok: RecordCareContactInput!, $bad: RecordCareContactInput!) {
  first: recordCareContact(input: $ok) { careContact { id } userErrors { code } }
  second: recordCareContact(input: $bad) { careContact { id } userErrors { field code } }
}
"""


async def test_each_mutation_of_a_request_stands_alone(
    client: httpx.AsyncClient, conn: AsyncConnection, settings: Settings
) -> None:
    world = await make_world(conn)
    ok = {
        "patientId": patient_gid(world.patient),
        "careUnitHsaId": world.unit.hsa_id,
        "contactType": "TELEFON",
        "status": "AVSLUTAD",
        "periodStart": "2024-05-02T10:15:00+02:00",
    }
    bad = ok | {"periodEnd": "2024-05-01T10:15:00+02:00"}
    body = await call(client, BOTH, {"ok": ok, "bad": bad}, token=system_token(settings))
    assert body["data"]["first"]["careContact"]["id"]
    assert body["data"]["second"] == {
        "careContact": None,
        "userErrors": [{"field": "input.periodEnd", "code": "INVALID_DATE_ORDER"}],
    }
    assert await count(conn, "care_contact") == 1
    assert len(await written(conn, world.patient.id)) == 1


async def test_concurrent_retries_with_one_key_write_once(
    engine: AsyncEngine, settings: Settings
) -> None:
    """Two transactions race with the same key: the second waits for the first, then replays
    its result. (Committed data, removed again at the end.)"""
    from resolvers.mutations.patients import RegisterPatient, register_patient

    command = RegisterPatient(
        personnummer=personnummer(date(1961, 6, 6)),
        given_name="Samtidig",
        family_name="Testsson",
        sex="male",
        idempotency_key="race-1",
    )
    first_conn = await engine.connect()
    second_conn = await engine.connect()
    try:
        await first_conn.begin()
        await second_conn.begin()
        first = await register_patient(build_context(first_conn, SYSTEM, settings), command)
        racing = asyncio.create_task(
            register_patient(build_context(second_conn, SYSTEM, settings), command)
        )
        await asyncio.sleep(0.2)
        assert not racing.done()  # blocked on the key the first transaction holds
        await first_conn.commit()
        second = await asyncio.wait_for(racing, timeout=10)
        await second_conn.commit()
        assert (first.replayed, second.replayed) == (False, True)
        assert first.refs == second.refs
        rows = await second_conn.execute(
            text("SELECT count(*) FROM patient WHERE identifier = :i"),
            {"i": command.personnummer},
        )
        assert rows.scalar_one() == 1
    finally:
        for connection in (first_conn, second_conn):
            if connection.in_transaction():
                await connection.rollback()
        async with engine.begin() as cleanup:
            await cleanup.execute(text("DELETE FROM idempotency_key WHERE key = 'race-1'"))
            await cleanup.execute(
                text("DELETE FROM patient WHERE identifier = :i"), {"i": command.personnummer}
            )
        await first_conn.close()
        await second_conn.close()
