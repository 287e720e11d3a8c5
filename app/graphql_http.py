"""GraphQL over HTTP: GET for queries, POST for everything, one transaction per request.

The request path: read the HTTP request -> negotiate the response type -> find the document
(free-form or persisted) -> authenticate -> open a transaction -> build the context -> execute ->
write the audit entries -> commit -> respond. Audit entries are written in the same transaction
as any change, before the response leaves; if they cannot be written, no data leaves either.

Status codes follow the GraphQL-over-HTTP spec: a client that accepts
`application/graphql-response+json` gets 4xx (and no `data`) when the document cannot run
(parse, validation, variable or operation errors); `application/json` clients get the legacy
200 for those. Malformed HTTP requests are 4xx for everyone.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import orjson
from graphql import GraphQLError, OperationDefinitionNode
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from strawberry import Schema
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.types import ExecutionResult
from strawberry.types.execution import PreExecutionError
from strawberry.types.graphql import OperationType

from app import audit
from app.access.principal import Principal
from app.auth import authenticate
from app.context import build_context
from app.db import Database
from app.errors import AppError, format_error, request_error
from app.observability.metrics import count_refusals, note_operation
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
    """A response of JSON text already written (a compiled operation's, or `_response`'s)."""
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


def is_request_error(result: ExecutionResult) -> bool:
    """True when the operation never ran: parse/validation errors, or variable coercion."""
    if isinstance(result, PreExecutionError):
        return True
    errors = result.errors or []
    return result.data is None and bool(errors) and all(e.path is None for e in errors)


class GraphQLEndpoint:
    """The ASGI handler of /graphql."""

    def __init__(self, schema: Schema, db: Database, settings: Settings) -> None:
        self.schema, self.db, self.settings = schema, db, settings

    async def handle(self, request: Request) -> Response:
        media = negotiate(request.headers.get("accept"))
        if media is None:
            return _response(
                request_error(f"Accept must allow {GRAPHQL_RESPONSE} or {JSON}", "NOT_ACCEPTABLE"),
                JSON,
                406,
            )
        try:
            params = await read_request(request)
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
        except HttpError as exc:
            return _response(request_error(exc.message, exc.code), media, exc.status, **exc.headers)
        except AppError as exc:
            extra = {"www-authenticate": "Bearer"} if exc.status == 401 else {}
            return _response(request_error(exc.message, exc.code), media, exc.status, **extra)
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
        if self.settings.compiled_operations:
            compiled = await self.execute_compiled(media, params, principal, document, extensions)
            if compiled is not None:
                return compiled
        return await self.execute(media, params, principal, allowed)

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

    async def execute_compiled(
        self,
        media: str,
        params: GraphQLRequest,
        principal: Principal,
        document: ResolvedDocument,
        extensions: dict[str, Any],
    ) -> Response | None:
        """Run a persisted operation in its compiled form (one SQL statement, the same data and
        audit entries as GraphQL execution); None when it has none or its variables do not
        validate, so that GraphQL execution runs and reports exactly its usual errors."""
        from resolvers.compiled import compiled_for
        from resolvers.compiled.base import JsonText

        compiled = compiled_for(document.persisted)
        if compiled is None or params.operation_name not in (None, compiled.name):
            return None
        variables = compiled.coerce(self.schema._schema, params.variables)
        prepared = None if variables is None else compiled.prepare(variables)
        if prepared is None:
            return None
        try:
            async with self.db.transaction() as conn:
                ctx = build_context(
                    conn, principal, self.settings, operation_name=params.operation_name
                )
                data = await compiled.run(ctx, prepared)
                await audit.flush(conn, ctx.audit, principal, params.operation_name)
        except Exception:
            log.exception("compiled operation failed")
            return _response(
                request_error("Internal server error", "INTERNAL_SERVER_ERROR"), media, 500
            )
        if isinstance(data, JsonText):
            tail = b',"extensions":' + orjson.dumps(extensions) if extensions else b""
            return _raw_response(b'{"data":' + data + tail + b"}", media)
        return _response({"data": data} | ({"extensions": extensions} if extensions else {}), media)

    async def execute(
        self,
        media: str,
        params: GraphQLRequest,
        principal: Principal,
        allowed: set[OperationType],
    ) -> Response:
        try:
            async with self.db.transaction() as conn:
                ctx = build_context(
                    conn, principal, self.settings, operation_name=params.operation_name
                )
                result = await self.schema.execute(
                    params.query,
                    variable_values=params.variables,
                    context_value=ctx,
                    operation_name=params.operation_name,
                    allowed_operation_types=allowed,
                )
                await audit.flush(conn, ctx.audit, principal, params.operation_name)
        except InvalidOperationTypeError:
            return _response(
                request_error("mutations need POST", "METHOD_NOT_ALLOWED"), media, 405, allow="POST"
            )
        except CannotGetOperationTypeError as exc:
            message = (
                "the document has several operations: name one with operationName"
                if exc.operation_name is None
                else f"the document has no operation named {exc.operation_name!r}"
            )
            status = 400 if media == GRAPHQL_RESPONSE else 200
            return _response(request_error(message, "OPERATION_RESOLUTION_FAILURE"), media, status)
        except Exception:
            # Nothing may leave unaudited: without a committed audit trail, no data either.
            log.exception("request failed after execution began")
            return _response(
                request_error("Internal server error", "INTERNAL_SERVER_ERROR"), media, 500
            )
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
