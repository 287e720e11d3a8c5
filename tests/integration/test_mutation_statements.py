"""The statements of one create mutation, pinned (issue 18, writes): recordCareContact as the
benchmark sends it (bench/workloads/record_contact.py), by the real clinician, over HTTP.

Statement counts per request are deterministic. The payload's row comes back from its INSERT
with the policy's visibility predicate (resolvers/mutations/runner.py), the mutation runs
without a savepoint (run_mutation's writes_last), and the audit chain's lock and head are one
statement (audit_append, migration 0023) when the process knows the chain's head.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Hashable
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from app import audit
from app.settings import Settings
from app.sqlplan import PLANS
from resolvers.mutations.policy import ensure_may_write
from schema.ids import encode_id
from tests.factories import create_care_relationship, create_patient
from tests.integration.mutation_support import call, make_world, patient_gid, system_token
from tests.sqlcount import context, count_statements

DOCUMENT = Path(__file__).parents[2] / "bench/workloads/vardkedja/RecordCareContact.graphql"
# What one request runs, in order, inside the test's transaction (the client fixture runs each
# request in a savepoint and sets the statement timeout per transaction; in production the
# request's BEGIN and COMMIT stand where the outer savepoint and its release are, and the
# statement timeout is set when a connection is opened).
RECORD_CARE_CONTACT = [
    "SAVEPOINT",  # the request (production: BEGIN)
    "SELECT set_config",  # statement timeout (production: none)
    # One statement: the policy's decision on the patient, the clinician's active assignment
    # (A1), which the write policy then asks for, with the patient's facts
    # (app/access/facts.py), and riding on it the lookups: the unit (the token's), the
    # accountable (the signed-in clinician), the patient (exists, born before the contact).
    "SELECT assignment with facts and lookups",
    # The contact, returned with its visibility (no read back) and whether the unit's care
    # relationship is current (else the contact records one).
    "INSERT INTO care_contact",
    # The write entry (and the read of the answer), after the chain's lock and a check that
    # its head is the one this process wrote last.
    "SELECT FROM audit_append",
    "RELEASE",  # the request (production: COMMIT)
]
# A chain whose head the process does not know: the first append returns the head.
UNKNOWN_HEAD = [*RECORD_CARE_CONTACT[:-1], "SELECT FROM audit_append", "RELEASE"]


def kind(sql: str) -> str:
    """A statement as `VERB [FROM|INTO] first table`."""
    words = " ".join(sql.split())
    verb = words.split(" ", 1)[0].upper()
    if verb in ("SAVEPOINT", "RELEASE"):
        return verb
    if words.startswith("SELECT set_config"):
        return "SELECT set_config"
    if " AS assignment ON true LEFT OUTER JOIN LATERAL " in words:  # load_clinician_patients
        if " AS lookup LEFT OUTER JOIN " in words:  # with the lookups riding (app/access/rider.py)
            return "SELECT assignment with facts and lookups"
        return "SELECT assignment with facts"
    if " AS lookup LEFT OUTER JOIN " in words:  # resolvers/mutations/references.py: ones
        return "SELECT lookups " + " ".join(re.findall(r"\bFROM ([a-z_]+) WHERE", words))
    for found in re.finditer(r"\b(FROM|INTO)\s+([a-z_]+)", words):
        before = words[: found.start()]
        if before.count("(") == before.count(")"):  # not in a subquery
            return f"{verb} {found.group(1)} {found.group(2)}"
    raise AssertionError(words)


def contact_plans() -> set[Hashable]:
    """The keys of the cached INSERT plans of care_contact (resolvers/mutations/runner.py)."""
    return {k for k in PLANS._plans if isinstance(k, tuple) and k[:2] == ("insert", "care_contact")}


def contact_input(patient_id: str, n: int) -> dict[str, object]:
    return {
        "patientId": patient_id,
        "contactType": "BESOK",
        "status": "AVSLUTAD",
        "periodStart": "2024-05-02T10:15:00+02:00",
        "reason": "Uppföljning",
        "documentId": f"statements-{n}",
    }


@pytest.fixture
def one_chain(monkeypatch: pytest.MonkeyPatch) -> int:
    """Every audit flush on one chain, whose head the process has forgotten."""
    chain = 7
    monkeypatch.setattr(audit, "next_chain", lambda: chain)
    audit.forget_head(chain)
    return chain


async def test_record_care_contact_statements(
    client: httpx.AsyncClient, conn: AsyncConnection, settings: Settings, one_chain: int
) -> None:
    world = await make_world(conn)
    token = world.clinician_token(settings)
    query = DOCUMENT.read_text()
    expected = [UNKNOWN_HEAD, RECORD_CARE_CONTACT, RECORD_CARE_CONTACT]
    for n in range(3):  # the third request too: nothing else is cached across requests
        async with count_statements(conn) as statements:
            body = await call(
                client, query, {"input": contact_input(patient_gid(world.patient), n)}, token=token
            )
        payload = body["data"]["recordCareContact"]
        assert payload["userErrors"] == []
        assert payload["careContact"]["reason"] == "Uppföljning"
        assert [kind(s) for s in statements] == expected[n]
    entries = await conn.execute(
        text("SELECT action, resources FROM audit_entry WHERE patient_id = :p ORDER BY id"),
        {"p": world.patient.id},
    )
    rows = entries.all()
    relationships = await conn.execute(
        text("SELECT count(*) FROM care_relationship WHERE patient_id = :p"),
        {"p": world.patient.id},
    )
    assert relationships.scalar() == 1, "the current one is kept, none added"
    # Each request: the contact written, and disclosed in the answer (the same entries as when
    # the row was read back).
    assert [action for action, _ in rows] == ["read", "write"] * 3
    assert all(
        len(resources) == 1 and resources[0].startswith("CareContact:") for _, resources in rows
    )


async def test_the_insert_is_built_once_and_bound_per_patient(
    client: httpx.AsyncClient, conn: AsyncConnection, settings: Settings
) -> None:
    """Two patients whose decisions have the same shape: one INSERT text (prepared once on the
    connection, none of the input in it), and each contact comes back visible under its own
    patient's decision (the plan's patient id is a slot, not the first patient's)."""
    world = await make_world(conn)
    other = await create_patient(conn)
    await create_care_relationship(conn, other, world.unit)
    inserts: list[str] = []
    before = contact_plans()
    for n, patient in enumerate((world.patient, other)):
        async with count_statements(conn) as statements:
            body = await call(
                client,
                DOCUMENT.read_text(),
                {"input": contact_input(patient_gid(patient), n) | {"reason": f"Besök {n}"}},
                token=world.clinician_token(settings),
            )
        payload = body["data"]["recordCareContact"]
        assert payload["userErrors"] == []
        assert payload["careContact"]["reason"] == f"Besök {n}", "visible to its writer"
        inserts += [s for s in statements if kind(s) == "INSERT INTO care_contact"]
    assert len(inserts) == 2 and inserts[0] == inserts[1]
    assert len(contact_plans() - before) == 1, "one plan for both patients"
    assert "Besök" not in inserts[0] and "statements-" not in inserts[0]
    written = await conn.execute(
        text("SELECT patient_id, reason FROM care_contact WHERE document_id LIKE 'statements-%'")
    )
    assert sorted(written.all()) == sorted([(world.patient.id, "Besök 0"), (other.id, "Besök 1")])


