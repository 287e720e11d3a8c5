"""The planner (resolvers/planner/) against GraphQL execution: the same response and the same
audit entries for the shipped operations and free-form documents, in fewer statements."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from app.observability.metrics import PLANNER_FIELDS, PLANNING_CPU
from app.settings import Settings
from schema.ids import encode_id
from schema.persisted import REGISTRY
from tests.integration.privacy_world import World, build_world
from tests.integration.test_planned_emergency import rich_record
from tests.integration.test_planned_http import clinician_token, request


async def answer(
    conn: AsyncConnection, settings: Settings, planner: bool, body: dict[str, Any], token: str
) -> tuple[int, Any, list[dict[str, Any]], int]:
    """(status, body, audit entries written, statements) of one request, planned or through
    GraphQL execution."""
    return await request(conn, settings, planner, body, token)


def differences(a: Any, b: Any, path: str = "") -> list[str]:
    """Where two answers differ (the first few paths), for a readable failure."""
    if isinstance(a, dict) and isinstance(b, dict):
        if list(a) != list(b):
            return [f"{path}: keys {list(a)} != {list(b)}"]
        return [d for k in a for d in differences(a[k], b[k], f"{path}.{k}")][:5]
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        if len(a) != len(b):
            return [f"{path}: {len(a)} items != {len(b)}: {a!r:.300} != {b!r:.300}"]
        pairs = enumerate(zip(a, b, strict=True))
        return [d for i, (x, y) in pairs for d in differences(x, y, f"{path}[{i}]")][:5]
    return [] if a == b else [f"{path}: {a!r:.300} != {b!r:.300}"]


def planned_count() -> float:
    value: float = PLANNER_FIELDS.labels("planned")._value.get()
    return value


async def both(
    conn: AsyncConnection, settings: Settings, body: dict[str, Any], token: str
) -> tuple[tuple[int, Any, list[dict[str, Any]], int], tuple[int, Any, list[dict[str, Any]], int]]:
    slow = await answer(conn, settings, False, body, token)
    fast = await answer(conn, settings, True, body, token)
    assert fast[:3] == slow[:3], differences(fast[:3], slow[:3])
    return slow, fast


async def test_shipped_emergency_overview(conn: AsyncConnection, settings: Settings) -> None:
    w = await build_world(conn)
    await rich_record(conn, w)
    token = clinician_token(settings, w)
    before = planned_count()
    body = {
        "operationName": "EmergencyOverview",
        "variables": {"personnummer": w.patient.identifier},
    }
    slow, fast = await both(conn, settings, body, token)
    assert slow[1]["data"]["patient"]["careContacts"]["nodes"]
    assert planned_count() > before
    assert fast[3] < slow[3]


FREE_FORM = """
query Free($pnr: String!, $n: Int) {
  patient(personnummer: $pnr) {
    __typename id personnummer givenName familyName sex address { city }
    withheld { category reason }
    c: careContacts(first: $n) {
      totalCount
      pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
      edges {
        cursor
        node { id status careUnit { name hsaId } diagnoses(first: 2) { totalCount nodes { code } } }
      }
    }
    none: diagnoses(first: 0) { totalCount pageInfo { hasNextPage } nodes { id } }
    dx: diagnoses(first: 2) { d: nodes { id } _c: totalCount _start: edges { cursor } }
    alerts { nodes { ...A } }
    documents(first: 3) {
      nodes { id accountable { name hsaId } legalAuthenticator { name } signed }
    }
  }
}
fragment A on Alert { id critical severity alertType careProvider { name } }
"""


async def test_free_form_and_a_second_page(conn: AsyncConnection, settings: Settings) -> None:
    w = await build_world(conn)
    await rich_record(conn, w)
    token = clinician_token(settings, w)
    body = {"query": FREE_FORM, "variables": {"pnr": w.patient.identifier, "n": 3}}
    before = planned_count()
    slow, fast = await both(conn, settings, body, token)
    assert planned_count() - before == 13  # every field of the patient
    assert fast[3] < slow[3], (fast[3], slow[3])
    page = slow[1]["data"]["patient"]["c"]
    assert page["pageInfo"]["hasNextPage"]
    after = page["pageInfo"]["endCursor"]
    second = FREE_FORM.replace(
        "careContacts(first: $n)", f'careContacts(first: $n, after: "{after}")'
    )
    slow2, _ = await both(conn, settings, {"query": second, "variables": body["variables"]}, token)
    assert slow2[1]["data"]["patient"]["c"]["pageInfo"]["hasPreviousPage"]


async def test_unknown_and_invisible_patients(conn: AsyncConnection, settings: Settings) -> None:
    w: World = await build_world(conn)
    token = clinician_token(settings, w)
    for pnr in ("19121212-1212", "12", w.patient.identifier):
        body = {"query": FREE_FORM, "variables": {"pnr": pnr, "n": 101}}
        await both(conn, settings, body, token)


def test_shipped_operations_exist() -> None:
    assert "EmergencyOverview" in REGISTRY.by_name


async def test_every_shipped_operation(conn: AsyncConnection, settings: Settings) -> None:
    """Every shipped operation rooted at `patient`, as the ER doctor of the world."""
    w = await build_world(conn)
    await rich_record(conn, w)
    token = clinician_token(settings, w)
    for name, shipped in REGISTRY.by_name.items():
        if "patient(personnummer" not in shipped.document:
            continue
        body = {"operationName": name, "variables": {"personnummer": w.patient.identifier}}
        slow, _ = await both(conn, settings, body, token)
        assert slow[0] == 200 and slow[1]["data"]["patient"] is not None, name


POPULATION = """
query Pop($first: Int!, $after: String, $provider: String!) {
  patients(first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges {
      cursor
      node {
        id familyName
        careContacts(first: 2, filter: { careProviderHsaIds: [$provider] }) {
          totalCount nodes { id status careUnit { name } diagnoses(first: 1) { nodes { code } } }
        }
        alerts(first: 1) { nodes { id critical } }
      }
    }
  }
}
"""


async def test_population(conn: AsyncConnection, settings: Settings) -> None:
    """`patients` (the shipped PopulationList and a free-form page with cursors) as the ER
    doctor: the search runs as on the loader path, the patients' fields in one statement."""
    from tests.integration.test_planned_population import population

    w = await build_world(conn)
    await population(conn, w)
    token = clinician_token(settings, w)
    shipped = {
        "operationName": "PopulationList",
        "variables": {"first": 50, "items": 5, "provider": w.a.hsa_id},
    }
    before = planned_count()
    slow, fast = await both(conn, settings, shipped, token)
    assert len(slow[1]["data"]["patients"]["nodes"]) == 5
    assert planned_count() > before
    assert fast[3] < slow[3], (fast[3], slow[3])
    variables: dict[str, Any] = {"first": 2, "after": None, "provider": w.a.hsa_id}
    first, _ = await both(conn, settings, {"query": POPULATION, "variables": variables}, token)
    page = first[1]["data"]["patients"]
    assert page["pageInfo"]["hasNextPage"] and len(page["edges"]) == 2
    variables["after"] = page["pageInfo"]["endCursor"]
    await both(conn, settings, {"query": POPULATION, "variables": variables}, token)


