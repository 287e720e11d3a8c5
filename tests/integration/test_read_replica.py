"""Read replica routing against a real streaming standby (tests/integration/standby.py starts
a primary and a `pg_basebackup -R` copy of it): queries read from the standby and their audit
entries land on the primary; a mutation's answer carries its write position, and a query that
sends it back reads its own write (from the primary while the standby lags, from the standby
once it has replayed it)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import asyncpg
import httpx
import pytest

from app import migrate
from app.audit_verify import verify_chain
from app.db import PooledDatabase, create_engine, driver_fetch
from app.graphql_http import GRAPHQL_RESPONSE
from app.replicas import LSN_FORMAT, LSN_HEADER, ReplicaSet
from schema.ids import encode_id
from schema.persisted import REGISTRY
from tests.integration.privacy_world import World
from tests.integration.standby import Pair, running_pair, start_standby, stop_standby
from tests.integration.test_pgbouncer import AUDIT_KEY, _serve, _stop, _world
from tests.integration.test_subscriptions import WRITE, clinician

READ = """query ReplicaRead($id: ID!) {
  patient(id: $id) { documents(first: 50) { nodes { title } } } }"""
WAIT = 0.4  # VARDKEDJA_REPLICA_WAIT of the server under test


@pytest.fixture(scope="module")
def pair() -> Iterator[Pair]:
    with running_pair() as started:
        migrate.upgrade(started.primary_url)
        yield started


@pytest.fixture(scope="module")
def world(pair: Pair) -> World:
    return asyncio.run(_world(pair.primary_url))


@pytest.fixture(scope="module")
def server(pair: Pair, world: World) -> Iterator[str]:
    settings = {"VARDKEDJA_REPLICA_URLS": pair.standby_url, "VARDKEDJA_REPLICA_WAIT": str(WAIT)}
    process, base = _serve(pair.primary_url, settings)
    yield base
    _stop(process)


async def _fetch(url: str, sql: str, *args: Any) -> Any:
    conn = await asyncpg.connect(url)
    try:
        return await conn.fetchval(sql, *args)
    finally:
        await conn.close()


def fetch(url: str, sql: str, *args: Any) -> Any:
    return asyncio.run(_fetch(url, sql, *args))


def _caught_up(pair: Pair) -> None:
    """Wait until the standby has replayed everything the primary has written so far."""
    lsn = fetch(pair.primary_url, "SELECT pg_current_wal_lsn()")
    deadline = time.monotonic() + 30
    while not fetch(pair.standby_url, "SELECT pg_last_wal_replay_lsn() >= $1", lsn):
        assert time.monotonic() < deadline, "the standby did not catch up"
        time.sleep(0.05)


def _post(
    base: str, w: World, body: dict[str, Any], lsn: str | None = None, verify: Any = True
) -> httpx.Response:
    headers = {"authorization": f"Bearer {clinician(w)}", "accept": GRAPHQL_RESPONSE}
    if lsn is not None:
        headers[LSN_HEADER] = lsn
    return httpx.post(f"{base}/graphql", json=body, headers=headers, timeout=30, verify=verify)


def _write(base: str, w: World, title: str, verify: Any = True) -> str:
    document = {
        "patientId": encode_id("Patient", w.patient.id),
        "documentType": "besoksanteckning",
        "title": title,
        "text": "Skriven på primären",
    }
    answer = _post(base, w, {"query": WRITE, "variables": {"input": document}}, verify=verify)
    assert answer.status_code == 200 and "errors" not in answer.json(), answer.text
    assert answer.json()["data"]["writeCareDocument"]["userErrors"] == []
    lsn = answer.headers[LSN_HEADER]
    assert LSN_FORMAT.fullmatch(lsn)
    return lsn


def _titles(base: str, w: World, lsn: str | None = None, verify: Any = True) -> set[str]:
    variables = {"id": encode_id("Patient", w.patient.id)}
    body = {"query": READ, "variables": variables, "operationName": "ReplicaRead"}
    answer = _post(base, w, body, lsn, verify)
    assert answer.status_code == 200 and "errors" not in answer.json(), answer.text
    assert LSN_HEADER not in answer.headers  # only a write hands out a position
    nodes = answer.json()["data"]["patient"]["documents"]["nodes"]
    return {node["title"] for node in nodes}


def _audited(url: str, operation: str | None = None) -> int:
    """Audit entries of `operation` (of any, when None)."""
    sql = "SELECT count(*) FROM audit_entry WHERE $1::text IS NULL OR operation = $1"
    return int(fetch(url, sql, operation))


def test_queries_read_the_standby_and_read_their_own_writes(
    pair: Pair, world: World, server: str
) -> None:
    _caught_up(pair)
    fetch(pair.standby_url, "SELECT pg_wal_replay_pause()")
    try:
        first = _write(server, world, "Medan standbyn står still")
        before = _audited(pair.primary_url, "ReplicaRead")
        # Without the position: read from the standby, which has not replayed the write ...
        assert "Medan standbyn står still" not in _titles(server, world)
        # ... and its audit entry was written on the primary (the paused standby has none).
        assert _audited(pair.primary_url, "ReplicaRead") == before + 1
        assert _audited(pair.standby_url, "ReplicaRead") == 0
        # With it: the standby does not get there within the bound, so the primary answers.
        started = time.monotonic()
        assert "Medan standbyn står still" in _titles(server, world, first)
        assert time.monotonic() - started >= WAIT * 0.9
        # A planned persisted operation runs on the standby as well, audited on the primary.
        emergency = REGISTRY.by_name["EmergencyOverview"]
        overview_before = _audited(pair.primary_url)
        variables = {"personnummer": world.patient.identifier}
        body = {"documentId": emergency.document_id, "variables": variables}
        answer = _post(server, world, body)
        assert answer.status_code == 200 and "errors" not in answer.json(), answer.text
        assert answer.json()["data"]["patient"] is not None
        assert _audited(pair.primary_url) == overview_before + 1
    finally:
        fetch(pair.standby_url, "SELECT pg_wal_replay_resume()")
    _caught_up(pair)
    # Replayed: the same position now reads from the standby, which is shown by pausing it
    # again and writing once more without keeping the new position: the standby's answer has
    # the first write and not the second, which the primary would have shown.
    fetch(pair.standby_url, "SELECT pg_wal_replay_pause()")
    try:
        _write(server, world, "Skriven efter andra pausen")
        titles = _titles(server, world, first)
        assert "Medan standbyn står still" in titles
        assert "Skriven efter andra pausen" not in titles
    finally:
        fetch(pair.standby_url, "SELECT pg_wal_replay_resume()")


def test_the_audit_chain_on_the_primary_verifies(pair: Pair, server: str, world: World) -> None:
    _titles(server, world)  # at least one read audited from the standby

    async def check() -> tuple[bool, int]:
        engine = create_engine(pair.primary_url, pool_size=1)
        try:
            async with engine.connect() as conn:
                report = await verify_chain(conn, AUDIT_KEY)
                return report.ok, report.checked
        finally:
            await engine.dispose()

    ok, checked = asyncio.run(check())
    assert ok and checked > 0


def test_a_malformed_position_is_a_request_error(server: str, world: World) -> None:
    answer = _post(server, world, {"query": READ, "variables": {"id": "x"}}, "not-a-position")
    assert answer.status_code == 400
    assert answer.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"


def test_the_routing_reads_a_server_in_recovery(pair: Pair) -> None:
    async def where(after: str | None) -> bool:
        primary = PooledDatabase(pair.primary_url, pool_size=1)
        standby = PooledDatabase(pair.standby_url, pool_size=1)
        replicas = ReplicaSet(primary, [standby], wait=0.05)
        primary.start()
        replicas.start()
        try:
            db = await replicas.for_query(after)
            async with db.transaction() as conn:
                rows = await driver_fetch(conn, "SELECT pg_is_in_recovery() AS standby", ())
                return bool(rows[0]["standby"])
        finally:
            await replicas.stop()
            await primary.stop()

    assert asyncio.run(where(None)) is True
    replayed = fetch(pair.standby_url, "SELECT pg_last_wal_replay_lsn()::text")
    assert asyncio.run(where(replayed)) is True
    # A position the standby has not reached (far ahead): the primary, after the bound.
    assert asyncio.run(where("FF/0")) is False


def test_a_standby_that_is_down_leaves_queries_to_the_primary(
    pair: Pair, world: World, server: str
) -> None:
    before = _titles(server, world)
    stop_standby(pair)
    try:
        # Refused connections (a stopped server): the primary answers, without and with a
        # position; the write just made is there, so it was the primary.
        assert _titles(server, world) >= before
        lsn = _write(server, world, "Medan standbyn är nere")
        assert "Medan standbyn är nere" in _titles(server, world)
        assert "Medan standbyn är nere" in _titles(server, world, lsn)
    finally:
        start_standby(pair)
    _caught_up(pair)
    assert "Medan standbyn är nere" in _titles(server, world)
