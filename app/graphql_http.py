"""GraphQL over HTTP: GET for queries, POST for everything, one transaction per request.

The request path: parse the HTTP request -> authenticate -> open a transaction -> build the
context -> execute -> write the audit entries -> commit -> respond. Audit entries are written
in the same transaction as any change, before the response leaves.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from strawberry import Schema
from strawberry.http.ides import get_graphql_ide_html
from strawberry.types.execution import PreExecutionError
from strawberry.types.graphql import OperationType

from app import audit
from app.access.principal import Principal
from app.auth import authenticate
from app.context import build_context
from app.db import Database
from app.errors import AppError, format_error
from app.settings import Settings

log = logging.getLogger("vardkedja.http")

GRAPHQL_RESPONSE = "application/graphql-response+json"
JSON = "application/json"


@dataclass
class GraphQLRequest:
    query: str | None
    variables: dict[str, Any] | None
    operation_name: str | None
    extensions: dict[str, Any] | None


class HttpError(Exception):
    def __init__(self, status: int, message: str, code: str) -> None:
        super().__init__(message)
        self.status, self.message, self.code = status, message, code


def _json_param(raw: str | None, name: str) -> dict[str, Any] | None:
    if raw in (None, ""):
        return None
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise HttpError(400, f"'{name}' is not valid JSON", "BAD_REQUEST") from None
    if value is not None and not isinstance(value, dict):
        raise HttpError(400, f"'{name}' must be a JSON object", "BAD_REQUEST")
    return value


async def read_request(request: Request) -> GraphQLRequest:
    """The GraphQL parameters of a GET (query string) or POST (JSON body) request."""
    if request.method == "GET":
        q = request.query_params
        return GraphQLRequest(
            q.get("query"),
            _json_param(q.get("variables"), "variables"),
            q.get("operationName"),
            _json_param(q.get("extensions"), "extensions"),
        )
    content_type = request.headers.get("content-type", "").split(";")[0].strip()
    if content_type != JSON:
        raise HttpError(415, "POST bodies must be application/json", "UNSUPPORTED_MEDIA_TYPE")
    try:
        body = orjson.loads(await request.body())
    except orjson.JSONDecodeError:
        raise HttpError(400, "the request body is not valid JSON", "BAD_REQUEST") from None
    if not isinstance(body, dict):
        raise HttpError(400, "the request body must be a JSON object", "BAD_REQUEST")
    for key, kind in (
        ("query", str),
        ("operationName", str),
        ("variables", dict),
        ("extensions", dict),
    ):
        if body.get(key) is not None and not isinstance(body[key], kind):
            raise HttpError(400, f"'{key}' has the wrong type", "BAD_REQUEST")
    return GraphQLRequest(
        body.get("query"),
        body.get("variables"),
        body.get("operationName"),
        body.get("extensions"),
    )


def wants_graphql_response(request: Request) -> bool:
    """Clients that accept application/graphql-response+json get it (and 4xx on bad requests)."""
    accept = request.headers.get("accept", "")
    return GRAPHQL_RESPONSE in accept or (JSON not in accept and "*/*" not in accept)


def respond(request: Request, payload: dict[str, Any], status: int = 200) -> Response:
    media = GRAPHQL_RESPONSE if wants_graphql_response(request) else JSON
    return Response(orjson.dumps(payload), status_code=status, media_type=media)


def error_payload(message: str, code: str) -> dict[str, Any]:
    return {"errors": [{"message": message, "extensions": {"code": code}}]}


class GraphQLEndpoint:
    """The ASGI handler of /graphql."""

    def __init__(self, schema: Schema, db: Database, settings: Settings) -> None:
        self.schema, self.db, self.settings = schema, db, settings

    async def handle(self, request: Request) -> Response:
        if (
            request.method == "GET"
            and "text/html" in request.headers.get("accept", "")
            and ("query" not in request.query_params)
        ):
            return HTMLResponse(get_graphql_ide_html("graphiql"))
        try:
            params = await read_request(request)
            principal = await authenticate(request, self.settings)
            query = self.resolve_document(params)
        except HttpError as exc:
            return respond(request, error_payload(exc.message, exc.code), exc.status)
        except AppError as exc:
            status = 401 if exc.code == "UNAUTHENTICATED" else 400
            return respond(request, error_payload(exc.message, exc.code), status)
        allowed = {OperationType.QUERY}
        if request.method == "POST":
            allowed.add(OperationType.MUTATION)
        return await self.execute(request, params, query, principal, allowed)

    def resolve_document(self, params: GraphQLRequest) -> str:
        """The query text; persisted operations are looked up by name or hash (see schema)."""
        from schema.persisted import resolve_persisted

        return resolve_persisted(
            params.query,
            params.operation_name,
            params.extensions,
            only_persisted=self.settings.persisted_operations_only,
        )

    async def execute(
        self,
        request: Request,
        params: GraphQLRequest,
        query: str,
        principal: Principal,
        allowed: set[OperationType],
    ) -> Response:
        async with self.db.transaction() as conn:
            ctx = build_context(
                conn, principal, self.settings, operation_name=params.operation_name
            )
            result = await self.schema.execute(
                query,
                variable_values=params.variables,
                context_value=ctx,
                operation_name=params.operation_name,
                allowed_operation_types=allowed,
            )
            await audit.flush(conn, ctx.audit, principal, params.operation_name)
        payload: dict[str, Any] = {}
        if result.errors:
            payload["errors"] = [format_error(e) for e in result.errors]
        if not isinstance(result, PreExecutionError):
            payload["data"] = result.data
        if isinstance(result, PreExecutionError) and wants_graphql_response(request):
            return respond(request, payload, 405 if _is_wrong_method(result) else 400)
        return respond(request, payload)


def _is_wrong_method(result: PreExecutionError) -> bool:
    return any("not allowed" in e.message.lower() for e in result.errors or [])
