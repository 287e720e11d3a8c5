"""The audit trail is append-only and hash-chained: `verify` finds changed, inserted and
deleted entries; the API role cannot change entries (grants), nobody can (trigger)."""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from app import audit
from app.access.principal import Principal, PrincipalKind, Purpose
from app.audit_key_guard import fingerprint
from app.audit_verify import Head, verify_chain
from app.cli import build_parser
from app.db import DRIVER_LISTENERS, in_transaction
from app.privacy_cli import audit_command
from app.settings import Settings

KEY = b"audit-test-key"
PRINCIPAL = Principal(
    kind=PrincipalKind.CLINICIAN,
    subject="SE2321000016-DR01",
    purpose=Purpose.TREAT,
    care_unit_hsa_id="SE2321000016-SOAK",
    care_provider_hsa_id="SE2321000016-RSTH",
)


async def write_entries(
    conn: AsyncConnection,
    count: int = 3,
    *,
    gap_after: int = -1,
    chain: int | None = 0,
    key: bytes = KEY,
) -> list[int]:
    """`count` entries, one flush each, on `chain` (None: the chains in turn, as requests do)
    under `key`; with `gap_after`, an unused id after that entry."""
    for i in range(count):
        buffer = audit.AuditBuffer(chain_key=key)
        buffer.disclose(uuid.uuid4(), "CareDocument", uuid.uuid4())
        await audit.flush(conn, buffer, PRINCIPAL, f"op{i}", chain=chain)
        if i == gap_after:
            await conn.execute(text("SELECT nextval(pg_get_serial_sequence('audit_entry', 'id'))"))
    rows = await conn.execute(text("SELECT id FROM audit_entry ORDER BY id"))
    return [r[0] for r in rows]


async def tamper(conn: AsyncConnection, sql: str, **params: object) -> None:
    """Change the table as a superuser would, with the append-only trigger switched off."""
    await conn.execute(text("ALTER TABLE audit_entry DISABLE TRIGGER audit_entry_no_update"))
    await conn.execute(text(sql), params)
    await conn.execute(text("ALTER TABLE audit_entry ENABLE TRIGGER audit_entry_no_update"))


async def test_untouched_chain_verifies(conn: AsyncConnection) -> None:
    ids = await write_entries(conn, 4)
    report = await verify_chain(conn, KEY, batch_size=2)
    assert report.ok and report.checked == 4
    assert report.head is not None and report.head.entry_id == ids[-1]


async def test_wrong_key_fails_every_entry(conn: AsyncConnection) -> None:
    await write_entries(conn, 2)
    report = await verify_chain(conn, b"another key")
    assert [p.kind for p in report.problems] == ["changed", "changed"]


async def test_changed_entry_is_found(conn: AsyncConnection) -> None:
    ids = await write_entries(conn, 4)
    await tamper(conn, "UPDATE audit_entry SET outcome = 'denied' WHERE id = :i", i=ids[1])
    report = await verify_chain(conn, KEY, batch_size=3)
    assert [(p.kind, p.entry_id) for p in report.problems] == [("changed", ids[1])]


async def test_changed_and_rehashed_entry_is_found(conn: AsyncConnection) -> None:
    """An attacker without the key recomputes a plain SHA-256: still found."""
    ids = await write_entries(conn, 3)
    forged = hashlib.sha256(b"whatever").hexdigest()
    await tamper(conn, "UPDATE audit_entry SET hash = :h WHERE id = :i", h=forged, i=ids[1])
    report = await verify_chain(conn, KEY)
    assert ("changed", ids[1]) in [(p.kind, p.entry_id) for p in report.problems]


async def test_deleted_entry_is_found(conn: AsyncConnection) -> None:
    ids = await write_entries(conn, 4)
    await tamper(conn, "DELETE FROM audit_entry WHERE id = :i", i=ids[2])
    report = await verify_chain(conn, KEY)
    assert [(p.kind, p.entry_id) for p in report.problems] == [("deleted", ids[3])]


