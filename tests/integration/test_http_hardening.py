"""The public endpoint when things go wrong: the database away or its pool full (503, one log
line per outage), an internal error (its cause logged first, once), anonymous callers (no SQL,
no audit row, one answer)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import socket
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from app.db import ConnectionDatabase, Database, EmbeddedServer, PooledDatabase
from app.graphql_http import GRAPHQL_RESPONSE
from app.settings import Settings
from app.tokens import mint
from tests.factories import create_patient, personnummer
from tests.sqlcount import count_statements

PATIENT = "query($p: String!) { patient(personnummer: $p) { personnummer familyName } }"
EVERYTHING = "/fhir/Patient/{}/$everything"


def nurse_token(settings: Settings) -> str:
    return mint(
        settings,
        kind="clinician",
        subject="SE2321000016-SSK1",
        role="sjukskoterska",
        care_unit="SE2321000016-AKUT",
        care_provider="SE2321000016-RSTH",
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.asynccontextmanager
async def client_of(settings: Settings, db: Database) -> AsyncIterator[httpx.AsyncClient]:
    from app.main import create_app

    transport = httpx.ASGITransport(app=create_app(settings, db=db))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield http


@contextlib.asynccontextmanager
async def pooled(url: str, **kw: Any) -> AsyncIterator[PooledDatabase]:
    db = PooledDatabase(url, **kw)
    db.start()
    try:
        yield db
    finally:
        await db.stop()


def errors_of(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.levelno >= logging.WARNING]


# --- 1. database unavailable: 503 SERVICE_UNAVAILABLE, Retry-After, one line per outage ------


async def test_database_down_is_503_on_every_path_with_one_log_line(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    url = f"postgresql://vardkedja@127.0.0.1:{free_port()}/vardkedja"
    headers = {"authorization": f"Bearer {nurse_token(settings)}", "accept": GRAPHQL_RESPONSE}
    shipped = {"operationName": "EmergencyOverview", "variables": {"personnummer": personnummer()}}
    async with pooled(url, pool_timeout=2, retry_after=7) as db, client_of(settings, db) as http:
        with caplog.at_level(logging.INFO):
            lookup = {"query": PATIENT, "variables": {"p": personnummer()}}
            answers = []
            for _ in range(5):
                for body in ({"query": "{ __typename }"}, shipped, lookup):
                    answers.append(await http.post("/graphql", json=body, headers=headers))
            fhir = await http.get(EVERYTHING.format(uuid.uuid4()), headers=headers)
    for response in answers:
        assert response.status_code == 503, response.text
        assert response.headers["retry-after"] == "7"
        assert response.json() == {
            "errors": [
                {
                    "message": "the service is temporarily unavailable; retry later",
                    "extensions": {"code": "SERVICE_UNAVAILABLE"},
                }
            ]
        }
    assert fhir.status_code == 503 and fhir.headers["retry-after"] == "7"
    assert fhir.json()["issue"][0]["details"]["coding"][0]["code"] == "SERVICE_UNAVAILABLE"
    logged = errors_of(caplog)
    assert [r.getMessage().split(":")[0] for r in logged] == ["database unavailable"]
    assert "Connect call failed" in logged[0].getMessage() or "refused" in logged[0].getMessage()
    assert all(r.exc_info is None for r in caplog.records)


@pytest.fixture
def own_server() -> Iterator[EmbeddedServer]:
    """A PostgreSQL of this test's own, which it may stop and start."""
    folder = Path(tempfile.mkdtemp(prefix="vardkedja-outage-"))
    folder.chmod(0o755)
    server = EmbeddedServer(folder / "pgdata")
    yield server
    server.stop()
    shutil.rmtree(folder, ignore_errors=True)


