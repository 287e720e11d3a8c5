"""The planner's SQL pieces (resolvers/planner/sqljson.py): JSON built as text and global ids
must come out exactly as the GraphQL path writes them, for any stored text (escapes, control
characters, non-ASCII) and every enum value."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import ColumnElement, Text, Uuid, cast, literal, null, select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from resolvers.planner.sqljson import (
    global_id,
    text_enum,
    text_obj,
    text_or_empty,
    text_plain,
    text_string,
)
from schema.enums import ContactStatus, ContactType
from schema.ids import encode_id
from tests import factories as f
from tests.integration.privacy_world import build_world
from tests.integration.test_planned_emergency import T0
from tests.integration.test_planned_population import both, variables

AWKWARD = [
    'citat " och \\ snedstreck',
    "rad\nny rad\ttabb\r",
    "kontroll \x01\x1f\x7f",
    "Åsa Öberg-Ärlig, 😀 \u2028\u2029 </script>",
    "",
]


async def value(conn: AsyncConnection, expression: ColumnElement[Any]) -> Any:
    return (await conn.execute(select(expression))).scalar_one()


async def test_global_ids_are_encode_id(conn: AsyncConnection) -> None:
    """Every length: with and without padding, shorter and longer than base64's 76-character
    lines, with + and / in the standard alphabet (ids of random uuids)."""
    for type_name in ("P", "Patient", "Diagnosis", "CareContact", "ReferralOutcomeX"):
        for _ in range(8):
            row_id, patient_id = uuid.uuid4(), uuid.uuid4()
            alone = global_id(type_name, literal(row_id, Uuid()))
            both_ids = global_id(type_name, literal(row_id, Uuid()), literal(patient_id, Uuid()))
            assert await value(conn, alone) == encode_id(type_name, row_id)
            assert await value(conn, both_ids) == encode_id(type_name, row_id, patient_id)


async def test_text_fragments_parse_to_the_values(conn: AsyncConnection) -> None:
    for s in AWKWARD:
        assert json.loads(await value(conn, text_string(literal(s, Text)))) == s
    assert await value(conn, text_string(cast(null(), Text))) == "null"
    assert await value(conn, text_plain(literal("QQ-_", Text))) == '"QQ-_"'
    assert await value(conn, text_plain(null())) == "null"
    for enum in (ContactType, ContactStatus):
        for member in enum:
            stored = literal(member.value, Text)
            assert json.loads(await value(conn, text_enum(stored, enum))) == member.name
        assert await value(conn, text_enum(literal("okänd", Text), enum)) == "null"
    nested = text_obj(
        ("a", text_string(literal(AWKWARD[0], Text))),
        ("list", text_or_empty(null())),
        ("inner", text_obj(("b", text_plain(literal("x", Text))))),
    )
    parsed = json.loads(await value(conn, nested))
    assert parsed == {"a": AWKWARD[0], "list": [], "inner": {"b": "x"}}
    assert list(parsed) == ["a", "list", "inner"]


async def test_awkward_text_and_every_enum_as_the_graphql_path(conn: AsyncConnection) -> None:
    w = await build_world(conn)
    await conn.execute(
        text("UPDATE care_unit SET name = :n WHERE id = :id"), {"n": AWKWARD[0], "id": w.u.id}
    )
    people = [w.patient]
    for n, name in enumerate(AWKWARD):
        person = await f.create_patient(conn, given_name=name, family_name=AWKWARD[-1 - n])
        await f.create_care_relationship(conn, person, w.u)
        people.append(person)
    kinds = [t.value for t in ContactType]
    statuses = [s.value for s in ContactStatus]
    for n, person in enumerate(people):
        for i in range(6):
            when = T0 - timedelta(days=i, seconds=n, microseconds=(i % 2) * 10**i)
            await f.create_care_contact(
                conn,
                person,
                w.u,
                event_time=when,
                contact_type=kinds[(n + i) % len(kinds)],
                status=statuses[(n + 2 * i) % len(statuses)],
            )
            awkward = AWKWARD[(n + i) % len(AWKWARD)]
            await f.create_diagnosis(
                conn, person, w.u, event_time=when, code=awkward[:10], display=awkward
            )
    slow, fast, _, _ = await both(conn, w.clinician(), variables(w, items=6))
    assert fast == slow
    nodes = slow["patients"]["nodes"]
    assert {n["givenName"] for n in nodes} >= set(AWKWARD)
    contacts = [c for n in nodes for c in n["careContacts"]["nodes"]]
    assert {c["careUnit"]["name"] for c in contacts} == {AWKWARD[0]}
    assert {c["contactType"] for c in contacts} == {t.name for t in ContactType}
    assert {c["status"] for c in contacts} == {s.name for s in ContactStatus}
    assert any("." in c["eventTime"] for c in contacts)
    assert any("." not in c["eventTime"] for c in contacts)
    # Keys in the order the operation selects the fields (== on dicts ignores the order).
    ours = fast["patients"]["nodes"][0]
    assert list(ours) == list(nodes[0])
    assert list(ours["careContacts"]["nodes"][0]) == list(nodes[0]["careContacts"]["nodes"][0])
    assert list(ours["diagnoses"]["nodes"][0]) == list(nodes[0]["diagnoses"]["nodes"][0])
