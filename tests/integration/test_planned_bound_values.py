"""Values a plan binds per run (issue 18: "values bound per request"), over HTTP with the
roles' own demo tokens:

- a page after a cursor given as a variable: the plan binds the cursor's sort key
  (resolvers/planner/parts.py, CursorSlot), so every page of a list reads with one plan
  (MyRecord's timeline as the patient, a free-form contacts page as the ER doctor);
- a time given as a variable to a filter's period (EmergencyOverview's `$since`): one plan
  for every time (TimeSlot), with the answers GraphQL execution gives;
- a record row's id given as a variable (`node(id: $id)`): read per request, one plan."""

from __future__ import annotations

import base64
from typing import Any

import orjson

from app.sqlplan import PLANS
from tests.integration.demo_support import Demo
from tests.integration.test_fused_reads import ask, client, rides_twice, shipped
from tests.integration.test_situation_matrix import ER_DOCTOR, PATIENT, PHARMACIST, TOLVAN

CONTACTS = """
query Contacts($pnr: String!, $after: String) {
  patient(personnummer: $pnr) {
    careContacts(first: 2, after: $after) {
      totalCount
      pageInfo { hasNextPage hasPreviousPage endCursor }
      nodes { id eventTime }
    }
  }
}
"""


def plans_of(operation: str) -> set[tuple[Any, ...]]:
    """The keys of the planner's cached plans of an operation (app/sqlplan.py)."""
    return {
        k
        for k in PLANS._plans
        if isinstance(k, tuple) and k[:1] == ("planner",) and k[2] == operation
    }


def forget_plans(operation: str) -> None:
    """Drop the operation's cached plans (earlier tests may have made some)."""
    for key in plans_of(operation):
        del PLANS._plans[key]


def my_record(after: str | None, first: int = 3) -> dict[str, Any]:
    return {
        "operationName": "MyRecord",
        "variables": {"personnummer": TOLVAN, "first": first, "after": after},
    }


def cursor(tag: str, *values: Any) -> str:
    return base64.urlsafe_b64encode(orjson.dumps([tag, *values])).decode().rstrip("=")


async def test_every_page_of_the_timeline_after_a_cursor_reads_with_one_plan(
    demo: Demo,
) -> None:
    forget_plans("MyRecord")
    seen: list[str] = []
    after: str | None = None
    pages = 0
    async with client(demo.conn, demo.settings) as http:
        while pages < 5:
            answer = await ask(http, demo, PATIENT, my_record(after))
            assert "errors" not in answer.body, answer.body
            timeline = answer.body["data"]["patient"]["timeline"]
            seen += [node["id"] for node in timeline["nodes"]]
            pages += 1
            if pages == 2:
                first_cursor_plans = plans_of("MyRecord")
            after = timeline["pageInfo"]["endCursor"]
            if not timeline["pageInfo"]["hasNextPage"]:
                break
    assert pages >= 4, "Tolvan's timeline has more than three pages of three"
    assert len(seen) == len(set(seen)), "no event on two pages"
    # The first page and the first after a cursor each made a plan; no later page did.
    assert len(first_cursor_plans) == 2
    assert plans_of("MyRecord") == first_cursor_plans
    # The key holds the cursor's list and length, not the cursor; the plan binds its values.
    shapes = sorted(key[3] for key in first_cursor_plans)
    assert b'"after":null' in shapes[1] and b'"after":["cursor","Timeline",2]' in shapes[0]
    bound = [PLANS._plans[key] for key in first_cursor_plans if b'"cursor"' in key[3]]
    assert len([slot for slot in bound[0].slots if slot.name.startswith("after")]) == 2


async def test_a_page_after_a_cursor_rides_on_the_facts(demo: Demo) -> None:
    async with client(demo.conn, demo.settings) as http:
        first = await ask(http, demo, PATIENT, my_record(None))
    after = first.body["data"]["patient"]["timeline"]["pageInfo"]["endCursor"]
    assert after is not None
    # The same answer and audit as a read without a prediction, one statement fewer.
    second = await rides_twice(demo, PATIENT, my_record(after))
    nodes = [page.body["data"]["patient"]["timeline"]["nodes"] for page in (first, second)]
    assert nodes[1] and not {n["id"] for n in nodes[0]} & {n["id"] for n in nodes[1]}


