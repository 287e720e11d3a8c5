"""What the planner's builders share: a field it cannot plan, the JSON of an object and what
reading it needs, and the GraphQL types of a selection."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson
from graphql import (
    FieldNode,
    GraphQLField,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    OperationDefinitionNode,
)
from graphql.execution.collect_fields import FieldDetailsList, FragmentDetails
from graphql.execution.values import VariableValues, get_argument_values
from sqlalchemy import ColumnElement, Integer, Table, bindparam
from sqlalchemy.sql.selectable import LateralFromClause as Lateral
from strawberry.types.arguments import convert_arguments

from app.context import Context
from app.errors import AppError
from app.sqlplan import Plan, writable
from resolvers.filters import PageArgs, slot_values
from resolvers.pagination import MAX_PAGE_SIZE, SortKey, cursor_parts
from resolvers.planner.declare import Decided


class Decline(Exception):
    """Answer this request through GraphQL execution."""


@dataclass(frozen=True)
class Document:
    """What a document is, once per (text, operation): its query operation and fragments, and
    the variables that shape a statement (those used anywhere but in the planned roots' own
    arguments, which are read per request).
    A plan may bind some of them: `cursors`, used only as lists' `after` (`CursorSlot`), and
    `times`, DateTime variables used only as a filter's `period: {start, end}` (built with a
    placeholder time that becomes the slot: run.py, `_plan`). And `sizes`, Int variables used
    only as lists' `first`: a plan is built once for every size from 2 to the largest page
    and the size written into its SQL per run (`Size`). And `filters`, variables used only
    in lists' `filter` and `changedSince`: such a list's filter is read again per run and
    its values bound or written in (`FilterSlot`), so a plan is keyed by their shape."""

    text: str
    operation: OperationDefinitionNode
    fragments: dict[str, FragmentDetails]
    shaping: tuple[str, ...]
    cursors: frozenset[str] = frozenset()
    times: frozenset[str] = frozenset()
    sizes: frozenset[str] = frozenset()
    filters: frozenset[str] = frozenset()


class Size(int):
    """A page size given by the variable `variable`, written into the plan's SQL per run
    (app/sqlplan.py, `Plan.written_in`): a builder puts `page_limit(size)` where it would put
    the number. Only sizes from 2 to the largest page are (`sizable`): every one of them
    makes the same statement but for the number (0 counts without a page, 1 is a `FirstOf`'s,
    a larger one is refused), so they share a plan."""

    variable: str

    def __new__(cls, value: int, variable: str) -> Size:
        size = super().__new__(cls, value)
        size.variable = variable
        return size


def sizable(value: Any) -> bool:
    """Whether a size variable's value is written in (`Size`) rather than keying a plan."""
    return type(value) is int and 2 <= value <= MAX_PAGE_SIZE


def page_limit(first: int) -> Any:
    """What a statement puts for a page's size: a bind written in per run for a `Size`
    (named for its variable), else the number itself."""
    if isinstance(first, Size):
        return bindparam(size_bind(first.variable), int(first), type_=Integer)
    return first


def size_bind(variable: str) -> str:
    """The name of the bind a size variable is written in as (`compile_plan`'s `written`)."""
    return f"size {variable}"


@dataclass(frozen=True)
class CursorSlot:
    """A list's `after` given by a cursor variable, bound per run to the slots `names` (one
    per sort column of the list's `sort` over `table`)."""

    variable: str
    sort: SortKey
    table: Table
    names: tuple[str, ...]

    def values(self, variables: Mapping[str, Any]) -> dict[str, Any]:
        """The slots' values for the cursor in `variables`; Decline when it is not one of
        this list's (GraphQL execution then reports it as the loader path does)."""
        try:
            key = self.sort.decode(variables[self.variable], self.table)
        except (AppError, KeyError, TypeError) as exc:
            raise Decline from exc
        return dict(zip(self.names, key, strict=True))


