"""A Python value (a `Decided` field's) as GraphQL execution would serialise its selection.

Only plain objects: every selected field is an attribute (the planner checks this when it
plans the field), scalars and enums serialise as their GraphQL types do.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from graphql import (
    GraphQLEnumType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLScalarType,
    GraphQLSchema,
)
from graphql.execution.collect_fields import FieldDetailsList, collect_subfields
from graphql.execution.values import VariableValues

if TYPE_CHECKING:
    from resolvers.planner.parts import Document


def serialize(
    schema: GraphQLSchema,
    value: Any,
    gql_type: GraphQLOutputType,
    details: FieldDetailsList,
    doc: Document,
    variables: VariableValues,
) -> Any:
    if isinstance(gql_type, GraphQLNonNull):
        gql_type = gql_type.of_type
    if value is None:
        return None
    if isinstance(gql_type, GraphQLList):
        return [serialize(schema, v, gql_type.of_type, details, doc, variables) for v in value]
    if isinstance(gql_type, GraphQLEnumType | GraphQLScalarType):
        return gql_type.serialize(value)
    assert isinstance(gql_type, GraphQLObjectType)
    fields = collect_subfields(
        schema, doc.fragments, variables, doc.operation, gql_type, details
    ).grouped_field_set
    out: dict[str, Any] = {}
    for key, sub in fields.items():
        name = sub[0].node.name.value
        if name == "__typename":
            out[key] = gql_type.name
            continue
        gfield = gql_type.fields[name]
        python_name = gfield.extensions["strawberry-definition"].python_name
        out[key] = serialize(schema, getattr(value, python_name), gfield.type, sub, doc, variables)
    return out