async def test_statements_do_not_grow_with_depth(conn: AsyncConnection, settings: Settings) -> None:
    """A planned request costs the same statements whatever the document selects: the find,
    the policy's decision, one read and the audit write."""
    w = await build_world(conn)
    await rich_record(conn, w)
    token = clinician_token(settings, w)
    shallow: dict[str, Any] = {
        "query": "query($p: String!) { patient(personnummer: $p) { alerts { nodes { id } } } }"
    }
    deep: dict[str, Any] = {"query": FREE_FORM}
    counts = []
    shallow["variables"] = {"p": w.patient.identifier}
    deep["variables"] = {"pnr": w.patient.identifier, "n": 3}
    for body in (shallow, deep):
        status, answer_body, _, statements = await answer(conn, settings, True, body, token)
        assert status == 200 and answer_body["data"]["patient"] is not None
        counts.append(statements)
    slow = await answer(conn, settings, False, deep, token)
    assert counts[0] == counts[1] < slow[3], (counts, slow[3])


async def test_roots_it_does_not_plan_are_answered_beside(
    conn: AsyncConnection, settings: Settings
) -> None:
    """A document that also asks for a root the planner does not read (`careUnit`): it is
    answered by GraphQL execution beside the planned roots, in document order."""
    w = await build_world(conn)
    await rich_record(conn, w)
    token = clinician_token(settings, w)
    document = """
    query Mixed($pnr: String!, $unit: String!, $id: ID!) {
      unit: careUnit(hsaId: $unit) { name }
      patient(personnummer: $pnr) { familyName alerts(first: 2) { totalCount } }
      again: node(id: $id) { __typename id }
      __typename
    }
    """
    gid = encode_id("Patient", w.patient.id)
    variables = {"pnr": w.patient.identifier, "unit": w.u.hsa_id, "id": gid}
    before = PLANNER_FIELDS.labels("fallback")._value.get()
    slow, _ = await both(conn, settings, {"query": document, "variables": variables}, token)
    assert list(slow[1]["data"]) == ["unit", "patient", "again", "__typename"]
    assert slow[1]["data"]["unit"]["name"] and slow[1]["data"]["again"]["id"] == gid
    # careUnit went through GraphQL execution; node (of a patient) was planned.
    assert PLANNER_FIELDS.labels("fallback")._value.get() - before == 1


