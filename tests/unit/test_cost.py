"""The cost analysis: exact measures on small documents, and linear work on any document."""

from __future__ import annotations

from graphql import parse
from hypothesis import given, settings
from hypothesis import strategies as st

from schema import schema
from schema.cost import LIST_ESTIMATE, estimate, shape_of_document, text_problem
from schema.limits import (
    DEFAULT_MAX_COST_PUBLIC,
    MAX_FIELDS,
    cost_errors,
    measure_request,
    variable_errors,
)

SCHEMA = schema._schema


def cost_of(query: str, variables: dict[str, object] | None = None, name: str | None = None):  # type: ignore[no-untyped-def]
    shape = shape_of_document(SCHEMA, parse(query), name)
    assert shape.cycle is None
    return estimate(shape, variables)


def doubling(k: int) -> str:
    """k fragments, each spreading the previous one twice: 2^k fields once expanded."""
    parts = ["fragment F0 on Query { __typename }"]
    for i in range(1, k + 1):
        parts.append(f"fragment F{i} on Query {{ ...F{i - 1} ...F{i - 1} }}")
    return "\n".join(parts) + f"\n{{ ...F{k} }}"


def test_pages_multiply_along_the_path() -> None:
    query = """{ patient(personnummer: "191212121212") {
        careContacts(first: 7) { nodes { id diagnoses(first: 3) { nodes { code } } } } } }"""
    cost = cost_of(query)
    # diagnoses: 3 x (1 + nodes(1 + code)) = 9; a contact's nodes: 1 + id + 9 = 11;
    # careContacts: 7 x (1 + 11) = 84; patient: 1 + 84.
    assert cost.cost == 85
    assert cost.fields == 7
    assert cost.depth == 5


def test_default_and_variable_page_sizes() -> None:
    query = "query Q($n: Int) { patients(first: $n) { nodes { id } } }"
    assert cost_of(query, {"n": 5}).cost == 5 * (1 + 1 + 1)
    default = cost_of("{ patients { nodes { id } } }").cost
    field = SCHEMA.query_type.fields["patients"]  # type: ignore[union-attr]
    assert default == field.args["first"].default_value * 3
    # A variable that is not an int leaves the default; validation reports the bad value.
    assert cost_of(query, {"n": "five"}).cost == default


def test_plain_lists_use_the_estimate_and_introspection_is_not_multiplied() -> None:
    lists = cost_of('{ emergencyBlockedProviders(patientId: "x") { name } }')
    assert lists.cost == LIST_ESTIMATE * 2
    schema_types = cost_of("{ __schema { types { fields { args { name } } } } }")
    assert schema_types.cost == schema_types.fields == 5


def test_a_fragment_bomb_is_measured_in_linear_steps() -> None:
    for k in (10, 20, 60):
        shape = shape_of_document(SCHEMA, parse(doubling(k)), None)
        cost = estimate(shape, None)
        assert cost.fields == 2**k if k < 40 else cost.fields >= MAX_FIELDS
        assert cost.steps <= 4 * shape.nodes
        [error] = cost_errors(cost, DEFAULT_MAX_COST_PUBLIC)
        assert error.extensions == {
            "code": "QUERY_TOO_LARGE",
            "fields": cost.fields,
            "limit": MAX_FIELDS,
        }


def test_fragment_cycles_are_found_without_expanding() -> None:
    query = (
        "fragment A on Query { ...B } fragment B on Query { __typename ...C } "
        "fragment C on Query { ...A } { ...A }"
    )
    shape = shape_of_document(SCHEMA, parse(query), None)
    assert shape.cycle in {"A", "B", "C"}
    cost, errors = measure_request(SCHEMA, query, None, parse(query), None, 10)
    assert cost is None
    assert errors[0].extensions == {"code": "GRAPHQL_VALIDATION_FAILED"}


def test_a_long_chain_of_fragments_does_not_recurse() -> None:
    n = 3000
    parts = [f"fragment F{i} on Query {{ ...F{i + 1} }}" for i in range(n)]
    parts.append(f"fragment F{n} on Query {{ __typename }}")
    query = "\n".join(parts) + "\n{ ...F0 }"
    assert cost_of(query).fields == 1


def test_the_operation_named_is_measured() -> None:
    query = "query A { __typename } query B { patients(first: 9) { totalCount } }"
    assert cost_of(query, name="A").cost == 1
    assert cost_of(query, name="B").cost == 9 * 2


def test_text_problems() -> None:
    assert text_problem("Öberg") is None
    assert text_problem("a\x00b") == "contains a NUL character"
    assert text_problem("a\ud800") is not None
    [error] = variable_errors({"filter": {"familyName": ["ok", "x\x00"]}})
    assert error.extensions == {"code": "INVALID_VALUE", "argument": "$filter.familyName[1]"}
    shape = shape_of_document(
        SCHEMA, parse('{ patients(filter: {familyName: "a\\u0000"}) { totalCount } }'), None
    )
    assert shape.bad_strings == (("patients(filter:)", "contains a NUL character"),)


# Documents of random shape: nested fields, aliases, lists with pages, fragments spreading
# earlier fragments any number of times. Whatever the expansion, the counted steps stay linear.
FIELDS = ["__typename", "patients(first: 3) { nodes { id } }", 'careUnit(hsaId: "x") { name }']


@st.composite
def documents(draw: st.DrawFn) -> str:
    count = draw(st.integers(min_value=0, max_value=25))
    fragments: list[str] = []
    for i in range(count):
        body = draw(st.lists(st.sampled_from(FIELDS), min_size=1, max_size=3))
        spreads = draw(st.lists(st.integers(min_value=0, max_value=max(i - 1, 0)), max_size=4))
        inner = " ".join(body + [f"...F{j}" for j in spreads if j < i])
        nested = draw(st.integers(min_value=0, max_value=3))
        for level in range(nested):
            inner = f'a{level}: patient(personnummer: "1") {{ personnummer }} {inner}'
        fragments.append(f"fragment F{i} on Query {{ {inner} }}")
    top = " ".join(f"...F{i}" for i in range(count)) or "__typename"
    return "\n".join(fragments) + f"\n{{ {top} }}"


@settings(max_examples=150, deadline=None)
@given(documents())
def test_cost_analysis_work_is_linear_in_the_document(query: str) -> None:
    shape = shape_of_document(SCHEMA, parse(query), None)
    cost = estimate(shape, None)
    assert cost.steps <= 4 * shape.nodes + 4
    # The expansion may be exponential: the analysis never walks it.
    assert cost.fields >= 1


def test_an_estimate_is_remembered_per_page_sizes() -> None:
    query = """query Q($p: String!, $n: Int) { patient(personnummer: $p) {
        careContacts(first: $n) { nodes { id } } } }"""
    shape = shape_of_document(SCHEMA, parse(query), None)
    assert shape.page_variables == ("n",)
    first = estimate(shape, {"p": "191212121212", "n": 4})
    # Another patient, the same page size: the same measurement, not measured again.
    assert estimate(shape, {"p": "201212121212", "n": 4}) is first
    assert len(shape.estimates) == 1
    # A page of 1 is not the default page (nor are a missing and a wrong-typed value apart).
    one, missing = estimate(shape, {"n": 1}), estimate(shape, {})
    assert one.cost < missing.cost
    assert estimate(shape, {"n": "4"}) == missing
    assert estimate(shape, {"n": True}) == missing
    assert first.cost > one.cost