def cursor_shape(cursor: Any) -> Any:
    """What of a cursor shapes a plan that binds it: its list's tag and key length (the
    values are slots). Anything else (null, a sealed or malformed cursor) is itself."""
    parts = cursor_parts(cursor) if isinstance(cursor, str) and cursor else None
    if parts is not None and isinstance(parts[0], str):
        return ["cursor", parts[0], len(parts[1])]
    return cursor


def resolver_arguments(
    strawberry_schema: Any, gfield: GraphQLField, node: FieldNode, variables: VariableValues
) -> dict[str, Any]:
    """A field's arguments as its resolver receives them (python names, inputs as their
    classes), for these variables."""
    return converted(strawberry_schema, gfield, get_argument_values(gfield, node, variables))


def converted(strawberry_schema: Any, gfield: GraphQLField, raw: dict[str, Any]) -> dict[str, Any]:
    """Arguments as GraphQL coerced them, as the field's resolver receives them."""
    definition = gfield.extensions["strawberry-definition"]
    converter = strawberry_schema.schema_converter
    return convert_arguments(
        raw,
        definition.arguments,
        scalar_registry=converter.scalar_registry,
        config=converter.config,
    )


@dataclass(frozen=True, eq=False)
class FilterSlot:
    """A list's filter that holds variables of `Document.filters`: its statement has slots
    for every value (resolvers/filters.py, `slotted`, named after `prefix`), and per run
    the filter of the request's variables is read as the list's resolver reads it (its
    `gfield`'s arguments at `node`, given to `page`, the list's arguments function). A filter
    of another shape than the plan's, or that its resolver refuses, is answered by GraphQL
    execution (Decline), which reports what is wrong with it as usual."""

    prefix: str
    shape: tuple[Any, ...]
    strawberry_schema: Any
    gfield: GraphQLField
    node: FieldNode
    page: Callable[..., PageArgs]
    # The values of the latest arguments (as GraphQL coerced them), converted once each:
    # strawberry's conversion of the inputs is most of a read.
    seen: OrderedDict[bytes, tuple[dict[str, Any], dict[str, Any]]] = field(
        default_factory=OrderedDict
    )

    def values(self, variables: VariableValues) -> tuple[dict[str, Any], dict[str, Any]]:
        """The bound values and the values written in, for these variables."""
        raw = get_argument_values(self.gfield, self.node, variables)
        key = orjson.dumps(raw, default=repr, option=orjson.OPT_SORT_KEYS)
        found = self.seen.get(key)
        if found is not None:
            self.seen.move_to_end(key)
            return found
        try:
            read = self.page(**converted(self.strawberry_schema, self.gfield, raw)).filter
        except AppError as exc:
            raise Decline from exc
        if read.shape() != self.shape:
            raise Decline
        bound, written = slot_values(read, self.prefix)
        if not all(writable(v) for v in written.values()):
            raise Decline  # (a NUL: GraphQL execution binds it and reports what follows)
        self.seen[key] = (bound, written)
        if len(self.seen) > FILTERS_SEEN:
            self.seen.popitem(last=False)
        return bound, written


FILTERS_SEEN = 64


