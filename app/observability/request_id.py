"""A request id for every HTTP request: the caller's X-Request-ID when it is a sane token,
else a new one; echoed in the response and put on every log record written meanwhile."""

from __future__ import annotations

import logging
import re
import uuid
from contextvars import ContextVar

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

HEADER = "x-request-id"
# Ids travel into logs: only short, plain tokens are taken over from callers.
_ACCEPTED = re.compile(r"^[A-Za-z0-9._:@/+=-]{1,128}$")
current_request_id: ContextVar[str | None] = ContextVar("request_id", default=None)


def accepted_or_new(raw: str | None) -> str:
    if raw is not None and _ACCEPTED.match(raw):
        return raw
    return uuid.uuid4().hex


class RequestIdMiddleware:
    """Pure ASGI (no buffering): sets `current_request_id` for the request's task."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        raw = next((v for k, v in scope["headers"] if k == HEADER.encode()), None)
        request_id = accepted_or_new(raw.decode("latin-1") if raw is not None else None)
        scope.setdefault("state", {})["request_id"] = request_id
        token = current_request_id.set(request_id)

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)[HEADER] = request_id
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            current_request_id.reset(token)


_factory_installed = False


def install_log_record_factory() -> None:
    """Every log record gets `request_id` (None outside a request), whichever logger writes it."""
    global _factory_installed
    if _factory_installed:
        return
    previous = logging.getLogRecordFactory()

    def factory(*args: object, **kwargs: object) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        record.request_id = current_request_id.get()
        return record

    logging.setLogRecordFactory(factory)
    _factory_installed = True
