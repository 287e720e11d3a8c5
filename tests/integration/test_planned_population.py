"""Differential tests: PopulationList planned (one statement after the search and the policy's
decisions) vs the GraphQL loader path, same data and same audit buffer."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import orjson
import pytest
from sqlalchemy.ext.asyncio import AsyncConnection

from app import models
from app.access.principal import ANONYMOUS, Principal, PrincipalKind, Purpose
from resolvers.planner.parts import Decline
from resolvers.planner.run import run_planned
from schema import schema
from schema.persisted import REGISTRY
from tests import factories as f
from tests.integration.privacy_world import World, build_world
from tests.integration.test_planned_emergency import T0, both_paths
from tests.sqlcount import context, count_statements

SHIPPED = REGISTRY.by_name["PopulationList"]


async def both(
    conn: AsyncConnection, principal: Principal, variables: dict[str, Any]
) -> tuple[Any, Any, dict[str, Any], int]:
    """`both_paths` of PopulationList."""
    return await both_paths(conn, SHIPPED, principal, variables)


async def population(conn: AsyncConnection, w: World) -> list[models.Patient]:
    """Patients of U: with many items, an inner block at U2, records at V (provider B), a
    protected identity, one with nothing; and one patient of another unit."""
    await f.create_block(conn, w.patient, "inner", w.a, care_unit_id=w.u2.id)
    people = [w.patient]
    for i in range(4):
        person = await f.create_patient(
            conn, family_name=f"Efternamn{i % 2}", given_name=f"Namn{i}", protected_identity=i == 2
        )
        await f.create_care_relationship(conn, person, w.u)
        people.append(person)
    outsider = await f.create_patient(conn, family_name="Utanför")
    await f.create_care_relationship(conn, outsider, w.v)
    for n, person in enumerate([*people[:4], outsider]):
        for i in range(7 - 2 * n):
            when = T0 - timedelta(days=i, microseconds=i * 7)
            unit = (w.u, w.u2, w.v)[i % 3]
            contact = await f.create_care_contact(
                conn, person, unit, event_time=when, nullified=i == 4, status="pagaende"
            )
            await f.create_diagnosis(
                conn, person, unit, care_contact_id=contact.id, event_time=when, code=f"K{i}"
            )
    return people


def variables(w: World, first: int = 50, items: int = 5) -> dict[str, Any]:
    return {"first": first, "items": items, "provider": w.a.hsa_id}


async def test_clinician_sees_the_same(conn: AsyncConnection) -> None:
    w = await build_world(conn)
    people = await population(conn, w)
    slow, fast, audit, statements = await both(conn, w.clinician(), variables(w))
    assert fast == slow
    nodes = slow["patients"]["nodes"]
    assert {n["personnummer"] for n in nodes} == {p.identifier for p in people}
    assert max(len(n["careContacts"]["nodes"]) for n in nodes) == 3  # U only; U2 is blocked
    assert len(audit["disclosed"]) == len(people)
    async with count_statements(conn) as decision:
        await context(conn, w.clinician()).data.access([p.id for p in people])
    # Decided at once: the clinician's assignment with the patients' facts (no patient shares
    # with other providers here: no reference data).
    assert len(decision) == 1
    # The search first needs the clinician's unit (one statement), then the candidates, the
    # patients' facts, then the one read statement.
    assert statements == 4


async def test_small_pages_and_other_principals(conn: AsyncConnection) -> None:
    w = await build_world(conn)
    people = await population(conn, w)
    await f.create_consent(conn, w.patient, "svod_access", care_unit_id=w.u.id)
    slow, fast, _, _ = await both(conn, w.clinician(), variables(w, first=2, items=2))
    assert fast == slow and len(slow["patients"]["nodes"]) == 2
    stranger_unit = await f.create_unit(conn, w.b, name="Annan")
    stranger = w.clinician(care_unit_hsa_id=stranger_unit.hsa_id, care_provider_hsa_id=w.b.hsa_id)
    patient = Principal(
        kind=PrincipalKind.PATIENT,
        subject=people[1].identifier,
        purpose=Purpose.PATRQT,
        person_identifier=people[1].identifier,
    )
    for principal in (stranger, patient, ANONYMOUS, w.clinician(purpose=Purpose.ETREAT)):
        slow, fast, _, _ = await both(conn, principal, variables(w))
        assert fast == slow, principal
    slow, fast, _, _ = await both(conn, w.clinician(), {**variables(w), "provider": w.b.hsa_id})
    assert fast == slow


async def test_page_sizes_outside_the_limits_go_to_the_graphql_path(conn: AsyncConnection) -> None:
    # GraphQL execution reports them (BAD_USER_INPUT on `first`); the planner declines.
    w = await build_world(conn)
    for first, items in ((101, 5), (5, -1)):
        asked = {"first": first, "items": items, "provider": "x"}
        with pytest.raises(Decline):
            await run_planned(
                context(conn, w.clinician()), schema, SHIPPED.document, SHIPPED.name, asked
            )


async def test_a_request_again_reuses_the_plan_and_so_does_another_provider(
    conn: AsyncConnection,
) -> None:
    """The plan depends on the groups' decisions, the page sizes and the filter's shape, not
    on which patients (their ids are bound per run) nor on the provider: `$provider` is a
    filter variable (Document.filters), its HSA-id written into the statement per run."""
    from app.sqlplan import PLANS

    w = await build_world(conn)
    await population(conn, w)
    slow, fast, _, _ = await both(conn, w.clinician(), variables(w))
    assert fast == slow
    size = len(PLANS)
    slow, fast, _, _ = await both(conn, w.clinician(), variables(w))
    assert fast == slow and len(PLANS) == size
    slow, fast, _, _ = await both(conn, w.clinician(), {**variables(w), "provider": w.b.hsa_id})
    assert fast == slow and len(PLANS) == size
    b_contacts = [c for n in slow["patients"]["nodes"] for c in n["careContacts"]["nodes"]]
    slow, fast, _, _ = await both(conn, w.clinician(), variables(w))
    assert fast == slow and len(PLANS) == size
    contacts = [c for n in slow["patients"]["nodes"] for c in n["careContacts"]["nodes"]]
    assert contacts, "provider A's contacts come back after provider B's request"
    assert {c["id"] for c in contacts}.isdisjoint({c["id"] for c in b_contacts})


SEARCH = """
query Search($name: String, $first: Int, $after: String) {
  patients(filter: { familyName: $name }, first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    nodes { personnummer careContacts(first: 2) { nodes { id eventTime } } }
  }
}
"""


async def test_a_searched_name_and_page_key_no_plan(conn: AsyncConnection) -> None:
    """The `patients` root's own arguments (the search, its page and cursor) are read per
    request: a clinician typing names, or paging, reuses the patients' plan; each answer is
    GraphQL execution's."""
    from app.sqlplan import PLANS
    from schema.persisted import PersistedOperation

    w = await build_world(conn)
    await population(conn, w)
    search = PersistedOperation("Search", SEARCH, "", "query")
    # Three spellings of one name (the search ignores case): the same patients, so the same
    # groups of decisions; only the values differ.
    asked = [
        {"name": "Efternamn1", "first": 5},
        {"name": "efternamn1", "first": 4},
        {"name": "EFTERNAMN1", "first": 3},
    ]
    sizes = []
    for variables in asked:
        slow, fast, _, _ = await both_paths(conn, search, w.clinician(), variables)
        assert fast == slow
        assert len(slow["patients"]["nodes"]) == 2, slow
        sizes.append(len(PLANS))
    assert sizes[0] == sizes[1] == sizes[2]
    first = {"name": "efter", "first": 3}
    slow, fast, _, _ = await both_paths(conn, search, w.clinician(), first)
    assert fast == slow and slow["patients"]["pageInfo"]["hasNextPage"]
    after = {**first, "after": slow["patients"]["pageInfo"]["endCursor"]}
    slow, fast, _, _ = await both_paths(conn, search, w.clinician(), after)
    assert fast == slow and slow["patients"]["nodes"]
    keys = [k for k in PLANS._plans if isinstance(k, tuple) and k[0][1:2] == (SEARCH,)]
    assert keys and {k[0][3] for k in keys} == {b"{}"}, keys


