"""The change log: one entry per written row, in the writing transaction, never its content;
triggers on every patient table; retention by partition."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel import SQLModel

import app.models
from app import models
from app.access.principal import Principal, PrincipalKind
from app.changes import feed
from app.changes.retention import maintain, partitions
from app.settings import Settings
from schema.ids import encode_id
from tests import factories as f
from tests.integration.mutation_support import (
    call,
    make_world,
    patient_gid,
    row_gid,
    system_token,
)
from tests.integration.privacy_world import data_access
from tests.integration.test_mutations_all import CASES, Case, prepare
from tests.integration.test_mutations_care import CONTACT, contact_input

NULLIFY = """mutation N($input: NullifyInput!) {
  nullify(input: $input) { record { id } userErrors { field code } } }"""
PLACE = """mutation($input: PlaceBlockInput!) {
  placeBlock(input: $input) { block { id } userErrors { field code } } }"""


async def entries(conn: AsyncConnection, patient_id: uuid.UUID) -> list[dict[str, Any]]:
    rows = await conn.execute(
        text(
            "SELECT category, record_id, kind FROM change_log WHERE patient_id = :p"
            " ORDER BY txid, position"
        ),
        {"p": patient_id},
    )
    return [dict(r._mapping) for r in rows]


def _tracked() -> list[tuple[str, str]]:
    """(table, mode) of every tracked table: 0010 tracked the tables of its time; a later
    revision that adds a table of patient data lists it in a TRACKED of its own."""
    import importlib
    from pathlib import Path

    versions = Path(__file__).parents[2] / "migrations" / "versions"
    tracked: list[tuple[str, str]] = []
    for path in sorted(versions.glob("*.py")):
        module = importlib.import_module(f"migrations.versions.{path.stem}")
        tracked.extend(getattr(module, "TRACKED", ()))
    return tracked


def test_every_patient_table_is_tracked() -> None:
    """A new table of patient data without the triggers fails here (add it to a migration)."""
    tracked = {table for table, _ in _tracked()}
    assert app.models  # every table registered
    patient_tables = {
        name
        for name, table in SQLModel.metadata.tables.items()
        if "patient_id" in table.c or name == "patient"
    } - {"audit_entry", "change_log"}
    # patient_identifier and fhir_preserved too (0013: entries of their own).
    assert patient_tables == tracked


async def test_triggers_exist_on_every_tracked_table(conn: AsyncConnection) -> None:
    rows = await conn.execute(
        text(
            "SELECT c.relname, t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid"
            " WHERE t.tgname LIKE 'change_log_%' AND NOT t.tgisinternal"
        )
    )
    found = {(r[0], r[1]) for r in rows}
    for table, _ in _tracked():
        for event in ("insert", "update", "delete"):
            assert (table, f"change_log_{event}") in found


async def test_the_log_holds_no_content(conn: AsyncConnection) -> None:
    rows = await conn.execute(
        text("SELECT column_name FROM information_schema.columns WHERE table_name = 'change_log'")
    )
    assert {r[0] for r in rows} == {
        "recorded_at",
        "position",
        "txid",
        "patient_id",
        "category",
        "record_id",
        "kind",
        "record_table",  # a table name, for fhir_preserved entries
    }


async def test_a_mutation_writes_one_entry_per_row_and_a_refused_one_none(
    client: httpx.AsyncClient, conn: AsyncConnection, settings: Settings
) -> None:
    world = await make_world(conn)
    before = await entries(conn, world.patient.id)
    token = world.clinician_token(settings)
    body = await call(
        client, CONTACT, {"input": contact_input(patient_gid(world.patient))}, token=token
    )
    contact = body["data"]["recordCareContact"]["careContact"]
    after = await entries(conn, world.patient.id)
    new = after[len(before) :]
    assert len(new) == 1
    assert new[0]["category"] == "care_contact" and new[0]["kind"] == "created"
    assert encode_id("CareContact", new[0]["record_id"], world.patient.id) == contact["id"]
    # Refused (a contact cannot end before it starts): its savepoint is gone, and its entry.
    refused = await call(
        client,
        CONTACT,
        {"input": contact_input(patient_gid(world.patient), periodEnd="2020-01-01T00:00:00Z")},
        token=token,
    )
    assert refused["data"]["recordCareContact"]["userErrors"]
    assert await entries(conn, world.patient.id) == after


async def test_nullify_is_its_own_kind(
    client: httpx.AsyncClient, conn: AsyncConnection, settings: Settings
) -> None:
    world = await make_world(conn)
    doc = await f.create_clinical(conn, models.CareDocument, world.patient, world.unit)
    body = await call(
        client,
        NULLIFY,
        {"input": {"id": row_gid("CareDocument", doc), "version": 1, "reason": "fel patient"}},
        token=world.clinician_token(settings),
    )
    assert body["data"]["nullify"]["userErrors"] == []
    last = (await entries(conn, world.patient.id))[-1]
    assert last == {"category": "care_document", "record_id": doc.id, "kind": "nullified"}


async def test_consent_and_block_changes_are_logged(
    client: httpx.AsyncClient, conn: AsyncConnection, settings: Settings
) -> None:
    from tests.integration.test_privacy_queries import patient_token

    world = await make_world(conn)
    before = len(await entries(conn, world.patient.id))
    body = await call(
        client,
        PLACE,
        {
            "input": {
                "patientId": patient_gid(world.patient),
                "kind": "OUTER",
                "careProviderHsaId": world.provider.hsa_id,
            }
        },
        token=patient_token(settings, world.patient),
    )
    assert body["data"]["placeBlock"]["userErrors"] == []
    new = (await entries(conn, world.patient.id))[before:]
    assert [(e["category"], e["kind"]) for e in new] == [("block", "created")]
    consent = await f.create_consent(conn, world.patient, "svod_access", care_unit_id=world.unit.id)
    await conn.execute(
        text("UPDATE consent SET revoked_at = now() WHERE id = :id"), {"id": consent.id}
    )
    tail = (await entries(conn, world.patient.id))[-2:]
    assert [(e["category"], e["kind"]) for e in tail] == [
        ("consent", "created"),
        ("consent", "updated"),
    ]


async def test_a_bulk_statement_logs_every_row(conn: AsyncConnection) -> None:
    world = await make_world(conn)
    for _ in range(3):
        await f.create_clinical(conn, models.Diagnosis, world.patient, world.unit)
    await conn.execute(
        text("UPDATE diagnosis SET display = 'x' WHERE patient_id = :p"), {"p": world.patient.id}
    )
    kinds = [
        e["kind"] for e in await entries(conn, world.patient.id) if e["category"] == "diagnosis"
    ]
    assert kinds == ["created"] * 3 + ["updated"] * 3


async def test_retention_drops_old_partitions_and_expires_their_cursors(
    conn: AsyncConnection,
) -> None:
    world = await make_world(conn)
    now = datetime.now(UTC)
    later = now + timedelta(days=200)
    done = await maintain(conn, retention=timedelta(days=30), now=later)
    this_month = f"change_log_p{now:%Y%m}"
    assert this_month in done.dropped
    kept = await partitions(conn)
    assert this_month not in kept
    assert f"change_log_p{later:%Y%m}" in kept
    assert await entries(conn, world.patient.id) == []
    system = Principal(kind=PrincipalKind.SYSTEM, subject="integration")
    data = data_access(conn, system)
    with pytest.raises(feed.CursorExpired):
        await feed.check_horizon(data, feed.START)


async def _log_size(conn: AsyncConnection) -> int:
    return int((await conn.execute(text("SELECT count(*) FROM change_log"))).scalar_one())


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.mutation)
async def test_every_mutation_logs_exactly_its_row_and_a_refusal_nothing(
    client: httpx.AsyncClient, conn: AsyncConnection, settings: Settings, case: Case
) -> None:
    _, data = await prepare(conn, case)
    token = system_token(settings)  # the log, not a care situation, is under test
    before = await _log_size(conn)
    refused = await call(client, case.query(), {"input": data | case.invalid}, token=token)
    assert refused["data"][case.mutation]["userErrors"]
    assert await _log_size(conn) == before
    body = await call(client, case.query(), {"input": data}, token=token)
    written_id = body["data"][case.mutation][case.result]["id"]
    rows = await conn.execute(
        text(
            "SELECT category, record_id, patient_id, kind FROM change_log"
            " ORDER BY txid, position OFFSET :n"
        ),
        {"n": before},
    )
    [entry] = rows.all()
    assert entry.category == case.table and entry.kind == "created"
    owner = None if case.type_name == "Patient" else entry.patient_id
    assert encode_id(case.type_name, entry.record_id, owner) == written_id
