"""Every SQL statement of a request, counted and timed for the metrics and, with tracing on,
wrapped in a CLIENT span.

Both are asked for per request, through context variables that the observing middlewares set
(app/observability/): `counting()` by the metrics, `tracing_with()` by the tracer. Outside a
request (migrations, the webhook worker, tests without an app) a statement costs one context
lookup. Statements are seen where they are sent: SQLAlchemy's cursor events (installed once on
every Engine by `watch_sqlalchemy`) and app.db.driver_fetch (the hot path's straight asyncpg).

A span carries the statement's operation (its first keyword: SELECT, INSERT, ...) and the
database system, never the statement's text or its parameters, which can hold personnummer.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from opentelemetry.trace import Span, Tracer


@dataclass
class Tally:
    """The SQL of one request so far."""

    statements: int = 0
    seconds: float = 0.0


_TALLY: ContextVar[Tally | None] = ContextVar("vardkedja_sql_tally", default=None)
_TRACER: ContextVar[Tracer | None] = ContextVar("vardkedja_sql_tracer", default=None)

# The first keyword, after any leading comments; anything else is OTHER (a bounded name).
_FIRST_WORD = re.compile(r"\s*(?:(?:--[^\n]*\n|/\*.*?\*/)\s*)*([A-Za-z]+)", re.DOTALL)
OPERATIONS = frozenset(
    [
        "SELECT",
        "INSERT",
        "UPDATE",
        "DELETE",
        "WITH",
        "BEGIN",
        "COMMIT",
        "ROLLBACK",
        "SAVEPOINT",
        "RELEASE",
        "SET",
        "SHOW",
        "LOCK",
        "CREATE",
        "ALTER",
        "DROP",
        "TRUNCATE",
        "COPY",
        "EXPLAIN",
        "NOTIFY",
        "LISTEN",
        "UNLISTEN",
        "ANALYZE",
        "VACUUM",
    ]
)


def operation_name(sql: str) -> str:
    found = _FIRST_WORD.match(sql)
    word = found.group(1).upper() if found else ""
    return word if word in OPERATIONS else "OTHER"


@contextmanager
def counting() -> Iterator[Tally]:
    """Count the statements run inside the block (and the tasks it starts) into one Tally."""
    tally = Tally()
    token = _TALLY.set(tally)
    try:
        yield tally
    finally:
        _TALLY.reset(token)


@contextmanager
def tracing_with(tracer: Tracer) -> Iterator[None]:
    """Statements run inside the block get a span of `tracer` (children of the current span)."""
    token = _TRACER.set(tracer)
    try:
        yield
    finally:
        _TRACER.reset(token)


@dataclass
class Statement:
    began: float
    tally: Tally | None
    span: Span | None


def started(sql: str) -> Statement | None:
    """A statement is being sent; None when nobody watches."""
    tally, tracer = _TALLY.get(), _TRACER.get()
    if tally is None and tracer is None:
        return None
    span = None
    if tracer is not None:
        from opentelemetry.trace import SpanKind

        operation = operation_name(sql)
        span = tracer.start_span(
            operation,
            kind=SpanKind.CLIENT,
            attributes={"db.system.name": "postgresql", "db.operation.name": operation},
        )
    return Statement(time.perf_counter(), tally, span)


def ended(statement: Statement | None, error: BaseException | None = None) -> None:
    """The statement's answer (or `error`) arrived."""
    if statement is None:
        return
    if statement.tally is not None:
        statement.tally.statements += 1
        statement.tally.seconds += time.perf_counter() - statement.began
    if statement.span is not None:
        if error is not None:
            from opentelemetry.trace import Status, StatusCode

            # The type only: a driver's message can quote the values of a row.
            statement.span.set_attribute("error.type", type(error).__name__)
            statement.span.set_status(Status(StatusCode.ERROR))
        statement.span.end()


_KEY = "vardkedja.sql_watch"
_installed = False


def watch_sqlalchemy() -> None:
    """Watch the statements of every SQLAlchemy engine (once per process)."""
    global _installed
    if _installed:
        return
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    event.listen(Engine, "before_cursor_execute", _before)
    event.listen(Engine, "after_cursor_execute", _after)
    event.listen(Engine, "handle_error", _failed)
    _installed = True


def _before(conn: Any, cursor: Any, statement: str, *rest: Any) -> None:
    watched = started(statement)
    if watched is not None:
        conn.info[_KEY] = watched  # one statement at a time on a connection


def _after(conn: Any, *rest: Any) -> None:
    ended(conn.info.pop(_KEY, None))


def _failed(context: Any) -> None:
    if context.connection is not None:
        ended(context.connection.info.pop(_KEY, None), context.original_exception)
