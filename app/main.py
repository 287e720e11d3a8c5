"""The Starlette application: /graphql (GraphiQL for browsers), /app, /healthz, /readyz,
/metrics."""

from __future__ import annotations

import contextlib
import gc
from collections.abc import AsyncIterator

from sqlalchemy import text
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from app import migrate
from app.clinician import clinician_routes
from app.db import Database, PooledDatabase
from app.fhir.http import FhirEndpoint
from app.graphiql import static_mount, with_ide
from app.graphql_http import GraphQLEndpoint
from app.observability import instrument
from app.settings import Settings

_heap_frozen = False


def freeze_startup_heap() -> None:
    """Move everything loaded so far (schema, modules, caches) out of the garbage collector's
    sight, once per process. A full collection walks every tracked object with the GIL held:
    over the loaded schema that stalled the event loop ~100 ms at a time while a large document
    was validated in a worker thread; frozen, the stalls stay under 10 ms."""
    global _heap_frozen
    if not _heap_frozen:
        gc.collect()
        gc.freeze()
        _heap_frozen = True


def create_app(
    settings: Settings, *, url: str | None = None, db: Database | None = None
) -> Starlette:
    """An app on `db` (tests pass one bound to their transaction) or on a pool for `url`."""
    from schema import schema

    freeze_startup_heap()
    if db is None:
        assert url is not None, "create_app needs a url or a db"
        pooled = PooledDatabase(url, pool_size=settings.pool_size)
        db = pooled
    else:
        pooled = None
    database: Database = db

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if pooled is not None:
            pooled.start()
        yield
        if pooled is not None:
            await pooled.stop()

    endpoint = GraphQLEndpoint(schema, database, settings)
    fhir = FhirEndpoint(database, settings)

    async def healthz(request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    async def readyz(request: Request) -> JSONResponse:
        try:
            async with database.transaction() as conn:
                current = await conn.run_sync(migrate.current_revision)
                await conn.execute(text("SELECT 1"))
        except Exception as exc:  # any failure means not ready; say why in one line
            return JSONResponse({"status": "unavailable", "reason": type(exc).__name__}, 503)
        head = migrate.head_revision()
        if current != head:
            return JSONResponse(
                {"status": "unavailable", "reason": f"schema at {current}, expected {head}"}, 503
            )
        return JSONResponse({"status": "ready", "revision": current})

    app = Starlette(
        routes=[
            Route("/graphql", with_ide(endpoint.handle), methods=["GET", "POST"]),
            static_mount(),
            *clinician_routes(),
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Route("/fhir/Patient/{id}/$everything", fhir.everything, methods=["GET"]),
        ],
        lifespan=lifespan,
    )
    return instrument(app, settings, pooled)
