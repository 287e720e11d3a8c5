"""A15: a research client never sees a real identifier. Walk every type a research token can
reach (introspection, one path per query, every object expanded) over a patient who opted in
to the client's study, and check that no value in any answer equals a real id, personnummer,
name or HSA-id in the database, and that free text is withheld; then check the rewriting
itself: pseudonyms are those of the bulk export, times are cut, approvals release text."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import orjson
import pytest
from graphql import GraphQLSchema
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from app.access.pseudonym import pseudonym
from app.db import ConnectionDatabase
from app.errors import BadInput
from app.settings import Settings
from app.tokens import mint
from schema.ids import decode_id
from tests import factories as f
from tests.integration.test_no_bypass import (
    MARKER,
    Record,
    Step,
    _expansions,
    build_record,
    field_type,
    introspected,
    leaf_selection,
    objects_at,
    patient_types,
    render,
    root_steps,
)

CLIENT = "research-walk"
KEY = "research-walk-key"
STUDY = uuid.UUID("00000000-0000-4000-8000-00000000057d")
OTHER_STUDY = uuid.UUID("00000000-0000-4000-8000-0000000005e2")
MAX_DEPTH = 5


@pytest.fixture
def research_settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"pseudonym_key": KEY})


@pytest.fixture
async def research_client(
    conn: AsyncConnection, research_settings: Settings
) -> AsyncIterator[httpx.AsyncClient]:
    from app.main import create_app

    app = create_app(research_settings, db=ConnectionDatabase(conn))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield http


def token(settings: Settings, study: uuid.UUID = STUDY) -> dict[str, str]:
    minted = mint(settings, kind="research", subject=CLIENT, client_id=CLIENT, study=str(study))
    return {"authorization": f"Bearer {minted}"}


async def opted_in_record(conn: AsyncConnection, **release: Any) -> Record:
    rec = await build_record(conn)
    study = await f.create_research_study(conn, id=STUDY, client_id=CLIENT, **release)
    await f.create_consent(conn, rec.patient, "research", research_study_id=study.id)
    return rec


async def real_values(conn: AsyncConnection) -> set[str]:
    """Every identifier and person name in the database: ids, HSA-ids, personnummer, source
    document ids, order and referral ids, batch numbers, names of patients and staff. (Global
    ids are caught by decoding: `is_global_id`.)"""
    found: set[str] = set()
    columns = await conn.execute(
        text(
            "SELECT table_name, column_name FROM information_schema.columns"
            " WHERE table_schema = 'public'"
            " AND table_name NOT IN ('audit_entry', 'alembic_version', 'idempotency_key')"
            " AND (column_name = 'id' OR column_name LIKE '%\\_id' OR column_name LIKE '%hsa_id'"
            " OR column_name IN ('identifier', 'given_name', 'family_name', 'document_id',"
            " 'representative_identifier', 'organisation_number', 'gln', 'batch',"
            " 'case_officer_name', 'performer_name', 'referral_author', 'accountable_name',"
            " 'legal_authenticator_name', 'responsible', 'order_id', 'referral_id'))"
        )
    )
    for table, column in columns.all():
        if column.endswith(("npl_id", "pack_id")):
            continue  # drug codes (NPL), not identifiers of anyone
        rows = await conn.execute(text(f'SELECT DISTINCT "{column}"::text FROM "{table}"'))
        found.update(r[0] for r in rows if r[0])
    return {v for v in found if len(v) > 3}


def is_global_id(value: str) -> bool:
    try:
        decode_id(value)
    except BadInput:
        return False
    return True


def leaves(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return [leaf for k, v in value.items() if k != "__typename" for leaf in leaves(v)]
    if isinstance(value, list):
        return [leaf for v in value for leaf in leaves(v)]
    return [value]


def typenames(value: Any) -> set[str]:
    if isinstance(value, dict):
        own = {value["__typename"]} if "__typename" in value else set()
        return own.union(*(typenames(v) for v in value.values()))
    if isinstance(value, list):
        return set().union(*(typenames(v) for v in value))
    return set()


async def research_walk(
    client: httpx.AsyncClient,
    schema: GraphQLSchema,
    rec: Record,
    headers: dict[str, str],
    errors: list[str] | None = None,
    pages: list[str] | None = None,
) -> tuple[list[Any], set[str], int]:
    """Every leaf value the research token got on every path, the types it saw, requests;
    every error it got goes into `errors` (as JSON). With `pages`, every connection that
    holds items is asked for its second page with the sealed cursor of its first (its type
    goes into `pages`), so the sealed cursors are walked too."""
    values: list[Any] = []
    seen_types: set[str] = set()
    queue: list[list[Step]] = [[s] for s, _ in root_steps(schema, rec)]
    seen: set[tuple[str, str, str]] = set()
    requests = 0
    while queue:
        steps = queue.pop(0)
        target = field_type(schema, steps)
        query = render(steps, leaf_selection(schema, target))
        response = await client.post("/graphql", json={"query": query}, headers=headers)
        requests += 1
        assert response.status_code == 200, (query, response.text)
        body = response.json()
        data = body.get("data")
        values.extend(leaves(data))
        if errors is not None and body.get("errors"):
            errors.append(orjson.dumps(body["errors"]).decode())
        seen_types |= typenames(data)
        if pages is not None and target.name.endswith("Connection"):
            requests += await next_page(client, steps, target, headers, values, pages, schema)
        if len(steps) < MAX_DEPTH:
            queue.extend(
                s for s, _ in _expansions(schema, steps, target, objects_at(data, steps), seen)
            )
    return values, seen_types, requests


async def next_page(
    client: httpx.AsyncClient,
    steps: list[Step],
    target: Any,
    headers: dict[str, str],
    values: list[Any],
    pages: list[str],
    schema: GraphQLSchema,
) -> int:
    """Ask a connection for one item, then for the page after it with the sealed cursor."""
    last = steps[-1]
    owner: Any = schema.type_map[last.on] if last.on else field_type(schema, steps[:-1])
    if "after" not in owner.fields[last.field].args:
        return 0
    args = tuple((k, v) for k, v in last.args if k not in ("first", "after"))
    one = [*steps[:-1], Step(last.field, (*args, ("first", "1")), last.on)]
    response = await client.post(
        "/graphql",
        json={"query": render(one, "totalCount pageInfo { endCursor hasNextPage }")},
        headers=headers,
    )
    found = [o for o in objects_at(response.json().get("data"), one) if o.get("pageInfo")]
    cursor = next((o["pageInfo"]["endCursor"] for o in found if o["pageInfo"]["hasNextPage"]), None)
    if cursor is None:
        return 1
    assert cursor.startswith("rc_"), cursor
    after = [
        *steps[:-1],
        Step(last.field, (*args, ("first", "1"), ("after", f'"{cursor}"')), last.on),
    ]
    query = render(after, leaf_selection(schema, target))
    body = (await client.post("/graphql", json={"query": query}, headers=headers)).json()
    assert "errors" not in body, (query, body)
    values.extend(leaves(body.get("data")))
    pages.append(target.name)
    return 2


async def test_a_research_client_never_sees_a_real_identifier(
    research_client: httpx.AsyncClient, conn: AsyncConnection, research_settings: Settings
) -> None:
    rec = await opted_in_record(conn)
    schema = await introspected(research_client)
    errors: list[str] = []
    pages: list[str] = []
    values, types, requests = await research_walk(
        research_client, schema, rec, token(research_settings), errors, pages
    )
    # Second pages were read with sealed cursors (the record has two documents, at least).
    assert pages, "no connection had a second page to walk"
    # The walk reached the opted-in patient's records through units and practitioners.
    reached = types & patient_types(schema)
    assert {"CareContact", "CareDocument", "Diagnosis", "Prescription"} <= reached, reached
    real = await real_values(conn)
    assert requests > 50
    leaked = [
        v for v in values if isinstance(v, str) and (v in real or MARKER in v or is_global_id(v))
    ]
    assert leaked == [], sorted(set(leaked))
    secrets = {rec.patient.identifier, rec.patient.given_name, rec.patient.family_name}
    assert not secrets & {v for v in values if isinstance(v, str)}
    # Nor in any error message of the walk (schema/research_errors.py).
    in_errors = sorted({v for v in real | rec.secrets for e in errors if v in e})
    assert in_errors == [], in_errors
    # Cursors are sealed for the study: they page, but say nothing.
    cursors = [v for v in values if isinstance(v, str) and v.startswith("rc_")]
    assert cursors


async def test_a_study_without_record_access_walks_into_refusals_only(
    research_client: httpx.AsyncClient, conn: AsyncConnection, research_settings: Settings
) -> None:
    """The same walk for a study whose approval allows cohort counts only: every root field
    but `study` answers NOT_APPROVED, and nothing real comes back, in data or errors."""
    rec = await opted_in_record(conn, allows_record_access=False)
    schema = await introspected(research_client)
    errors: list[str] = []
    values, types, requests = await research_walk(
        research_client, schema, rec, token(research_settings), errors
    )
    assert requests >= 10 and len(errors) >= requests - 2
    assert all('"NOT_APPROVED"' in e for e in errors), errors[:3]
    assert not types & patient_types(schema)
    real = await real_values(conn) | rec.secrets
    leaked = [v for v in values if isinstance(v, str) and (v in real or is_global_id(v))]
    assert leaked == []
    assert not [v for v in real for e in errors if v in e]


CONTACTS = """query($hsa: String!) { careUnit(hsaId: $hsa) { hsaId name careContacts {
  totalCount pageInfo { endCursor }
  nodes { id documentId sourceSystemHsaId eventTime reason contactType
          accountable { hsaId name roleCode } careUnit { id hsaId name } } } } }"""


async def contacts(
    client: httpx.AsyncClient, settings: Settings, rec: Record, study: uuid.UUID = STUDY
) -> dict[str, Any]:
    response = await client.post(
        "/graphql",
        json={"query": CONTACTS, "variables": {"hsa": rec.unit.hsa_id}},
        headers=token(settings, study),
    )
    body: dict[str, Any] = response.json()
    assert "errors" not in body, body
    unit: dict[str, Any] = body["data"]["careUnit"]
    return unit


async def test_research_ids_are_the_bulk_exports_pseudonyms_and_times_are_cut(
    research_client: httpx.AsyncClient, conn: AsyncConnection, research_settings: Settings
) -> None:
    rec = await opted_in_record(conn)
    contact_id = await _contact_id(conn, rec)
    unit = await contacts(research_client, research_settings, rec)
    node = unit["careContacts"]["nodes"][0]
    key = KEY.encode()
    assert node["id"] == pseudonym(key, f"study:{STUDY}", contact_id)
    assert node["careUnit"]["id"] == pseudonym(key, f"study:{STUDY}", rec.unit.id)
    assert unit["hsaId"] == node["careUnit"]["hsaId"] != rec.unit.hsa_id
    assert unit["hsaId"].startswith("psn_") and node["documentId"].startswith("psn_")
    assert unit["name"] == "VC Walk"  # organisations' names are not about anyone
    # The factory's time is 2024-03-01 09:30 UTC: cut to the month by default.
    assert node["eventTime"] == "2024-03-01T00:00:00+00:00"
    # Free text and clinicians' names are withheld (a non-null field says so).
    assert node["reason"] is None
    assert node["accountable"]["name"] is None
    assert node["accountable"]["hsaId"] != rec.practitioner.hsa_id
    assert unit["careContacts"]["totalCount"] == 0  # one: under k, suppressed (A15)


async def _contact_id(conn: AsyncConnection, rec: Record) -> uuid.UUID:
    row = await conn.execute(
        text("SELECT id FROM care_contact WHERE patient_id = :p"), {"p": rec.patient.id}
    )
    found: uuid.UUID = row.scalar_one()
    return found


async def test_an_approval_releases_free_text_clinicians_and_exact_times(
    research_client: httpx.AsyncClient, conn: AsyncConnection, research_settings: Settings
) -> None:
    rec = await opted_in_record(
        conn, release_free_text=True, release_clinician_identity=True, time_precision="exact"
    )
    await conn.execute(
        text("UPDATE care_contact SET accountable_name = 'Doktor Walk' WHERE patient_id = :p"),
        {"p": rec.patient.id},
    )
    node = (await contacts(research_client, research_settings, rec))["careContacts"]["nodes"][0]
    assert node["reason"] == MARKER
    assert node["accountable"]["name"] == "Doktor Walk"
    assert node["eventTime"] == "2024-03-01T09:30:00+00:00"
    # Identifiers stay pseudonyms whatever the approval says.
    assert node["accountable"]["hsaId"].startswith("psn_")


async def test_two_studies_see_unlinkable_pseudonyms_and_their_own_release(
    research_client: httpx.AsyncClient, conn: AsyncConnection, research_settings: Settings
) -> None:
    rec = await opted_in_record(conn, release_free_text=True, time_precision="day")
    await f.create_research_study(
        conn, id=OTHER_STUDY, client_id=CLIENT, name="Andra", time_precision="year"
    )
    await f.create_consent(conn, rec.patient, "research", research_study_id=OTHER_STUDY)
    first = (await contacts(research_client, research_settings, rec))["careContacts"]
    second = (await contacts(research_client, research_settings, rec, OTHER_STUDY))["careContacts"]
    # Each study's own approval: free text and days for the first, the year for the second.
    assert first["nodes"][0]["reason"] == MARKER
    assert first["nodes"][0]["eventTime"] == "2024-03-01T00:00:00+00:00"
    assert second["nodes"][0]["reason"] is None
    assert second["nodes"][0]["eventTime"] == "2024-01-01T00:00:00+00:00"
    # The same contact, unit and clinician: no identifier of one study's answer is in the
    # other's, so two studies cannot join their data sets on the same patient.
    ids_first = {v for v in leaves(first) if isinstance(v, str) and v.startswith("psn_")}
    ids_second = {v for v in leaves(second) if isinstance(v, str) and v.startswith("psn_")}
    assert len(ids_first) >= 4 and len(ids_second) >= 4
    assert not ids_first & ids_second


async def test_a_study_whose_patient_did_not_opt_in_sees_nothing(
    research_client: httpx.AsyncClient, conn: AsyncConnection, research_settings: Settings
) -> None:
    rec = await opted_in_record(conn)
    await f.create_research_study(conn, id=OTHER_STUDY, client_id=CLIENT, name="Andra")
    unit = await contacts(research_client, research_settings, rec, OTHER_STUDY)
    assert unit["careContacts"]["totalCount"] == 0


async def test_research_may_not_look_people_up(
    research_client: httpx.AsyncClient, conn: AsyncConnection, research_settings: Settings
) -> None:
    rec = await opted_in_record(conn)
    pnr = rec.patient.identifier
    asks = [
        f'{{ patients(filter: {{personnummer: ["{pnr}"]}}) {{ totalCount }} }}',
        '{ patients(filter: {familyName: "Hemlig"}) { totalCount } }',
        '{ patients(filter: {bornFrom: "1980-05-17", bornTo: "1980-05-17"}) { totalCount } }',
        f'{{ patient(personnummer: "{pnr}") {{ id }} }}',
        f'{{ practitioner(hsaId: "{rec.practitioner.hsa_id}") {{ id }} }}',
    ]
    for ask in asks:
        response = await research_client.post(
            "/graphql", json={"query": ask}, headers=token(research_settings)
        )
        body = response.json()
        assert [e["extensions"]["code"] for e in body["errors"]] == ["FORBIDDEN"], (ask, body)
        assert body["data"] is None or all(v is None for v in body["data"].values()), body
    denied = await conn.execute(
        text("SELECT count(*) FROM audit_entry WHERE principal_id = :c AND outcome = 'denied'"),
        {"c": CLIENT},
    )
    assert denied.scalar_one() == len(asks)
    # Without a filter the cohort's size is all a research client learns from patients, and
    # that suppressed and perturbed as cohort counts are (one patient: under k).
    response = await research_client.post(
        "/graphql", json={"query": "{ patients { totalCount nodes { id } } }"},
        headers=token(research_settings),
    )  # fmt: skip
    assert response.json()["data"]["patients"] == {"totalCount": 0, "nodes": []}


async def test_clinicians_still_find_patients_by_personnummer(
    research_client: httpx.AsyncClient, conn: AsyncConnection, research_settings: Settings
) -> None:
    rec = await opted_in_record(conn)
    practitioner = rec.practitioner
    await f.create_assignment(conn, practitioner, rec.unit)
    clinician = mint(
        research_settings, kind="clinician", subject=practitioner.hsa_id,
        care_unit=rec.unit.hsa_id, care_provider=rec.provider.hsa_id,
    )  # fmt: skip
    ask = f'{{ patients(filter: {{personnummer: ["{rec.patient.identifier}"]}}) {{ totalCount }} }}'
    response = await research_client.post(
        "/graphql", json={"query": ask}, headers={"authorization": f"Bearer {clinician}"}
    )
    assert response.json()["data"] == {"patients": {"totalCount": 1}}


async def test_a_research_client_may_introspect(
    research_client: httpx.AsyncClient, conn: AsyncConnection, research_settings: Settings
) -> None:
    await opted_in_record(conn)
    ask = '{ __schema { queryType { name } } __type(name: "Study") { name } }'
    response = await research_client.post(
        "/graphql", json={"query": ask}, headers=token(research_settings)
    )
    assert response.json()["data"] == {
        "__schema": {"queryType": {"name": "Query"}},
        "__type": {"name": "Study"},
    }
