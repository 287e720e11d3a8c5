"""The privacy fields over HTTP: log extract (A13), emergency review, A7 hint, A6 step 1."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from app import models
from app.settings import Settings
from app.tokens import mint
from schema.ids import encode_id
from tests import factories as f
from tests.integration.privacy_world import World, build_world

READ = "query($id: ID!) { patient(id: $id) { familyName } }"
LOG = "{ myAccessLog { occurredAt careUnitName careProviderName personName purpose action } }"
REVIEW = "{ emergencyAccessReview { practitionerHsaId personnummer step reason } }"
HINT = "query($id: ID!) { blockedInformationElsewhere(patientId: $id) }"
STEP1 = "query($id: ID!) { emergencyBlockedProviders(patientId: $id) { hsaId name } }"
REASON = "Unconscious on arrival"


def clinician_token(settings: Settings, w: World, **kw: Any) -> str:
    claims: dict[str, Any] = {
        "care_unit": w.u.hsa_id,
        "care_provider": w.a.hsa_id,
        "name": "Doktor Testsson",
    } | kw
    return mint(settings, kind="clinician", subject=w.x.hsa_id, **claims)


def patient_token(settings: Settings, patient: models.Patient) -> str:
    return mint(settings, kind="patient", subject=patient.identifier, pnr=patient.identifier)


async def gql(
    client: httpx.AsyncClient,
    query: str,
    token: str,
    variables: dict[str, Any] | None = None,
    **headers: str,
) -> dict[str, Any]:
    response = await client.post(
        "/graphql",
        json={"query": query, "variables": variables or {}},
        headers={"authorization": f"Bearer {token}", **headers},
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_log_extract_names_public_staff_and_is_itself_logged(
    client: httpx.AsyncClient, conn: AsyncConnection, settings: Settings
) -> None:
    w = await build_world(conn)
    pid = encode_id("Patient", w.patient.id)
    read = await gql(client, READ, clinician_token(settings, w), {"id": pid})
    assert read["data"]["patient"] == {"familyName": "Tolvansson"}
    log = await gql(client, LOG, patient_token(settings, w.patient))
    assert log["data"]["myAccessLog"][0] | {"occurredAt": None} == {
        "occurredAt": None,
        "careUnitName": "VC U",
        "careProviderName": "Region A",
        "personName": "Doktor Testsson",
        "purpose": "TREAT",
        "action": "read",
    }
    logged = await conn.execute(
        text("SELECT action FROM audit_entry WHERE patient_id = :p ORDER BY id"),
        {"p": w.patient.id},
    )
    assert [r[0] for r in logged] == ["read", "log_extract"]


async def test_log_extract_hides_private_staff_and_is_not_for_clinicians(
    client: httpx.AsyncClient, conn: AsyncConnection, settings: Settings
) -> None:
    w = await build_world(conn)
    gp = await f.create_practitioner(conn)
    await f.create_assignment(conn, gp, w.v)
    await f.create_care_relationship(conn, w.patient, w.v)
    token = mint(
        settings, kind="clinician", subject=gp.hsa_id, care_unit=w.v.hsa_id,
        care_provider=w.b.hsa_id, name="Privat Läkare",
    )  # fmt: skip
    await gql(client, READ, token, {"id": encode_id("Patient", w.patient.id)})
    log = await gql(client, LOG, patient_token(settings, w.patient))
    entry = log["data"]["myAccessLog"][0]
    assert entry["careProviderName"] == "Privat B" and entry["personName"] is None
    refused = await gql(client, LOG, clinician_token(settings, w))
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_emergency_step1_hint_and_review(
    client: httpx.AsyncClient, conn: AsyncConnection, settings: Settings
) -> None:
    w = await build_world(conn)
    await f.create_block(conn, w.patient, "outer", w.b)
    pid = {"id": encode_id("Patient", w.patient.id)}
    token = clinician_token(settings, w)
    assert (await gql(client, HINT, token, pid))["data"] == {"blockedInformationElsewhere": True}
    assert (await gql(client, STEP1, token, pid))["data"] == {"emergencyBlockedProviders": None}
    emergency = {"X-Purpose-Of-Use": "ETREAT", "X-Emergency-Reason": REASON}
    step1 = await gql(client, STEP1, token, pid, **emergency)
    assert step1["data"]["emergencyBlockedProviders"] == [{"hsaId": w.b.hsa_id, "name": "Privat B"}]
    # The review: a system integration sees it; an ordinary clinician may not look.
    review = await gql(client, REVIEW, mint(settings, kind="system", subject="granskning"))
    assert review["data"]["emergencyAccessReview"] == [
        {
            "practitionerHsaId": w.x.hsa_id,
            "personnummer": w.patient.identifier,
            "step": 1,
            "reason": REASON,
        }
    ]
    refused = await gql(client, REVIEW, token)
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    other_provider = clinician_token(
        settings, w, role="granskare", care_unit=w.v.hsa_id, care_provider=w.b.hsa_id
    )
    assert (await gql(client, REVIEW, other_provider))["data"]["emergencyAccessReview"] == []
    own_provider = clinician_token(settings, w, role="granskare")
    assert len((await gql(client, REVIEW, own_provider))["data"]["emergencyAccessReview"]) == 1