async def test_a_contacts_page_after_any_cursor_reads_with_one_plan(demo: Demo) -> None:
    forget_plans("Contacts")
    ids: list[str] = []
    after: str | None = None
    async with client(demo.conn, demo.settings) as http:
        for _ in range(4):
            body = {"query": CONTACTS, "variables": {"pnr": TOLVAN, "after": after}}
            answer = await ask(http, demo, ER_DOCTOR, body)
            assert "errors" not in answer.body, answer.body
            page = answer.body["data"]["patient"]["careContacts"]
            ids += [node["id"] for node in page["nodes"]]
            assert page["pageInfo"]["hasPreviousPage"] is (after is not None)
            after = page["pageInfo"]["endCursor"]
    assert len(ids) == 8 == len(set(ids))
    assert len(plans_of("Contacts")) == 2


async def test_a_cursor_not_of_the_list_is_refused_as_graphql_execution_refuses_it(
    demo: Demo,
) -> None:
    """A cursor of another list, or of this list with values that are not its sort key:
    GraphQL execution answers (the planner declines), with its BAD_USER_INPUT; the same with
    the planner switched off."""
    graphql_only = demo.settings.model_copy(update={"planner": False})
    contacts = cursor("CareContact", "2024-01-01T00:00:00+00:00", "0" * 8)
    for bad in (
        contacts,
        cursor("Timeline", "not a time", "00000000-0000-0000-0000-000000000000"),
        cursor("Timeline", "2024-01-01T00:00:00+00:00"),
        "not-a-cursor",
    ):
        async with client(demo.conn, demo.settings) as http:
            planned = await ask(http, demo, PATIENT, my_record(bad))
        async with client(demo.conn, graphql_only) as http:
            executed = await ask(http, demo, PATIENT, my_record(bad))
        assert planned.body == executed.body
        assert planned.audit == executed.audit
        codes = {e["extensions"]["code"] for e in planned.body["errors"]}
        assert codes == {"BAD_USER_INPUT"}, planned.body


def emergency(since: str | None) -> dict[str, Any]:
    return {
        "operationName": "EmergencyOverview",
        "variables": {"personnummer": TOLVAN, "since": since},
    }


SINCE = (
    "2020-01-01T00:00:00Z",
    "2024-06-01T12:30:00+02:00",
    "2025-11-20T08:15:42.123456Z",
    "2099-01-01T00:00:00Z",
)


async def test_every_since_of_the_emergency_overview_reads_with_one_plan(demo: Demo) -> None:
    forget_plans("EmergencyOverview")
    graphql_only = demo.settings.model_copy(update={"planner": False})
    counts = []
    async with client(demo.conn, demo.settings) as http:
        for since in SINCE:
            planned = await ask(http, demo, ER_DOCTOR, emergency(since))
            async with client(demo.conn, graphql_only) as other:
                executed = await ask(other, demo, ER_DOCTOR, emergency(since))
            assert "errors" not in planned.body, planned.body
            assert (planned.body, planned.audit) == (executed.body, executed.audit)
            counts.append(planned.body["data"]["patient"]["careContacts"]["totalCount"])
        await ask(http, demo, ER_DOCTOR, emergency(None))
    # A later start leaves fewer contacts (those still open overlap any start).
    assert counts == sorted(counts, reverse=True) and counts[0] > counts[-1], counts
    shapes = sorted(key[3] for key in plans_of("EmergencyOverview"))
    assert shapes == [b'{"since":false}', b'{"since":true}']


async def test_a_read_with_a_since_rides_on_the_facts(demo: Demo) -> None:
    first = await rides_twice(demo, ER_DOCTOR, emergency(SINCE[1]))
    assert first.body["data"]["patient"]["careContacts"]["totalCount"] > 0


DISPENSATIONS = """
query Dispensations($id: ID!, $after: String) {
  node(id: $id) {
    ... on Prescription {
      drugName
      dispensations(first: 1, after: $after) {
        pageInfo { hasNextPage endCursor }
        nodes { id eventTime }
      }
    }
  }
}
"""


