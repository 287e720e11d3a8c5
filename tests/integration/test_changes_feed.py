"""Delta sync: `changes` shows what the caller may see now, tombstones the rest, pages without
silent cuts, and is audited like a read. Clinician and patient tokens only."""

from __future__ import annotations

from typing import Any

import httpx
import orjson
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from app import models
from app.settings import Settings
from schema.ids import encode_id
from tests import factories as f
from tests.integration.privacy_world import World, build_world
from tests.integration.test_privacy_queries import clinician_token, gql, patient_token

CHANGES = """query($after: String, $first: Int, $categories: [ChangeCategory!]) {
  changes(after: $after, first: $first, categories: $categories) {
    endCursor hasNextPage
    changes {
      cursor kind category patientId recordId tombstone accessChanged changedAt
      record { __typename id ... on CareDocument { title } }
    }
  }
}"""
PLACE = """mutation($input: PlaceBlockInput!) {
  placeBlock(input: $input) { block { id } userErrors { field code } } }"""


def doc_id(w: World, name: str) -> str:
    return encode_id("CareDocument", w.docs[name], w.patient.id)


async def feed(client: httpx.AsyncClient, token: str, **variables: Any) -> dict[str, Any]:
    body = await gql(client, CHANGES, token, variables)
    assert "errors" not in body, body
    page: dict[str, Any] = body["data"]["changes"]
    return page


async def everything(client: httpx.AsyncClient, token: str, **variables: Any) -> list[Any]:
    """Every item of the feed, page by page (small pages, to exercise the cursor)."""
    items: list[Any] = []
    after = variables.pop("after", None)
    while True:
        page = await feed(client, token, after=after, first=2, **variables)
        items.extend(page["changes"])
        if not page["hasNextPage"]:
            return items
        assert page["endCursor"] != after
        after = page["endCursor"]


def by_record(items: list[Any]) -> dict[str, Any]:
    return {i["recordId"]: i for i in items if i["recordId"]}


async def test_clinician_sees_visible_rows_and_tombstones_for_hidden_ones(
    client: httpx.AsyncClient, conn: AsyncConnection, settings: Settings
) -> None:
    w = await build_world(conn)
    await conn.execute(
        text("UPDATE care_document SET title = 'HEMLIG-V' WHERE id = :id"), {"id": w.docs["v"]}
    )
    token = clinician_token(settings, w)
    items = await everything(client, token, categories=["CARE_DOCUMENT"])
    docs = by_record(items)
    own = docs[doc_id(w, "u")]
    assert own["tombstone"] is False and own["record"]["__typename"] == "CareDocument"
    # Provider B's note without the patient's consent (A4): only its id, as a tombstone.
    hidden = docs[doc_id(w, "v")]
    assert hidden["tombstone"] is True and hidden["record"] is None
    assert b"HEMLIG-V" not in orjson.dumps(items)
    assert {i["category"] for i in items} <= {"CARE_DOCUMENT", "ACCESS", "CARE_RELATIONSHIP"}
    # The care relationship that opened the patient is an access change: the clinician may see
    # it (Patient.careRelationships), so it comes as its row, marked as changing access.
    relationships = [i for i in items if i["category"] == "CARE_RELATIONSHIP"]
    assert relationships
    assert all(i["accessChanged"] and not i["tombstone"] for i in relationships)