async def test_deleted_first_entry_is_found(conn: AsyncConnection) -> None:
    ids = await write_entries(conn, 3)
    await tamper(conn, "DELETE FROM audit_entry WHERE id = :i", i=ids[0])
    report = await verify_chain(conn, KEY)
    assert [(p.kind, p.entry_id) for p in report.problems] == [("deleted", ids[1])]


async def test_inserted_entry_is_found(conn: AsyncConnection) -> None:
    """INSERT is allowed (append-only), so a forged entry needs no trigger switched off."""
    ids = await write_entries(conn, 3, gap_after=0)
    gap = ids[0] + 1
    assert gap not in ids
    prev = await conn.execute(text("SELECT hash FROM audit_entry WHERE id = :i"), {"i": ids[0]})
    await conn.execute(
        text(
            "INSERT INTO audit_entry (id, occurred_at, principal_kind, principal_id, action,"
            " resources, outcome, review_required, prev_hash, hash) VALUES (:id, now(),"
            " 'clinician', 'SE2321000016-EVIL', 'read', '[]', 'disclosed', false, :p, :h)"
        ),
        {"id": gap, "p": prev.scalar(), "h": hashlib.sha256(b"forged").hexdigest()},
    )
    report = await verify_chain(conn, KEY)
    assert [(p.kind, p.entry_id) for p in report.problems] == [("inserted", gap)]


async def test_entry_appended_at_the_end_is_found(conn: AsyncConnection) -> None:
    ids = await write_entries(conn, 2)
    last = await conn.execute(text("SELECT hash FROM audit_entry WHERE id = :i"), {"i": ids[-1]})
    buffer = audit.AuditBuffer()  # plain SHA-256: what someone without the key can compute
    buffer.disclose(uuid.uuid4(), "CareDocument", uuid.uuid4())
    content, _ = audit._entries(buffer, PRINCIPAL, None, datetime.now(UTC))[0]
    forged = audit.entry_hash(str(last.scalar()), content)
    await conn.execute(
        insert(audit.AUDIT_TABLE).values(content | {"prev_hash": "x" * 64, "hash": forged})
    )
    report = await verify_chain(conn, KEY)
    assert len(report.problems) >= 1
    assert report.problems[-1].entry_id > ids[-1]


async def test_checkpoint_finds_entries_deleted_from_the_end(conn: AsyncConnection) -> None:
    ids = await write_entries(conn, 3)
    head = (await verify_chain(conn, KEY)).head
    assert head is not None
    await tamper(conn, "DELETE FROM audit_entry WHERE id = :i", i=ids[-1])
    assert (await verify_chain(conn, KEY)).ok  # nothing left in the table to notice
    report = await verify_chain(conn, KEY, checkpoint=Head.parse(str(head)))
    assert [(p.kind, p.entry_id) for p in report.problems] == [("deleted", ids[-1])]


async def test_checkpoint_of_every_chain_finds_a_tail_cut_from_any_chain(
    conn: AsyncConnection,
) -> None:
    first = await write_entries(conn, 2, chain=3)
    second = await write_entries(conn, 2, chain=7)
    report = await verify_chain(conn, KEY)
    assert report.ok and set(report.heads) == {3, 7}
    checkpoint = Head.parse_all(report.checkpoint())
    assert {(h.chain, h.entry_id) for h in checkpoint} == {(3, first[1]), (7, second[-1])}
    # Cutting the tail of the older chain (not the newest entry overall) is still noticed.
    await tamper(conn, "DELETE FROM audit_entry WHERE id = :i", i=first[1])
    assert (await verify_chain(conn, KEY)).ok
    report = await verify_chain(conn, KEY, checkpoint=checkpoint)
    assert [(p.kind, p.entry_id) for p in report.problems] == [("deleted", first[1])]


def test_checkpoint_from_before_the_chains_means_chain_0() -> None:
    assert Head.parse("41:abc") == Head(41, "abc", 0)
    assert Head.parse(str(Head(41, "abc", 5))) == Head(41, "abc", 5)


