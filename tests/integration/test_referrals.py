"""Referrals (remisser) across providers, with the tokens of the roles that use them: the
hospital doctor who refers, the municipal home-care nurse and the dentist who receive, and
people who may not act on a referral (another provider's staff, the patient)."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from app import models
from app.settings import Settings
from tests.factories import (
    create_care_document,
    create_care_relationship,
    create_patient,
    create_provider,
    create_unit,
)
from tests.integration.mutation_support import (
    call,
    errors_of,
    patient_gid,
    patient_token,
    written,
)
from tests.integration.test_legal_bases import clinician_token, staff

SEND = """mutation($input: SendReferralInput!) {
  sendReferral(input: $input) {
    referral { id version status priority reason question recipientUnit { name }
               careUnit { name } }
    userErrors { field code message }
    replayed
  }
}"""
STEP = """mutation($input: ReferralStepInput!) {
  %s(input: $input) {
    referral { id version status statusReason }
    userErrors { field code message }
    replayed
  }
}"""
ANSWER = """mutation($input: AnswerReferralInput!) {
  answerReferral(input: $input) {
    referral { id version status }
    answer { id outcomeType text careUnit { name } }
    userErrors { field code message }
  }
}"""
READ = """query($pnr: String!) {
  patient(personnummer: $pnr) {
    referrals { totalCount nodes { id version status reason question priority
      careUnit { name } recipientUnit { name }
      answer { outcomeType text careUnit { name } }
      history { nodes { status actorName reason careUnit { name } } } } }
    documents { totalCount }
  }
}"""
INCOMING = """query($id: ID!) {
  node(id: $id) { ... on CareUnit { incomingReferrals { totalCount nodes { reason
    patient { familyName } } } } }
}"""


class Chain:
    """A region's hospital that treats the patient, a municipality's home care and a dental
    clinic of a third provider, each with its staff."""

    async def make(self, conn: AsyncConnection, settings: Settings) -> Chain:
        self.region = await create_provider(conn, name="Region Remiss")
        self.hospital = await create_unit(conn, self.region, kind="hospital", name="Medicin 3")
        self.kommun = await create_provider(conn, name="Remiss kommun", kind="kommun")
        self.home_care = await create_unit(
            conn, self.kommun, kind="home_care", name="Hemsjukvården Norr"
        )
        self.dental = await create_provider(conn, name="Folktandvården Remiss")
        self.clinic = await create_unit(conn, self.dental, kind="dental", name="Tandkliniken")
        self.patient = await create_patient(conn)
        await create_care_relationship(conn, self.patient, self.hospital)
        await create_care_document(conn, self.patient, self.hospital, text="Sjukhusets anteckning")
        doctor = await staff(conn, self.hospital)
        nurse = await staff(conn, self.home_care, profession="sjuksköterska")
        dentist = await staff(conn, self.clinic, profession="tandläkare")
        self.doctor = clinician_token(settings, doctor, self.hospital, self.region)
        self.nurse = clinician_token(settings, nurse, self.home_care, self.kommun, "sjuksköterska")
        self.dentist = clinician_token(settings, dentist, self.clinic, self.dental, "tandläkare")
        self.patient_self = patient_token(settings, self.patient.identifier)
        return self

    def referral(self, **overrides: Any) -> dict[str, Any]:
        return {
            "patientId": patient_gid(self.patient),
            "recipientUnitHsaId": self.home_care.hsa_id,
            "priority": "URGENT",
            "reason": "Hemsjukvård efter utskrivning",
            "question": "Såromläggning underben dagligen, INR-kontroll om en vecka.",
        } | overrides

    async def send(self, client: httpx.AsyncClient, **overrides: Any) -> dict[str, Any]:
        body = await call(client, SEND, {"input": self.referral(**overrides)}, token=self.doctor)
        assert "errors" not in body, body
        payload: dict[str, Any] = body["data"]["sendReferral"]
        assert payload["userErrors"] == [], payload
        return payload

    async def step(
        self, client: httpx.AsyncClient, name: str, token: str, **fields: Any
    ) -> dict[str, Any]:
        body = await call(client, STEP % name, {"input": fields}, token=token)
        return body

    async def read(self, client: httpx.AsyncClient, token: str) -> Any:
        body = await call(client, READ, {"pnr": self.patient.identifier}, token=token)
        assert "errors" not in body, body
        return body["data"]["patient"]


async def chain(conn: AsyncConnection, settings: Settings) -> Chain:
    return await Chain().make(conn, settings)


async def test_the_recipient_reads_what_the_sender_wrote_without_reentering_it(
    client: httpx.AsyncClient, conn: AsyncConnection, settings: Settings
) -> None:
    c = await chain(conn, settings)
    sent = (await c.send(client))["referral"]
    assert (sent["status"], sent["version"]) == ("SENT", 1)
    assert sent["careUnit"]["name"] == "Medicin 3"
    assert sent["recipientUnit"]["name"] == "Hemsjukvården Norr"
    writes = await written(conn, c.patient.id)
    assert {w.split(":")[0] for w in writes} == {"Referral", "ReferralEvent", "CareRelationship"}

    seen = await c.read(client, c.nurse)
    referral = seen["referrals"]["nodes"][0]
    assert referral["question"] == "Såromläggning underben dagligen, INR-kontroll om en vecka."
    assert (referral["reason"], referral["priority"]) == ("Hemsjukvård efter utskrivning", "URGENT")
    assert referral["history"]["nodes"][0]["status"] == "SENT"
    # The referral is hers to read; the hospital's own notes are not (no SVOD consent, A4).
    assert seen["documents"]["totalCount"] == 0
    incoming = await call(client, INCOMING, {"id": _unit_gid(c.home_care)}, token=c.nurse)
    listed = incoming["data"]["node"]["incomingReferrals"]
    assert listed["totalCount"] == 1
    assert listed["nodes"][0]["patient"]["familyName"] == c.patient.family_name
    disclosed = await conn.execute(
        text(
            "SELECT count(*) FROM audit_entry WHERE patient_id = :p AND action = 'read'"
            " AND outcome = 'disclosed' AND care_unit_hsa_id = :u"
            " AND EXISTS (SELECT 1 FROM jsonb_array_elements_text(to_jsonb(resources)) r"
            " WHERE r LIKE 'Referral:%')"
        ),
        {"p": c.patient.id, "u": c.home_care.hsa_id},
    )
    assert disclosed.scalar_one() >= 1


def _unit_gid(unit: models.CareUnit) -> str:
    from schema.ids import encode_id

    return encode_id("CareUnit", unit.id)


async def test_the_recipient_accepts_and_answers_and_the_sender_reads_the_answer(
    client: httpx.AsyncClient, conn: AsyncConnection, settings: Settings
) -> None:
    c = await chain(conn, settings)
    rid = (await c.send(client))["referral"]["id"]
    accepted = await c.step(client, "acceptReferral", c.nurse, id=rid, version=1)
    assert accepted["data"]["acceptReferral"]["referral"]["status"] == "ACCEPTED"
    answer = {"id": rid, "version": 2, "text": "Hemsjukvård startad, INR tas 12/12."}
    body = await call(client, ANSWER, {"input": answer}, token=c.nurse)
    payload = body["data"]["answerReferral"]
    assert payload["userErrors"] == []
    assert payload["referral"]["status"] == "ANSWERED"
    assert payload["answer"]["careUnit"]["name"] == "Hemsjukvården Norr"

    referral = (await c.read(client, c.doctor))["referrals"]["nodes"][0]
    assert referral["status"] == "ANSWERED"
    assert referral["answer"] == {
        "outcomeType": "slutsvar",
        "text": "Hemsjukvård startad, INR tas 12/12.",
        "careUnit": {"name": "Hemsjukvården Norr"},
    }
    history = [(h["status"], h["careUnit"]["name"]) for h in referral["history"]["nodes"]]
    assert history == [
        ("SENT", "Medicin 3"),
        ("ACCEPTED", "Hemsjukvården Norr"),
        ("ANSWERED", "Hemsjukvården Norr"),
    ]
    assert "ReferralOutcome" in {w.split(":")[0] for w in await written(conn, c.patient.id)}


async def test_only_the_recipient_accepts_and_only_the_sender_cancels(
    client: httpx.AsyncClient, conn: AsyncConnection, settings: Settings
) -> None:
    c = await chain(conn, settings)
    rid = (await c.send(client))["referral"]["id"]
    by_sender = await c.step(client, "acceptReferral", c.doctor, id=rid, version=1)
    assert by_sender["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    by_recipient = await c.step(client, "cancelReferral", c.nurse, id=rid, version=1, reason="Fel")
    assert by_recipient["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    # A third provider's dentist has no care relationship: the referral does not exist for her.
    by_dentist = await c.step(client, "acceptReferral", c.dentist, id=rid, version=1)
    assert errors_of(by_dentist["data"]["acceptReferral"]) == [("input.id", "NOT_FOUND")]
    assert (await c.read(client, c.dentist)) is None
    by_patient = await call(client, SEND, {"input": c.referral()}, token=c.patient_self)
    assert by_patient["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    denials = await conn.execute(
        text("SELECT count(*) FROM audit_entry WHERE patient_id = :p AND outcome = 'denied'"),
        {"p": c.patient.id},
    )
    assert denials.scalar_one() >= 3
    status = (await c.read(client, c.doctor))["referrals"]["nodes"][0]
    assert (status["status"], status["version"]) == ("SENT", 1)


async def test_a_stale_version_is_a_conflict(
    client: httpx.AsyncClient, conn: AsyncConnection, settings: Settings
) -> None:
    c = await chain(conn, settings)
    rid = (await c.send(client))["referral"]["id"]
    first = await c.step(client, "acceptReferral", c.nurse, id=rid, version=1)
    assert first["data"]["acceptReferral"]["userErrors"] == []
    again = await c.step(client, "rejectReferral", c.nurse, id=rid, version=1, reason="Full")
    assert errors_of(again["data"]["rejectReferral"]) == [("input.version", "CONFLICT")]


async def test_an_idempotency_key_sends_once(
    client: httpx.AsyncClient, conn: AsyncConnection, settings: Settings
) -> None:
    c = await chain(conn, settings)
    first = await c.send(client, idempotencyKey="remiss-1")
    second = await c.send(client, idempotencyKey="remiss-1")
    assert second["replayed"] is True and second["referral"]["id"] == first["referral"]["id"]
    count = await conn.execute(
        text("SELECT count(*) FROM referral WHERE patient_id = :p"), {"p": c.patient.id}
    )
    assert count.scalar_one() == 1
    other = await call(
        client,
        SEND,
        {"input": c.referral(idempotencyKey="remiss-1", reason="Annat")},
        token=c.doctor,
    )
    assert errors_of(other["data"]["sendReferral"]) == [("input.idempotencyKey", "CONFLICT")]


async def test_rejecting_ends_the_recipients_care_relationship(
    client: httpx.AsyncClient, conn: AsyncConnection, settings: Settings
) -> None:
    c = await chain(conn, settings)
    rid = (await c.send(client))["referral"]["id"]
    unexplained = await c.step(client, "rejectReferral", c.nurse, id=rid, version=1)
    assert errors_of(unexplained["data"]["rejectReferral"]) == [("input.reason", "INVALID_VALUE")]
    rejected = await c.step(
        client, "rejectReferral", c.nurse, id=rid, version=1, reason="Ej vårt område"
    )
    payload = rejected["data"]["rejectReferral"]
    # Rejected, the referral no longer gives her unit a care relationship: she reads nothing,
    # not even the referral she rejected.
    assert payload["userErrors"] == [] and payload["referral"] is None
    assert (await c.read(client, c.nurse)) is None
    referral = (await c.read(client, c.doctor))["referrals"]["nodes"][0]
    assert (referral["status"], referral["version"]) == ("REJECTED", 2)
    assert referral["history"]["nodes"][-1]["reason"] == "Ej vårt område"


async def test_bad_input_is_user_errors_and_writes_nothing(
    client: httpx.AsyncClient, conn: AsyncConnection, settings: Settings
) -> None:
    c = await chain(conn, settings)
    body = await call(
        client,
        SEND,
        {"input": c.referral(recipientUnitHsaId="SE123", reason=" ")},
        token=c.doctor,
    )
    problems = errors_of(body["data"]["sendReferral"])
    assert ("input.recipientUnitHsaId", "INVALID_IDENTIFIER") in problems
    assert ("input.reason", "INVALID_VALUE") in problems
    to_self = await call(
        client, SEND, {"input": c.referral(recipientUnitHsaId=c.hospital.hsa_id)}, token=c.doctor
    )
    assert errors_of(to_self["data"]["sendReferral"]) == [
        ("input.recipientUnitHsaId", "INVALID_REFERENCE")
    ]
    count = await conn.execute(
        text("SELECT count(*) FROM referral WHERE patient_id = :p"), {"p": c.patient.id}
    )
    assert count.scalar_one() == 0


FEED = """query { changes(first: 50, categories: [REFERRAL, REFERRAL_EVENT]) {
  changes { kind category record { id ... on Referral { reason status } } } } }"""


async def test_the_change_feed_carries_referrals_to_the_recipient(
    client: httpx.AsyncClient, conn: AsyncConnection, settings: Settings
) -> None:
    c = await chain(conn, settings)
    await c.send(client)
    body = await call(client, FEED, token=c.nurse)
    assert "errors" not in body, body
    categories = {e["category"] for e in body["data"]["changes"]["changes"]}
    assert {"REFERRAL", "REFERRAL_EVENT"} <= categories
    sent = [e for e in body["data"]["changes"]["changes"] if e["category"] == "REFERRAL"]
    assert sent[0]["record"]["reason"] == "Hemsjukvård efter utskrivning"
