"""A patient's identifiers of other systems (patient_identifier) and the FHIR elements preserved
beside a record (fhir_preserved) get change entries of their own (migration 0013), in the
writing transaction: none after a rollback. In the feed they show the record they belong to,
under the policy of now. Clinician and patient tokens only."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import orjson
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from app import models
from app.settings import Settings
from schema.ids import encode_id
from tests import factories as f
from tests.integration.privacy_world import build_world
from tests.integration.test_changes_feed import everything, feed
from tests.integration.test_privacy_queries import clinician_token, patient_token

IDENTIFIER = (
    "INSERT INTO patient_identifier (system, value, patient_id, position)"
    " VALUES ('urn:oid:1.2.752.97.3.1.3', :value, :p, 1)"
)
PRESERVED = (
    "INSERT INTO fhir_preserved (table_name, row_id, patient_id, version, elements)"
    " VALUES ('care_document', :row, :p, 1, :elements)"
)


async def entries(conn: AsyncConnection, patient_id: uuid.UUID) -> list[tuple[Any, ...]]:
    rows = await conn.execute(
        text(
            "SELECT category, record_id, kind, record_table FROM change_log WHERE patient_id = :p"
            " AND category IN ('patient_identifier', 'fhir_preserved') ORDER BY txid, position"
        ),
        {"p": patient_id},
    )
    return [tuple(r) for r in rows]


async def test_each_write_logs_its_own_entry_and_a_rolled_back_one_none(
    conn: AsyncConnection,
) -> None:
    patient = await f.create_patient(conn)
    doc = await f.create_clinical(conn, models.CareDocument, patient, await _unit(conn))
    elements = '{"meta": {"source": "x"}}'
    # Rolled back: the rows and their entries are gone together.
    rolled_back = await conn.begin_nested()
    await conn.execute(text(IDENTIFIER), {"value": "MRN-1", "p": patient.id})
    await conn.execute(text(PRESERVED), {"row": doc.id, "p": patient.id, "elements": elements})
    assert len(await entries(conn, patient.id)) == 2
    await rolled_back.rollback()
    assert await entries(conn, patient.id) == []
    await conn.execute(text(IDENTIFIER), {"value": "MRN-1", "p": patient.id})
    await conn.execute(text(PRESERVED), {"row": doc.id, "p": patient.id, "elements": elements})
    await conn.execute(text("DELETE FROM fhir_preserved WHERE row_id = :row"), {"row": doc.id})
    assert await entries(conn, patient.id) == [
        # The patient is the record whose identifiers changed.
        ("patient_identifier", patient.id, "updated", None),
        # The note's FHIR form changed (written, then its remainder cleared).
        ("fhir_preserved", doc.id, "updated", "care_document"),
        ("fhir_preserved", doc.id, "updated", "care_document"),
    ]
    # No content: neither the identifier's value nor the preserved elements.
    dump = orjson.dumps([list(map(str, e)) for e in await entries(conn, patient.id)])
    assert b"MRN-1" not in dump and b"source" not in dump


async def _unit(conn: AsyncConnection) -> models.CareUnit:
    provider = await f.create_provider(conn)
    return await f.create_unit(conn, provider)


QUERY = """query($after: String, $categories: [ChangeCategory!]) {
  changes(after: $after, first: 50, categories: $categories) {
    changes { kind category recordId tombstone record { __typename id } }
  }
}"""


async def test_the_feed_shows_the_record_each_belongs_to_under_the_policy(
    client: httpx.AsyncClient, conn: AsyncConnection, settings: Settings
) -> None:
    w = await build_world(conn)
    secret = await f.create_clinical(
        conn, models.CareDocument, w.patient, w.u, approved_for_patient=False, title="EJ-GODKAND"
    )
    clinician = clinician_token(settings, w)
    patient = patient_token(settings, w.patient)
    ends = {
        token: (await feed(client, token, first=0))["endCursor"] for token in (clinician, patient)
    }
    await conn.execute(text(IDENTIFIER), {"value": "MRN-2", "p": w.patient.id})
    for row in (w.docs["u"], w.docs["v"], secret.id):
        await conn.execute(text(PRESERVED), {"row": row, "p": w.patient.id, "elements": "{}"})
    wanted = ["PATIENT_IDENTIFIER", "FHIR_PRESERVED"]
    own, other_provider, unapproved = (
        encode_id("CareDocument", row, w.patient.id)
        for row in (w.docs["u"], w.docs["v"], secret.id)
    )
    patient_gid = encode_id("Patient", w.patient.id)

    seen = await everything(client, clinician, after=ends[clinician], categories=wanted)
    shown = {(i["category"], i["recordId"]): i for i in seen}
    identifier = shown[("PATIENT_IDENTIFIER", patient_gid)]
    assert identifier["kind"] == "UPDATED" and identifier["record"]["__typename"] == "Patient"
    assert shown[("FHIR_PRESERVED", own)]["record"]["id"] == own
    assert shown[("FHIR_PRESERVED", unapproved)]["tombstone"] is False  # clinicians see it
    # Provider B's note without consent (A4): a tombstone, as for its own changes.
    hidden = shown[("FHIR_PRESERVED", other_provider)]
    assert hidden["tombstone"] is True and hidden["record"] is None

    # The patient app (A10): the unapproved note's preserved elements come as a tombstone.
    mine = await everything(client, patient, after=ends[patient], categories=wanted)
    by_id = {(i["category"], i["recordId"]): i for i in mine}
    assert by_id[("PATIENT_IDENTIFIER", patient_gid)]["record"]["id"] == patient_gid
    assert by_id[("FHIR_PRESERVED", own)]["tombstone"] is False
    assert by_id[("FHIR_PRESERVED", unapproved)]["tombstone"] is True
    assert b"EJ-GODKAND" not in orjson.dumps(mine)
    # Only the two categories asked for (and access changes, of which there are none here).
    assert {i["category"] for i in seen + mine} == set(wanted)