async def test_requests_take_the_chains_in_turn_and_each_chain_verifies(
    conn: AsyncConnection,
) -> None:
    ids = await write_entries(conn, audit.CHAINS + 2, chain=None)
    chains = await conn.execute(text("SELECT DISTINCT chain FROM audit_entry"))
    assert {c for (c,) in chains} == set(range(audit.CHAINS))
    report = await verify_chain(conn, KEY, batch_size=5)
    assert report.ok and report.checked == len(ids) and len(report.heads) == audit.CHAINS


@pytest.mark.parametrize("chain", [0, 9])
async def test_tampering_is_found_in_any_chain(conn: AsyncConnection, chain: int) -> None:
    """Interleaved chains: a change, a deletion and a move to another chain in one of them."""
    ours, others = [], []
    for _ in range(5):
        ours += await _flush_on(conn, chain)
        others += await _flush_on(conn, 14)
    await tamper(conn, "UPDATE audit_entry SET outcome = 'denied' WHERE id = :i", i=ours[0])
    await tamper(conn, "DELETE FROM audit_entry WHERE id = :i", i=ours[2])
    await tamper(conn, "UPDATE audit_entry SET chain = 14 WHERE id = :i", i=ours[4])
    report = await verify_chain(conn, KEY, batch_size=3)
    found = [(p.kind, p.entry_id) for p in report.problems]
    assert found == [
        ("changed", ours[0]),
        ("deleted", ours[3]),  # links past the deleted entry
        ("deleted", ours[4]),  # moved: not the successor of chain 14's entry before it
        ("deleted", others[4]),  # ... and chain 14's next entry no longer links to it
    ]


async def _flush_on(conn: AsyncConnection, chain: int) -> list[int]:
    buffer = audit.AuditBuffer(chain_key=KEY)
    buffer.disclose(uuid.uuid4(), "CareDocument", uuid.uuid4())
    await audit.flush(conn, buffer, PRINCIPAL, "op", chain=chain)
    last = await conn.execute(text("SELECT max(id) FROM audit_entry"))
    return [int(last.scalar_one())]


async def test_flushes_on_different_chains_do_not_wait_for_each_other(
    engine: AsyncEngine,
) -> None:
    """Two open transactions: the second flush on another chain goes through while the first
    still holds its chain's lock; on the same chain it would have to wait (lock_timeout)."""
    async with engine.connect() as first, engine.connect() as second:
        await first.begin()
        await second.begin()
        try:
            await _flush_on(first, 2)
            await second.execute(text("SET LOCAL lock_timeout = '500ms'"))
            await _flush_on(second, 5)  # would raise on a lock timeout
            with pytest.raises(DBAPIError, match="lock timeout"):
                async with second.begin_nested():
                    await _flush_on(second, 2)
        finally:
            await first.rollback()
            await second.rollback()


async def test_trigger_blocks_update_for_everybody(conn: AsyncConnection) -> None:
    ids = await write_entries(conn, 1)
    with pytest.raises(DBAPIError, match="append-only"):
        async with conn.begin_nested():
            await conn.execute(
                text("UPDATE audit_entry SET reason = 'x' WHERE id = :i"), {"i": ids[0]}
            )


async def test_api_role_may_append_and_read_but_not_change(conn: AsyncConnection) -> None:
    await conn.execute(text("SET LOCAL ROLE vardkedja_api"))
    ids = await write_entries(conn, 1)
    assert len(ids) == 1
    for statement in (
        "UPDATE audit_entry SET reason = 'x'",
        "DELETE FROM audit_entry",
        "TRUNCATE audit_entry",
    ):
        with pytest.raises(DBAPIError, match="permission denied"):
            async with conn.begin_nested():
                await conn.execute(text(statement))
    # The API may do its ordinary work elsewhere.
    await conn.execute(text("SELECT count(*) FROM patient"))
    await conn.execute(text("RESET ROLE"))