async def test_a_contact_that_starts_a_care_relationship_is_read_back(
    client: httpx.AsyncClient, conn: AsyncConnection, settings: Settings
) -> None:
    """The first contact at the unit records its care relationship, on which the decision
    returned with the INSERT did not rest: the contact is read back under the new decision."""
    world = await make_world(conn)
    newcomer = await create_patient(conn)
    async with count_statements(conn) as statements:
        body = await call(
            client,
            DOCUMENT.read_text(),
            {"input": contact_input(patient_gid(newcomer), 0)},
            token=world.clinician_token(settings),
        )
    payload = body["data"]["recordCareContact"]
    assert payload["userErrors"] == []
    assert payload["careContact"]["status"] == "AVSLUTAD", "visible under the new relationship"
    kinds = [kind(s) for s in statements]
    assert kinds[:3] == [
        "SAVEPOINT",
        "SELECT set_config",
        "SELECT assignment with facts and lookups",  # the decision before the insert
    ]
    assert kinds[3:8] == [
        "INSERT INTO care_contact",  # says that no relationship is current
        "INSERT INTO care_relationship",
        "SELECT FROM patient",  # the decision again, now with the relationship
        "SELECT FROM care_contact",  # the contact read back
        "SELECT FROM audit_append",
    ]
    relationships = await conn.execute(
        text("SELECT count(*) FROM care_relationship WHERE patient_id = :p"), {"p": newcomer.id}
    )
    assert relationships.scalar() == 1
    denied = await conn.execute(
        text("SELECT count(*) FROM audit_entry WHERE patient_id = :p AND action = 'deny'"),
        {"p": newcomer.id},
    )
    # The decision made before the insert (no relationship yet) disclosed nothing and is not
    # what the answer rests on: no denial is logged.
    assert denied.scalar() == 0


