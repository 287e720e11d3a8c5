"""What a document would cost, known before it runs: one linear pass, never expanding fragments.

A parsed document is walked once with graphql-core's visitor and TypeInfo. Each operation and
each fragment becomes a `Selection`: its fields (with the page size that multiplies each list
field) and the fragments it spreads. The measures below are then computed over that graph with
one memo per fragment, so a fragment spread a thousand times is measured once: the work is
linear in the size of the document even when its expansion is exponential (fragments that each
spread the previous one twice). A fragment cycle is found on the way and refused.

Measures of the operation that would run:
- `fields`: how many fields the expanded selection has (what validation and execution walk);
- `depth`: how many levels fields nest below the root fields (`{ a { b } }` is 1); introspection
  fields `__*` are not counted, as QueryDepthLimiter did (graphql-core's
  MaxIntrospectionDepthRule bounds introspection);
- `aliases`: aliases in the expanded selection (as MaxAliasesLimiter counted them);
- `cost`: the estimated size of the result, each field counted once per item it can appear in:
  the product of the page sizes along its path (`first`, its default, or LIST_ESTIMATE for a
  plain list). Lists inside a connection (`nodes`, `edges`) are counted by the connection's page.
  Lists inside `__schema`/`__type` are not multiplied: the schema's description has a fixed size.

`Shape` is cached per (document text, operation name); `estimate` binds the variables (page
sizes may be variables) and is linear in the shape, which is at most the document's size.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, NamedTuple

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLList,
    GraphQLNamedType,
    GraphQLSchema,
    IntValueNode,
    OperationDefinitionNode,
    StringValueNode,
    TypeInfo,
    TypeInfoVisitor,
    VariableNode,
    Visitor,
    get_nullable_type,
    parse,
    visit,
)

# A plain list field (not a connection) has no page size; count it as this many items.
LIST_ESTIMATE = 10
# The schema's own description is as large as the schema, whatever is asked: its lists are not
# multiplied (graphql-core's MaxIntrospectionDepthRule bounds its nesting).
INTROSPECTION_ROOTS = frozenset({"__schema", "__type"})
# Page sizes and costs saturate here: big enough to exceed any limit, small enough to stay cheap.
SATURATED = 10**12


@dataclass(frozen=True)
class PageArg:
    """Where a list field's page size comes from: a literal, a variable, or the default."""

    literal: int | None = None
    variable: str | None = None
    default: int = 1

    def value(self, variables: Mapping[str, Any]) -> int:
        if self.literal is not None:
            return _clamp(self.literal)
        if self.variable is not None:
            given = _page_size(variables.get(self.variable))
            if given is not None:
                return given
        return self.default


ONE = PageArg()


def _clamp(value: int) -> int:
    return max(0, min(value, SATURATED))


class FieldCost(NamedTuple):
    """One field of a selection: what multiplies it, what it selects, what it counts for."""

    page: PageArg
    child: Selection
    aliased: bool
    counts_for_depth: bool


@dataclass
class Selection:
    """The fields of one selection (an operation, a fragment or a field's sub-selection), with
    the fragments it spreads by name."""

    fields: list[FieldCost] = field(default_factory=list)
    spreads: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Shape:
    """What one operation of a document is made of, before any variable is known."""

    operation: Selection | None
    fragments: Mapping[str, Selection]
    # AST nodes visited: the analysis is linear in this (a property test holds it to that).
    nodes: int
    # (argument, message) for string literals that cannot reach the database (NUL, surrogates).
    bad_strings: tuple[tuple[str, str], ...] = ()
    cycle: str | None = None
    # The variables that give a page size: the only ones an estimate depends on.
    page_variables: tuple[str, ...] = ()
    # Estimates by those variables' values (a shipped operation is asked with the same page
    # sizes for patient after patient: measured once, not per request).
    estimates: dict[tuple[Any, ...], Cost] = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class Cost:
    """The measures of one request (operation + variables)."""

    fields: int
    depth: int
    aliases: int
    cost: int
    steps: int

    def as_extension(self, limit: int) -> dict[str, int]:
        return {"estimated": self.cost, "limit": limit, "fields": self.fields, "depth": self.depth}


def text_problem(value: str) -> str | None:
    """Why a string cannot be stored as PostgreSQL text (NUL, lone surrogates), or None."""
    if "\x00" in value:
        return "contains a NUL character"
    try:
        value.encode("utf-8")  # C speed; only lone surrogates fail
    except UnicodeEncodeError:
        return "contains an invalid code point (a lone surrogate)"
    return None


