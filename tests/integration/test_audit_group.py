"""Reads' audit entries in group commits (app/audit_group.py) and reads without a transaction
(app/db.PooledDatabase.reading): the entries of concurrent reads share one statement
(audit_append: the chain's lock, its head checked, one INSERT), which commits on its own; no
answer leaves before its entries are committed; a failure reaches every request of the batch."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from app import audit, migrate
from app.access.principal import Principal, PrincipalKind
from app.audit_group import AuditGroup
from app.db import DRIVER_LISTENERS, PooledDatabase, to_plain_url
from app.errors import ServiceUnavailable
from app.seed import seed_population
from app.settings import Settings
from tests.integration.demo_support import token_for
from tests.integration.test_situation_matrix import DENTIST, ER_DOCTOR, TOLVAN
from tests.sqlcount import count_statements

READER = Principal(kind=PrincipalKind.SYSTEM, subject="group-test")


def pending(operation: str) -> audit.Pending:
    buffer = audit.AuditBuffer(chain_key=b"group-test-key")
    buffer.disclose(uuid.uuid4(), "Patient", uuid.uuid4())
    return audit.Pending(buffer, READER, operation)


def savepoints(conn: AsyncConnection) -> Callable[[], Any]:
    """Transactions of the group writer as savepoints of the test's transaction."""

    @contextlib.asynccontextmanager
    async def transaction() -> AsyncIterator[AsyncConnection]:
        async with conn.begin_nested():
            yield conn

    return transaction


async def entries(conn: AsyncConnection, operations: list[str]) -> list[Any]:
    rows = await conn.execute(
        text(
            "SELECT operation, chain, prev_hash, hash FROM audit_entry"
            " WHERE operation = ANY(:ops) ORDER BY id"
        ),
        {"ops": operations},
    )
    return list(rows)


def audited(statements: list[str]) -> list[str]:
    """The statements besides the test's savepoints (each batch's transaction here)."""
    return [s for s in statements if not s.startswith(("SAVEPOINT", "RELEASE"))]


def linked_in_order(written: list[Any]) -> bool:
    return all(b.prev_hash == a.hash for a, b in itertools.pairwise(written))


async def test_concurrent_reads_share_one_statement(conn: AsyncConnection) -> None:
    group = AuditGroup(savepoints(conn))
    first = [f"Read{i}" for i in range(6)]
    async with count_statements(conn) as statements:
        await asyncio.gather(*(group.write(pending(op)) for op in first))
    # A new writer does not know its chain's head: the first statement returns it, the
    # second writes the whole batch.
    assert audited(statements) == [audit.APPEND, audit.APPEND]
    later = [f"Again{i}" for i in range(3)]
    async with count_statements(conn) as statements:
        await asyncio.gather(*(group.write(pending(op)) for op in later))
    assert audited(statements) == [audit.APPEND]  # the head it wrote last: one statement
    written = await entries(conn, first + later)
    # In the order the requests arrived, on the writer's chain, each linked to the one before.
    assert [r.operation for r in written] == first + later
    assert {r.chain for r in written} == {group.chain}
    assert linked_in_order(written)


async def test_another_writer_on_the_chain_makes_the_group_link_again(
    conn: AsyncConnection,
) -> None:
    """Another process's flush (a mutation) took the group's chain between two batches: the
    head this process remembers is stale, audit_append writes nothing and returns the head,
    and the batch is linked to it: one chain, unbroken."""
    group = AuditGroup(savepoints(conn))
    await group.write(pending("Before"))
    remembered = audit._heads[group.chain]
    async with conn.begin_nested():
        await audit.flush(conn, pending("Between").buffer, READER, "Between", chain=group.chain)
    audit._heads[group.chain] = remembered  # as if another process had written "Between"
    async with count_statements(conn) as statements:
        await group.write(pending("After"))
    assert audited(statements) == [audit.APPEND, audit.APPEND]
    written = await entries(conn, ["Before", "Between", "After"])
    assert [r.operation for r in written] == ["Before", "Between", "After"]
    assert linked_in_order(written)


async def test_a_flush_of_this_process_on_the_chain_keeps_the_group_at_one_statement(
    conn: AsyncConnection,
) -> None:
    """A mutation of this process wrote on the group's chain between two batches: the process
    remembers the head it wrote, so the group's next batch is still one statement, and the
    mutation's own flush was one statement too."""
    group = AuditGroup(savepoints(conn))
    await group.write(pending("Before"))
    async with count_statements(conn) as statements, conn.begin_nested():
        await audit.flush(conn, pending("Between").buffer, READER, "Between", chain=group.chain)
    assert audited(statements) == [audit.APPEND]
    async with count_statements(conn) as statements:
        await group.write(pending("After"))
    assert audited(statements) == [audit.APPEND]
    written = await entries(conn, ["Before", "Between", "After"])
    assert [r.operation for r in written] == ["Before", "Between", "After"]
    assert linked_in_order(written)