NODE = """
query Node($id: ID!) {
  node(id: $id) {
    __typename id
    ... on Patient { familyName alerts(first: 1) { totalCount } }
    ... on CareContact { status careUnit { name } diagnoses(first: 2) { nodes { code } } }
  }
}
"""


async def test_node(conn: AsyncConnection, settings: Settings) -> None:
    """`node(id:)` of the patient, of a row of the record and of a shared row (answered by
    GraphQL execution): the same answers and audit entries either way."""
    w = await build_world(conn)
    await rich_record(conn, w)
    token = clinician_token(settings, w)
    page, _ = await both(
        conn,
        settings,
        {"query": FREE_FORM, "variables": {"pnr": w.patient.identifier, "n": 3}},
        token,
    )
    contact = page[1]["data"]["patient"]["c"]["edges"][0]["node"]["id"]
    ids = [encode_id("Patient", w.patient.id), contact, encode_id("CareUnit", w.u.id)]
    before = planned_count()
    for gid in ids:
        slow, _ = await both(conn, settings, {"query": NODE, "variables": {"id": gid}}, token)
        assert slow[1]["data"]["node"]["id"] == gid
    assert planned_count() - before == 5  # the patient's four fields, the contact


def planning_observations() -> tuple[float, float]:
    """(count, sum) of the planning-CPU histogram."""
    samples = {s.name: s.value for m in PLANNING_CPU.collect() for s in m.samples}
    return samples["vardkedja_planner_planning_cpu_seconds_count"], samples[
        "vardkedja_planner_planning_cpu_seconds_sum"
    ]


async def test_planning_cpu_is_measured_per_planned_request(
    conn: AsyncConnection, settings: Settings
) -> None:
    w = await build_world(conn)
    token = clinician_token(settings, w)
    # A document of its own (an alias nobody else uses): the first request builds its plan.
    body = {
        "query": FREE_FORM.replace("none:", "planning_cpu:"),
        "variables": {"pnr": w.patient.identifier, "n": 2},
    }
    count, total = planning_observations()
    await answer(conn, settings, False, body, token)
    assert planning_observations()[0] == count  # GraphQL execution plans nothing
    await answer(conn, settings, True, body, token)
    count1, total1 = planning_observations()
    assert count1 == count + 1 and total1 > total
    await answer(conn, settings, True, body, token)  # the plan cached: looked up, not built
    count2, total2 = planning_observations()
    assert count2 == count1 + 1 and total2 > total1
    assert total2 - total1 < total1 - total


async def test_a_default_variable_reaches_the_graphql_part_as_its_default(
    conn: AsyncConnection, settings: Settings
) -> None:
    """A variable left out takes its default in the part GraphQL execution answers beside the
    planned patient (`careUnit` here), as in a request GraphQL execution answers whole."""
    w = await build_world(conn)
    token = clinician_token(settings, w)
    document = f"""
    query Defaults($pnr: String!, $unit: String = "{w.u.hsa_id}") {{
      unit: careUnit(hsaId: $unit) {{ name }}
      patient(personnummer: $pnr) {{ familyName }}
    }}
    """
    before = PLANNER_FIELDS.labels("fallback")._value.get()
    _, fast = await both(
        conn, settings, {"query": document, "variables": {"pnr": w.patient.identifier}}, token
    )
    assert fast[1]["data"]["unit"]["name"]
    # Answered beside the planned patient, not by a declined request.
    assert PLANNER_FIELDS.labels("fallback")._value.get() - before == 1
