"""Query limits, checked before validation and before any SQL, each with a stable code.

The public endpoint must not let a small document buy a large amount of work. graphql-core's
validation rules and strawberry's depth and alias limiters walk the document with its fragments
expanded: a 1 KB document whose fragments each spread the previous one twice costs 2^k. So the
`RequestGuard` extension first measures the document with schema/cost.py (one linear pass,
cached per document text) and refuses, with a coded error and no further work:
- a fragment that spreads itself (GRAPHQL_VALIDATION_FAILED);
- more than MAX_FIELDS fields once expanded (QUERY_TOO_LARGE): this also bounds every
  validation rule that walks the expansion (OverlappingFieldsCanBeMerged above all);
- nesting deeper than MAX_DEPTH (QUERY_TOO_DEEP), more than MAX_ALIASES aliases
  (TOO_MANY_ALIASES);
- an estimated result larger than the principal's ceiling (QUERY_TOO_COSTLY, naming both);
- a string that PostgreSQL cannot store, in a literal or a variable (INVALID_VALUE, naming it).
Only then does it run graphql-core's validation (cached like strawberry's ValidationCache).
The measures are reported in `extensions.cost` of the response.

The token limit is enforced by the parser (schema/cost.py parse_document, cached; the HTTP
endpoint parses and measures long documents in a worker thread) and coded by app/errors.py.
Introspection: `__*` fields do not count for depth (GraphiQL's introspection query nests type
references); graphql-core's MaxIntrospectionDepthRule bounds the `fields { type { fields ...`
cycles instead, and app/errors.py codes its error QUERY_TOO_DEEP.
"""

from __future__ import annotations

import asyncio
import threading
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from contextvars import ContextVar
from typing import Any

from graphql import DocumentNode, GraphQLError, GraphQLSchema
from graphql.validation import ASTValidationRule
from strawberry.extensions import SchemaExtension

from app.access.principal import Principal, PrincipalKind
from schema.cost import Cost, Shape, estimate, parse_document, shape_of_document, text_problem

MAX_DEPTH = 12
MAX_ALIASES = 30
MAX_TOKENS = 4000
# Fields of the expanded selection. The largest shipped operation expands to 66 fields and the
# full introspection query to 229. graphql-core's validation grows with the square of repeated
# fields: at 500 it may take ~100 ms, so documents above INLINE_VALIDATION_FIELDS are validated
# in a worker thread (docs/operations.md, "Limits", has the measurements).
MAX_FIELDS = 500
INLINE_VALIDATION_FIELDS = 100
# Query texts longer than this are parsed and measured in a worker thread when not cached.
INLINE_PARSE_CHARS = 2000
# Estimated result size (see schema/cost.py) per principal kind; Settings can lower or raise it.
# The costliest shipped operation, HomeCareVisit, estimates about 42,000 (every page full).
DEFAULT_MAX_COST = 50_000
DEFAULT_MAX_COST_PUBLIC = 10_000
DEFAULT_MAX_COST_SYSTEM = 250_000
# Who gets the lower ceiling: people reading their own record and third-party apps.
PUBLIC_KINDS = frozenset(
    {PrincipalKind.ANONYMOUS, PrincipalKind.PATIENT, PrincipalKind.PROXY, PrincipalKind.RESEARCH}
)
SHAPE_CACHE_SIZE = 512


def cost_limit(principal: Principal | None, settings: Any = None) -> int:
    """The ceiling of estimated result size for a principal (settings may change both)."""
    if principal is None or principal.kind in PUBLIC_KINDS:
        return int(getattr(settings, "max_cost_public", DEFAULT_MAX_COST_PUBLIC))
    if principal.kind is PrincipalKind.SYSTEM:
        return int(getattr(settings, "max_cost_system", DEFAULT_MAX_COST_SYSTEM))
    return int(getattr(settings, "max_cost", DEFAULT_MAX_COST))


_shapes: OrderedDict[tuple[int, str, str | None], Shape] = OrderedDict()


def shape_for(
    schema: GraphQLSchema, query: str, operation_name: str | None, document: DocumentNode
) -> Shape:
    """The shape of a request's operation, cached by (schema, text, operation name)."""
    key = (id(schema), query, operation_name)
    found = _shapes.get(key)
    if found is not None:
        _shapes.move_to_end(key)
        return found
    shape = _shapes[key] = shape_of_document(schema, document, operation_name)
    if len(_shapes) > SHAPE_CACHE_SIZE:
        _shapes.popitem(last=False)
    return shape