async def test_a_record_rows_pages_after_a_cursor_read_with_one_plan(demo: Demo) -> None:
    """`node(id:)` of a prescription, its dispensations a page at a time, as the pharmacist:
    one plan for every page after a cursor, the pages following on from each other."""
    async with client(demo.conn, demo.settings) as http:
        queue = await ask(http, demo, PHARMACIST, shipped("PharmacyDispensing", TOLVAN))
        prescriptions = queue.body["data"]["patient"]["prescriptions"]["nodes"]
        most = max(prescriptions, key=lambda p: p["dispensations"]["totalCount"])
        assert most["dispensations"]["totalCount"] >= 3
        keys = {k for k in PLANS._plans if isinstance(k, tuple) and k[:1] == ("planner node",)}
        for key in keys:
            if key[1] == DISPENSATIONS:
                del PLANS._plans[key]
        ids: list[str] = []
        after: str | None = None
        for _ in range(3):
            body = {"query": DISPENSATIONS, "variables": {"id": most["id"], "after": after}}
            answer = await ask(http, demo, PHARMACIST, body)
            page = answer.body["data"]["node"]["dispensations"]
            ids += [node["id"] for node in page["nodes"]]
            after = page["pageInfo"]["endCursor"]
    assert len(ids) == 3 == len(set(ids))
    made = [
        k for k in PLANS._plans if isinstance(k, tuple) and k[:2] == ("planner node", DISPENSATIONS)
    ]
    assert len(made) == 2  # without a cursor, and after one


DEFAULT_SINCE = """
query Since($pnr: String!, $since: DateTime = "2099-01-01T00:00:00Z") {
  patient(personnummer: $pnr) {
    careContacts(filter: { period: { start: $since } }, first: 50) { totalCount }
  }
}
"""


async def test_a_variables_default_and_an_explicit_null_are_planned_apart(demo: Demo) -> None:
    """A plan is keyed by the variables as coerced: an absent `since` takes its default (a
    narrow period), an explicit null means no period at all; each answers as GraphQL
    execution does, whichever came first."""
    graphql_only = demo.settings.model_copy(update={"planner": False})
    absent = {"query": DEFAULT_SINCE, "variables": {"pnr": TOLVAN}}
    null = {"query": DEFAULT_SINCE, "variables": {"pnr": TOLVAN, "since": None}}
    async with client(demo.conn, demo.settings) as http:
        planned = [(await ask(http, demo, ER_DOCTOR, body)).body for body in (absent, null)]
    async with client(demo.conn, graphql_only) as http:
        executed = [(await ask(http, demo, ER_DOCTOR, body)).body for body in (absent, null)]
    assert planned == executed
    counts = [body["data"]["patient"]["careContacts"]["totalCount"] for body in planned]
    assert counts[0] < counts[1], counts


DISPENSATION = """
query Dispensation($id: ID!) {
  node(id: $id) { ... on Dispensation { id eventTime documentId nullified } }
}
"""


async def test_a_record_row_by_another_id_reads_with_the_same_plan(demo: Demo) -> None:
    """`node(id: $id)`'s id is read per request: the pharmacist reading one dispensation
    after another reuses one plan, each answer and audit as GraphQL execution's."""
    graphql_only = demo.settings.model_copy(update={"planner": False})
    async with client(demo.conn, demo.settings) as http:
        queue = await ask(http, demo, PHARMACIST, shipped("PharmacyDispensing", TOLVAN))
        ids = [
            node["id"]
            for p in queue.body["data"]["patient"]["prescriptions"]["nodes"]
            for node in p["dispensations"]["nodes"]
        ]
        assert len(ids) >= 3
        for key in [k for k in PLANS._plans if isinstance(k, tuple) and k[1:2] == (DISPENSATION,)]:
            del PLANS._plans[key]
        for gid in ids[:3]:
            body = {"query": DISPENSATION, "variables": {"id": gid}}
            planned = await ask(http, demo, PHARMACIST, body)
            async with client(demo.conn, graphql_only) as other:
                executed = await ask(other, demo, PHARMACIST, body)
            assert planned.body["data"]["node"]["id"] == gid
            assert (planned.body, planned.audit) == (executed.body, executed.audit)
    made = [k for k in PLANS._plans if isinstance(k, tuple) and k[1:2] == (DISPENSATION,)]
    assert len(made) == 1 and made[0][3] == b"{}", made
