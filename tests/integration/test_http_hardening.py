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
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, MutableMapping
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from app.db import ConnectionDatabase, Database, EmbeddedServer, PooledDatabase
from app.graphql_http import GRAPHQL_RESPONSE
from app.serving import TOO_LARGE
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
            fhir = await http.get(
                EVERYTHING.format(uuid.uuid4()),
                headers=headers | {"accept": "application/fhir+json"},
            )
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
                waiting = asyncio.gather(
                    *(http.post("/graphql", json=body, headers=headers) for _ in range(3))
                )
                # The waits do not hold up the event loop: others are answered meanwhile.
                await asyncio.sleep(0.05)
                health_started = time.monotonic()
                health = await http.get("/healthz")
                health_took = time.monotonic() - health_started
                full = await waiting
                waited = time.monotonic() - started
            again = await http.post("/graphql", json=body, headers=headers)
    assert [r.status_code for r in full] == [503] * 3
    assert full[0].json()["errors"][0]["extensions"]["code"] == "SERVICE_UNAVAILABLE"
    assert 0.25 < waited < 2.0
    assert health.status_code == 200 and health_took < 0.1
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
    # GraphQL execution's own logging (the planner, when on, logs its failure and declines to it).
    graphql_only = settings.model_copy(update={"planner": False})
    async with client_of(graphql_only, broken_search_path) as http:
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
    # The first statement (the patient found with the policy's facts) names no table it knows.
    assert 'relation "' in cause and '" does not exist' in cause
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
    from tests.integration.test_mutations_patients import REGISTER, new_patient

    async with count_statements(conn) as writes:
        for pnr in (patient.identifier, personnummer(serial=998)):
            inputs: dict[str, Any] = {"input": new_patient(personnummer=pnr)}
            response = await client.post("/graphql", json={"query": REGISTER, "variables": inputs})
            body = response.json()
            assert body["data"]["registerPatient"] is None
            assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert statements == [] and writes == []
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


# --- 4. rate limits per principal and per address: 429 RATE_LIMITED, Retry-After ------------