async def test_a_block_placed_after_a_change_turns_the_record_into_a_tombstone(
    client: httpx.AsyncClient, conn: AsyncConnection, settings: Settings
) -> None:
    w = await build_world(conn)
    token = clinician_token(settings, w)
    first = await everything(client, token, categories=["CARE_DOCUMENT"])
    assert by_record(first)[doc_id(w, "u2")]["tombstone"] is False
    end = (await feed(client, token, first=0))["endCursor"]
    # The patient blocks the psychiatry unit U2 inside provider A (A2).
    placed = await gql(
        client,
        PLACE,
        patient_token(settings, w.patient),
        {
            "input": {
                "patientId": encode_id("Patient", w.patient.id),
                "kind": "INNER",
                "careProviderHsaId": w.a.hsa_id,
                "careUnitHsaId": w.u2.hsa_id,
            }
        },
    )
    assert placed["data"]["placeBlock"]["userErrors"] == []
    # From the start: the U2 note is now a tombstone; the own unit's note is still there.
    again = by_record(await everything(client, token, categories=["CARE_DOCUMENT"]))
    assert again[doc_id(w, "u2")]["tombstone"] is True
    assert again[doc_id(w, "u2")]["record"] is None
    assert again[doc_id(w, "u")]["tombstone"] is False
    # From where the clinician stood: one hint, without the block (blocks are not shown, A7).
    news = await everything(client, token, after=end)
    assert [(i["kind"], i["category"], i["recordId"]) for i in news] == [
        ("ACCESS_CHANGED", "ACCESS", None)
    ]


async def test_a_revoked_consent_turns_the_other_providers_record_into_a_tombstone(
    client: httpx.AsyncClient, conn: AsyncConnection, settings: Settings
) -> None:
    w = await build_world(conn)
    await conn.execute(
        text("UPDATE care_document SET title = 'PRIVAT-V' WHERE id = :id"), {"id": w.docs["v"]}
    )
    consent = await f.create_consent(conn, w.patient, "svod_access", care_unit_id=w.u.id)
    token = clinician_token(settings, w)
    shown = by_record(await everything(client, token, categories=["CARE_DOCUMENT"]))
    assert shown[doc_id(w, "v")]["record"]["title"] == "PRIVAT-V"  # A4: consent for U
    end = (await feed(client, token, first=0))["endCursor"]
    await conn.execute(
        text("UPDATE consent SET revoked_at = now() WHERE id = :id"), {"id": consent.id}
    )
    # Where the clinician stood: the consent's change, marked as changing access.
    news = await everything(client, token, after=end)
    assert len(news) == 1 and news[0]["accessChanged"] is True
    assert news[0]["category"] in ("CONSENT", "ACCESS")
    # Re-reading: provider B's note is now a tombstone, without its content (A4).
    again = await everything(client, token, categories=["CARE_DOCUMENT"])
    hidden = by_record(again)[doc_id(w, "v")]
    assert hidden["tombstone"] is True and hidden["record"] is None
    assert b"PRIVAT-V" not in orjson.dumps(again)


async def test_a_patient_never_sees_unapproved_or_nullified_content(
    client: httpx.AsyncClient, conn: AsyncConnection, settings: Settings
) -> None:
    w = await build_world(conn)
    secret = await f.create_clinical(
        conn,
        models.CareDocument,
        w.patient,
        w.u,
        approved_for_patient=False,
        title="EJ-GODKAND",
    )
    gone = await f.create_clinical(conn, models.CareDocument, w.patient, w.u, title="MAKULERAD")
    await conn.execute(
        text("UPDATE care_document SET nullified = true, nullified_reason = 'fel' WHERE id = :id"),
        {"id": gone.id},
    )
    items = await everything(client, patient_token(settings, w.patient))
    docs = by_record(items)
    assert docs[doc_id(w, "u")]["record"]["title"]
    unapproved = docs[encode_id("CareDocument", secret.id, w.patient.id)]
    assert unapproved["tombstone"] is True and unapproved["record"] is None
    nullified = docs[encode_id("CareDocument", gone.id, w.patient.id)]
    assert nullified["tombstone"] is True and nullified["kind"] == "NULLIFIED"
    text_ = orjson.dumps(items)
    assert b"EJ-GODKAND" not in text_ and b"MAKULERAD" not in text_
    # The patient's own record only.
    assert {i["patientId"] for i in items} == {encode_id("Patient", w.patient.id)}


async def test_another_patients_changes_never_reach_a_patient(
    client: httpx.AsyncClient, conn: AsyncConnection, settings: Settings
) -> None:
    w = await build_world(conn)
    other = await f.create_patient(conn)
    await f.create_clinical(conn, models.CareDocument, other, w.u)
    items = await everything(client, patient_token(settings, w.patient))
    assert encode_id("Patient", other.id) not in {i["patientId"] for i in items}


