"""The audit trail partitioned by month (migration 0018): entries land in their month, a write
never fails for want of a partition, maintenance creates months ahead and moves what landed in
the default, verify walks every partition, and archiving old months keeps the rest verifiable
(and its tampering detectable) through the cuts."""

from __future__ import annotations

import asyncio
import hashlib
import os
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection

from app import audit
from app.audit_archive import ArchiveRefused, archive
from app.audit_partitions import maintain
from app.audit_verify import Head, verify_chain
from app.cli import build_parser
from app.db import in_transaction
from app.partitions import month_partitions
from app.privacy_cli import audit_command
from app.settings import Settings
from tests.integration.test_audit_chain import KEY, PRINCIPAL, tamper

# The revision before 0018.
BEFORE_0018 = "0017_replica"
JAN, FEB, MAR = (datetime(2020, month, 10, 12, tzinfo=UTC) for month in (1, 2, 3))


async def write_at(
    conn: AsyncConnection,
    monkeypatch: pytest.MonkeyPatch,
    when: datetime,
    count: int = 2,
    *,
    chain: int = 0,
) -> list[int]:
    """`count` chained entries written at `when` (the flush's clock), as requests write them."""
    monkeypatch.setattr(audit, "utcnow", lambda: when)
    ids = []
    for _ in range(count):
        buffer = audit.AuditBuffer(chain_key=KEY)
        buffer.disclose(uuid.uuid4(), "CareDocument", uuid.uuid4())
        await audit.flush(conn, buffer, PRINCIPAL, "op", chain=chain)
        last = await conn.execute(text("SELECT max(id) FROM audit_entry"))
        ids.append(int(last.scalar_one()))
    monkeypatch.undo()
    return ids


async def partition_of(conn: AsyncConnection, entry_id: int) -> str:
    row = await conn.execute(
        text("SELECT tableoid::regclass::text FROM audit_entry WHERE id = :i"), {"i": entry_id}
    )
    return str(row.scalar_one())