def _error(message: str, code: str, **extensions: Any) -> GraphQLError:
    return GraphQLError(message, extensions={"code": code, **extensions})


def shape_errors(shape: Shape) -> list[GraphQLError]:
    """What is wrong with a document whatever its variables: cycles and bad string literals."""
    if shape.cycle is not None:
        return [
            _error(
                f'Cannot spread fragment "{shape.cycle}" within itself.',
                "GRAPHQL_VALIDATION_FAILED",
            )
        ]
    return [
        _error(f"{argument} {problem}", "INVALID_VALUE", argument=argument)
        for argument, problem in shape.bad_strings
    ]


def cost_errors(cost: Cost, limit: int) -> list[GraphQLError]:
    """The limits the measured operation exceeds, most fundamental first."""
    if cost.fields > MAX_FIELDS:
        return [
            _error(
                f"The operation expands to {cost.fields} fields (fragments included); the limit "
                f"is {MAX_FIELDS}.",
                "QUERY_TOO_LARGE",
                fields=cost.fields,
                limit=MAX_FIELDS,
            )
        ]
    errors = []
    if cost.depth > MAX_DEPTH:
        errors.append(
            _error(
                f"The operation nests fields {cost.depth} levels deep; the limit is {MAX_DEPTH}: "
                "ask for less in one request.",
                "QUERY_TOO_DEEP",
                depth=cost.depth,
                limit=MAX_DEPTH,
            )
        )
    if cost.aliases > MAX_ALIASES:
        errors.append(
            _error(
                f"The operation uses {cost.aliases} aliases; the limit is {MAX_ALIASES}.",
                "TOO_MANY_ALIASES",
                aliases=cost.aliases,
                limit=MAX_ALIASES,
            )
        )
    if cost.cost > limit:
        errors.append(
            _error(
                f"The operation could return about {cost.cost} values; the limit for this caller "
                f"is {limit}. Ask for smaller pages (first) or fewer nested lists.",
                "QUERY_TOO_COSTLY",
                cost=cost.cost,
                limit=limit,
            )
        )
    return errors


def variable_errors(variables: Mapping[str, Any] | None) -> list[GraphQLError]:
    """Strings in the variables that PostgreSQL cannot store, each named by its path."""
    errors: list[GraphQLError] = []
    pending: list[tuple[str, Any]] = [
        (f"${name}", value) for name, value in (variables or {}).items()
    ]
    while pending:
        path, value = pending.pop()
        if isinstance(value, str):
            problem = text_problem(value)
            if problem is not None:
                errors.append(_error(f"{path} {problem}", "INVALID_VALUE", argument=path))
        elif isinstance(value, Mapping):
            pending.extend((f"{path}.{key}", item) for key, item in value.items())
            for key in value:
                if isinstance(key, str) and text_problem(key) is not None:
                    errors.append(
                        _error(f"{path} has a key that {text_problem(key)}", "INVALID_VALUE")
                    )
        elif isinstance(value, list):
            pending.extend((f"{path}[{index}]", item) for index, item in enumerate(value))
    return sorted(errors, key=lambda e: e.message)


# Validation results by the identity of the parsed document (parse_document caches it, so a
# repeated query is the same object): an lru_cache keyed by the document would hash its whole
# syntax tree, node by node, at every request. Each entry holds its document, so its id is
# not reused while the entry lives; a lock, since long documents validate in worker threads.
_VALIDATED: OrderedDict[tuple[int, int, tuple[type[ASTValidationRule], ...]], Any] = OrderedDict()
_VALIDATED_SIZE = 256
_VALIDATED_LOCK = threading.Lock()


def _validate(
    schema: GraphQLSchema, document: DocumentNode, rules: tuple[type[ASTValidationRule], ...]
) -> list[GraphQLError]:
    from strawberry.schema.schema import validate_document

    key = (id(schema), id(document), rules)
    with _VALIDATED_LOCK:
        found = _VALIDATED.get(key)
        if found is not None and found[0] is document and found[1] is schema:
            _VALIDATED.move_to_end(key)
            return found[2]  # type: ignore[no-any-return]
    errors = validate_document(schema, document, rules)
    with _VALIDATED_LOCK:
        _VALIDATED[key] = (document, schema, errors)
        if len(_VALIDATED) > _VALIDATED_SIZE:
            _VALIDATED.popitem(last=False)
    return errors


def measure_request(
    schema: GraphQLSchema,
    query: str,
    operation_name: str | None,
    document: DocumentNode,
    variables: Mapping[str, Any] | None,
    limit: int,
) -> tuple[Cost | None, list[GraphQLError]]:
    """The cost of a request and the errors that refuse it before validation."""
    shape = shape_for(schema, query, operation_name, document)
    errors = shape_errors(shape)
    if errors:
        return None, errors
    cost = estimate(shape, variables)
    return cost, cost_errors(cost, limit) or variable_errors(variables)