async def test_an_outage_is_logged_when_it_begins_and_when_it_ends(
    own_server: EmbeddedServer, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    url = await asyncio.to_thread(own_server.start)
    headers = {"authorization": f"Bearer {nurse_token(settings)}"}
    body = {"query": "{ __typename }"}
    async with pooled(url, pool_timeout=2) as db, client_of(settings, db) as http:
        with caplog.at_level(logging.INFO):
            assert (await http.post("/graphql", json=body, headers=headers)).status_code == 200
            await asyncio.to_thread(own_server.stop)
            down = [await http.post("/graphql", json=body, headers=headers) for _ in range(20)]
            assert {r.status_code for r in down} == {503}
            assert all(r.headers["retry-after"] == "5" for r in down)
            await asyncio.to_thread(own_server.start)
            statuses = [(await http.post("/graphql", json=body, headers=headers)).status_code]
            # A connection the pool held across the restart may fail once; then all is well.
            statuses += [
                (await http.post("/graphql", json=body, headers=headers)).status_code
                for _ in range(5)
            ]
    assert statuses[1:] == [200] * 5 and statuses[0] in (200, 503)
    logged = [r.getMessage() for r in errors_of(caplog)]
    assert len(logged) == 2, logged
    assert logged[0].startswith("database unavailable: ")
    assert logged[1].startswith("database available again after ")
    assert all(r.exc_info is None for r in caplog.records)


async def test_a_full_pool_waits_a_bounded_time_then_is_503(
    database_url: str, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    import time

    headers = {"authorization": f"Bearer {nurse_token(settings)}"}
    body = {"query": "{ __typename }"}
    async with (
        pooled(database_url, pool_size=1, pool_timeout=0.3) as db,
        client_of(settings, db) as http,
    ):
        with caplog.at_level(logging.INFO):
            # pool_size 1 allows one overflow connection: hold both.
            async with db.transaction(), db.transaction():
                started = time.monotonic()
                full = [await http.post("/graphql", json=body, headers=headers) for _ in range(3)]
                waited = (time.monotonic() - started) / 3
            again = await http.post("/graphql", json=body, headers=headers)
    assert [r.status_code for r in full] == [503] * 3
    assert full[0].json()["errors"][0]["extensions"]["code"] == "SERVICE_UNAVAILABLE"
    assert 0.25 < waited < 2.0
    assert again.status_code == 200
    logged = [r.getMessage() for r in errors_of(caplog)]
    assert logged == [logged[0], logged[1]] and "no free database connection" in logged[0]
    assert logged[1].startswith("database available again")


# --- 2. an internal error's cause is logged first, once ------------------------------------


@pytest.fixture
async def broken_search_path(conn: AsyncConnection) -> AsyncIterator[Database]:
    """Requests whose statements fail: the tables are not on the search path."""

    class Broken:
        @contextlib.asynccontextmanager
        async def transaction(self) -> AsyncIterator[AsyncConnection]:
            async with ConnectionDatabase(conn).transaction() as c:
                await c.execute(text("SET LOCAL search_path TO no_such_schema"))
                yield c

    yield Broken()


async def test_a_failing_statement_is_logged_with_its_traceback_before_the_audit_failure(
    conn: AsyncConnection,
    broken_search_path: Database,
    settings: Settings,
    caplog: pytest.LogCaptureFixture,
) -> None:
    patient = await create_patient(conn)
    headers = {"authorization": f"Bearer {nurse_token(settings)}", "accept": GRAPHQL_RESPONSE}
    body = {"query": PATIENT, "variables": {"p": patient.identifier}}
    async with client_of(settings, broken_search_path) as http:
        with caplog.at_level(logging.INFO):
            response = await http.post("/graphql", json=body, headers=headers)
    assert response.status_code == 500
    assert response.json() == {
        "errors": [
            {"message": "Internal server error", "extensions": {"code": "INTERNAL_SERVER_ERROR"}}
        ]
    }
    # One record: the failing statement, with its traceback; not the aborted audit write.
    logged = errors_of(caplog)
    assert len(logged) == 1, [r.getMessage() for r in logged]
    assert logged[0].exc_info is not None
    cause = str(logged[0].exc_info[1])
    assert 'relation "patient" does not exist' in cause
    assert (await conn.execute(text("SELECT count(*) FROM audit_entry"))).scalar_one() == 0


# --- 3. anonymous callers: no SQL, no audit row, one answer -------------------------------


async def test_anonymous_answers_do_not_tell_whether_a_person_exists(
    conn: AsyncConnection, client: httpx.AsyncClient
) -> None:
    patient = await create_patient(conn)
    before = (await conn.execute(text("SELECT count(*) FROM audit_entry"))).scalar_one()
    answers = []
    async with count_statements(conn) as statements:
        for query, variables in (
            (PATIENT, {"p": patient.identifier}),
            (PATIENT, {"p": personnummer(serial=999)}),
            ("{ patients(first: 5) { totalCount } }", {}),
            ("mutation { __typename }", {}),
        ):
            response = await client.post("/graphql", json={"query": query, "variables": variables})
            answers.append(
                (response.status_code, response.headers.get("www-authenticate"), response.json())
            )
    assert answers[0] == answers[1] == answers[2]
    assert answers[0] == (
        401,
        "Bearer",
        {
            "errors": [
                {
                    "message": "a token is needed to read or write data",
                    "extensions": {"code": "UNAUTHENTICATED"},
                }
            ]
        },
    )
    assert answers[3][0] == 200  # no data asked for: introspection still answers
    assert statements == []
    after = (await conn.execute(text("SELECT count(*) FROM audit_entry"))).scalar_one()
    assert after == before


async def test_anonymous_validation_errors_still_come_first(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/graphql",
        json={"query": "{ patient(personnummer: 1) { nope } }"},
        headers={"accept": GRAPHQL_RESPONSE},
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