async def test_a_row_the_writer_may_not_see_comes_back_hidden_and_the_denial_is_logged(
    client: httpx.AsyncClient, conn: AsyncConnection, settings: Settings
) -> None:
    """A planned contact for a patient with no care relationship at the unit: written (the
    write policy needs none), but the policy hides the patient from the writer, so the answer
    has no contact, and the audit trail has the write and the denial, as when it was read back."""
    world = await make_world(conn)
    stranger = await create_patient(conn)
    planned = contact_input(patient_gid(stranger), 0) | {
        "status": "EJ_PABORJAD",
        "periodStart": "2030-01-02T10:00:00+01:00",
    }
    async with count_statements(conn) as statements:
        body = await call(
            client, DOCUMENT.read_text(), {"input": planned}, token=world.clinician_token(settings)
        )
    payload = body["data"]["recordCareContact"]
    assert payload["userErrors"] == []
    assert payload["careContact"] is None
    kinds = [kind(s) for s in statements]
    assert "SELECT FROM care_contact" not in kinds, "not read back"
    assert "INSERT INTO care_relationship" not in kinds, "a planned contact implies none"
    entries = await conn.execute(
        text("SELECT action FROM audit_entry WHERE patient_id = :p ORDER BY id"),
        {"p": stranger.id},
    )
    assert [action for (action,) in entries] == ["write", "deny"]
    written = await conn.execute(
        text("SELECT count(*) FROM care_contact WHERE patient_id = :p"), {"p": stranger.id}
    )
    assert written.scalar() == 1


async def test_a_duplicate_document_is_refused_without_a_savepoint_and_writes_nothing(
    client: httpx.AsyncClient, conn: AsyncConnection, settings: Settings
) -> None:
    """The first contact of a newcomer with a documentId the source system already used for
    the patient: DUPLICATE, no contact and no care relationship written, and the request (and
    a second mutation in the same document) goes on."""
    world = await make_world(conn)
    newcomer = await create_patient(conn)
    first = contact_input(patient_gid(world.patient), 0) | {"documentId": "twice"}
    body = await call(
        client, DOCUMENT.read_text(), {"input": first}, token=world.clinician_token(settings)
    )
    assert body["data"]["recordCareContact"]["userErrors"] == []
    again = """
    mutation Two($a: RecordCareContactInput!, $b: RecordCareContactInput!) {
      a: recordCareContact(input: $a) { userErrors { field code } careContact { id } }
      b: recordCareContact(input: $b) { userErrors { field code } careContact { status } }
    }"""
    duplicate = contact_input(patient_gid(world.patient), 0) | {"documentId": "twice"}
    fresh = contact_input(patient_gid(newcomer), 1)
    async with count_statements(conn) as statements:
        body = await call(
            client, again, {"a": duplicate, "b": fresh}, token=world.clinician_token(settings)
        )
    assert "SAVEPOINT" not in [kind(s) for s in statements[1:-1]], "no savepoint per mutation"
    data = body["data"]
    assert data["a"]["userErrors"] == [{"field": "input.documentId", "code": "DUPLICATE"}]
    assert data["a"]["careContact"] is None
    assert data["b"]["userErrors"] == [] and data["b"]["careContact"]["status"] == "AVSLUTAD"
    counted = await conn.execute(
        text(
            "SELECT (SELECT count(*) FROM care_contact WHERE patient_id = :p"
            " AND document_id = 'twice'), (SELECT count(*) FROM care_relationship"
            " WHERE patient_id = :p)"
        ),
        {"p": world.patient.id},
    )
    assert tuple(counted.one()) == (1, 1)


async def test_a_mutation_refused_after_it_wrote_fails_the_request_instead_of_committing(
    conn: AsyncConnection,
) -> None:
    """Without a savepoint nothing can be undone, so a body that refuses after a write (a
    broken `writes_last` promise) raises UnfinishedWrite, a DBAPIError: the endpoint rolls the
    whole request back rather than commit half of the mutation."""
    from app import models
    from app.access.principal import Principal, PrincipalKind
    from resolvers.mutations.outcome import Code, RowRef, reject
    from resolvers.mutations.runner import UnfinishedWrite, Writer, run_mutation
    from tests.sqlcount import context

    world = await make_world(conn)
    ctx = context(conn, Principal(kind=PrincipalKind.SYSTEM, subject="statements-test"))

    async def body(write: Writer) -> dict[str, RowRef]:
        await write.insert(
            models.CareRelationship,
            {
                "patient_id": world.patient.id,
                "care_unit_id": world.unit.id,
                "care_provider_id": world.provider.id,
                "valid_from": datetime.now(UTC),
            },
        )
        raise reject(None, Code.INVALID_STATE, "refused too late")

    with pytest.raises(UnfinishedWrite):
        await run_mutation(ctx, "broken", {"n": 1}, body, idempotency_key=None, writes_last=True)
    # With an idempotency key the savepoint is there, and the same body is a plain refusal.
    async with conn.begin_nested():
        refused = await run_mutation(
            ctx, "broken", {"n": 2}, body, idempotency_key="k-1", writes_last=True
        )
    assert [p.code for p in refused.problems] == [Code.INVALID_STATE]


