"""One pure ASGI middleware that times every request, counts it in the metrics and writes the
access line; on server start it applies the configured log format (after uvicorn has set up
its own loggers, so that JSON logs cover them too)."""

from __future__ import annotations

import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app import sql_watch
from app.observability import logs, metrics


class ObservedRequests:
    def __init__(self, app: ASGIApp, *, log_format: str, count: bool) -> None:
        self.app, self.log_format, self.count = app, log_format, count

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            logs.configure(self.log_format)
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what the client sees if the app fails before it starts a response

        async def watched(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        metrics.IN_PROGRESS.inc()
        try:
            with sql_watch.counting() as sql:
                await self.app(scope, receive, watched)
        finally:
            metrics.IN_PROGRESS.dec()
            seconds = time.perf_counter() - started
            operation = scope.get("state", {}).get("graphql_operation")
            if self.count:
                metrics.observe(scope["path"], scope["method"], status, seconds, operation, sql)
            logs.access(scope["method"], scope["path"], status, seconds, operation)