async def three_months(conn: AsyncConnection, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Two chains with entries in January, February and March 2020, moved into their months."""
    ids = []
    for when in (JAN, FEB, MAR):
        ids += await write_at(conn, monkeypatch, when, chain=0)
        ids += await write_at(conn, monkeypatch, when, 1, chain=1)
    await maintain(conn)
    return ids


async def test_entries_land_in_the_partition_of_their_month(conn: AsyncConnection) -> None:
    [entry] = await write_at(conn, pytest.MonkeyPatch(), datetime.now(UTC), 1)
    assert await partition_of(conn, entry) == f"audit_entry_p{datetime.now(UTC):%Y%m}"


async def test_write_without_its_month_goes_to_default_and_maintain_moves_it(
    conn: AsyncConnection, monkeypatch: pytest.MonkeyPatch
) -> None:
    far = datetime(2031, 5, 1, 8, tzinfo=UTC)
    ids = await write_at(conn, monkeypatch, far, 3)
    assert {await partition_of(conn, i) for i in ids} == {"audit_entry_default"}
    done = await maintain(conn, months_ahead=1)
    assert done.moved == 3 and "audit_entry_p203105" in done.created
    assert {await partition_of(conn, i) for i in ids} == {"audit_entry_p203105"}
    assert f"audit_entry_p{datetime.now(UTC) + timedelta(days=31):%Y%m}" in (
        await month_partitions(conn, "audit_entry")
    )
    report = await verify_chain(conn, KEY)
    assert report.ok and report.checked == 3
    # The moved entries keep their ids, and the next one continues the chain.
    [after] = await write_at(conn, monkeypatch, far + timedelta(seconds=1), 1)
    assert after > ids[-1] and (await verify_chain(conn, KEY)).ok


async def test_maintain_creates_months_ahead_once(conn: AsyncConnection) -> None:
    later = datetime.now(UTC) + timedelta(days=400)
    first = await maintain(conn, months_ahead=2, now=later)
    assert len(first.created) == 3 and first.moved == 0
    assert (await maintain(conn, months_ahead=2, now=later)).created == []


async def test_every_partition_is_append_only_for_everybody_and_closed_to_the_api(
    conn: AsyncConnection, monkeypatch: pytest.MonkeyPatch
) -> None:
    await three_months(conn, monkeypatch)
    partition = "audit_entry_p202002"
    for statement in (f"DELETE FROM {partition}", f"TRUNCATE {partition}"):
        with pytest.raises(DBAPIError, match="append-only"):
            async with conn.begin_nested():
                await conn.execute(text(statement))
    await conn.execute(text("SET LOCAL ROLE vardkedja_api"))
    with pytest.raises(DBAPIError, match="permission denied"):
        async with conn.begin_nested():
            await conn.execute(text(f"SELECT count(*) FROM {partition}"))
    count = await conn.execute(text("SELECT count(*) FROM audit_entry"))
    assert count.scalar_one() == 9  # through the parent
    await conn.execute(text("RESET ROLE"))


async def test_verify_walks_across_partitions_and_finds_tampering_in_any(
    conn: AsyncConnection, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = await three_months(conn, monkeypatch)
    report = await verify_chain(conn, KEY, batch_size=2)
    assert report.ok and report.checked == 9
    assert {await partition_of(conn, i) for i in ids} == {
        "audit_entry_p202001",
        "audit_entry_p202002",
        "audit_entry_p202003",
    }
    february = ids[3]
    await tamper(conn, "UPDATE audit_entry SET outcome = 'denied' WHERE id = :i", i=february)
    assert [(p.kind, p.entry_id) for p in (await verify_chain(conn, KEY)).problems] == [
        ("changed", february)
    ]


async def test_archive_writes_the_months_records_the_cut_and_the_rest_verifies(
    conn: AsyncConnection, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    ids = await three_months(conn, monkeypatch)
    checkpoint = list((await verify_chain(conn, KEY)).heads.values())
    # A head checkpointed in January, archived since: accounted for by the cut.
    january = await conn.execute(text("SELECT hash FROM audit_entry WHERE id = :i"), {"i": ids[1]})
    checkpoint.append(Head(ids[1], january.scalar_one(), 0))
    done = await archive(conn, [KEY], FEB.replace(day=1, hour=0), tmp_path)
    assert done.partitions == ["audit_entry_p202001"] and done.entries == 3
    assert done.file is not None
    body = done.file.read_bytes()
    assert hashlib.sha256(body).hexdigest() == done.sha256
    sidecar = done.file.with_name(done.file.name + ".sha256").read_text()
    assert sidecar == f"{done.sha256}  {done.file.name}\n"
    assert [orjson.loads(line)["id"] for line in body.splitlines()] == ids[:3]
    assert "audit_entry_p202001" not in await month_partitions(conn, "audit_entry")
    report = await verify_chain(conn, KEY, checkpoint=checkpoint)
    assert report.ok, report.problems
    assert report.checked == 6
    assert {c: h.entry_id for c, h in report.cuts.items()} == {0: ids[1], 1: ids[2]}
    # Writing goes on after the cut.
    await write_at(conn, monkeypatch, datetime.now(UTC), 1)
    assert (await verify_chain(conn, KEY)).ok


async def test_after_archive_tampering_is_still_found(
    conn: AsyncConnection, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    ids = await three_months(conn, monkeypatch)
    await archive(conn, [KEY], FEB.replace(day=1, hour=0), tmp_path)
    first_kept = ids[3]  # chain 0's first entry of February

    async def problems() -> list[tuple[str, int]]:
        return [(p.kind, p.entry_id) for p in (await verify_chain(conn, KEY)).problems]

    # Deleting the first entry after the cut: the next one no longer links to the cut's chain.
    async with conn.begin_nested() as attempt:
        await tamper(conn, "DELETE FROM audit_entry WHERE id = :i", i=first_kept)
        assert await problems() == [("deleted", ids[4])]
        await attempt.rollback()
    # Moving the cut past a deleted entry: the cut's MAC no longer matches.
    async with conn.begin_nested() as attempt:
        await conn.execute(text("ALTER TABLE audit_cut DISABLE TRIGGER audit_cut_no_update"))
        await tamper(conn, "DELETE FROM audit_entry WHERE id = :i", i=first_kept)
        await conn.execute(
            text(
                "UPDATE audit_cut SET entry_id = :i, hash ="
                " (SELECT prev_hash FROM audit_entry WHERE id = :n) WHERE chain = 0"
            ),
            {"i": first_kept, "n": ids[4]},
        )
        assert ("changed", first_kept) in await problems()
        await attempt.rollback()
    # Deleting the cut: the chain starts over at the genesis, where its entry does not link.
    async with conn.begin_nested() as attempt:
        await conn.execute(text("ALTER TABLE audit_cut DISABLE TRIGGER audit_cut_no_update"))
        await conn.execute(text("DELETE FROM audit_cut WHERE chain = 1"))
        assert await problems() == [("deleted", ids[5])]
        await attempt.rollback()
    assert await problems() == []


async def test_a_chain_archived_whole_goes_on_from_its_cut(
    conn: AsyncConnection, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    await write_at(conn, monkeypatch, JAN, 2, chain=3)
    await maintain(conn)
    await archive(conn, [KEY], FEB.replace(day=1, hour=0), tmp_path)
    [entry] = await write_at(conn, monkeypatch, datetime.now(UTC), 1, chain=3)
    prev = await conn.execute(text("SELECT prev_hash FROM audit_entry WHERE id = :i"), {"i": entry})
    cut = await conn.execute(text("SELECT hash FROM audit_cut WHERE chain = 3"))
    assert prev.scalar_one() == cut.scalar_one() != audit.GENESIS
    assert (await verify_chain(conn, KEY)).ok


async def test_archive_refuses_a_broken_chain_and_entries_left_in_the_default(
    conn: AsyncConnection, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    before = FEB.replace(day=1, hour=0)
    ids = await three_months(conn, monkeypatch)
    await write_at(conn, monkeypatch, datetime(2019, 6, 1, tzinfo=UTC), 1, chain=7)
    with pytest.raises(ArchiveRefused, match="run `vardkedja audit maintain` first"):
        await archive(conn, [KEY], before, tmp_path)
    await maintain(conn)
    await tamper(conn, "UPDATE audit_entry SET outcome = 'denied' WHERE id = :i", i=ids[0])
    with pytest.raises(ArchiveRefused, match="broken"):
        await archive(conn, [KEY], before, tmp_path)
    assert "audit_entry_p202001" in await month_partitions(conn, "audit_entry")
    assert os.listdir(tmp_path) == []  # nothing written


async def test_a_chains_time_never_goes_back(
    conn: AsyncConnection, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A writer whose clock is behind the chain's head takes the head's time: a month boundary
    then never falls inside a chain (the cut of an archive is a prefix of every chain)."""
    [ahead] = await write_at(conn, monkeypatch, FEB, 1, chain=9)
    [behind] = await write_at(conn, monkeypatch, JAN, 1, chain=9)
    times = await conn.execute(
        text("SELECT occurred_at FROM audit_entry WHERE id IN (:a, :b) ORDER BY id"),
        {"a": ahead, "b": behind},
    )
    assert [t for (t,) in times] == [FEB, FEB]
    assert (await verify_chain(conn, KEY)).ok


def test_cli_archive_then_verify(
    fresh_database: Callable[[], str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from app import migrate

    url = fresh_database()
    migrate.upgrade(url)
    settings = Settings(database_url=url, data_dir=tmp_path, audit_key=KEY.decode())

    async def write(conn: AsyncConnection) -> list[int]:
        return await three_months(conn, pytest.MonkeyPatch())

    ids = asyncio.run(in_transaction(url, write))
    parser = build_parser()
    verify = parser.parse_args(["audit", "verify", "--checkpoint", str(tmp_path / "head")])
    assert audit_command(verify, settings) == 0
    folder = tmp_path / "archive"
    folder.mkdir()
    args = parser.parse_args(["audit", "archive", "--before", "2020-03", "--to", str(folder)])
    assert audit_command(args, settings) == 0
    out = capsys.readouterr().out
    assert "archived 6 entries of audit_entry_p202001, audit_entry_p202002" in out
    assert sorted(p.name for p in folder.iterdir()) == [
        "audit_entry_p202001-202002.jsonl",
        "audit_entry_p202001-202002.jsonl.sha256",
    ]
    assert audit_command(verify, settings) == 0
    assert "audit chain ok: 3 entries in 2 chain(s)" in capsys.readouterr().out
    assert Head.parse_all((tmp_path / "head").read_text())[0].entry_id == ids[-2]


def test_migration_moves_entries_into_months_and_back(fresh_database: Callable[[], str]) -> None:
    from app import migrate

    url = fresh_database()
    migrate.upgrade(url, BEFORE_0018)

    async def write(conn: AsyncConnection) -> None:
        # As the flush of 0012 wrote them: chained, on chains 0 and 4.
        for chain, when in ((0, JAN), (0, JAN), (4, datetime.now(UTC)), (4, datetime.now(UTC))):
            last = await conn.execute(
                text("SELECT hash FROM audit_entry WHERE chain = :c ORDER BY id DESC LIMIT 1"),
                {"c": chain},
            )
            prev = last.scalar() or audit.GENESIS
            content = audit.entry_content(
                PRINCIPAL,
                occurred_at=when,
                patient_id=uuid.uuid4(),
                action="read",
                outcome="disclosed",
                resources=[],
                operation="op",
                reason=None,
            )
            row = content | {"chain": chain, "prev_hash": prev}
            row |= {"hash": audit.entry_hash(prev, content, KEY), "resources": "[]"}
            names = ", ".join(row)
            values = ", ".join(f":{name}" for name in row)
            await conn.execute(text(f"INSERT INTO audit_entry ({names}) VALUES ({values})"), row)

    async def rows(conn: AsyncConnection) -> list[tuple[object, ...]]:
        found = await conn.execute(
            text("SELECT id, hash, tableoid::regclass::text FROM audit_entry ORDER BY id")
        )
        return [tuple(r) for r in found]

    async def verify(conn: AsyncConnection) -> bool:
        return (await verify_chain(conn, KEY)).ok

    asyncio.run(in_transaction(url, write))
    before = asyncio.run(in_transaction(url, rows))
    migrate.upgrade(url)
    after = asyncio.run(in_transaction(url, rows))
    this_month = f"audit_entry_p{datetime.now(UTC):%Y%m}"
    assert [r[:2] for r in after] == [r[:2] for r in before]
    assert [r[2] for r in after] == ["audit_entry_p202001"] * 2 + [this_month] * 2
    assert asyncio.run(in_transaction(url, verify))

    async def flush(conn: AsyncConnection) -> list[int]:
        return await write_at(conn, pytest.MonkeyPatch(), datetime.now(UTC), 1, chain=4)

    [added] = asyncio.run(in_transaction(url, flush))
    assert added == int(str(before[-1][0])) + 1  # the identity goes on where it stood
    assert asyncio.run(in_transaction(url, verify))
    migrate.downgrade(url, BEFORE_0018)
    back = asyncio.run(in_transaction(url, rows))
    assert [r[:2] for r in back] == [r[:2] for r in after] + [(added, back[-1][1])]
    assert {r[2] for r in back} == {"audit_entry"}
    migrate.upgrade(url)
    assert asyncio.run(in_transaction(url, verify))


def test_serve_start_creates_months_ahead_when_it_may_and_goes_on_when_it_may_not(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    from sqlalchemy.engine import make_url

    from app.audit_partitions import create_months_ahead

    assert asyncio.run(create_months_ahead(database_url, months_ahead=2)) == []  # all there
    role = f"vardkedja_test_api_{uuid.uuid4().hex[:8]}"

    async def admin(sql: str) -> None:
        await in_transaction(database_url, lambda conn: conn.execute(text(sql)))

    asyncio.run(admin(f"CREATE ROLE {role} LOGIN IN ROLE vardkedja_api"))
    try:
        as_api = make_url(database_url).set(username=role, password=None)
        url = as_api.render_as_string(hide_password=False)
        assert asyncio.run(create_months_ahead(url, months_ahead=40)) == []
        assert "audit partitions not created ahead" in caplog.text
    finally:
        asyncio.run(admin(f"DROP ROLE {role}"))
