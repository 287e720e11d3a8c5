"""GraphQL subscriptions over WebSocket (graphql-transport-ws), on strawberry's handler.

Authentication is in `connection_init`: its payload carries `{"authorization": "Bearer
<token>"}` (and, optionally, `purpose`), verified like an HTTP request's header; a bad token
closes the socket with 4403 before anything else happens. When the token expires the socket is
closed with 4403 "token expired": the client reconnects with a fresh token. Only subscription
operations run here (queries and mutations go over HTTP, where they are measured, audited and
committed per request).

One `LiveContext` per socket. Each delivery rebinds it to a fresh transaction and Context
(schema/subscriptions.py), under the socket's lock, so deliveries of one socket never share a
transaction and the policy is decided at send time.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, cast

from graphql import GraphQLError
from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket
from strawberry import Schema
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.types.graphql import OperationType

from app.access.principal import ANONYMOUS
from app.audit import AuditBuffer
from app.auth import _purpose, check_emergency, principal_from_claims, verify_token
from app.changes.notify import ChangeDispatcher
from app.context import Context
from app.db import Database
from app.errors import AppError, format_error
from app.settings import Settings

log = logging.getLogger("vardkedja.subscriptions")

EXPIRED = 4403
INIT_TIMEOUT = timedelta(seconds=10)
MAX_SUBSCRIPTIONS = 20


@dataclass
class LiveContext(Context):
    """A socket's context; `conn`, `data`, `audit` and the loaders are those of the delivery
    in progress (`rebind`)."""

    db: Database | None = None
    dispatcher: ChangeDispatcher | None = None
    websocket: WebSocket | None = None
    connection_params: dict[str, Any] | None = None
    expires_at: float | None = None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    _expiry: asyncio.Task[None] | None = None

    def rebind(self, fresh: Context) -> None:
        self.conn, self.data, self.audit = fresh.conn, fresh.data, fresh.audit
        self._loaders = {}


class _SubscriptionsOnly:
    """The schema, running subscription operations only."""

    def __init__(self, schema: Schema) -> None:
        self._schema = schema

    def __getattr__(self, name: str) -> Any:
        return getattr(self._schema, name)

    async def stream(self, *args: Any, **kwargs: Any) -> Any:
        kwargs["allowed_operation_types"] = (OperationType.SUBSCRIPTION,)
        return _masked(await self._schema.stream(*args, **kwargs))


def _mask(result: Any) -> Any:
    """Errors as HTTP answers them (app.errors.format_error): a stable code, internals masked."""
    errors = getattr(result, "errors", None)
    if errors:
        masked = []
        for error in errors:
            shown = format_error(error)
            masked.append(
                GraphQLError(
                    shown["message"],
                    path=shown.get("path"),
                    extensions=shown.get("extensions"),
                )
            )
        result.errors = masked
    return result


async def _masked(source: Any) -> AsyncIterator[Any]:
    if not hasattr(source, "__aiter__"):
        yield _mask(source)
        return
    async with contextlib.aclosing(source) as results:
        async for result in results:
            yield _mask(result)


def _token(params: dict[str, Any]) -> str | None:
    raw = params.get("authorization") or params.get("Authorization")
    if not isinstance(raw, str):
        return None
    scheme, _, token = raw.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


class SubscriptionEndpoint(GraphQL[LiveContext, None]):
    """The WebSocket side of /graphql."""

    def __init__(
        self, schema: Schema, db: Database, settings: Settings, dispatcher: ChangeDispatcher | None
    ) -> None:
        super().__init__(
            cast(Schema, _SubscriptionsOnly(schema)),
            graphql_ide=None,
            subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
            connection_init_wait_timeout=INIT_TIMEOUT,
            max_subscriptions_per_connection=MAX_SUBSCRIPTIONS,
        )
        self.db, self.settings, self.dispatcher = db, settings, dispatcher

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            # The socket is gone: its expiry timer has nothing left to close.
            live = scope.get("state", {}).get("vardkedja_live")
            if isinstance(live, LiveContext) and live._expiry is not None:
                live._expiry.cancel()

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> LiveContext:
        live = self._context(request)
        request.scope.setdefault("state", {})["vardkedja_live"] = live
        return live

    def _context(self, request: Request | WebSocket) -> LiveContext:
        return LiveContext(
            principal=ANONYMOUS,
            conn=cast(Any, None),
            data=cast(Any, None),
            audit=AuditBuffer(),
            settings=self.settings,
            db=self.db,
            dispatcher=self.dispatcher,
            websocket=request if isinstance(request, WebSocket) else None,
        )

    async def on_ws_connect(self, context: LiveContext) -> None:
        params = context.connection_params or {}
        token = _token(params)
        if token is None:
            raise ConnectionRejectionError({"message": "connection_init needs authorization"})
        try:
            claims = await verify_token(token, self.settings)
            purpose = params.get("purpose")
            principal = principal_from_claims(
                claims, _purpose(purpose if isinstance(purpose, str) else None), None
            )
            context.principal = check_emergency(principal)
        except AppError as exc:
            raise ConnectionRejectionError({"message": exc.message, "code": exc.code}) from None
        context.expires_at = float(claims["exp"])
        context._expiry = asyncio.create_task(_close_at_expiry(context))


async def _close_at_expiry(context: LiveContext) -> None:
    assert context.expires_at is not None
    await asyncio.sleep(max(0.0, context.expires_at - time.time()))
    if context.websocket is not None:
        with contextlib.suppress(Exception):
            await context.websocket.close(code=EXPIRED, reason="token expired")


def expired(context: LiveContext) -> bool:
    return context.expires_at is not None and time.time() >= context.expires_at
