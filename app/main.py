"""The Starlette application: /graphql (GraphiQL for browsers), /app, /healthz, /readyz,
/metrics."""

from __future__ import annotations

import asyncio
import contextlib
import gc
from collections.abc import AsyncIterator

from sqlalchemy import text
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route, WebSocketRoute

from app import migrate
from app.changes.notify import ChangeDispatcher
from app.changes.webhooks import run_worker
from app.changes.websocket import SubscriptionEndpoint
from app.clinician import clinician_routes
from app.db import Database, PooledDatabase
from app.fhir.bulk import BulkExports
from app.fhir.http import FhirEndpoint
from app.graphiql import static_mount, with_ide
from app.graphql_http import GraphQLEndpoint
from app.guard import RateLimits
from app.observability import instrument
from app.replicas import ReplicaSet
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


def _pool(url: str, settings: Settings) -> PooledDatabase:
    return PooledDatabase(
        url,
        pool_size=settings.pool_size,
        pool_timeout=settings.pool_timeout,
        retry_after=settings.retry_after,
        statement_timeout=settings.statement_timeout,
        pgbouncer=settings.pgbouncer,
    )


def create_app(
    settings: Settings, *, url: str | None = None, db: Database | None = None
) -> Starlette:
    """An app on `db` (tests pass one bound to their transaction) or on a pool for `url`."""
    from schema import schema

    freeze_startup_heap()
    pooled: PooledDatabase | None = None
    if db is None:
        assert url is not None, "create_app needs a url or a db"
        pooled = db = _pool(url, settings)
    database: Database = db
    replicas = None
    if pooled is not None and settings.replica_urls:
        standbys = [_pool(replica, settings) for replica in settings.replica_urls]
        replicas = ReplicaSet(pooled, standbys, settings.replica_wait)
    # Subscriptions listen to the change log on their own connection (docs/changes.md).
    # LISTEN needs a session of its own: behind PgBouncer, the server's direct URL.
    dispatcher = ChangeDispatcher(settings.direct_url or url) if url is not None else None

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if pooled is not None:
            pooled.start()
        if replicas is not None:
            replicas.start()
        if dispatcher is not None:
            dispatcher.start()
        worker = None
        if pooled is not None and settings.webhooks_in_server:
            key = (settings.audit_key or "").encode()
            wake = dispatcher.new_entries if dispatcher is not None else None
            worker = asyncio.create_task(run_worker(database.transaction, audit_key=key, wake=wake))
        yield
        if worker is not None:
            worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await worker
        if dispatcher is not None:
            await dispatcher.stop()
        if replicas is not None:
            await replicas.stop()
        if pooled is not None:
            await pooled.stop()

    # One set of buckets for every data route: a client cannot double its rate by switching.
    limits = RateLimits(settings)
    on_write = dispatcher.committed if dispatcher is not None else None
    endpoint = GraphQLEndpoint(schema, database, settings, limits, replicas, on_write=on_write)
    fhir = FhirEndpoint(database, settings, limits)
    bulk = BulkExports(database, settings, limits)
    live = SubscriptionEndpoint(schema, database, settings, dispatcher)

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
            WebSocketRoute("/graphql", live),
            static_mount(),
            *clinician_routes(),
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Route("/fhir/metadata", fhir.metadata, methods=["GET"]),
            Route("/fhir/$export", bulk.kick_off, methods=["GET"]),
            Route("/fhir/Patient/$export", bulk.kick_off, methods=["GET"]),
            Route("/fhir/$export-status/{job}", bulk.status, methods=["GET"]),
            Route("/fhir/$export-status/{job}", bulk.cancel, methods=["DELETE"]),
            Route("/fhir/$export-file/{job}/{name}", bulk.file, methods=["GET"]),
            Route("/fhir/Patient/{id}/$everything", fhir.everything, methods=["GET"]),
            Route("/fhir/Patient/{id}/$summary", fhir.summary, methods=["GET"]),
            Route("/fhir/{type}/{id}", fhir.read, methods=["GET"]),
            Route("/fhir/{type}", fhir.search, methods=["GET"]),
        ],
        lifespan=lifespan,
    )
    return instrument(app, settings, pooled)