def check_request(
    schema: GraphQLSchema,
    query: str,
    operation_name: str | None,
    variables: Mapping[str, Any] | None,
    principal: Principal | None,
    settings: Any,
) -> tuple[dict[str, Any], list[GraphQLError]]:
    """The `extensions` of a request's answer (its cost) and the errors that refuse it, for the
    HTTP endpoint to use before it opens a transaction (and for the compiled operations, which
    skip GraphQL execution). A document that does not parse gives ({}, []): execution says why."""
    try:
        document = parse_document(query)
    except GraphQLError:
        return {}, []
    limit = cost_limit(principal, settings)
    cost, errors = measure_request(schema, query, operation_name, document, variables, limit)
    if cost is not None and not errors:
        # Execution runs in this task (or one it starts): RequestGuard reuses this measurement
        # instead of measuring the same request again. Run in a worker thread, it is not seen.
        _MEASURED.set((query, operation_name, variables, cost, limit))
    return ({} if cost is None else {"cost": cost.as_extension(limit)}), errors


# The endpoint's measurement of the request it is running: (query, operation name, variables,
# cost, limit). Matched by identity, so a value left from an earlier request never applies.
_MEASURED: ContextVar[tuple[str, str | None, Mapping[str, Any] | None, Cost, int] | None] = (
    ContextVar("vardkedja_measured", default=None)
)


class RequestGuard(SchemaExtension):
    """Measure, then refuse or validate: see the module docstring. Synchronous: for
    `execute_sync`, where nothing else waits on an event loop."""

    def __init__(self) -> None:
        super().__init__()
        self.cost: Cost | None = None
        self.limit = DEFAULT_MAX_COST_PUBLIC

    def measure(self) -> tuple[DocumentNode, list[GraphQLError]]:
        ec = self.execution_context
        document = ec.graphql_document
        assert document is not None
        known = _MEASURED.get()
        if (
            known is not None
            and known[0] is ec.query
            and known[1] == ec.operation_name
            and known[2] is ec.variables
        ):
            # Measured and passed by the HTTP endpoint before its transaction began.
            self.cost, self.limit = known[3], known[4]
            return document, []
        ctx = ec.context
        self.limit = cost_limit(getattr(ctx, "principal", None), getattr(ctx, "settings", None))
        self.cost, errors = measure_request(
            ec.schema._schema, ec.query or "", ec.operation_name, document, ec.variables, self.limit
        )
        return document, errors

    def on_validate(self) -> Iterator[None]:
        ec = self.execution_context
        document, errors = self.measure()
        rules = tuple(ec.validation_rules)
        ec.pre_execution_errors = errors or _validate(ec.schema._schema, document, rules)
        yield

    def get_results(self) -> dict[str, Any]:
        if self.cost is None:
            return {}
        return {"cost": self.cost.as_extension(self.limit)}


class AsyncRequestGuard(RequestGuard):
    """The same, validating a large document in a worker thread: graphql-core's overlap check
    grows with the square of repeated fields (hundreds of milliseconds at MAX_FIELDS), and the
    event loop must keep answering other requests meanwhile."""

    async def on_validate(self) -> AsyncIterator[None]:  # type: ignore[override]
        ec = self.execution_context
        document, errors = self.measure()
        if not errors:
            rules = tuple(ec.validation_rules)
            assert self.cost is not None
            if self.cost.fields > INLINE_VALIDATION_FIELDS:
                errors = await asyncio.to_thread(_validate, ec.schema._schema, document, rules)
            else:
                errors = _validate(ec.schema._schema, document, rules)
        ec.pre_execution_errors = errors
        yield


class CachedParse(SchemaExtension):
    """Parse with the token limit through the cache that the HTTP endpoint's check filled (in a
    worker thread for long documents), so a document is parsed once."""

    def on_parse(self) -> Iterator[None]:
        ec = self.execution_context
        if ec.graphql_document is None and ec.query:
            ec.graphql_document = parse_document(ec.query)
        yield


def request_guard() -> SchemaExtension:
    """The guard for one execution: async under an event loop, sync otherwise."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return RequestGuard()
    return AsyncRequestGuard()


# Factories: the schema creates a fresh extension per request; the caches are module-level.
LIMIT_EXTENSIONS: list[Callable[[], SchemaExtension]] = [CachedParse, request_guard]