async def test_a_principal_over_its_rate_gets_429_and_others_do_not(
    conn: AsyncConnection, settings: Settings
) -> None:
    limited = settings.model_copy(update={"rate_limit_per_second": 0.5, "rate_limit_burst": 3})
    nurse = {"authorization": f"Bearer {nurse_token(settings)}"}
    patient = await create_patient(conn)
    own = {"authorization": f"Bearer {patient_token(settings, patient.identifier)}"}
    body = {"query": "{ __typename }"}
    async with client_of(limited, ConnectionDatabase(conn)) as http:
        statuses = [
            (await http.post("/graphql", json=body, headers=nurse)).status_code for _ in range(3)
        ]
        refused = await http.post("/graphql", json=body, headers=nurse)
        fhir = await http.get(EVERYTHING.format(uuid.uuid4()), headers=nurse)
        other = await http.post("/graphql", json=body, headers=own)
        health = [(await http.get("/healthz")).status_code for _ in range(20)]
    assert statuses == [200, 200, 200]
    assert refused.status_code == 429
    assert refused.headers["retry-after"] == "2"
    assert refused.json()["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
    # One set of buckets for every data route.
    assert fhir.status_code == 429 and fhir.headers["retry-after"] == "2"
    assert fhir.json()["issue"][0]["code"] == "throttled"
    assert other.status_code == 200
    assert health == [200] * 20


async def test_an_address_over_its_rate_gets_429_whoever_asks(
    conn: AsyncConnection, settings: Settings
) -> None:
    limited = settings.model_copy(
        update={"rate_limit_address_per_second": 1.0, "rate_limit_address_burst": 2}
    )
    nurse = {"authorization": f"Bearer {nurse_token(settings)}"}
    body = {"query": "{ __typename }"}
    async with client_of(limited, ConnectionDatabase(conn)) as http:
        first = [(await http.post("/graphql", json=body)).status_code for _ in range(2)]
        refused = await http.post("/graphql", json=body, headers=nurse)
        health = await http.get("/readyz")
    assert first == [200, 200]
    assert refused.status_code == 429 and refused.headers["retry-after"] == "1"
    assert refused.json()["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
    assert health.status_code == 200


# --- 5. purpose of use fits the principal's kind; headers are UTF-8 -------------------------


def patient_token(settings: Settings, pnr: str, **claims: Any) -> str:
    return mint(settings, kind="patient", subject=pnr, pnr=pnr, **claims)


@pytest.mark.parametrize(
    ("kind", "purpose"),
    [
        ("patient", "TREAT"),
        ("patient", "ETREAT"),
        ("proxy", "ADMIN"),
        ("research", "PATRQT"),
        ("clinician", "PATRQT"),
        ("clinician", "RESEARCH"),
        ("system", "TREAT"),
    ],
)
async def test_a_purpose_outside_the_principals_kind_is_refused_unaudited(
    conn: AsyncConnection, client: httpx.AsyncClient, settings: Settings, kind: str, purpose: str
) -> None:
    patient = await create_patient(conn)
    claims: dict[str, Any] = {
        "patient": {"pnr": patient.identifier},
        "proxy": {"pnr": personnummer(serial=123), "represents": patient.identifier},
        "research": {"client_id": "studie-1", "study": str(uuid.uuid4())},
        "clinician": {"care_unit": "SE2321000016-AKUT", "care_provider": "SE2321000016-RSTH"},
        "system": {},
    }[kind]
    token = mint(settings, kind=kind, subject=f"{kind}-1", **claims)
    headers = {"authorization": f"Bearer {token}", "x-purpose-of-use": purpose}
    if purpose == "ETREAT":
        headers["x-emergency-reason"] = "medvetslos"
    body = {"query": PATIENT, "variables": {"p": patient.identifier}}
    response = await client.post("/graphql", json=body, headers=headers)
    error = response.json()["errors"][0]
    if purpose == "ETREAT":  # refused earlier, by the emergency rule (A6): clinicians only
        assert (response.status_code, error["extensions"]["rule"]) == (400, "emergency_clinician")
    else:
        assert response.status_code == 403, response.text
        assert error["extensions"] == {
            "code": "PURPOSE_NOT_ALLOWED",
            "field": "X-Purpose-Of-Use",
            "rule": "purpose_for_kind",
        }
        assert f"purpose of use {purpose} is not allowed for a {kind}" in error["message"]
    assert "data" not in response.json()
    assert (await conn.execute(text("SELECT count(*) FROM audit_entry"))).scalar_one() == 0


async def test_a_purpose_claimed_in_the_token_is_checked_too(
    conn: AsyncConnection, client: httpx.AsyncClient, settings: Settings
) -> None:
    patient = await create_patient(conn)
    body = {"query": PATIENT, "variables": {"p": patient.identifier}}
    wrong = patient_token(settings, patient.identifier, purpose="TREAT")
    right = patient_token(settings, patient.identifier, purpose="PATRQT")
    refused = await client.post("/graphql", json=body, headers={"authorization": f"Bearer {wrong}"})
    assert refused.status_code == 403
    assert refused.json()["errors"][0]["extensions"]["code"] == "PURPOSE_NOT_ALLOWED"
    assert (await conn.execute(text("SELECT count(*) FROM audit_entry"))).scalar_one() == 0
    ok = await client.post("/graphql", json=body, headers={"authorization": f"Bearer {right}"})
    assert ok.json()["data"]["patient"]["personnummer"] == patient.identifier
    purposes = await conn.execute(text("SELECT DISTINCT purpose FROM audit_entry"))
    assert [r[0] for r in purposes] == ["PATRQT"]


@pytest.mark.parametrize("header", [b"x-emergency-reason", b"x-purpose-of-use", b"authorization"])
async def test_a_header_that_is_not_utf8_is_refused_by_name(
    conn: AsyncConnection, client: httpx.AsyncClient, settings: Settings, header: bytes
) -> None:
    patient = await create_patient(conn)
    sent = {
        b"authorization": f"Bearer {nurse_token(settings)}".encode(),
        b"x-purpose-of-use": b"ETREAT",
        b"x-emergency-reason": "Medvetslös".encode(),
    }
    sent[header] = b"Medvetsl\xf6s"  # Latin-1, not UTF-8
    body = {"query": PATIENT, "variables": {"p": patient.identifier}}
    response = await client.post("/graphql", json=body, headers=list(sent.items()))
    assert response.status_code == 400, response.text
    error = response.json()["errors"][0]
    name = "-".join(p.capitalize() for p in header.decode().split("-"))
    assert error["extensions"] == {"code": "BAD_REQUEST", "field": name, "rule": "utf8"}
    assert name in error["message"]
    fhir = await client.get(EVERYTHING.format(uuid.uuid4()), headers=list(sent.items()))
    assert fhir.status_code == 400
    assert fhir.json()["issue"][0]["details"]["coding"][0]["code"] == "BAD_REQUEST"
    assert (await conn.execute(text("SELECT count(*) FROM audit_entry"))).scalar_one() == 0


async def test_a_browser_sends_the_reason_as_an_rfc8187_ext_value(
    conn: AsyncConnection, client: httpx.AsyncClient, settings: Settings
) -> None:
    """fetch() cannot send UTF-8 in a header: `UTF-8''` + percent-encoded text is read as the
    reason itself; percent-encoded bytes that are not UTF-8 are refused like raw ones."""
    patient = await create_patient(conn)
    body = {"query": PATIENT, "variables": {"p": patient.identifier}}
    base = {"authorization": f"Bearer {nurse_token(settings)}", "x-purpose-of-use": "ETREAT"}
    ok = await client.post(
        "/graphql", json=body, headers=base | {"x-emergency-reason": "UTF-8''Medvetsl%C3%B6s"}
    )
    assert ok.status_code == 200, ok.text
    from app.auth import _reason

    assert _reason("UTF-8''Medvetsl%C3%B6s%20 vid  ankomst") == "Medvetslös vid ankomst"
    bad = await client.post(
        "/graphql", json=body, headers=base | {"x-emergency-reason": "UTF-8''Medvetsl%F6s"}
    )
    assert bad.status_code == 400
    assert bad.json()["errors"][0]["extensions"]["rule"] == "utf8"


# --- 6. header and body limits on a real uvicorn server -------------------------------------

SERVER = """
import sys, uvicorn
from app.main import create_app
from app.serving import uvicorn_options
from app.settings import Settings
settings = Settings(database_url=None, jwt_secret="x" * 40, max_header_bytes=32768)
app = create_app(settings, url="postgresql://nobody@127.0.0.1:1/none")
options = uvicorn_options(settings) if sys.argv[2] == "bounded" else {}
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", **options)
"""


@contextlib.contextmanager
def real_server(kind: str = "bounded") -> Iterator[tuple[int, int]]:
    """(port, pid) of a uvicorn server in its own process, stopped afterwards."""
    import subprocess
    import sys
    import time

    port = free_port()
    process = subprocess.Popen([sys.executable, "-c", SERVER, str(port), kind])
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
                break
            time.sleep(0.05)
        yield port, process.pid
    finally:
        process.terminate()
        process.wait(10)


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def send_big_header(port: int, size: int) -> tuple[bytes, int]:
    """Send a request whose one header is `size` bytes, stopping early if the server answers;
    (what the server answered, how many header bytes went out)."""
    import select

    chunk = b"a" * 65536
    sent = 0
    with socket.create_connection(("127.0.0.1", port), 5) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ")
        while sent < size:
            if select.select([sock], [], [], 0)[0]:
                break
            try:
                sock.sendall(chunk)
            except OSError:
                break
            sent += len(chunk)
        else:
            sock.sendall(b"\r\n\r\n")
        answer = b""
        with contextlib.suppress(OSError):
            while data := sock.recv(65536):
                answer += data
                if answer.endswith((TOO_LARGE, b'ok"}')):
                    break
    return answer, sent


def timed_health(port: int) -> tuple[int, float]:
    """(status, seconds) of GET /healthz on a fresh connection (a raw socket: a client
    library's own setup would dominate the time)."""
    import time

    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), 5) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        answer = b""
        while data := sock.recv(4096):
            answer += data
    took = time.monotonic() - started
    return int(answer.split(b" ", 2)[1]), took


