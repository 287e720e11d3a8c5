"""The planned EmergencyOverview (resolvers/planner/) builds its `data` as compact JSON text:
the HTTP response is byte for byte what orjson writes (no `"a" : 1` spacing of
json_build_object), with awkward stored text escaped as the GraphQL path escapes it and keys in
the order the document selects them."""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from app.graphql_http import GRAPHQL_RESPONSE
from app.settings import Settings
from tests import factories as f
from tests.integration.privacy_world import World, build_world
from tests.integration.test_planned_emergency import T0, both, rich_record
from tests.integration.test_planned_http import SHIPPED, app_client, clinician_token
from tests.integration.test_planner_sqljson import AWKWARD


async def awkward_record(conn: AsyncConnection, w: World) -> None:
    """rich_record, with text that needs escaping in strings of every list and the unit (and
    the NLL consent, so that prescriptions of others, some without accountable, show)."""
    await rich_record(conn, w)
    await f.create_consent(conn, w.patient, "nll_access", care_unit_id=w.u.id)
    await conn.execute(
        text("UPDATE care_unit SET name = :n WHERE id = :id"), {"n": AWKWARD[0], "id": w.u.id}
    )
    await conn.execute(
        text("UPDATE patient SET given_name = :n WHERE id = :id"),
        {"n": AWKWARD[3], "id": w.patient.id},
    )
    for n, s in enumerate(AWKWARD):
        await f.create_alert(conn, w.patient, w.u, description=s, agent_text=AWKWARD[n - 1])
        await f.create_prescription(conn, w.patient, w.u, dosage_text=s, drug_name=AWKWARD[n - 2])
        contact = await f.create_care_contact(conn, w.patient, w.u, event_time=T0, reason=s)
        await f.create_diagnosis(
            conn, w.patient, w.u, care_contact_id=contact.id, event_time=T0, display=s
        )


def key_orders(value: Any, path: str = "") -> list[tuple[str, list[str]]]:
    """Every object's keys in order, with where it is (== on dicts ignores the order)."""
    if isinstance(value, dict):
        found = [(path, list(value))]
        for k, v in value.items():
            found += key_orders(v, f"{path}.{k}")
        return found
    if isinstance(value, list):
        return [o for n, v in enumerate(value) for o in key_orders(v, f"{path}[{n}]")]
    return []


async def raw_response(conn: AsyncConnection, settings: Settings, planner: bool, w: World) -> bytes:
    token = clinician_token(settings, w)
    headers = {"authorization": f"Bearer {token}", "accept": GRAPHQL_RESPONSE}
    body = {"documentId": SHIPPED.document_id, "variables": {"personnummer": w.patient.identifier}}
    async with app_client(conn, settings, planner) as http:
        response = await http.post("/graphql", json=body, headers=headers)
    assert response.status_code == 200
    return response.content


async def test_http_response_is_compact_json(conn: AsyncConnection, settings: Settings) -> None:
    w = await build_world(conn)
    await awkward_record(conn, w)
    fast = await raw_response(conn, settings, True, w)
    assert b'" : ' not in fast
    assert fast == orjson.dumps(orjson.loads(fast))
    slow = await raw_response(conn, settings, False, w)
    # The same bytes as the GraphQL path (orjson): values, escapes, spacing and key order.
    assert fast == slow
    patient = orjson.loads(fast)["data"]["patient"]
    assert patient["givenName"] == AWKWARD[3]
    assert {a["description"] for a in patient["alerts"]["nodes"]} >= set(AWKWARD)


async def test_awkward_text_and_key_order_as_the_graphql_path(conn: AsyncConnection) -> None:
    w = await build_world(conn)
    await awkward_record(conn, w)
    slow, fast, _, _ = await both(conn, w.clinician(), {"personnummer": w.patient.identifier})
    assert fast == slow
    assert key_orders(fast) == key_orders(slow)
    patient = slow["patient"]
    assert {p["dosageText"] for p in patient["prescriptions"]["nodes"]} >= set(AWKWARD)
    assert {c["reason"] for c in patient["careContacts"]["nodes"]} >= set(AWKWARD)
    units = [a["careUnit"] for a in patient["alerts"]["nodes"]]
    assert {"name": AWKWARD[0]} in units
    assert any(p["accountable"] is None for p in patient["prescriptions"]["nodes"])
    assert any(c["periodEnd"] is None for c in patient["careContacts"]["nodes"])
