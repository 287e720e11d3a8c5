"""The ADMIN purpose (administration, follow-up, quality assurance): the head of a unit or a
quality reviewer reads that unit's own records of the patients it has or had in care, nothing
of other units or providers, nothing without the role, and writes nothing."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from app import models
from app.access.principal import Principal, Purpose
from app.audit import flush
from app.settings import Settings
from tests import factories as f
from tests.integration.privacy_world import World, build_world, data_access, doc_names, visible_ids
from tests.integration.test_privacy_queries import clinician_token, gql

ENDED = datetime(2023, 12, 31, tzinfo=UTC)


def reviewer(w: World, role: str | None = "kvalitetsgranskare") -> Principal:
    return w.clinician(purpose=Purpose.ADMIN, role=role)


async def test_admin_reads_the_units_own_records_only(conn: AsyncConnection) -> None:
    w = await build_world(conn)
    await f.create_consent(conn, w.patient, "svod_access", care_unit_id=w.u.id)
    assert await doc_names(conn, w, reviewer(w)) == {"u"}
    assert await doc_names(conn, w, reviewer(w, role="verksamhetschef")) == {"u"}
    # For care (TREAT) the same clinician sees the region's and, with consent, B's records.
    assert await doc_names(conn, w, w.clinician()) == {"u", "u2", "v", "h"}


async def test_admin_follows_up_past_care_without_a_current_relationship(
    conn: AsyncConnection,
) -> None:
    w = await build_world(conn)
    former = await f.create_patient(conn)
    await f.create_care_relationship(conn, former, w.u, valid_to=ENDED)
    doc = await f.create_clinical(conn, models.CareDocument, former, w.u)
    visited = await f.create_patient(conn)
    contact = await f.create_care_contact(conn, visited, w.u)
    elsewhere = await f.create_patient(conn)
    await f.create_clinical(conn, models.CareDocument, elsewhere, w.u2)
    data = data_access(conn, reviewer(w))
    seen = await visible_ids(conn, reviewer(w), models.CareDocument, [former.id], data)
    assert seen == {doc.id}
    contacts = await visible_ids(conn, reviewer(w), models.CareContact, [visited.id], data)
    assert contacts == {contact.id}
    assert await data.visible_patients([former.id, visited.id, elsewhere.id]) == {
        former.id,
        visited.id,
    }
    # For care, the ended relationship gives nothing (A1).
    assert not await visible_ids(conn, w.clinician(), models.CareDocument, [former.id])


async def test_admin_needs_the_role_and_never_writes(conn: AsyncConnection) -> None:
    w = await build_world(conn)
    assert await doc_names(conn, w, reviewer(w, role=None)) == set()
    assert await doc_names(conn, w, reviewer(w, role="lakare")) == set()
    data = data_access(conn, reviewer(w))
    assert await data.write_denial(w.patient.id, w.u.id) is not None


async def test_admin_reads_are_audited_with_purpose_admin(conn: AsyncConnection) -> None:
    w = await build_world(conn)
    principal = reviewer(w)
    data = data_access(conn, principal)
    docs = models.CareDocument.__table__  # type: ignore[attr-defined]
    visible = await data.visibility(docs, [w.patient.id])
    await data.fetch(select(docs).where(visible), disclose="CareDocument")
    denied = data_access(conn, reviewer(w, role=None))
    await visible_ids(conn, reviewer(w, role=None), models.CareDocument, [w.patient.id], denied)
    await flush(conn, data.audit, principal, "review")
    await flush(conn, denied.audit, reviewer(w, role=None), "review")
    logged = await conn.execute(
        text("SELECT purpose, action, reason FROM audit_entry WHERE patient_id = :p ORDER BY id"),
        {"p": w.patient.id},
    )
    rows = [tuple(r) for r in logged]
    assert rows[0][:2] == ("ADMIN", "read")
    assert rows[1][:2] == ("ADMIN", "deny") and "role" in rows[1][2]


async def test_admin_over_http_lists_the_units_contacts_of_past_patients(
    client: httpx.AsyncClient, conn: AsyncConnection, settings: Settings
) -> None:
    w = await build_world(conn)
    former = await f.create_patient(conn)
    await f.create_care_relationship(conn, former, w.u, valid_to=ENDED)
    await f.create_care_contact(conn, former, w.u)
    query = """query($hsa: String!) { careUnit(hsaId: $hsa) { careContacts { totalCount } } }"""
    variables = {"hsa": w.u.hsa_id}
    admin = clinician_token(settings, w, role="kvalitetsgranskare")
    seen = await gql(client, query, admin, variables, **{"x-purpose-of-use": "ADMIN"})
    assert seen["data"]["careUnit"]["careContacts"]["totalCount"] == 1
    for_care = await gql(client, query, clinician_token(settings, w), variables)
    assert for_care["data"]["careUnit"]["careContacts"]["totalCount"] == 0