def test_a_50_mb_header_gets_431_and_the_server_stays_small_and_responsive() -> None:
    with real_server() as (port, pid):
        assert timed_health(port)[0] == 200
        before = rss_kb(pid)
        answer, sent = send_big_header(port, 50 * 1024 * 1024)
        health, took = timed_health(port)
        grown_mb = (rss_kb(pid) - before) / 1024
        # A long but reasonable header (a big token) is still fine.
        normal = httpx.get(
            f"http://127.0.0.1:{port}/healthz", headers={"x-long": "b" * 16_000}, timeout=5
        )
    assert answer.startswith(b"HTTP/1.1 431 "), answer[:200]
    assert b"connection: close" in answer
    assert sent < 10 * 1024 * 1024  # stopped early (the rest sat in socket buffers)
    assert health == 200 and took < 0.1, took
    assert grown_mb < 10, grown_mb
    assert normal.status_code == 200


def test_bodies_over_the_limit_are_413_on_both_routes() -> None:
    big = b"{" + b" " * 1_100_000 + b"}"
    with real_server() as (port, _pid):
        graphql = httpx.post(
            f"http://127.0.0.1:{port}/graphql",
            content=big,
            headers={"content-type": "application/json"},
            timeout=10,
        )
        fhir = httpx.request(
            "GET",
            f"http://127.0.0.1:{port}{EVERYTHING.format(uuid.uuid4())}",
            content=big,
            timeout=10,
        )
        health, took = timed_health(port)
    assert graphql.status_code == 413
    assert graphql.json()["errors"][0]["extensions"]["code"] == "PAYLOAD_TOO_LARGE"
    assert fhir.status_code == 413
    assert fhir.json()["issue"][0]["details"]["coding"][0]["code"] == "PAYLOAD_TOO_LARGE"
    assert health == 200 and took < 0.1