def value_shape(value: Any) -> Any:
    """What of a filter variable's value keys a plan that takes its values per run: the
    keys of its objects, the length of its lists, which values are null."""
    if value is None:
        return None
    if isinstance(value, Mapping):
        return {k: value_shape(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [value_shape(v) for v in value]
    return 1


@dataclass(frozen=True)
class Request:
    """One request as the planner reads it: its context, the strawberry schema, its document,
    and its variables coerced and as sent."""

    ctx: Context
    schema: Any
    doc: Document
    variables: VariableValues
    raw: Mapping[str, Any] | None
    # CPU seconds spent planning (document, variables, plan lookup or build), not reading.
    planning: list[float] = field(default_factory=lambda: [0.0])
    # Each filter slot's values for this request, read once (`filter_values`).
    filtered: dict[FilterSlot, tuple[dict[str, Any], dict[str, Any]]] = field(default_factory=dict)

    def planned(self, started: float) -> None:
        """Count the CPU time since `started` (time.thread_time) as planning."""
        self.planning[0] += time.thread_time() - started

    def shaping(self, *, bound: bool = False) -> bytes:
        """The values of the variables that shape a statement (a part of a plan's key), as
        coerced: an absent variable has its default, which an explicit null does not;
        `bound`: of the variables the plan binds or writes in (cursors, times, sizes, filters),
        only their shape."""
        coerced = self.variables.coerced
        shaped = {}
        for n in self.doc.shaping:
            value = coerced.get(n)
            if bound and n in self.doc.cursors:
                value = cursor_shape(value)
            elif bound and n in self.doc.times:
                value = value is not None  # a condition, or none
            elif bound and n in self.doc.sizes and sizable(value):
                value = "size"
            elif bound and n in self.doc.filters:
                value = ["filter", value_shape(value)]
            shaped[n] = value
        # (Coerced values orjson does not know, a Decimal say, keyed by their text.)
        return orjson.dumps(shaped, default=str)

    def sized(self, plan: Plan) -> Plan:
        """The plan to run: a template's with this request's page sizes and filter values
        written in (Decline: a filter not of the plan's shape)."""
        if not plan.written:
            return plan
        coerced = self.variables.coerced
        values = {size_bind(n): coerced[n] for n in self.doc.sizes}
        for slot in getattr(plan.tag, "filters", ()):
            values |= self.filter_values(slot)[1]
        return plan.written_in(values)

    def filter_values(self, slot: FilterSlot) -> tuple[dict[str, Any], dict[str, Any]]:
        """`slot.values` for this request's variables, read once per request (a plan's
        filter values are asked for its derivation, its binds and a prediction's)."""
        found = self.filtered.get(slot)
        if found is None:
            found = self.filtered[slot] = slot.values(self.variables)
        return found


class Unplannable(Exception):
    """A field the planner cannot read in SQL (its path and why)."""


@dataclass(frozen=True)
class DecidedSlot:
    """A `Decided` field: its value is computed per request and bound as JSON text."""

    slot: str
    declaration: Decided
    # The value as GraphQL execution would serialise its selection (planner/serialize.py).
    serialize: Callable[[Any], Any]


@dataclass
class Part:
    """The JSON text of an object and what reading it needs: LATERAL subqueries to join to its
    row, and the disclosure lists of the patient rows they read."""

    json: ColumnElement[Any]
    laterals: list[Lateral] = field(default_factory=list)
    disclosed: list[ColumnElement[Any]] = field(default_factory=list)

    def attach(self, lateral: Lateral) -> Lateral:
        """Join `lateral` to the row, its disclosures (column `d`) to the row's."""
        self.laterals.append(lateral)
        self.disclosed.append(lateral.c.d)
        return lateral


def object_type(gql_type: GraphQLOutputType, where: str) -> GraphQLObjectType:
    named = gql_type.of_type if isinstance(gql_type, GraphQLNonNull) else gql_type
    if isinstance(named, GraphQLObjectType):
        return named
    if isinstance(named, GraphQLInterfaceType):
        raise Unplannable(f"{where}: an interface ({named.name})")
    raise Unplannable(f"{where}: {named} is not an object type")


def list_item(parent: GraphQLObjectType, details: FieldDetailsList) -> GraphQLOutputType:
    """The item type of the list field `details` of `parent`."""
    gql_type: GraphQLOutputType = parent.fields[details[0].node.name.value].type
    while isinstance(gql_type, GraphQLNonNull | GraphQLList):
        gql_type = gql_type.of_type
    return gql_type


class JsonText(bytes):
    """The JSON text of `data` as PostgreSQL built it: the response carries it as it is,
    without parsing and serialising it again (the differential tests parse it strictly)."""


def as_value(data: dict[str, Any] | JsonText) -> dict[str, Any]:
    """`data` as a Python value, whichever form the planner or GraphQL execution gave."""
    if isinstance(data, JsonText):
        parsed: dict[str, Any] = orjson.loads(memoryview(data))  # orjson takes no subclass
        return parsed
    return data