UNTIL = """
query Until($until: DateTime) {
  patients(filter: { familyName: "Efternamn" }, first: 10) {
    nodes { personnummer careContacts(filter: { period: { end: $until } }, first: 5) {
      totalCount nodes { id eventTime }
    } }
  }
}
"""


async def test_its_lists_times_are_bound_as_a_patients_are(conn: AsyncConnection) -> None:
    """A period's end given as a variable in every patient's lists: one plan for every end,
    each answer GraphQL execution's (the contacts, all ongoing, that began before it)."""
    from app.sqlplan import PLANS
    from schema.persisted import PersistedOperation

    w = await build_world(conn)
    await population(conn, w)
    until = PersistedOperation("Until", UNTIL, "", "query")
    # (tests/integration/test_patient_joins.py runs this test again, in another world.)
    for key in [k for k in PLANS._plans if isinstance(k, tuple) and k[0][1:2] == (UNTIL,)]:
        del PLANS._plans[key]
    totals = []
    for end in (T0 - timedelta(days=4), T0 - timedelta(days=1, hours=12), T0 + timedelta(days=1)):
        asked = {"until": end.isoformat()}
        slow, fast, _, _ = await both_paths(conn, until, w.clinician(), asked)
        assert fast == slow
        totals.append(sum(n["careContacts"]["totalCount"] for n in slow["patients"]["nodes"]))
    assert totals == sorted(totals) and totals[0] < totals[-1], totals
    keys = [k for k in PLANS._plans if isinstance(k, tuple) and k[0][1:2] == (UNTIL,)]
    assert len(keys) == 1 and keys[0][0][3] == b'{"until":true}', keys


async def test_its_lists_page_sizes_are_written_in_one_plan(conn: AsyncConnection) -> None:
    """PopulationList's `$items` (each patient's lists' size) does not key a plan: one plan
    for every size from 2, each answer GraphQL execution's; 1 keys a plan of its own."""
    from app.sqlplan import PLANS

    w = await build_world(conn)
    await population(conn, w)
    # (tests/integration/test_patient_joins.py runs this test again, in another world.)
    for key in [
        k for k in PLANS._plans if isinstance(k, tuple) and k[0][1:2] == (SHIPPED.document,)
    ]:
        del PLANS._plans[key]
    longest = []
    for items in (2, 5, 3, 1):  # (at most three of provider A's contacts per patient)
        slow, fast, _, _ = await both(conn, w.clinician(), variables(w, items=items))
        assert fast == slow
        longest.append(max(len(n["careContacts"]["nodes"]) for n in slow["patients"]["nodes"]))
    assert longest == [2, 3, 3, 1]
    keys = [k for k in PLANS._plans if isinstance(k, tuple) and k[0][1:2] == (SHIPPED.document,)]
    assert sorted(str(orjson.loads(k[0][3])["items"]) for k in keys) == ["1", "size"], keys