def test_cli_verify_exits_non_zero_on_tampering(
    fresh_database: Callable[[], str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from app import migrate

    url = fresh_database()
    migrate.upgrade(url)
    settings = Settings(database_url=url, data_dir=tmp_path, audit_key=KEY.decode())
    args = build_parser().parse_args(["audit", "verify", "--checkpoint", str(tmp_path / "head")])
    ids = asyncio.run(in_transaction(url, write_entries))
    assert audit_command(args, settings) == 0
    assert "audit chain ok: 3 entries in 1 chain(s)" in capsys.readouterr().out
    assert (tmp_path / "head").read_text().startswith(f"0:{ids[-1]}:")

    async def change_first(conn: AsyncConnection) -> None:
        await tamper(conn, "UPDATE audit_entry SET purpose = 'ADMIN' WHERE id = :i", i=ids[0])

    asyncio.run(in_transaction(url, change_first))
    assert audit_command(args, settings) == 1
    captured = capsys.readouterr()
    assert "BROKEN" in captured.out
    assert f"changed: entry {ids[0]}" in captured.err


async def test_flush_writes_many_patients_in_one_insert(conn: AsyncConnection) -> None:
    from tests.sqlcount import count_statements

    buffer = audit.AuditBuffer(chain_key=KEY)
    patients = [uuid.uuid4() for _ in range(30)]
    for pid in patients:
        buffer.disclose(pid, "CareContact", uuid.uuid4())
    principal = Principal(kind=PrincipalKind.SYSTEM, subject="flush-test", purpose=Purpose.ADMIN)
    parameters: dict[str, Any] = {}

    def record(on: object, sql: str, args: Any) -> None:
        parameters[sql] = args

    DRIVER_LISTENERS.append(record)
    audit.forget_head(3)
    try:
        async with count_statements(conn) as statements:
            assert await audit.flush(conn, buffer, principal, "Flush", chain=3) == 30
    finally:
        DRIVER_LISTENERS.remove(record)
    # The head not known: the first append returns it, the second writes, in one statement.
    assert statements == [audit.APPEND, audit.APPEND]
    *_, key_fingerprint = parameters[audit.APPEND][:4]
    columns = parameters[audit.APPEND][4:]
    assert len(columns) == len(audit.INSERTED), "rows as column arrays: one SQL text"
    assert {len(column) for column in columns} == {30}, "30 rows in each array"
    assert key_fingerprint == fingerprint(buffer.chain_key), "checked by the INSERT itself"
    for pid in patients:
        buffer.disclose(pid, "CareContact", uuid.uuid4())
    async with count_statements(conn) as statements:
        assert await audit.flush(conn, buffer, principal, "Flush", chain=3) == 30
    assert statements == [audit.APPEND], "the head this process wrote: one statement"
    logged = await conn.execute(text("SELECT count(*) FROM audit_entry WHERE operation = 'Flush'"))
    assert logged.scalar() == 60


async def _racing_flushes(url: str) -> tuple[list[tuple[str, str]], bool]:
    """A second writer asks for a chain while the first holds it with an uncommitted entry;
    returns the chain's (prev_hash, hash) in id order and whether it verifies."""
    from app.db import create_engine

    engine = create_engine(url, pool_size=2)
    try:
        async with engine.connect() as first, engine.connect() as second:
            await first.begin()
            await write_entries(first, 1, chain=5)  # holds chain 5's lock until commit
            await second.begin()
            waiting = asyncio.create_task(write_entries(second, 1, chain=5))
            await asyncio.sleep(0.3)
            assert not waiting.done(), "the second writer waits for the chain's lock"
            await first.commit()
            await waiting
            await second.commit()
            rows = await second.execute(
                text("SELECT prev_hash, hash FROM audit_entry WHERE chain = 5 ORDER BY id")
            )
            links = [(r.prev_hash, r.hash) for r in rows]
            report = await verify_chain(second, KEY)
            await second.rollback()
            return links, report.ok
    finally:
        await engine.dispose()


def test_a_waiting_writer_chains_onto_the_head_committed_while_it_waited(
    fresh_database: Callable[[], str],
) -> None:
    """Lock and head are one statement (audit_chain_head): its read, after the wait, still
    sees the entry the lock's previous holder committed, so the chain does not fork."""
    from app import migrate

    url = fresh_database()
    migrate.upgrade(url)
    links, ok = asyncio.run(_racing_flushes(url))
    assert len(links) == 2
    assert links[0][0] == audit.GENESIS
    assert links[1][0] == links[0][1], "the second entry links to the first, committed meanwhile"
    assert ok