async def test_what_arrives_during_a_commit_is_the_next_batch(conn: AsyncConnection) -> None:
    group = AuditGroup(savepoints(conn))
    await group.write(pending("Known"))  # the writer knows its head from here on
    async with count_statements(conn) as statements:
        first = asyncio.ensure_future(group.write(pending("First")))
        await asyncio.sleep(0)  # the writer has taken "First" and is writing it
        later = [group.write(pending(f"Later{i}")) for i in range(3)]
        await asyncio.gather(first, *later)
    assert audited(statements) == [audit.APPEND, audit.APPEND]  # two batches
    written = await entries(conn, ["Known", "First", "Later0", "Later1", "Later2"])
    assert len(written) == 5 and linked_in_order(written)


async def test_a_failed_commit_fails_every_request_of_its_batch(conn: AsyncConnection) -> None:
    calls = 0

    @contextlib.asynccontextmanager
    async def failing() -> AsyncIterator[AsyncConnection]:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise ConnectionError("the primary went away")
        async with conn.begin_nested():
            yield conn

    group = AuditGroup(failing)
    results = await asyncio.gather(
        *(group.write(pending(f"Lost{i}")) for i in range(3)), return_exceptions=True
    )
    assert [type(r) for r in results] == [ConnectionError] * 3
    assert await entries(conn, [f"Lost{i}" for i in range(3)]) == []
    # The writer is not left stuck: the next request's entries are written.
    await group.write(pending("After"))
    assert len(await entries(conn, ["After"])) == 1


async def test_a_writer_stopped_mid_commit_fails_its_batch_with_a_503() -> None:
    """The server stops while a group is being written: its reads answer 503, none waits on."""
    started, never = asyncio.Event(), asyncio.Event()

    @contextlib.asynccontextmanager
    async def stuck() -> AsyncIterator[AsyncConnection]:
        started.set()
        await never.wait()
        yield None  # type: ignore[misc]

    group = AuditGroup(stuck)
    waiting = [asyncio.ensure_future(group.write(pending(f"Stopped{i}"))) for i in range(2)]
    await started.wait()
    assert group._writer is not None
    group._writer.cancel()
    # Bounded: left waiting, the requests would hang, not fail.
    results = await asyncio.wait_for(asyncio.gather(*waiting, return_exceptions=True), 10)
    assert [type(r) for r in results] == [ServiceUnavailable, ServiceUnavailable]


async def test_a_request_cancelled_while_waiting_still_has_its_entries_written(
    conn: AsyncConnection,
) -> None:
    group = AuditGroup(savepoints(conn))
    waiting = asyncio.ensure_future(group.write(pending("Cancelled")))
    await asyncio.sleep(0)
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    await group.write(pending("Next"))  # runs after the cancelled one's batch
    assert [r.operation for r in await entries(conn, ["Cancelled", "Next"])] == [
        "Cancelled",
        "Next",
    ]


async def test_an_empty_buffer_costs_no_transaction() -> None:
    def never() -> Any:
        raise AssertionError("no transaction for nothing to write")

    await AuditGroup(never).write(audit.Pending(audit.AuditBuffer(), READER, "Nothing"))


# --- over HTTP, on a pool: what production runs --------------------------------------------


@pytest.fixture(scope="module")
def demo_pool_url(fresh_database: Callable[[], str]) -> str:
    """The demo people in a database of this module's own (the requests here commit)."""
    url = fresh_database()
    migrate.upgrade(url)
    asyncio.run(seed_population(url, patients=0, seed=1))
    return url


@contextlib.asynccontextmanager
async def served(url: str, settings: Settings, **kw: Any) -> AsyncIterator[httpx.AsyncClient]:
    from app.main import create_app

    # As app/main.py opens it: its connections carry the statement timeout.
    db = PooledDatabase(url, statement_timeout=settings.statement_timeout, **kw)
    db.start()
    try:
        transport = httpx.ASGITransport(app=create_app(settings, db=db))
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            yield http
    finally:
        await db.stop()


async def audit_rows(url: str, operation: str) -> int:
    import asyncpg

    raw = await asyncpg.connect(to_plain_url(url))
    try:
        return int(
            await raw.fetchval("SELECT count(*) FROM audit_entry WHERE operation = $1", operation)
        )
    finally:
        await raw.close()