async def test_the_write_rules_of_a_system_integration_read_nothing(conn: AsyncConnection) -> None:
    """Only a clinician's write asks for the decision up front (it comes with their
    assignment); a system integration's write rules need no statement, so none is sent."""
    patient = await create_patient(conn)
    async with count_statements(conn) as statements:
        await ensure_may_write(context(conn), patient.id, None, "care_contact")
    assert statements == []


TWO_CONTACTS = """
mutation Two($a: RecordCareContactInput!, $b: RecordCareContactInput!) {
  first: recordCareContact(input: $a) { userErrors { code } careContact { reason } }
  second: recordCareContact(input: $b) { userErrors { code } careContact { reason } }
}
"""


async def test_lookups_run_alone_when_the_decision_is_made_already(
    client: httpx.AsyncClient, conn: AsyncConnection, settings: Settings, one_chain: int
) -> None:
    """Two contacts for one patient in one document: the first's lookups ride on the facts
    statement, the second's run alone (its patient is decided), and both are written."""
    world = await make_world(conn)
    gid = patient_gid(world.patient)
    variables = {"a": contact_input(gid, 0), "b": contact_input(gid, 1) | {"reason": "Andra"}}
    async with count_statements(conn) as statements:
        body = await call(client, TWO_CONTACTS, variables, token=world.clinician_token(settings))
    assert body["data"]["first"] == {"userErrors": [], "careContact": {"reason": "Uppföljning"}}
    assert body["data"]["second"] == {"userErrors": [], "careContact": {"reason": "Andra"}}
    kinds = [kind(s) for s in statements]
    assert kinds[2:6] == [
        "SELECT assignment with facts and lookups",
        "INSERT INTO care_contact",
        "SELECT lookups care_unit practitioner patient",
        "INSERT INTO care_contact",
    ]


async def test_a_system_integrations_lookups_run_alone(
    client: httpx.AsyncClient, conn: AsyncConnection, settings: Settings, one_chain: int
) -> None:
    """A system integration's write rules read nothing and its decision waits until needed:
    the lookups are a statement of their own, and a care unit must be named in the input."""
    world = await make_world(conn)
    unit = await conn.execute(
        text("SELECT hsa_id FROM care_unit WHERE id = :u"), {"u": world.unit.id}
    )
    payload = contact_input(patient_gid(world.patient), 0) | {"careUnitHsaId": unit.scalar()}
    async with count_statements(conn) as statements:
        body = await call(
            client, DOCUMENT.read_text(), {"input": payload}, token=system_token(settings)
        )
    assert body["data"]["recordCareContact"]["userErrors"] == [], body
    kinds = [kind(s) for s in statements]
    assert kinds[2] == "SELECT lookups care_unit patient"
    assert not any("assignment" in k for k in kinds)


async def test_a_patient_who_does_not_exist_is_not_found_when_the_lookups_ride(
    client: httpx.AsyncClient, conn: AsyncConnection, settings: Settings, one_chain: int
) -> None:
    """The facts statement has no row of a patient who does not exist: the ridden lookups
    are not used, the lookups run alone, and the answer is NOT_FOUND as before."""
    world = await make_world(conn)
    missing = encode_id("Patient", uuid.uuid4())
    async with count_statements(conn) as statements:
        body = await call(
            client,
            DOCUMENT.read_text(),
            {"input": contact_input(missing, 0)},
            token=world.clinician_token(settings),
        )
    assert body["data"]["recordCareContact"]["userErrors"] == [
        {
            "field": "input.patientId",
            "code": "NOT_FOUND",
            "message": "input.patientId: no such patient",
        }
    ], body
    kinds = [kind(s) for s in statements]
    assert kinds[2:4] == [
        "SELECT assignment with facts and lookups",  # no facts row with the patient's id
        "SELECT lookups care_unit practitioner patient",
    ]
    assert "INSERT INTO care_contact" not in kinds
