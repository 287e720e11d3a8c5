"""ETags on GET answers (app/etags.py): If-None-Match gives 304 without a body while the answer
is unchanged, a new record changes the tag, a tag never works for another caller, and a 304 is
audited as a revalidation of the same rows. Patient and clinician tokens only."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import orjson
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from app.models.audit import AuditEntry
from app.settings import Settings
from app.tokens import mint
from schema.ids import encode_id
from schema.persisted import REGISTRY
from tests import factories as f
from tests.integration.mutation_support import patient_token
from tests.integration.privacy_world import build_world
from tests.integration.test_persisted import make_record
from tests.integration.test_planned_http import app_client
from tests.integration.test_planned_http import clinician_token as emergency_token
from tests.integration.test_privacy_queries import clinician_token

AUDIT = AuditEntry.__table__  # type: ignore[attr-defined]
MY_RECORD = REGISTRY.by_name["MyRecord"]
EMERGENCY = REGISTRY.by_name["EmergencyOverview"]
PATIENT = "query($id: ID!) { node(id: $id) { id ... on Patient { givenName familyName } } }"


async def get(
    client: httpx.AsyncClient, params: dict[str, str], token: str, tag: str | None = None
) -> httpx.Response:
    headers = {"authorization": f"Bearer {token}"}
    if tag is not None:
        headers["if-none-match"] = tag
    return await client.get("/graphql", params=params, headers=headers)


def shipped(op: Any, variables: dict[str, Any]) -> dict[str, str]:
    return {"documentId": op.sha256, "variables": orjson.dumps(variables).decode()}


async def audit_after(conn: AsyncConnection, before: int) -> list[dict[str, Any]]:
    rows = await conn.execute(
        select(AUDIT.c.principal_id, AUDIT.c.action, AUDIT.c.outcome, AUDIT.c.resources)
        .where(AUDIT.c.id > before)
        .order_by(AUDIT.c.id)
    )
    return [dict(r) for r in rows.mappings()]


async def last_audit_id(conn: AsyncConnection) -> int:
    return int((await conn.execute(select(func.coalesce(func.max(AUDIT.c.id), 0)))).scalar_one())


async def test_the_patient_app_revalidates_its_record_and_a_new_record_changes_the_tag(
    client: httpx.AsyncClient, conn: AsyncConnection, settings: Settings
) -> None:
    record = await make_record(conn)
    pnr = record.patient.identifier
    token = patient_token(settings, pnr)
    params = shipped(MY_RECORD, {"personnummer": pnr, "first": 5})

    first = await get(client, params, token)
    assert first.status_code == 200 and first.json()["data"]["patient"]["personnummer"] == pnr
    tag = first.headers["etag"]
    assert tag.startswith('"') and first.headers["cache-control"] == "no-store"
    again = await get(client, params, token)
    assert again.headers["etag"] == tag and again.content == first.content

    before = await last_audit_id(conn)
    revalidated = await get(client, params, token, tag=f'W/"other", {tag}')
    assert revalidated.status_code == 304
    assert revalidated.content == b""
    assert revalidated.headers["etag"] == tag
    # Audited: the same rows as the full answer's entry, as a revalidation.
    [read] = [e for e in await audit_after(conn, before - 1) if e["action"] == "read"][-1:]
    [entry] = await audit_after(conn, before)
    assert entry["action"] == "revalidate" and entry["outcome"] == "disclosed"
    assert entry["resources"] == read["resources"] and entry["principal_id"] == pnr

    # A new care contact, approved for the patient, comes first in the timeline: a new answer.
    clinic = await f.create_unit(conn, await f.create_provider(conn))
    await f.create_care_contact(conn, record.patient, clinic, event_time=datetime.now(UTC))
    changed = await get(client, params, token, tag=tag)
    assert changed.status_code == 200
    assert changed.headers["etag"] != tag
    assert changed.content != first.content


async def test_a_tag_never_works_for_another_caller(
    client: httpx.AsyncClient, conn: AsyncConnection, settings: Settings
) -> None:
    w = await build_world(conn)
    other = await f.create_practitioner(conn)
    await f.create_assignment(conn, other, w.u)
    mine = clinician_token(settings, w)
    theirs = mint(
        settings,
        kind="clinician",
        subject=other.hsa_id,
        name="Doktor Testsson",
        care_unit=w.u.hsa_id,
        care_provider=w.a.hsa_id,
    )
    params = {
        "query": PATIENT,
        "variables": orjson.dumps({"id": encode_id("Patient", w.patient.id)}).decode(),
    }
    first = await get(client, params, mine)
    assert first.json()["data"]["node"]["givenName"]
    tag = first.headers["etag"]
    # The colleague at the same unit gets the very same answer, under a tag of their own ...
    theirs_first = await get(client, params, theirs)
    assert theirs_first.content == first.content
    assert theirs_first.headers["etag"] != tag
    # ... and the first clinician's tag gets them the full answer, never a 304.
    before = await last_audit_id(conn)
    borrowed = await get(client, params, theirs, tag=tag)
    assert borrowed.status_code == 200 and borrowed.content == first.content
    assert [e["action"] for e in await audit_after(conn, before)] == ["read"]
    # Its owner's tag still works for its owner.
    assert (await get(client, params, mine, tag=tag)).status_code == 304


@pytest.mark.parametrize("planner", [True, False])
async def test_the_planned_emergency_overview_is_tagged_alike(
    conn: AsyncConnection, settings: Settings, planner: bool
) -> None:
    w = await build_world(conn)
    token = emergency_token(settings, w)
    params = shipped(EMERGENCY, {"personnummer": w.patient.identifier})
    async with app_client(conn, settings, planner) as http:
        first = await get(http, params, token)
        assert first.status_code == 200 and first.json()["data"]["patient"]
        before = await last_audit_id(conn)
        revalidated = await get(http, params, token, tag=first.headers["etag"])
    assert revalidated.status_code == 304 and revalidated.content == b""
    actions = {e["action"] for e in await audit_after(conn, before)}
    assert "revalidate" in actions and "read" not in actions


async def test_posts_and_errors_carry_no_tag(
    client: httpx.AsyncClient, conn: AsyncConnection, settings: Settings
) -> None:
    w = await build_world(conn)
    token = clinician_token(settings, w)
    variables = {"id": encode_id("Patient", w.patient.id)}
    posted = await client.post(
        "/graphql",
        json={"query": PATIENT, "variables": variables},
        headers={"authorization": f"Bearer {token}"},
    )
    assert posted.status_code == 200 and "etag" not in posted.headers
    bad = await get(client, {"query": "{ nope }"}, token, tag="*")
    assert bad.status_code in (200, 400) and "etag" not in bad.headers
    # `*` is not honoured: the answer is sent.
    params = {"query": PATIENT, "variables": orjson.dumps(variables).decode()}
    assert (await get(client, params, token, tag="*")).status_code == 200