async def test_planned_reads_run_outside_a_transaction_and_are_audited_before_they_answer(
    demo_pool_url: str, settings: Settings
) -> None:
    seen: list[tuple[str, bool]] = []
    DRIVER_LISTENERS.append(lambda raw, sql, args: seen.append((sql, raw.is_in_transaction())))
    listener = DRIVER_LISTENERS[-1]
    headers = {"authorization": f"Bearer {token_for(settings, DENTIST)}"}
    body = {"operationName": "DentalVisit", "variables": {"personnummer": TOLVAN}}
    before = await audit_rows(demo_pool_url, "DentalVisit")
    try:
        # A pool of one connection: the read gives its connection back before its entries
        # wait for the writer's.
        async with served(demo_pool_url, settings, pool_size=1) as http:
            answers = await asyncio.gather(
                *(http.post("/graphql", json=body, headers=headers) for _ in range(4))
            )
            for answer in answers:
                assert answer.status_code == 200 and "errors" not in answer.json(), answer.text
                assert answer.json()["data"]["patient"] is not None
    finally:
        DRIVER_LISTENERS.remove(listener)
    assert await audit_rows(demo_pool_url, "DentalVisit") == before + 4
    reads = [in_tx for sql, in_tx in seen if sql != audit.APPEND]
    writes = [in_tx for sql, in_tx in seen if sql == audit.APPEND]
    assert reads and not any(reads)  # no BEGIN, no COMMIT around the read
    assert writes and not any(writes)  # the audit append commits on its own
    # How many requests share a statement depends on timing (the tests above pin the
    # batching itself), and the first batch asks for the head first unless the process
    # remembers it from an earlier write on the writer's chain.
    assert 1 <= len(writes) <= 5
    assert not any("audit_" in sql for sql, _ in seen if sql != audit.APPEND)


async def test_a_planned_read_with_a_graphql_part_runs_on_a_reads_only_connection(
    demo_pool_url: str, settings: Settings
) -> None:
    """A field the planner leaves to GraphQL execution (its statements through SQLAlchemy)
    beside planned ones, over the pool: the same answer as on a request in a transaction."""
    from app.observability.metrics import PLANNER_FIELDS

    query = """query($p: String!) { patient(personnummer: $p) {
        familyName
        careRelationships(first: 5) { totalCount nodes { active careUnit { name } } }
    } }"""
    headers = {"authorization": f"Bearer {token_for(settings, ER_DOCTOR)}"}
    body = {"query": query, "variables": {"p": TOLVAN}}
    fallback = PLANNER_FIELDS.labels("fallback")._value.get()
    async with served(demo_pool_url, settings) as http:
        pooled = await http.post("/graphql", json=body, headers=headers)
    assert PLANNER_FIELDS.labels("fallback")._value.get() > fallback
    transactional = settings.model_copy(update={"planner": False})
    async with served(demo_pool_url, transactional) as http:
        executed = await http.post("/graphql", json=body, headers=headers)
    assert pooled.status_code == executed.status_code == 200, pooled.text
    assert "errors" not in pooled.json()
    patient = pooled.json()["data"]["patient"]
    assert patient["careRelationships"]["totalCount"] > 0
    assert patient["careRelationships"]["nodes"][0]["careUnit"]["name"]
    assert pooled.json() == executed.json()


async def test_a_refused_audit_write_sends_no_data(demo_pool_url: str, settings: Settings) -> None:
    """The trail is chained under another key than this server's (a rotation it missed): the
    read ran, but its entries cannot be written, so every request of the batch answers 503,
    not the record."""
    from app.audit_key_guard import settle_fingerprint

    headers = {"authorization": f"Bearer {token_for(settings, ER_DOCTOR)}"}
    body = {"operationName": "EmergencyOverview", "variables": {"personnummer": TOLVAN}}
    ours = settings.model_copy(update={"audit_key": "ours-" + "k" * 40})
    await settle_fingerprint(demo_pool_url, ("theirs-" + "k" * 40).encode(), [])
    before = await audit_rows(demo_pool_url, "EmergencyOverview")
    try:
        async with served(demo_pool_url, ours) as http:
            refused = await asyncio.gather(
                *(http.post("/graphql", json=body, headers=headers) for _ in range(3))
            )
    finally:
        await _forget_fingerprint(demo_pool_url)
    for answer in refused:
        assert answer.status_code == 503, answer.text
        assert answer.json()["errors"][0]["extensions"]["code"] == "SERVICE_UNAVAILABLE"
        assert "data" not in answer.json() and "Tolvan" not in answer.text
    assert await audit_rows(demo_pool_url, "EmergencyOverview") == before


async def _forget_fingerprint(url: str) -> None:
    import asyncpg

    raw = await asyncpg.connect(to_plain_url(url))
    try:
        await raw.execute("DELETE FROM audit_key_fingerprint")
    finally:
        await raw.close()
