"""Filter values given as variables (issue 18: "a query nobody anticipated is as fast as a
shipped one"), over HTTP with the roles' own demo tokens.

A variable used only in lists' `filter` (not as a period's bound, which is a time slot) or
`changedSince` keys a plan by the shape of its value, not the value: the list's filter is
read again per run as its resolver reads it (resolvers/planner/parts.py, `FilterSlot`), ids
and times are bound, strings written into the statement as the document's own constants are
(resolvers/filters.py, `slotted`). A value of another shape keys a plan of its own; a value
the resolver refuses is answered by GraphQL execution, with its errors. Every answer and
audit entry is GraphQL execution's."""

from __future__ import annotations

from typing import Any

from tests.integration.demo_support import Demo
from tests.integration.test_fused_reads import Answer, ask, client, cold, rides
from tests.integration.test_planned_bound_values import forget_plans, plans_of
from tests.integration.test_situation_matrix import ER_DOCTOR, TOLVAN

FILTERED = """
query Filtered(
  $pnr: String!, $statuses: [PrescriptionStatus!], $atc: [String!], $types: [ContactType!],
  $units: [String!], $since: DateTime
) {
  patient(personnummer: $pnr) {
    prescriptions(filter: { statuses: $statuses, atcPrefixes: $atc }, first: 50) {
      totalCount
      nodes { id status atcCode }
    }
    careContacts(filter: { types: $types, careUnitHsaIds: $units }, first: 50) {
      totalCount
      nodes { id contactType careUnit { hsaId } }
    }
    diagnoses(changedSince: $since, first: 50) { totalCount nodes { id code } }
  }
}
"""

SINCE = "2000-01-01T00:00:00Z"


def filtered(**values: Any) -> dict[str, Any]:
    return {"query": FILTERED, "variables": {"pnr": TOLVAN, **values}}


async def both(demo: Demo, body: dict[str, Any]) -> Answer:
    """The planner's answer, held to GraphQL execution's (data, errors and audit)."""
    graphql_only = demo.settings.model_copy(update={"planner": False})
    async with client(demo.conn, demo.settings) as http:
        planned = await ask(http, demo, ER_DOCTOR, body)
    async with client(demo.conn, graphql_only) as other:
        executed = await ask(other, demo, ER_DOCTOR, body)
    assert (planned.body, planned.audit) == (executed.body, executed.audit)
    return planned


async def tolvans(demo: Demo) -> dict[str, Any]:
    """Tolvan's prescriptions and contacts unfiltered: where the values below come from."""
    answer = await both(demo, filtered())
    patient: dict[str, Any] = answer.body["data"]["patient"]
    return patient


async def test_values_of_one_shape_read_with_one_plan_and_graphql_executions_answer(
    demo: Demo,
) -> None:
    everything = await tolvans(demo)
    statuses = sorted({p["status"] for p in everything["prescriptions"]["nodes"]})
    atcs = sorted({p["atcCode"][:3] for p in everything["prescriptions"]["nodes"]})
    types = sorted({c["contactType"] for c in everything["careContacts"]["nodes"]})
    units = sorted({c["careUnit"]["hsaId"] for c in everything["careContacts"]["nodes"]})
    assert len(statuses) > 1 and len(atcs) > 1 and len(types) > 1 and len(units) > 1
    forget_plans("Filtered")
    answers = []
    for i in range(3):
        values = {
            "statuses": [statuses[i % len(statuses)]],
            "atc": [atcs[i % len(atcs)]],
            "types": [types[i % len(types)]],
            "units": [units[i % len(units)]],
            "since": SINCE if i != 1 else "2026-01-01T00:00:00+01:00",
        }
        answer = await both(demo, filtered(**values))
        assert "errors" not in answer.body, answer.body
        patient = answer.body["data"]["patient"]
        assert {p["status"] for p in patient["prescriptions"]["nodes"]} <= {values["statuses"][0]}
        assert all(
            p["atcCode"].startswith(values["atc"][0]) for p in patient["prescriptions"]["nodes"]
        )
        assert {c["contactType"] for c in patient["careContacts"]["nodes"]} <= {values["types"][0]}
        assert {c["careUnit"]["hsaId"] for c in patient["careContacts"]["nodes"]} <= {
            values["units"][0]
        }
        answers.append(patient)
    # The values were applied per run: the answers differ, from one plan.
    assert len({repr(a) for a in answers}) == 3
    [key] = plans_of("Filtered")
    assert b"filter" in key[3] and SINCE.encode() not in key[3]
    assert not any(units[0].encode() in k[3] for k in plans_of("Filtered"))