# --- 7. a ceiling on work per request: time, response size, a client that goes away --------


@contextlib.asynccontextmanager
async def patient_table_locked(database_url: str) -> AsyncIterator[Any]:
    """Another session holds the patient table and the tables of the policy's facts: every
    statement reading them waits."""
    import asyncpg

    from app.db import to_plain_url

    holder = await asyncpg.connect(to_plain_url(database_url))
    transaction = holder.transaction()
    await transaction.start()
    await holder.execute(
        "LOCK TABLE patient, care_relationship, assignment, care_unit, practitioner"
        " IN ACCESS EXCLUSIVE MODE"
    )
    try:
        yield holder
    finally:
        await transaction.rollback()
        await holder.close()


async def audit_count(holder: Any) -> int:
    return int(await holder.fetchval("SELECT count(*) FROM audit_entry"))


@pytest.mark.parametrize("where", ["connection", "set_local"])
async def test_a_request_over_the_statement_timeout_is_504_and_writes_nothing(
    database_url: str, settings: Settings, caplog: pytest.LogCaptureFixture, where: str
) -> None:
    """The timeout set on the pool's connections when they open (production), or by SET LOCAL
    in the request's transaction (any other database)."""
    import time

    quick = settings.model_copy(update={"statement_timeout": 0.3})
    headers = {"authorization": f"Bearer {nurse_token(settings)}", "accept": GRAPHQL_RESPONSE}
    bodies = [
        {"query": PATIENT, "variables": {"p": personnummer()}},
        {"operationName": "EmergencyOverview", "variables": {"personnummer": personnummer()}},
    ]
    on_connection = 0.3 if where == "connection" else 0
    async with (
        pooled(database_url, statement_timeout=on_connection) as db,
        client_of(quick, db) as http,
        patient_table_locked(database_url) as holder,
    ):
        before = await audit_count(holder)
        with caplog.at_level(logging.INFO):
            for body in bodies:
                started = time.monotonic()
                response = await http.post("/graphql", json=body, headers=headers)
                took = time.monotonic() - started
                assert response.status_code == 504, response.text
                error = response.json()["errors"][0]
                assert error["extensions"] == {"code": "REQUEST_TIMEOUT"}
                assert "0.3 s" in error["message"]
                assert "data" not in response.json()
                assert took < 3, took
        assert await audit_count(holder) == before
    logged = errors_of(caplog)
    assert len(logged) == 2 and all("statement timeout" in r.getMessage() for r in logged)
    assert all(r.exc_info is None for r in logged)