class _Builder(Visitor):
    """Builds the Selection graph in one walk (TypeInfo tells each field's definition)."""

    def __init__(self, type_info: TypeInfo, operation_name: str | None) -> None:
        super().__init__()
        self.type_info, self.operation_name = type_info, operation_name
        self.stack: list[Selection] = []
        self.fragments: dict[str, Selection] = {}
        self.operation: Selection | None = None
        self.nodes = 0
        self.bad: list[tuple[str, str]] = []
        self.field_names: list[str] = []
        self.argument: str | None = None
        self.introspection = 0  # > 0 inside __schema / __type
        self.page_variables: set[str] = set()

    def enter(self, node: Any, *_: Any) -> None:
        self.nodes += 1

    def enter_operation_definition(self, node: OperationDefinitionNode, *_: Any) -> None:
        self.stack.append(Selection())

    def leave_operation_definition(self, node: OperationDefinitionNode, *_: Any) -> None:
        selection = self.stack.pop()
        name = node.name.value if node.name else None
        if self.operation is None and (self.operation_name is None or name == self.operation_name):
            self.operation = selection

    def enter_fragment_definition(self, node: FragmentDefinitionNode, *_: Any) -> None:
        self.stack.append(Selection())

    def leave_fragment_definition(self, node: FragmentDefinitionNode, *_: Any) -> None:
        self.fragments[node.name.value] = self.stack.pop()

    def enter_field(self, node: FieldNode, *_: Any) -> None:
        self.stack.append(Selection())
        self.field_names.append(node.name.value)
        self.introspection += node.name.value in INTROSPECTION_ROOTS

    def leave_field(self, node: FieldNode, *_: Any) -> None:
        child = self.stack.pop()
        self.field_names.pop()
        name = node.name.value
        self.introspection -= name in INTROSPECTION_ROOTS
        page = ONE if self.introspection else self._page(node)
        self.stack[-1].fields.append(
            FieldCost(page, child, node.alias is not None, not name.startswith("__"))
        )

    def enter_fragment_spread(self, node: FragmentSpreadNode, *_: Any) -> None:
        self.stack[-1].spreads.append(node.name.value)

    def enter_argument(self, node: Any, *_: Any) -> None:
        owner = self.field_names[-1] if self.field_names else "?"
        self.argument = f"{owner}({node.name.value}:)"

    def leave_argument(self, node: Any, *_: Any) -> None:
        self.argument = None

    def enter_string_value(self, node: StringValueNode, *_: Any) -> None:
        problem = text_problem(node.value)
        if problem is not None:
            self.bad.append((self.argument or "a string literal", problem))

    def _page(self, node: FieldNode) -> PageArg:
        """How many items a field stands for, per item of its parent."""
        definition = self.type_info.get_field_def()
        if definition is None:
            return ONE
        first = definition.args.get("first")
        if first is not None:
            default = first.default_value if isinstance(first.default_value, int) else 1
            for argument in node.arguments or ():
                if argument.name.value != "first":
                    continue
                if isinstance(argument.value, IntValueNode):
                    return PageArg(literal=int(argument.value.value), default=default)
                if isinstance(argument.value, VariableNode):
                    self.page_variables.add(argument.value.name.value)
                    return PageArg(variable=argument.value.name.value, default=default)
            return PageArg(default=default)
        parent: GraphQLNamedType | None = self.type_info.get_parent_type()
        in_connection = parent is not None and parent.name.endswith("Connection")
        if isinstance(get_nullable_type(definition.type), GraphQLList) and not in_connection:
            return PageArg(default=LIST_ESTIMATE)
        return ONE


@lru_cache(maxsize=512)
def shape_of(schema: GraphQLSchema, query: str, operation_name: str | None) -> Shape:
    """The shape of the operation a request would run (cached by document text)."""
    return shape_of_document(schema, parse_document(query), operation_name)


@lru_cache(maxsize=256)
def parse_document(query: str) -> DocumentNode:
    """A document parsed with the token limit (cached: the same text is the same document)."""
    from schema.limits import MAX_TOKENS

    return parse(query, max_tokens=MAX_TOKENS)