async def test_pages_continue_without_loss_and_the_feed_is_audited(
    client: httpx.AsyncClient, conn: AsyncConnection, settings: Settings
) -> None:
    w = await build_world(conn)
    token = clinician_token(settings, w)
    for _ in range(5):
        await f.create_clinical(conn, models.Diagnosis, w.patient, w.u)
    items = await everything(client, token, categories=["DIAGNOSIS"])
    diagnoses = [i for i in items if i["category"] == "DIAGNOSIS"]
    assert len(diagnoses) == 5 and all(not i["tombstone"] for i in diagnoses)
    page = await feed(client, token, first=3, categories=["DIAGNOSIS"])
    assert page["hasNextPage"] is True
    rows = await conn.execute(
        text(
            "SELECT resources FROM audit_entry WHERE patient_id = :p"
            " AND principal_id = :x AND action = 'read' ORDER BY id DESC LIMIT 1"
        ),
        {"p": w.patient.id, "x": w.x.hsa_id},
    )
    resources = rows.scalar_one()
    assert any(r.startswith("Diagnosis:") for r in resources)
    searches = await conn.execute(
        text("SELECT count(*) FROM audit_entry WHERE principal_id = :x AND action = 'search'"),
        {"x": w.x.hsa_id},
    )
    assert searches.scalar_one() > 0


async def test_bad_cursor_and_page_size_are_errors(
    client: httpx.AsyncClient, conn: AsyncConnection, settings: Settings
) -> None:
    w = await build_world(conn)
    token = clinician_token(settings, w)
    bad = await gql(client, CHANGES, token, {"after": "bm9wZQ"})
    assert bad["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    big = await gql(client, CHANGES, token, {"first": 101})
    assert big["errors"][0]["extensions"]["code"] == "PAGE_SIZE_EXCEEDED"


async def test_a_clinician_without_a_care_relationship_gets_nothing(
    client: httpx.AsyncClient, conn: AsyncConnection, settings: Settings
) -> None:
    w = await build_world(conn)
    stranger = await f.create_practitioner(conn)
    await f.create_assignment(conn, stranger, w.v)
    from app.tokens import mint

    token = mint(
        settings,
        kind="clinician",
        subject=stranger.hsa_id,
        care_unit=w.v.hsa_id,
        care_provider=w.b.hsa_id,
    )
    items = await everything(client, token)
    assert encode_id("Patient", w.patient.id) not in {i["patientId"] for i in items}


SINCE = """query($id: ID!, $since: DateTime) {
  node(id: $id) { ... on Patient {
    diagnoses(changedSince: $since) { nodes { id } }
    careContacts(changedSince: $since) { nodes { id } }
  } }
}"""


async def test_changed_since_lists_only_what_changed_after_it(
    client: httpx.AsyncClient, conn: AsyncConnection, settings: Settings
) -> None:
    w = await build_world(conn)
    old = await f.create_clinical(conn, models.Diagnosis, w.patient, w.u)
    new = await f.create_clinical(conn, models.Diagnosis, w.patient, w.u)
    await conn.execute(
        text("UPDATE diagnosis SET updated_at = '2020-01-01T00:00:00Z' WHERE id = :id"),
        {"id": old.id},
    )
    pid = encode_id("Patient", w.patient.id)
    for token in (clinician_token(settings, w), patient_token(settings, w.patient)):
        body = await gql(client, SINCE, token, {"id": pid, "since": "2024-01-01T00:00:00Z"})
        assert "errors" not in body, body
        ids = {n["id"] for n in body["data"]["node"]["diagnoses"]["nodes"]}
        assert ids == {encode_id("Diagnosis", new.id, w.patient.id)}
        everything = await gql(client, SINCE, token, {"id": pid, "since": None})
        assert len(everything["data"]["node"]["diagnoses"]["nodes"]) == 2
    naive = await gql(
        client, SINCE, clinician_token(settings, w), {"id": pid, "since": "2024-01-01T00:00:00"}
    )
    assert naive["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
