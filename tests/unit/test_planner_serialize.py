"""The planner's serialiser of a `Decided` value (resolvers/planner/serialize.py), built once
per plan, gives what GraphQL execution gives for the same value and selection; a selection
that needs a resolver is Unplannable at plan time."""

from __future__ import annotations

import enum
from typing import Any

import pytest
import strawberry
from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    GraphQLObjectType,
    OperationDefinitionNode,
    parse,
)
from graphql.execution.collect_fields import (
    FieldDetailsList,
    FragmentDetails,
    collect_fields,
    collect_subfields,
)
from graphql.execution.values import get_variable_values

from resolvers.planner.parts import Unplannable
from resolvers.planner.serialize import serializer


@strawberry.enum
class Reason(enum.Enum):
    BLOCKED = "blocked"
    NO_CONSENT = "no_consent"


@strawberry.type
class Entry:
    category: str
    reason: Reason
    note: str | None = None

    @strawberry.field
    def shout(self) -> str:
        return self.category.upper()


@strawberry.type
class Query:
    @strawberry.field
    def entries(self) -> list[Entry]:
        return ENTRIES


ENTRIES = [
    Entry(category="ALERTS", reason=Reason.BLOCKED),
    Entry(category="RECORDS", reason=Reason.NO_CONSENT, note="n"),
]
SCHEMA = strawberry.Schema(Query)
DOCUMENT = """
query Q($withNote: Boolean!) {
  entries {
    __typename
    kind: category
    ...Why
    note @include(if: $withNote)
  }
}
fragment Why on Entry { reason category }
"""


def built(document: str, raw: dict[str, Any]) -> Any:
    gql = SCHEMA._schema
    parsed = parse(document)
    operation = next(d for d in parsed.definitions if isinstance(d, OperationDefinitionNode))
    variables = get_variable_values(gql, operation.variable_definitions or (), raw)
    assert not isinstance(variables, list)
    fragments = {
        d.name.value: FragmentDetails(d)
        for d in parsed.definitions
        if isinstance(d, FragmentDefinitionNode)
    }
    query_type = gql.query_type
    assert query_type is not None
    roots = collect_fields(gql, fragments, variables, query_type, operation).grouped_field_set
    details = roots["entries"]
    assert isinstance(details[0].node, FieldNode)

    def subfields(parent: GraphQLObjectType, of: FieldDetailsList) -> Any:
        collected = collect_subfields(gql, fragments, variables, operation, parent, of)
        return collected.grouped_field_set

    return serializer(query_type.fields["entries"].type, details, subfields, "entries")


@pytest.mark.parametrize("with_note", [True, False])
def test_the_same_as_graphql_execution(with_note: bool) -> None:
    variables = {"withNote": with_note}
    executed = SCHEMA.execute_sync(DOCUMENT, variable_values=variables)
    assert executed.errors is None
    dump = built(DOCUMENT, variables)
    assert dump(ENTRIES) == executed.data["entries"]  # type: ignore[index]
    # Keys in the selection's order, as execution writes them.
    assert list(dump(ENTRIES)[0]) == list(executed.data["entries"][0])  # type: ignore[index]
    assert dump(None) is None and dump([]) == []


def test_a_field_with_a_resolver_is_unplannable_at_plan_time() -> None:
    with pytest.raises(Unplannable, match=r"entries\.shout: not a plain attribute"):
        built("{ entries { category shout } }", {})
