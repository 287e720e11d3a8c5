"""GraphQL over HTTP: GET for queries, POST for everything, one transaction per request.

The request path: rate limit by address -> read the HTTP request -> negotiate the response type
-> find the document (free-form or persisted) -> authenticate (and rate limit the principal) ->
open a transaction -> build the context -> execute -> check the answer's size -> write the audit
entries -> commit -> respond. Audit entries are written in the same transaction as any change,
before the response leaves; if they cannot be written, no data leaves either. A request without
a principal runs without any transaction (app.context.AnonymousContext). Execution is cancelled,
and its statement on the server, when the client disconnects (app/guard.py); the database being
unavailable and the statement timeout end a request with their own codes (503, 504).

Status codes follow the GraphQL-over-HTTP spec: a client that accepts
`application/graphql-response+json` gets 4xx (and no `data`) when the document cannot run
(parse, validation, variable or operation errors); `application/json` clients get the legacy
200 for those. Malformed HTTP requests are 4xx for everyone.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import orjson
from graphql import GraphQLError, OperationDefinitionNode
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from strawberry import Schema
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.types import ExecutionResult
from strawberry.types.execution import PreExecutionError
from strawberry.types.graphql import OperationType

from app import audit, etags
from app.access.principal import ANONYMOUS, Principal, PrincipalKind
from app.access.rider import Predictions
from app.audit_group import AuditGroup
from app.auth import authenticate
from app.context import AnonymousContext, Context, build_context
from app.db import Database, limit_statements, reading
from app.errors import (
    INTERNAL,
    AppError,
    RequestTimeout,
    ResponseTooLarge,
    ServiceUnavailable,
    format_error,
    request_error,
)
from app.guard import (
    ClientGone,
    RateLimits,
    RunningRequest,
    ending_error,
    error_headers,
    first_ending_error,
    refuse_anonymous,
    until_disconnect,
)
from app.observability.metrics import count_refusals, note_operation
from app.replicas import LSN_HEADER, ReplicaSet, parse_lsn
from app.settings import Settings

if TYPE_CHECKING:
    from schema.persisted import ResolvedDocument

log = logging.getLogger("vardkedja.http")

GRAPHQL_RESPONSE = "application/graphql-response+json"
JSON = "application/json"
# Large enough for a long care document; bigger bodies are refused before parsing.
MAX_BODY_BYTES = 1_000_000
NO_STORE = {"cache-control": "no-store", "vary": "Accept, Authorization"}


@dataclass
class GraphQLRequest:
    query: str | None
    variables: dict[str, Any] | None
    operation_name: str | None
    extensions: dict[str, Any] | None
    document_id: str | None = None
    # The client's last write position (Vardkedja-LSN), for read-your-writes on a replica.
    after_lsn: str | None = None
    on_primary: bool = False  # a query that a standby failed runs again on the primary


class HttpError(Exception):
    """Ends a request before execution, with a status and a code."""

    def __init__(
        self, status: int, message: str, code: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status, self.message, self.code = status, message, code
        self.headers = headers or {}


def negotiate(accept: str | None) -> str | None:
    """The response media type for an Accept header; None when neither type is acceptable.

    No Accept header and `*/*` mean application/json (the spec's legacy default); between
    equally weighted types the first listed wins.
    """
    if not accept or not accept.strip():
        return JSON
    best: tuple[float, int, str] | None = None
    for position, part in enumerate(accept.split(",")):
        media, *params = (p.strip() for p in part.split(";"))
        quality = 1.0
        for param in params:
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        media = media.lower()
        chosen = {GRAPHQL_RESPONSE: GRAPHQL_RESPONSE, JSON: JSON, "application/*": JSON}.get(
            media, JSON if media == "*/*" else None
        )
        if chosen is None or quality <= 0:
            continue
        if best is None or (quality, -position) > (best[0], -best[1]):
            best = (quality, position, chosen)
    return best[2] if best else None


def _json_param(raw: str | None, name: str) -> dict[str, Any] | None:
    if raw in (None, ""):
        return None
    try:
        value = orjson.loads(raw or "")
    except orjson.JSONDecodeError:
        raise HttpError(400, f"'{name}' is not valid JSON", "BAD_REQUEST") from None
    if value is not None and not isinstance(value, dict):
        raise HttpError(400, f"'{name}' must be a JSON object", "BAD_REQUEST")
    return value


async def _read_body(request: Request) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise HttpError(413, f"the body is larger than {MAX_BODY_BYTES} bytes", "PAYLOAD_TOO_LARGE")
    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > MAX_BODY_BYTES:
                raise HttpError(
                    413, f"the body is larger than {MAX_BODY_BYTES} bytes", "PAYLOAD_TOO_LARGE"
                )
            chunks.append(chunk)
    except ClientDisconnect:
        raise HttpError(400, "the client went away", "BAD_REQUEST") from None
    return b"".join(chunks)


def _check_content_type(raw: str | None) -> None:
    if not raw:
        raise HttpError(415, "POST needs Content-Type: application/json", "UNSUPPORTED_MEDIA_TYPE")
    media, *params = (p.strip() for p in raw.split(";"))
    if media.lower() != JSON:
        raise HttpError(415, "POST bodies must be application/json", "UNSUPPORTED_MEDIA_TYPE")
    for param in params:
        key, _, value = param.partition("=")
        if key.strip().lower() == "charset" and value.strip().strip('"').lower() != "utf-8":
            raise HttpError(415, "the body must be UTF-8", "UNSUPPORTED_MEDIA_TYPE")


_PARAM_TYPES: tuple[tuple[str, type], ...] = (
    ("query", str),
    ("operationName", str),
    ("variables", dict),
    ("extensions", dict),
    ("documentId", str),
)


async def read_request(request: Request) -> GraphQLRequest:
    """The GraphQL parameters of a GET (query string) or POST (JSON body) request."""
    if request.method == "GET":
        q = request.query_params
        return GraphQLRequest(
            q.get("query"),
            _json_param(q.get("variables"), "variables"),
            q.get("operationName") or None,
            _json_param(q.get("extensions"), "extensions"),
            q.get("documentId") or None,
        )
    _check_content_type(request.headers.get("content-type"))
    raw = await _read_body(request)
    if not raw.strip():
        raise HttpError(400, "the request body is empty", "BAD_REQUEST")
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise HttpError(400, "the request body is not valid JSON", "BAD_REQUEST") from None
    if not isinstance(body, dict):
        raise HttpError(400, "the request body must be a JSON object", "BAD_REQUEST")
    for key, kind in _PARAM_TYPES:
        if body.get(key) is not None and not isinstance(body[key], kind):
            raise HttpError(400, f"'{key}' must be a {kind.__name__}", "BAD_REQUEST")
    return GraphQLRequest(
        body.get("query"),
        body.get("variables"),
        body.get("operationName"),
        body.get("extensions"),
        body.get("documentId"),
    )


def _response(payload: dict[str, Any], media: str, status: int = 200, **headers: str) -> Response:
    return _raw_response(orjson.dumps(payload), media, status, **headers)


def _raw_response(body: bytes, media: str, status: int = 200, **headers: str) -> Response:
    """A response of JSON text already written (the planner's, or `_response`'s)."""
    return Response(
        body, status_code=status, media_type=f"{media}; charset=utf-8", headers=NO_STORE | headers
    )


@lru_cache(maxsize=256)
def _operation_count(query: str) -> int:
    """How many operations a document defines (1 if it does not parse: execution says why).

    Strawberry runs the first operation when operationName is missing; the spec wants a
    request error when there are several, so the endpoint checks first.
    """
    from schema.cost import parse_document  # app/ imports the schema only lazily

    try:
        document = parse_document(query)
    except GraphQLError:
        return 1
    return sum(isinstance(d, OperationDefinitionNode) for d in document.definitions)


@lru_cache(maxsize=256)
def _is_query(query: str, operation_name: str | None) -> bool:
    """True when the operation to run is a query (False when it is not, or cannot be told:
    execution then reports why, on the primary)."""
    from graphql.utilities import get_operation_ast

    from schema.cost import parse_document

    try:
        operation = get_operation_ast(parse_document(query), operation_name)
    except GraphQLError:
        return False
    return operation is not None and operation.operation.value == "query"


def is_request_error(result: ExecutionResult) -> bool:
    """True when the operation never ran: parse/validation errors, or variable coercion."""
    if isinstance(result, PreExecutionError):
        return True
    errors = result.errors or []
    return result.data is None and bool(errors) and all(e.path is None for e in errors)


class GraphQLEndpoint:
    """The ASGI handler of /graphql."""

    def __init__(
        self,
        schema: Schema,
        db: Database,
        settings: Settings,
        limits: RateLimits | None = None,
        replicas: ReplicaSet | None = None,
        on_write: Callable[[], None] | None = None,
    ) -> None:
        self.schema, self.db, self.settings = schema, db, settings
        self.limits = limits or RateLimits(settings)
        self.replicas = replicas
        # Called after a request that wrote has committed (wakes the change listeners).
        self.on_write = on_write
        # Reads' audit entries, written on the primary in group commits.
        self.audit_group = AuditGroup(self._audit_connection)
        # Which plan each caller's next read of a patient will likely take (app/access/rider.py).
        self.predictions = Predictions() if settings.fused_reads else None

    async def handle(self, request: Request) -> Response:
        media = negotiate(request.headers.get("accept"))
        if media is None:
            return _response(
                request_error(f"Accept must allow {GRAPHQL_RESPONSE} or {JSON}", "NOT_ACCEPTABLE"),
                JSON,
                406,
            )
        try:
            self.limits.check_address(request)
            params = await read_request(request)
            try:
                params.after_lsn = parse_lsn(request.headers.get(LSN_HEADER))
            except ValueError as exc:
                raise HttpError(400, str(exc), "BAD_REQUEST") from None
            from schema.persisted import resolve_persisted

            document = resolve_persisted(
                params.query,
                params.operation_name,
                params.extensions,
                document_id=params.document_id,
                only_persisted=self.settings.persisted_operations_only,
            )
            note_operation(request, document)
            principal = await authenticate(request, self.settings)
            self.limits.check_principal(principal)
        except HttpError as exc:
            return _response(request_error(exc.message, exc.code), media, exc.status, **exc.headers)
        except AppError as exc:
            return _error_response(exc, media)
        params.query, params.operation_name = document.query, document.operation_name
        extensions, refused = await self.measure(media, params, principal)
        if refused is not None:
            return refused
        if document.operation_name is None and _operation_count(document.query) > 1:
            message = "the document has several operations: name one with operationName"
            status = 400 if media == GRAPHQL_RESPONSE else 200
            return _response(request_error(message, "OPERATION_RESOLUTION_FAILURE"), media, status)
        allowed = {OperationType.QUERY}
        if request.method == "POST":
            allowed.add(OperationType.MUTATION)
        # Answers to GET carry an ETag; If-None-Match may turn them into 304 (app/etags.py).
        conditional = (
            Conditional(request.headers.get("if-none-match")) if request.method == "GET" else None
        )
        running = RunningRequest()
        try:
            return await until_disconnect(
                request,
                self._answer(
                    running, media, params, principal, document, allowed, extensions, conditional
                ),
                running.cancel,
            )
        except ClientGone:
            log.info("client went away; its request was cancelled and rolled back")
            # Nobody reads this; the server needs a response object all the same.
            return Response(status_code=499)

    async def _answer(
        self,
        running: RunningRequest,
        media: str,
        params: GraphQLRequest,
        principal: Principal,
        document: ResolvedDocument,
        allowed: set[OperationType],
        extensions: dict[str, Any],
        conditional: Conditional | None = None,
    ) -> Response:
        try:
            if principal.is_anonymous:
                return await self.execute_anonymous(media, params, allowed)
            run = functools.partial(
                self._execute,
                running,
                media,
                params,
                principal,
                document,
                allowed,
                extensions,
                conditional,
            )
            try:
                return await run()
            except ServiceUnavailable:
                if self.replicas is None or params.on_primary:
                    raise
                # A standby went away under a query: nothing is committed there, and the audit
                # entries (on the primary) commit only with an answer. Once more, on the primary.
                params.on_primary = True
                return await run()
        except AppError as exc:
            if isinstance(exc, RequestTimeout):
                log.warning(
                    "statement timeout (%g s) ended operation %s of a %s",
                    self.settings.statement_timeout,
                    params.operation_name or "(anonymous document)",
                    principal.kind.value,
                )
            return _error_response(exc, media)

    def _research_errors(self, ctx: Context, errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """A research answer's errors carry no real identifier (schema/research_errors.py)."""
        from schema.research_errors import ErrorScrubber

        scrub = ErrorScrubber(self.schema._schema, ctx.data.pseudonym, ctx.data.text_pseudonym)
        return [scrub.error(e) for e in errors]

    async def _execute(
        self,
        running: RunningRequest,
        media: str,
        params: GraphQLRequest,
        principal: Principal,
        document: ResolvedDocument,
        allowed: set[OperationType],
        extensions: dict[str, Any],
        conditional: Conditional | None = None,
    ) -> Response:
        # A research answer is rewritten after GraphQL execution (schema/research_view.py).
        if self.settings.planner and principal.kind is not PrincipalKind.RESEARCH:
            planned = await self.execute_planned(
                running, media, params, principal, document, extensions, conditional
            )
            if planned is not None:
                return planned
        return await self.execute(running, media, params, principal, allowed, conditional)

    @contextlib.asynccontextmanager
    async def _transaction(
        self, running: RunningRequest, db: Database | None = None, *, reads_only: bool = False
    ) -> AsyncIterator[AsyncConnection]:
        """The request's transaction (on the primary unless `db` is a replica), its statements
        bounded by the statement timeout; a failure that ends the request (outage, timeout)
        comes out as its AppError. `reads_only`: statements that write nothing (not even the
        audit trail), which need no transaction around them (app/db.reading)."""
        db = db or self.db
        outer = running.conn
        try:
            timeout = self.settings.statement_timeout
            async with reading(db, timeout) if reads_only else db.transaction() as conn:
                running.conn = conn
                await limit_statements(db, conn, timeout)
                yield conn
        except (AppError, InvalidOperationTypeError, CannotGetOperationTypeError):
            raise
        except Exception as exc:
            ending = ending_error(exc, self.settings)
            if ending is None:
                raise
            raise ending from exc
        finally:
            running.conn = outer

    @contextlib.asynccontextmanager
    async def _audit_connection(self) -> AsyncIterator[AsyncConnection]:
        """A group commit's connection on the primary, under the statement timeout: its one
        statement commits on its own where the pool allows (app/db.reading), else in a
        transaction."""
        timeout = self.settings.statement_timeout
        async with reading(self.db, timeout) as conn:
            await limit_statements(self.db, conn, timeout)
            yield conn

    async def _reading_from(self, params: GraphQLRequest) -> Database:
        """Where the request runs: a query on a standby when replicas are set (app/replicas.py),
        anything else on the primary."""
        assert params.query is not None
        if (
            self.replicas is None
            or params.on_primary
            or not _is_query(params.query, params.operation_name)
        ):
            return self.db
        return await self.replicas.for_query(params.after_lsn)

    async def _audit_read(
        self,
        buffer: audit.AuditBuffer,
        principal: Principal,
        operation: str | None,
        *,
        revalidation: bool = False,
    ) -> None:
        """A read's audit entries, committed on the primary before the answer leaves (no answer
        without them), with those of concurrent reads (app/audit_group.py); called after the
        read's own transaction ended. `revalidation`: a 304's reads are written as
        revalidations (app/etags.py)."""
        await self.audit_group.write(audit.Pending(buffer, principal, operation, revalidation))

    async def _write_position(self, params: GraphQLRequest) -> dict[str, str]:
        """After a mutation committed, with replicas: the header that lets its client read its
        own write on a standby."""
        assert params.query is not None
        if self.replicas is None or _is_query(params.query, params.operation_name):
            return {}
        return {LSN_HEADER: await self.replicas.written_up_to()}

    async def measure(
        self, media: str, params: GraphQLRequest, principal: Principal
    ) -> tuple[dict[str, Any], Response | None]:
        """The request's cost (for `extensions`), or the answer that refuses it: before any SQL,
        so a refused document costs no transaction and no audit row (schema/limits.py)."""
        from schema.limits import INLINE_PARSE_CHARS, check_request

        assert params.query is not None
        check = functools.partial(
            check_request,
            self.schema._schema,
            params.query,
            params.operation_name,
            params.variables,
            principal,
            self.settings,
        )
        # A long document's first parse takes milliseconds: not on the event loop.
        long = len(params.query) > INLINE_PARSE_CHARS
        extensions, refusals = await asyncio.to_thread(check) if long else check()
        if not refusals:
            return extensions, None
        count_refusals(refusals)
        body: dict[str, Any] = {"errors": [format_error(e) for e in refusals]}
        if extensions:
            body["extensions"] = extensions
        return extensions, _response(body, media, 400 if media == GRAPHQL_RESPONSE else 200)

    async def execute_planned(
        self,
        running: RunningRequest,
        media: str,
        params: GraphQLRequest,
        principal: Principal,
        document: ResolvedDocument,
        extensions: dict[str, Any],
        conditional: Conditional | None = None,
    ) -> Response | None:
        """Answer a query with the planner (resolvers/planner/): the same data and audit
        entries as GraphQL execution; None when it declines, so that GraphQL execution
        answers (and reports its errors exactly as usual)."""
        from resolvers.planner.run import may_plan, run_planned

        if not may_plan(document.query, params.operation_name):
            return None
        return await self.answer_fast(
            running,
            media,
            params,
            principal,
            extensions,
            conditional,
            lambda ctx: run_planned(
                ctx, self.schema, document.query, params.operation_name, params.variables
            ),
        )

    async def answer_fast(
        self,
        running: RunningRequest,
        media: str,
        params: GraphQLRequest,
        principal: Principal,
        extensions: dict[str, Any],
        conditional: Conditional | None,
        run: Callable[[Context], Awaitable[Any]],
    ) -> Response | None:
        """The answer of `run(ctx)` (the `data` of a planned operation) in the
        request's transaction, with its audit entries; None when it declines."""
        from resolvers.planner.parts import JsonText
        from resolvers.planner.run import Decline

        try:
            db = await self._reading_from(params)
            async with self._transaction(running, db, reads_only=True) as conn:
                ctx = build_context(
                    conn,
                    principal,
                    self.settings,
                    operation_name=params.operation_name,
                    predictions=self.predictions,
                )
                async with _settled_when_cancelled(ctx):
                    data = await run(ctx)
                if isinstance(data, JsonText):
                    tail = b',"extensions":' + orjson.dumps(extensions) if extensions else b""
                    body = b'{"data":' + data + tail + b"}"
                else:
                    body = orjson.dumps({"data": data, "extensions": extensions})
                self._check_size(body)
                tag = self._tag(conditional, principal, body)
            await self._audit_read(
                ctx.audit,
                principal,
                params.operation_name,
                revalidation=_not_modified(conditional, tag),
            )
        except Decline:
            return None
        except AppError:
            raise
        except Exception:
            log.exception("planned operation failed")
            return _response(
                request_error("Internal server error", "INTERNAL_SERVER_ERROR"), media, 500
            )
        return _tagged_response(body, media, conditional, tag)

    def _check_size(self, body: bytes) -> None:
        """Refuse an answer over the ceiling before its disclosures are audited (none left)."""
        limit = self.settings.max_response_bytes
        if len(body) > limit:
            raise ResponseTooLarge(
                f"the answer would be {len(body)} bytes, more than the {limit} the server sends;"
                " ask for fewer or smaller pages",
                size=len(body),
                limit=limit,
            )

    async def execute_anonymous(
        self, media: str, params: GraphQLRequest, allowed: set[OperationType]
    ) -> Response:
        """A request without a principal runs without a database: validation, variables and
        introspection answer as usual; anything reaching for data gets the one 401."""
        ctx = AnonymousContext(ANONYMOUS, self.settings, params.operation_name)
        try:
            result = await self.schema.execute(
                params.query,
                variable_values=params.variables,
                context_value=ctx,
                operation_name=params.operation_name,
                allowed_operation_types=allowed,
            )
        except InvalidOperationTypeError as exc:
            return _wrong_operation_type(exc, media)
        except CannotGetOperationTypeError as exc:
            return _no_operation(exc, media)
        if ctx.refused:
            raise refuse_anonymous()
        payload: dict[str, Any] = {}
        if result.errors:
            payload["errors"] = [format_error(e) for e in result.errors]
        if is_request_error(result):
            if result.extensions:
                payload["extensions"] = result.extensions
            return _response(payload, media, 400 if media == GRAPHQL_RESPONSE else 200)
        payload["data"] = result.data
        if result.extensions:
            payload["extensions"] = result.extensions
        return _response(payload, media)

    async def execute(
        self,
        running: RunningRequest,
        media: str,
        params: GraphQLRequest,
        principal: Principal,
        allowed: set[OperationType],
        conditional: Conditional | None = None,
    ) -> Response:
        first_logged = False
        tag = None
        try:
            db = await self._reading_from(params)
            async with self._transaction(running, db) as conn:
                ctx = build_context(
                    conn, principal, self.settings, operation_name=params.operation_name
                )
                async with _settled_when_cancelled(ctx):
                    result = await self.schema.execute(
                        params.query,
                        variable_values=params.variables,
                        context_value=ctx,
                        operation_name=params.operation_name,
                        allowed_operation_types=allowed,
                    )
                ending = first_ending_error(result.errors, self.settings)
                if ending is not None:
                    raise ending
                payload: dict[str, Any] = {}
                if result.errors:
                    # Formatting logs each internal error with its traceback, now: if it broke
                    # the transaction, the audit write below fails too, and the log must show
                    # the cause first, not only that consequence.
                    payload["errors"] = [format_error(e) for e in result.errors]
                    first_logged = any(
                        e["extensions"]["code"] == INTERNAL for e in payload["errors"]
                    )
                    if principal.kind is PrincipalKind.RESEARCH:
                        payload["errors"] = self._research_errors(ctx, payload["errors"])
                    if first_logged and _statement_failed(result.errors):
                        # The transaction is aborted: no audit entry can be written, so no
                        # data may leave; roll back now rather than fail again at the flush.
                        raise _Aborted
                request_failed = is_request_error(result)
                if not request_failed:
                    payload["data"] = result.data
                if result.extensions:
                    payload["extensions"] = result.extensions
                body = orjson.dumps(payload)
                if not request_failed:
                    self._check_size(body)
                    if not result.errors:
                        tag = self._tag(conditional, principal, body)
                wrote = bool(ctx.audit.written)
                is_read = _is_query(params.query, params.operation_name)
                if not is_read:
                    # A mutation's entries commit with its writes, or neither does.
                    await audit.flush(conn, ctx.audit, principal, params.operation_name)
            if is_read:
                await self._audit_read(
                    ctx.audit,
                    principal,
                    params.operation_name,
                    revalidation=_not_modified(conditional, tag),
                )
            written = await self._write_position(params)
        except InvalidOperationTypeError as exc:
            return _wrong_operation_type(exc, media)
        except CannotGetOperationTypeError as exc:
            return _no_operation(exc, media)
        except AppError:
            raise
        except _Aborted:
            return _response(
                request_error("Internal server error", "INTERNAL_SERVER_ERROR"), media, 500
            )
        except Exception as exc:
            # Nothing may leave unaudited: without a committed audit trail, no data either.
            if first_logged:
                log.error(
                    "request failed after the internal error logged above: %s",
                    str(exc).splitlines()[0] if str(exc) else type(exc).__name__,
                )
            else:
                log.exception("request failed after execution began")
            return _response(
                request_error("Internal server error", "INTERNAL_SERVER_ERROR"), media, 500
            )
        if wrote and self.on_write is not None:
            self.on_write()
        if request_failed:
            return _raw_response(body, media, 400 if media == GRAPHQL_RESPONSE else 200)
        return _tagged_response(body, media, conditional, tag, **written)

    def _tag(
        self, conditional: Conditional | None, principal: Principal, body: bytes
    ) -> str | None:
        """The answer's ETag, for GET only."""
        if conditional is None:
            return None
        return etags.etag(etags.etag_key(self.settings), principal, body)


@dataclass(frozen=True)
class Conditional:
    """A GET request: its answer is tagged, and is not sent again if it matches."""

    if_none_match: str | None


def _not_modified(conditional: Conditional | None, tag: str | None) -> bool:
    return (
        conditional is not None
        and tag is not None
        and etags.matches(conditional.if_none_match, tag)
    )


def _tagged_response(
    body: bytes, media: str, conditional: Conditional | None, tag: str | None, **headers: str
) -> Response:
    """200 with the ETag, or 304 without a body when the client holds this very answer."""
    if tag is None:
        return _raw_response(body, media, 200, **headers)
    if _not_modified(conditional, tag):
        return Response(status_code=304, headers=NO_STORE | headers | {"etag": tag})
    return _raw_response(body, media, 200, etag=tag, **headers)


@contextlib.asynccontextmanager
async def _settled_when_cancelled(ctx: Context) -> AsyncIterator[None]:
    """When the request is cancelled (its client left), its reads still run, shielded
    (app/access/data.py); their statements were cancelled on the server, so they end soon.
    Wait for them: a rollback while one runs would fail and leave the connection in use."""
    try:
        yield
    except asyncio.CancelledError:
        await ctx.data.settle()
        raise


class _Aborted(Exception):
    """A statement failed (and was logged): the request's transaction cannot commit."""


def _statement_failed(errors: list[GraphQLError]) -> bool:
    return any(isinstance(e.original_error, DBAPIError) for e in errors)


def _wrong_operation_type(exc: InvalidOperationTypeError, media: str) -> Response:
    """A subscription sent over HTTP, or a mutation sent with GET."""
    if exc.operation_type is OperationType.SUBSCRIPTION:
        message = "subscriptions run over WebSocket (graphql-transport-ws) at /graphql"
        status = 400 if media == GRAPHQL_RESPONSE else 200
        return _response(request_error(message, "BAD_REQUEST"), media, status)
    return _response(
        request_error("mutations need POST", "METHOD_NOT_ALLOWED"), media, 405, allow="POST"
    )


def _no_operation(exc: CannotGetOperationTypeError, media: str) -> Response:
    message = (
        "the document has several operations: name one with operationName"
        if exc.operation_name is None
        else f"the document has no operation named {exc.operation_name!r}"
    )
    status = 400 if media == GRAPHQL_RESPONSE else 200
    return _response(request_error(message, "OPERATION_RESOLUTION_FAILURE"), media, status)


def _error_response(exc: AppError, media: str) -> Response:
    body = request_error(exc.message, exc.code)
    if exc.extensions:
        body["errors"][0]["extensions"] |= exc.extensions
    return _response(body, media, exc.status, **error_headers(exc))
