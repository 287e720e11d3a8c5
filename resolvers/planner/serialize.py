"""A Python value (a `Decided` field's) as GraphQL execution would serialise its selection,
by a function built once with the plan: the selection is collected at plan time, so a request
only reads attributes and serialises scalars.

Only plain objects: every selected field must be an attribute, else the field is Unplannable
(GraphQL execution answers it); scalars and enums serialise as their GraphQL types do.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from graphql import (
    GraphQLEnumType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLScalarType,
)
from graphql.execution.collect_fields import FieldDetailsList

from resolvers.planner.parts import Unplannable

Serializer = Callable[[Any], Any]
Subfields = Callable[[GraphQLObjectType, FieldDetailsList], dict[str, FieldDetailsList]]


def serializer(
    gql_type: GraphQLOutputType, details: FieldDetailsList, subfields: Subfields, where: str
) -> Serializer:
    """The serialiser of `gql_type` with this selection (`subfields` collects an object's
    selected fields, as the planner's Builder does)."""
    if isinstance(gql_type, GraphQLNonNull):
        return serializer(gql_type.of_type, details, subfields, where)
    if isinstance(gql_type, GraphQLList):
        item = serializer(gql_type.of_type, details, subfields, where)
        return lambda value: None if value is None else [item(v) for v in value]
    if isinstance(gql_type, GraphQLEnumType | GraphQLScalarType):
        leaf = gql_type.serialize
        return lambda value: None if value is None else leaf(value)
    if not isinstance(gql_type, GraphQLObjectType):
        raise Unplannable(f"{where}: an abstract type")
    # Per selected key, what it reads from the object: its type's name, or an attribute.
    parts: list[tuple[str, Serializer]] = []
    for key, sub in subfields(gql_type, details).items():
        name = sub[0].node.name.value
        if name == "__typename":
            parts.append((key, _constant(gql_type.name)))
            continue
        definition = gql_type.fields[name].extensions.get("strawberry-definition")
        if definition is None or definition.base_resolver is not None:
            raise Unplannable(f"{where}.{key}: not a plain attribute")
        child = serializer(gql_type.fields[name].type, sub, subfields, f"{where}.{key}")
        parts.append((key, _attribute(definition.python_name, child)))

    def obj(value: Any) -> Any:
        if value is None:
            return None
        return {key: read(value) for key, read in parts}

    return obj


def _constant(value: Any) -> Serializer:
    return lambda _: value


def _attribute(name: str, child: Serializer) -> Serializer:
    return lambda value: child(getattr(value, name))