async def test_another_shape_keys_a_plan_of_its_own(demo: Demo) -> None:
    """No filter, an empty list, one value, two values: each a plan of its own (they make
    other statements), each answered as GraphQL execution answers it."""
    everything = await tolvans(demo)
    statuses = sorted({p["status"] for p in everything["prescriptions"]["nodes"]})
    forget_plans("Filtered")
    totals = []
    for given in (None, [], statuses[:1], statuses[:2], statuses[1:2]):
        answer = await both(demo, filtered(statuses=given))
        totals.append(answer.body["data"]["patient"]["prescriptions"]["totalCount"])
    assert totals[0] == totals[1] == len(everything["prescriptions"]["nodes"])
    assert totals[2] + totals[4] == totals[3] < totals[0]
    # (None and [] make the same statement, but their values differ: two keys.)
    assert len(plans_of("Filtered")) == 4


async def test_a_value_the_resolver_refuses_is_answered_by_graphql_execution(
    demo: Demo,
) -> None:
    """After a plan for one ATC group, a malformed one, a time without a zone and a care unit
    id of the wrong type get GraphQL execution's errors and audit entries (the planner
    declines)."""
    forget_plans("Filtered")
    await both(demo, filtered(atc=["B01"]))
    refused = await both(demo, filtered(atc=["not an ATC group"]))
    assert {e["extensions"]["code"] for e in refused.body["errors"]} == {"BAD_USER_INPUT"}
    late = await both(demo, filtered(atc=["B01"], since="2026-01-01T00:00:00"))
    assert {e["extensions"]["code"] for e in late.body["errors"]} == {"BAD_USER_INPUT"}
    unit = await both(
        demo,
        {
            "query": """query U($pnr: String!, $ids: [ID!]) { patient(personnummer: $pnr) {
                careContacts(filter: { careUnitIds: $ids }, first: 5) { totalCount } } }""",
            "variables": {"pnr": TOLVAN, "ids": ["UGF0aWVudDox"]},
        },
    )
    assert unit.body["errors"], unit.body


async def test_a_whole_filter_as_a_variable_with_a_period_reads_with_one_plan(
    demo: Demo,
) -> None:
    """`filter: $f`: the keys given, the lengths of its lists and its nulls key the plan;
    the period's times, the statuses' values are bound or written per run."""
    query = """query Whole($pnr: String!, $f: CareContactFilter) { patient(personnummer: $pnr) {
        careContacts(filter: $f, first: 50) { totalCount nodes { id eventTime status } } } }"""
    forget_plans("Whole")
    for start, status in (
        ("2020-01-01T00:00:00Z", "AVSLUTAD"),
        ("2025-06-01T00:00:00Z", "PAGAENDE"),
    ):
        body = {
            "query": query,
            "variables": {"pnr": TOLVAN, "f": {"period": {"start": start}, "statuses": [status]}},
        }
        answer = await both(demo, body)
        assert "errors" not in answer.body, answer.body
        contacts = answer.body["data"]["patient"]["careContacts"]
        assert {c["status"] for c in contacts["nodes"]} <= {status}
    assert len(plans_of("Whole")) == 1


async def test_a_read_with_other_filter_values_rides_on_the_facts(demo: Demo) -> None:
    """The prediction is the plan of the filter's shape: a read with other values rides, with
    its own values, and answers as a read without a prediction does."""
    forget_plans("Filtered")
    async with client(demo.conn, demo.settings) as http:
        await ask(http, demo, ER_DOCTOR, filtered(statuses=["AKTIV"], atc=["B01"]))
        await ask(http, demo, ER_DOCTOR, filtered(statuses=["AKTIV"], atc=["N02"]))
        used = rides("used")
        second = await ask(http, demo, ER_DOCTOR, filtered(statuses=["UTSATT"], atc=["C07"]))
    assert rides("used") == used + 1
    body = filtered(statuses=["UTSATT"], atc=["C07"])
    alone = await cold(demo, ER_DOCTOR, body, body)
    assert (alone.body, alone.audit) == (second.body, second.audit)
    assert second.statements < alone.statements
    assert len(plans_of("Filtered")) == 1