def shape_of_document(
    schema: GraphQLSchema, document: DocumentNode, operation_name: str | None
) -> Shape:
    type_info = TypeInfo(schema)
    builder = _Builder(type_info, operation_name)
    visit(document, TypeInfoVisitor(type_info, builder))
    cycle = _find_cycle(builder.fragments)
    return Shape(
        builder.operation,
        builder.fragments,
        builder.nodes,
        tuple(builder.bad),
        cycle,
        tuple(sorted(builder.page_variables)),
    )


def _find_cycle(fragments: Mapping[str, Selection]) -> str | None:
    """The name of a fragment that spreads itself (directly or not), or None. Linear: each
    fragment's own spreads (including those inside its fields) are followed once."""
    spreads = {name: _all_spreads(selection) for name, selection in fragments.items()}
    state: dict[str, int] = {}  # 1: on the path, 2: done
    for start in spreads:
        if state.get(start):
            continue
        path: list[tuple[str, int]] = [(start, 0)]
        state[start] = 1
        while path:
            name, index = path[-1]
            targets = spreads.get(name, [])
            if index == len(targets):
                state[name] = 2
                path.pop()
                continue
            path[-1] = (name, index + 1)
            target = targets[index]
            if state.get(target) == 1:
                return target
            if target in spreads and not state.get(target):
                state[target] = 1
                path.append((target, 0))
    return None


def _all_spreads(selection: Selection) -> list[str]:
    found: list[str] = []
    pending = [selection]
    while pending:
        current = pending.pop()
        found.extend(current.spreads)
        pending.extend(part.child for part in current.fields)
    return found


# Distinct page sizes remembered per shape; beyond, the memo starts again.
ESTIMATES_PER_SHAPE = 64


def estimate(shape: Shape, variables: Mapping[str, Any] | None) -> Cost:
    """The measures of the shape with its variables bound (remembered per page sizes)."""
    values = variables or {}
    key = tuple(_page_size(values.get(name)) for name in shape.page_variables)
    found = shape.estimates.get(key)
    if found is None:
        if len(shape.estimates) >= ESTIMATES_PER_SHAPE:
            shape.estimates.clear()
        found = shape.estimates[key] = _estimate(shape, values)
    return found


def _page_size(given: Any) -> int | None:
    """A page variable as `PageArg.value` reads it: an int (clamped), or None for its default."""
    return _clamp(given) if isinstance(given, int) and not isinstance(given, bool) else None


def _estimate(shape: Shape, values: Mapping[str, Any]) -> Cost:
    """Each selection measured once, after the selections it contains (an explicit stack: a
    long chain of fragments must not exhaust Python's recursion limit). The shape must have no
    fragment cycle."""
    if shape.operation is None:
        return Cost(0, 0, 0, 0, 0)
    assert shape.cycle is None, "a shape with a fragment cycle has no cost"
    memo: dict[int, tuple[int, int, int, int]] = {}
    steps = 0
    pending: list[tuple[Selection, bool]] = [(shape.operation, False)]
    while pending:
        selection, ready = pending.pop()
        if id(selection) in memo:
            continue
        steps += 1
        parts = [part.child for part in selection.fields]
        parts += [shape.fragments[name] for name in selection.spreads if name in shape.fragments]
        if not ready:
            pending.append((selection, True))
            pending.extend((part, False) for part in parts if id(part) not in memo)
            continue
        fields = depth = aliases = cost = 0
        for page, child, aliased, counts in selection.fields:
            f, d, a, c = memo[id(child)]
            fields = min(fields + 1 + f, SATURATED)
            aliases = min(aliases + aliased + a, SATURATED)
            cost = min(cost + page.value(values) * (1 + c), SATURATED)
            if counts:
                depth = max(depth, 1 + d)
        for name in selection.spreads:
            fragment = shape.fragments.get(name)
            if fragment is None:  # an unknown fragment: validation reports it
                continue
            f, d, a, c = memo[id(fragment)]
            fields, aliases = min(fields + f, SATURATED), min(aliases + a, SATURATED)
            cost, depth = min(cost + c, SATURATED), max(depth, d)
        steps += len(parts)
        memo[id(selection)] = (fields, depth, aliases, cost)
    fields, levels, aliases, cost = memo[id(shape.operation)]
    return Cost(fields, max(levels - 1, 0), aliases, cost, steps)


def coded_error(message: str, code: str, **extensions: Any) -> GraphQLError:
    return GraphQLError(message, extensions={"code": code, **extensions})


__all__ = ["Cost", "Shape", "estimate", "shape_of", "shape_of_document", "text_problem"]
