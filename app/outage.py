"""Telling a database that cannot be reached (or a pool with no free connection) from a request's
own failure, and logging an outage once when it begins and once when it ends.

A request that meets an outage is answered 503 SERVICE_UNAVAILABLE; its exception is not an
incident of its own, so it is not logged: 700 tracebacks a second say less than two lines.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator

import asyncpg
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout

log = logging.getLogger("vardkedja.database")

# Driver errors that mean "the server is not there (or is going away)", not "this statement".
_GONE: tuple[type[BaseException], ...] = (
    OSError,  # refused, reset, unreachable host, no such socket
    TimeoutError,  # a connection attempt that got no answer in time
    asyncpg.PostgresConnectionError,
    asyncpg.CannotConnectNowError,  # starting up or shutting down
    asyncpg.exceptions.OperatorInterventionError,  # admin shutdown, crash shutdown
    asyncpg.exceptions.ConnectionDoesNotExistError,
    asyncpg.exceptions.TooManyConnectionsError,
)
POOL_EXHAUSTED = "no free database connection"
# The SQLSTATE of a statement cancelled by statement_timeout (or a user's cancel request).
QUERY_CANCELED = "57014"


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """`exc`, its causes and contexts, and the driver errors SQLAlchemy wraps (cycle-safe)."""
    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo:
        current = todo.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        orig = getattr(current, "orig", None)
        todo.extend(
            (
                current.__cause__,
                current.__context__,
                orig if isinstance(orig, BaseException) else None,
            )
        )


def unavailable_reason(exc: BaseException) -> str | None:
    """One line saying why the database is unavailable, if that is what `exc` means."""
    if is_statement_timeout(exc):
        return None  # a cancelled statement (57014 is an "operator intervention" too)
    for link in _chain(exc):
        if isinstance(link, PoolTimeout):
            return POOL_EXHAUSTED
        if isinstance(link, DBAPIError) and link.connection_invalidated:
            return _line(link.orig or link)
        if isinstance(link, _GONE):
            return _line(link)
        if isinstance(link, asyncpg.InterfaceError) and "connection is closed" in str(link):
            return _line(link)
    return None


def is_statement_timeout(exc: BaseException) -> bool:
    """True when a statement was cancelled: the request's statement_timeout ran out."""
    return any(getattr(link, "sqlstate", None) == QUERY_CANCELED for link in _chain(exc))


def _line(exc: BaseException) -> str:
    text = str(exc).strip()
    first = text.splitlines()[0] if text else ""
    return f"{type(exc).__name__}: {first}" if first else type(exc).__name__


class OutageLog:
    """The database's state as requests find it: one line when it changes, none per request.

    While the server is gone the exact error varies (refused, reset, shutting down): that is one
    outage. A full pool is another state, logged on its own.
    """

    def __init__(self, logger: logging.Logger = log) -> None:
        self.log = logger
        self.reason: str | None = None
        self.since = 0.0

    @property
    def down(self) -> bool:
        return self.reason is not None

    def failed(self, reason: str) -> None:
        """A request could not use the database; logged when the state changes."""
        if self.reason is not None and (self.reason == POOL_EXHAUSTED) == (
            reason == POOL_EXHAUSTED
        ):
            return
        self.reason, self.since = reason, time.monotonic()
        self.log.error("database unavailable: %s", reason)

    def succeeded(self) -> None:
        """A request used the database; logged when it ends an outage."""
        if self.reason is None:
            return
        self.log.warning(
            "database available again after %.1f s (was: %s)",
            time.monotonic() - self.since,
            self.reason,
        )
        self.reason = None
