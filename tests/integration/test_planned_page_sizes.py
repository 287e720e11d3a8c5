"""Page sizes given as variables (issue 18: "a query nobody anticipated is as fast as a shipped
one"), over HTTP with the roles' own demo tokens.

A variable used only as lists' `first` does not key a plan for sizes 2 to 100: the plan is
built once, its SQL a template with the size's place marked, and each size's statement is
derived from it by writing the number in (app/sqlplan.py, `Plan.written_in`). Other values
(0, 1, beyond the largest page, null) key plans of their own, as before. Every answer and
audit entry is GraphQL execution's."""

from __future__ import annotations

from typing import Any

from app.sqlplan import PLANS, Plan
from resolvers.planner.parts import size_bind
from tests.integration.demo_support import Demo
from tests.integration.test_fused_reads import ask, client, cold, rides
from tests.integration.test_planned_bound_values import forget_plans, my_record, plans_of
from tests.integration.test_situation_matrix import ER_DOCTOR, PATIENT, TOLVAN

SIZED = """
query Sized($pnr: String!, $first: Int!, $alerts: Int = 50) {
  patient(personnummer: $pnr) {
    careContacts(first: $first) {
      totalCount
      pageInfo { hasNextPage endCursor }
      nodes { id eventTime diagnoses(first: $first) { totalCount nodes { code } } }
    }
    alerts(first: $alerts) { nodes { id } }
  }
}
"""


def sized(first: Any, **more: Any) -> dict[str, Any]:
    return {"query": SIZED, "variables": {"pnr": TOLVAN, "first": first, **more}}


def templates(operation: str) -> list[Plan]:
    return [PLANS._plans[key] for key in plans_of(operation)]


async def test_every_page_size_reads_with_one_plan_and_graphql_executions_answer(
    demo: Demo,
) -> None:
    forget_plans("Sized")
    graphql_only = demo.settings.model_copy(update={"planner": False})
    pages = []
    async with client(demo.conn, demo.settings) as http:
        for first in (2, 5, 3, 100, 5):
            planned = await ask(http, demo, ER_DOCTOR, sized(first, alerts=first))
            async with client(demo.conn, graphql_only) as other:
                executed = await ask(other, demo, ER_DOCTOR, sized(first, alerts=first))
            assert "errors" not in planned.body, planned.body
            assert (planned.body, planned.audit) == (executed.body, executed.audit)
            pages.append(planned.body["data"]["patient"]["careContacts"])
    total = pages[0]["totalCount"]
    assert total > 5, "Tolvan has more than five care contacts"
    assert [len(p["nodes"]) for p in pages] == [2, 5, 3, min(total, 100), 5]
    assert [p["pageInfo"]["hasNextPage"] for p in pages] == [True, True, True, total > 100, True]
    # One plan for all four sizes: its key holds that a size was given, not which.
    [template] = templates("Sized")
    assert [key[3] for key in plans_of("Sized")] == [b'{"alerts":"size","first":"size"}']
    assert template.written == (size_bind("alerts"), size_bind("first"))
    derived = template.written_in({size_bind("alerts"): 7, size_bind("first"): 9})
    assert "LIMIT 9" in derived.sql and "LIMIT 7" in derived.sql and "\x00" not in derived.sql
    assert derived is template.written_in({size_bind("alerts"): 7, size_bind("first"): 9})


async def test_sizes_that_shape_the_statement_key_plans_of_their_own(demo: Demo) -> None:
    """0 (counts without a page), 1, a size beyond the largest page, a negative one: each is
    answered as GraphQL execution answers it, errors included, and none shares the plan of
    the sizes written in."""
    forget_plans("Sized")
    graphql_only = demo.settings.model_copy(update={"planner": False})
    codes = []
    async with client(demo.conn, demo.settings) as http:
        for first in (0, 1, 101, -1, 4):
            planned = await ask(http, demo, ER_DOCTOR, sized(first))
            async with client(demo.conn, graphql_only) as other:
                executed = await ask(other, demo, ER_DOCTOR, sized(first))
            assert (planned.body, planned.audit) == (executed.body, executed.audit)
            codes.append({e["extensions"]["code"] for e in planned.body.get("errors", ())})
    assert codes == [set(), set(), {"PAGE_SIZE_EXCEEDED"}, {"BAD_USER_INPUT"}, set()]
    shapes = {key[3] for key in plans_of("Sized")}
    assert b'{"alerts":"size","first":"size"}' in shapes
    assert b'{"alerts":"size","first":0}' in shapes and b'{"alerts":"size","first":1}' in shapes


async def test_a_read_of_another_size_rides_on_the_facts(demo: Demo) -> None:
    """The patient's MyRecord with one timeline size, then another: the prediction is the
    template, so the second read rides with its own size written in, and answers as a read
    without a prediction does."""
    forget_plans("MyRecord")
    async with client(demo.conn, demo.settings) as http:
        first = await ask(http, demo, PATIENT, my_record(None, first=3))
        used = rides("used")
        second = await ask(http, demo, PATIENT, my_record(None, first=7))
    assert rides("used") == used + 1
    assert len(first.body["data"]["patient"]["timeline"]["nodes"]) == 3
    assert len(second.body["data"]["patient"]["timeline"]["nodes"]) == 7
    alone = await cold(demo, PATIENT, my_record(None, first=7), my_record(None, first=7))
    assert (alone.body, alone.audit) == (second.body, second.audit)
    assert second.statements < alone.statements
    assert len(plans_of("MyRecord")) == 1
