"""Prometheus metrics (prometheus-client) on a registry of their own, served at /metrics.

Label values are bounded: routes are a fixed list, GraphQL operations are the names of the
shipped (persisted) operations, or `adhoc` for any other document, or `none` when no document
was found; a client can never create new series by inventing names.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

from graphql import GraphQLError
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector
from prometheus_client.registry import Collector
from starlette.requests import Request
from starlette.responses import Response

if TYPE_CHECKING:
    from app.db import PooledDatabase
    from app.sql_watch import Tally
    from schema.persisted import ResolvedDocument

REGISTRY = CollectorRegistry(auto_describe=True)
ProcessCollector(registry=REGISTRY)
PlatformCollector(registry=REGISTRY)

ROUTES = ("/graphql", "/healthz", "/readyz", "/metrics")
PREFIXES = ("/fhir/", "/static/", "/app")
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

HTTP_REQUESTS = Counter(
    "vardkedja_http_requests",
    "HTTP requests answered, by route, method and status code.",
    ["route", "method", "status"],
    registry=REGISTRY,
)
HTTP_LATENCY = Histogram(
    "vardkedja_http_request_duration_seconds",
    "Time from the request's arrival to the end of its response body, by route.",
    ["route"],
    buckets=LATENCY_BUCKETS,
    registry=REGISTRY,
)
IN_PROGRESS = Gauge(
    "vardkedja_http_requests_in_progress", "HTTP requests being answered now.", registry=REGISTRY
)
GRAPHQL_REQUESTS = Counter(
    "vardkedja_graphql_requests",
    "GraphQL requests by operation (shipped name, `adhoc` or `none`) and HTTP status code.",
    ["operation", "status"],
    registry=REGISTRY,
)
GRAPHQL_LATENCY = Histogram(
    "vardkedja_graphql_request_duration_seconds",
    "Time to answer a GraphQL request, by operation.",
    ["operation"],
    buckets=LATENCY_BUCKETS,
    registry=REGISTRY,
)
AUDIT_ENTRIES = Counter(
    "vardkedja_audit_entries",
    "Audit entries inserted (disclosures and denials; counted at the INSERT, before commit).",
    registry=REGISTRY,
)
AUDIT_GROUP_SIZE = Histogram(
    "vardkedja_audit_group_requests",
    "Read requests whose audit entries one group commit wrote (app/audit_group.py).",
    buckets=(1, 2, 4, 8, 16, 32, 64, 128),
    registry=REGISTRY,
)

# Per request: how many statements it ran and how long it waited on them (app/sql_watch.py).
SQL_STATEMENTS = Histogram(
    "vardkedja_request_sql_statements",
    "SQL statements one HTTP request ran, by route and GraphQL operation (`none` elsewhere).",
    ["route", "operation"],
    buckets=(0, 1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144, 233, 377, 610, 1000),
    registry=REGISTRY,
)
SQL_SECONDS = Histogram(
    "vardkedja_request_sql_duration_seconds",
    "Time one HTTP request waited on its SQL statements (sent to answer received), by route "
    "and GraphQL operation.",
    ["route", "operation"],
    buckets=(0.0005, 0.001, 0.0025, *LATENCY_BUCKETS),
    registry=REGISTRY,
)

PLANNER_FIELDS = Counter(
    "vardkedja_planner_subtrees",
    "Fields of a patient answered by the query planner: `planned` in its SQL statement, "
    "`fallback` through GraphQL execution (resolvers/planner/).",
    ["outcome"],
    registry=REGISTRY,
)
PLANNER_RIDES = Counter(
    "vardkedja_planner_rides",
    "Planned reads sent with the policy's facts statement (app/access/rider.py): `used` when "
    "the decision chose the predicted plan, `dropped` when it did not (the read then ran "
    "alone).",
    ["outcome"],
    registry=REGISTRY,
)
PLANNING_CPU = Histogram(
    "vardkedja_planner_planning_cpu_seconds",
    "CPU time the query planner spent on one request before its SQL: the document and its "
    "variables, and the plan looked up (or built, on a first request of its shape).",
    buckets=(
        0.00001,
        0.000025,
        0.00005,
        0.0001,
        0.0002,
        0.0003,
        0.0005,
        0.001,
        0.0025,
        0.01,
        0.05,
        0.25,
    ),
    registry=REGISTRY,
)
LIMIT_REFUSALS = Counter(
    "vardkedja_limit_refusals",
    "Documents refused by the query limits before any SQL, by error code (QUERY_TOO_COSTLY, "
    "QUERY_TOO_DEEP, TOO_MANY_ALIASES, ...).",
    ["code"],
    registry=REGISTRY,
)


def route_label(path: str) -> str:
    if path in ROUTES:
        return path
    for prefix in PREFIXES:
        if path.startswith(prefix):
            return prefix.rstrip("/")
    return "other"


def note_operation(request: Request, document: ResolvedDocument) -> None:
    """Tell the metrics which operation this /graphql request runs (a bounded label)."""
    name = document.persisted.name if document.persisted is not None else "adhoc"
    request.state.graphql_operation = name


def count_refusals(refusals: Iterable[GraphQLError]) -> None:
    """Count the limit refusals of one request, by their (known) error code."""
    from app.errors import ERROR_CODES

    for refusal in refusals:
        code = (refusal.extensions or {}).get("code")
        LIMIT_REFUSALS.labels(code if code in ERROR_CODES else "other").inc()


def observe(
    path: str, method: str, status: int, seconds: float, operation: str | None, sql: Tally
) -> None:
    route = route_label(path)
    method = method if method in ("GET", "POST", "OPTIONS", "HEAD") else "other"
    HTTP_REQUESTS.labels(route, method, str(status)).inc()
    HTTP_LATENCY.labels(route).observe(seconds)
    SQL_STATEMENTS.labels(route, operation or "none").observe(sql.statements)
    SQL_SECONDS.labels(route, operation or "none").observe(sql.seconds)
    if route == "/graphql" and method in ("GET", "POST"):
        GRAPHQL_REQUESTS.labels(operation or "none", str(status)).inc()
        GRAPHQL_LATENCY.labels(operation or "none").observe(seconds)


class PoolCollector(Collector):
    """Connections of the database pools of this process (summed over the apps that run)."""

    def __init__(self) -> None:
        self.databases: weakref.WeakSet[PooledDatabase] = weakref.WeakSet()

    def collect(self) -> Iterator[GaugeMetricFamily]:
        size = in_use = overflow = 0
        for database in list(self.databases):
            engine = database.engine
            if engine is None:
                continue
            pool = engine.sync_engine.pool
            size += getattr(pool, "size", lambda: 0)()
            in_use += getattr(pool, "checkedout", lambda: 0)()
            overflow += max(0, getattr(pool, "overflow", lambda: 0)())
        yield GaugeMetricFamily(
            "vardkedja_db_pool_size", "Database connections kept in the pool.", value=size
        )
        yield GaugeMetricFamily(
            "vardkedja_db_pool_in_use", "Database connections lent to requests now.", value=in_use
        )
        yield GaugeMetricFamily(
            "vardkedja_db_pool_overflow", "Connections opened beyond the pool size.", value=overflow
        )


POOLS = PoolCollector()
REGISTRY.register(POOLS)


async def metrics_endpoint(request: Request) -> Response:
    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)
