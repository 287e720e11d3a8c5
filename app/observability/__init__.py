"""Operating the service: request ids, metrics, structured logs, CORS (see docs/operations.md).

`instrument(app, settings, pooled)` adds all of it to the Starlette app in one call.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.applications import Starlette

from app import sql_watch
from app.cors import cors_middleware
from app.observability import metrics
from app.observability.middleware import ObservedRequests
from app.observability.request_id import RequestIdMiddleware, install_log_record_factory
from app.settings import Settings

if TYPE_CHECKING:
    from app.db import PooledDatabase


def instrument(app: Starlette, settings: Settings, pooled: PooledDatabase | None) -> Starlette:
    """`app` with CORS (innermost), metrics and access logs, traces when asked, and the
    request id (outermost)."""
    install_log_record_factory()
    if settings.metrics or settings.tracing != "off":
        sql_watch.watch_sqlalchemy()
    if settings.metrics:
        app.add_route("/metrics", metrics.metrics_endpoint, methods=["GET"])
        if pooled is not None:
            metrics.POOLS.databases.add(pooled)
    # add_middleware puts each new one outside the ones added before.
    cors = cors_middleware(settings.cors_origins)
    app.add_middleware(cors.cls, *cors.args, **cors.kwargs)
    app.add_middleware(ObservedRequests, log_format=settings.log_format, count=settings.metrics)
    if settings.tracing != "off":
        from app.observability.tracing import TracedRequests, console_tracer, otlp_tracer

        tracer = console_tracer() if settings.tracing == "console" else otlp_tracer()
        app.add_middleware(TracedRequests, tracer=tracer)
    app.add_middleware(RequestIdMiddleware)
    return app