async def test_an_answer_over_the_size_ceiling_is_refused_and_not_audited(
    conn: AsyncConnection, settings: Settings
) -> None:
    patient = await create_patient(conn, family_name="L" * 90)
    headers = {"authorization": f"Bearer {patient_token(settings, patient.identifier)}"}
    body = {"query": PATIENT, "variables": {"p": patient.identifier}}
    small = settings.model_copy(update={"max_response_bytes": 150})
    async with client_of(small, ConnectionDatabase(conn)) as http:
        refused = await http.post("/graphql", json=body, headers=headers)
    assert refused.status_code == 422
    error = refused.json()["errors"][0]
    assert error["extensions"]["code"] == "RESPONSE_TOO_LARGE"
    assert error["extensions"]["limit"] == 150 and error["extensions"]["size"] > 150
    assert "L" * 90 not in refused.text
    assert (await conn.execute(text("SELECT count(*) FROM audit_entry"))).scalar_one() == 0
    # Under the default ceiling the same request answers and its disclosure is audited.
    async with client_of(settings, ConnectionDatabase(conn)) as http:
        answered = await http.post("/graphql", json=body, headers=headers)
    assert answered.json()["data"]["patient"]["familyName"] == "L" * 90
    assert (await conn.execute(text("SELECT count(*) FROM audit_entry"))).scalar_one() == 1


async def test_a_planned_answer_over_the_size_ceiling_is_refused_and_not_audited(
    conn: AsyncConnection, settings: Settings
) -> None:
    from tests.integration.privacy_world import build_world
    from tests.integration.test_planned_emergency import rich_record
    from tests.integration.test_planned_http import clinician_token

    w = await build_world(conn)
    await rich_record(conn, w)
    headers = {"authorization": f"Bearer {clinician_token(settings, w)}"}
    body = {
        "operationName": "EmergencyOverview",
        "variables": {"personnummer": w.patient.identifier},
    }
    small = settings.model_copy(update={"max_response_bytes": 300})
    async with client_of(small, ConnectionDatabase(conn)) as http:
        refused = await http.post("/graphql", json=body, headers=headers)
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["extensions"]["code"] == "RESPONSE_TOO_LARGE"
    assert (await conn.execute(text("SELECT count(*) FROM audit_entry"))).scalar_one() == 0


def leaving_client(body: bytes) -> Callable[[], Awaitable[MutableMapping[str, Any]]]:
    """An ASGI receive: the request's body, then, half a second later, the client hangs up."""
    messages: list[MutableMapping[str, Any]] = [
        {"type": "http.request", "body": body, "more_body": False}
    ]

    async def receive() -> MutableMapping[str, Any]:
        import asyncio

        if messages:
            return messages.pop()
        await asyncio.sleep(0.5)
        return {"type": "http.disconnect"}

    return receive


async def ignore(message: MutableMapping[str, Any]) -> None:
    return None


async def test_a_client_that_goes_away_stops_its_statement_and_transaction(
    database_url: str, settings: Settings
) -> None:
    import asyncio
    import time

    from app.main import create_app

    patient_wait = settings.model_copy(update={"statement_timeout": 30})
    token = nurse_token(settings)
    fhir_path = EVERYTHING.format(uuid.uuid4())
    for method, path, body in (
        ("POST", "/graphql", {"query": PATIENT, "variables": {"p": personnummer()}}),
        (
            "POST",
            "/graphql",
            {"operationName": "EmergencyOverview", "variables": {"personnummer": personnummer()}},
        ),
        ("GET", fhir_path, None),
    ):
        raw = b"" if body is None else httpx.Request("POST", "/", json=body).content
        async with pooled(database_url) as db, patient_table_locked(database_url) as holder:
            app = create_app(patient_wait, db=db)
            receive = leaving_client(raw)
            scope = {
                "type": "http",
                "asgi": {"version": "3.0"},
                "http_version": "1.1",
                "method": method,
                "scheme": "http",
                "path": path,
                "raw_path": path.encode(),
                "query_string": b"",
                "root_path": "",
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"authorization", f"Bearer {token}".encode()),
                    (b"host", b"test"),
                ],
                "client": ("127.0.0.1", 5000),
                "server": ("127.0.0.1", 80),
            }
            started = time.monotonic()
            await asyncio.wait_for(app(scope, receive, ignore), 10)
            took = time.monotonic() - started
            waiting = await holder.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                " AND datname = current_database()"
            )
            in_transaction = await holder.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE pid <> pg_backend_pid()"
                " AND state LIKE 'idle in transaction%' AND datname = current_database()"
            )
            assert 0.5 <= took < 3, took
            assert waiting == 0 and in_transaction == 0
            assert await audit_count(holder) == 0
