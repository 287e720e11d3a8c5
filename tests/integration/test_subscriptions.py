"""Subscriptions over graphql-transport-ws against two real uvicorn processes on one database:
a change committed through one process is delivered by the other, decided by the policy at send
time and audited; authentication in connection_init; an expired token closes the socket."""

from __future__ import annotations

import asyncio
import io
import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import websockets
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from websockets.typing import Subprotocol

from app import migrate, models
from app.db import create_engine
from app.settings import Settings
from app.tokens import mint
from schema.ids import encode_id
from tests import factories as f
from tests.conftest import TEST_SECRET
from tests.integration.privacy_world import World, build_world

ROOT = Path(__file__).resolve().parents[2]
PROTOCOL = Subprotocol("graphql-transport-ws")
SETTINGS = Settings(jwt_secret=TEST_SECRET, database_url=None)
WATCH = """subscription($id: ID!) { recordChanged(patientId: $id) {
  kind category recordId tombstone accessChanged
  record { __typename ... on CareDocument { title careUnit { name } } } } }"""
MINE = """subscription { myRecordChanged(categories: [CARE_DOCUMENT]) {
  kind category recordId tombstone record { ... on CareDocument { title } } } }"""
WRITE = """mutation($input: WriteCareDocumentInput!) {
  writeCareDocument(input: $input) { careDocument { id } userErrors { field code } } }"""


def _json(message: dict[str, Any]) -> str:
    return orjson.dumps(message).decode()  # a text frame, as the protocol requires


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    port: int
    process: subprocess.Popen[bytes]

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws(self) -> str:
        return f"ws://127.0.0.1:{self.port}/graphql"

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def _start(url: str) -> Server:
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.integration.live_server", url, str(port)],
        cwd=ROOT,
        env=os.environ | {"PYTHONPATH": str(ROOT)},
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return Server(port, process)
        except httpx.HTTPError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError("the live server did not start")


@pytest.fixture(scope="module")
def live_url(fresh_database: Callable[[], str]) -> str:
    url = fresh_database()
    migrate.upgrade(url)
    return url


@contextmanager
def two_servers(url: str) -> Iterator[tuple[Server, Server]]:
    """Two server processes on one database, stopped when the block ends."""
    started = [_start(url), _start(url)]
    try:
        yield started[0], started[1]
    finally:
        for server in started:
            server.stop()


@pytest.fixture(scope="module")
def servers(live_url: str) -> Iterator[tuple[Server, Server]]:
    with two_servers(live_url) as both:
        yield both


@pytest.fixture
async def committed(live_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(live_url, pool_size=1)
    yield engine
    await engine.dispose()


async def _world(engine: AsyncEngine) -> World:
    async with engine.begin() as conn:
        return await build_world(conn)


def clinician(w: World, **kw: Any) -> str:
    claims = {"care_unit": w.u.hsa_id, "care_provider": w.a.hsa_id, "name": "Doktor Live"} | kw
    return mint(SETTINGS, kind="clinician", subject=w.x.hsa_id, **claims)


def patient(w: World, **kw: Any) -> str:
    pnr = w.patient.identifier
    return mint(SETTINGS, kind="patient", subject=pnr, pnr=pnr, **kw)


async def _open(server: Server, token: str) -> Any:
    ws = await websockets.connect(server.ws, subprotocols=[PROTOCOL])
    await ws.send(
        _json({"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}})
    )
    ack = orjson.loads(await asyncio.wait_for(ws.recv(), 10))
    assert ack["type"] == "connection_ack", ack
    return ws


async def _subscribe(ws: Any, query: str, variables: dict[str, Any] | None = None) -> None:
    payload: dict[str, Any] = {"query": query}
    if variables:
        payload["variables"] = variables
    message = {"id": "1", "type": "subscribe", "payload": payload}
    await ws.send(_json(message))
    await asyncio.sleep(1.0)  # the subscription registers with the listener (no ack exists)


async def _next(ws: Any) -> dict[str, Any]:
    while True:
        message = orjson.loads(await asyncio.wait_for(ws.recv(), 15))
        if message["type"] == "ping":
            await ws.send(_json({"type": "pong"}))
            continue
        assert message["type"] == "next", message
        payload: dict[str, Any] = message["payload"]
        assert "errors" not in payload, payload
        data: dict[str, Any] = payload["data"]
        return data


async def _doc(engine: AsyncEngine, w: World, unit: models.CareUnit, **kw: Any) -> Any:
    async with engine.begin() as conn:
        return await f.create_clinical(conn, models.CareDocument, w.patient, unit, **kw)


async def test_a_write_through_one_process_reaches_a_clinician_on_the_other(
    servers: tuple[Server, Server], committed: AsyncEngine
) -> None:
    writer, watcher = servers
    w = await _world(committed)
    ws = await _open(watcher, clinician(w))
    try:
        await _subscribe(ws, WATCH, {"id": encode_id("Patient", w.patient.id)})
        async with httpx.AsyncClient(base_url=writer.http) as http:
            response = await http.post(
                "/graphql",
                json={
                    "query": WRITE,
                    "variables": {
                        "input": {
                            "patientId": encode_id("Patient", w.patient.id),
                            "documentType": "besoksanteckning",
                            "title": "Live-anteckning",
                            "text": "Skriven i process A",
                        }
                    },
                },
                headers={"authorization": f"Bearer {clinician(w)}"},
            )
        written = response.json()["data"]["writeCareDocument"]
        assert written["userErrors"] == []
        change = (await _next(ws))["recordChanged"]
        assert change["recordId"] == written["careDocument"]["id"]
        assert change["kind"] == "CREATED" and change["tombstone"] is False
        assert change["record"]["title"] == "Live-anteckning"
        assert change["record"]["careUnit"]["name"] == "VC U"
        # Provider B's note, without the patient's consent (A4): decided at send time.
        hidden = await _doc(committed, w, w.v, title="HEMLIG-LIVE")
        raw = await asyncio.wait_for(ws.recv(), 15)
        assert b"HEMLIG-LIVE" not in (raw if isinstance(raw, bytes) else raw.encode())
        tomb = orjson.loads(raw)["payload"]["data"]["recordChanged"]
        assert tomb["recordId"] == encode_id("CareDocument", hidden.id, w.patient.id)
        assert tomb["tombstone"] is True and tomb["record"] is None
    finally:
        await ws.close()
    await asyncio.sleep(0.5)
    async with committed.connect() as conn:
        audited = await _audited(conn, w, "recordChanged")
    doc_id = (await _doc_ids(committed, w, "Live-anteckning"))[0]
    assert f"CareDocument:{doc_id}" in audited


async def _audited(conn: AsyncConnection, w: World, operation: str) -> set[str]:
    rows = await conn.execute(
        text(
            "SELECT resources FROM audit_entry WHERE patient_id = :p AND operation = :o"
            " AND action = 'read'"
        ),
        {"p": w.patient.id, "o": operation},
    )
    return {r for (resources,) in rows for r in resources}


async def _doc_ids(engine: AsyncEngine, w: World, title: str) -> list[Any]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            text("SELECT id FROM care_document WHERE patient_id = :p AND title = :t"),
            {"p": w.patient.id, "t": title},
        )
        return [r[0] for r in rows]


async def test_the_patient_app_gets_only_what_it_may_show(
    servers: tuple[Server, Server], committed: AsyncEngine
) -> None:
    _, watcher = servers
    w = await _world(committed)
    ws = await _open(watcher, patient(w))
    try:
        await _subscribe(ws, MINE)
        shown = await _doc(committed, w, w.u, title="Till patienten")
        change = (await _next(ws))["myRecordChanged"]
        assert change["recordId"] == encode_id("CareDocument", shown.id, w.patient.id)
        assert change["record"]["title"] == "Till patienten"
        secret = await _doc(committed, w, w.u, title="EJ-GODKAND-LIVE", approved_for_patient=False)
        raw = await asyncio.wait_for(ws.recv(), 15)
        assert b"EJ-GODKAND-LIVE" not in (raw if isinstance(raw, bytes) else raw.encode())
        tomb = orjson.loads(raw)["payload"]["data"]["myRecordChanged"]
        assert tomb["recordId"] == encode_id("CareDocument", secret.id, w.patient.id)
        assert tomb["tombstone"] is True
    finally:
        await ws.close()


async def test_a_clinician_without_access_is_refused_and_logged(
    servers: tuple[Server, Server], committed: AsyncEngine
) -> None:
    _, watcher = servers
    w = await _world(committed)
    stranger_unit = w.v  # no care relationship there
    async with committed.begin() as conn:
        other = await f.create_practitioner(conn)
        await f.create_assignment(conn, other, stranger_unit)
    token = mint(
        SETTINGS,
        kind="clinician",
        subject=other.hsa_id,
        care_unit=stranger_unit.hsa_id,
        care_provider=w.b.hsa_id,
    )
    ws = await _open(watcher, token)
    try:
        await ws.send(
            _json(
                {
                    "id": "1",
                    "type": "subscribe",
                    "payload": {
                        "query": WATCH,
                        "variables": {"id": encode_id("Patient", w.patient.id)},
                    },
                }
            )
        )
        message = orjson.loads(await asyncio.wait_for(ws.recv(), 15))
        assert message["type"] in ("error", "next")
        errors = message["payload"] if message["type"] == "error" else message["payload"]["errors"]
        assert errors[0]["extensions"]["code"] == "NOT_FOUND"
    finally:
        await ws.close()
    async with committed.connect() as conn:
        denied = await conn.execute(
            text(
                "SELECT count(*) FROM audit_entry WHERE patient_id = :p AND action = 'deny'"
                " AND principal_id = :x"
            ),
            {"p": w.patient.id, "x": other.hsa_id},
        )
        assert denied.scalar_one() == 1


async def test_authentication_happens_in_connection_init(
    servers: tuple[Server, Server], committed: AsyncEngine
) -> None:
    _, watcher = servers
    ws = await websockets.connect(watcher.ws, subprotocols=[PROTOCOL])
    await ws.send(_json({"type": "connection_init", "payload": {"authorization": "Bearer nope"}}))
    with pytest.raises(websockets.ConnectionClosed) as closed:
        await asyncio.wait_for(ws.recv(), 10)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4403


async def test_an_expired_token_closes_the_socket(
    servers: tuple[Server, Server], committed: AsyncEngine
) -> None:
    _, watcher = servers
    w = await _world(committed)
    ws = await _open(watcher, _short(w))
    await _subscribe(ws, WATCH, {"id": encode_id("Patient", w.patient.id)})
    with pytest.raises(websockets.ConnectionClosed) as closed:
        while True:
            await asyncio.wait_for(ws.recv(), 10)
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 4403 and closed.value.rcvd.reason == "token expired"


def _short(w: World) -> str:
    return mint(
        SETTINGS,
        kind="clinician",
        subject=w.x.hsa_id,
        hours=3 / 3600,
        care_unit=w.u.hsa_id,
        care_provider=w.a.hsa_id,
    )


# --- docs/changes.md: its subscription documents and its Python client, as a reader runs them ---

GUIDE = ROOT / "docs" / "changes.md"


def _guide_blocks(language: str) -> list[str]:
    from tests.integration.docs_examples import located_blocks

    return [body for _, lang, body in located_blocks(GUIDE.read_text()) if lang == language]


async def test_the_documented_subscriptions_deliver(
    servers: tuple[Server, Server], committed: AsyncEngine
) -> None:
    from tests.integration.test_docs_run import subscription_blocks

    (document,) = subscription_blocks(GUIDE.read_text())
    _, watcher = servers
    w = await _world(committed)
    patient_id = encode_id("Patient", w.patient.id)
    watch, mine = await _open(watcher, clinician(w)), await _open(watcher, patient(w))
    try:
        for ws, name, variables in ((watch, "Watch", {"id": patient_id}), (mine, "Mine", {})):
            payload = {"query": document, "operationName": name, "variables": variables}
            await ws.send(_json({"id": "1", "type": "subscribe", "payload": payload}))
        await asyncio.sleep(1.0)
        async with committed.begin() as conn:
            lab = await f.create_lab_result(conn, w.patient, w.u, name="P-Glukos")
        seen = (await _next(watch))["recordChanged"]
        assert seen["recordId"] == encode_id("LabResult", lab.id, w.patient.id)
        assert seen["category"] == "LAB_RESULT" and seen["record"]["name"] == "P-Glukos"
        own = (await _next(mine))["myRecordChanged"]
        assert own["recordId"] == seen["recordId"] and own["record"]["__typename"] == "LabResult"
    finally:
        await watch.close()
        await mine.close()


class _Printed(io.StringIO):
    """Standard output that says when something was printed."""

    def __init__(self) -> None:
        super().__init__()
        self.changed = asyncio.Event()

    def write(self, s: str) -> int:
        self.changed.set()
        return super().write(s)


async def test_the_documented_python_client_prints_a_change(
    servers: tuple[Server, Server], committed: AsyncEngine
) -> None:
    import contextlib

    (client,) = [b for b in _guide_blocks("python") if "async def watch" in b]
    _, watcher = servers
    namespace: dict[str, Any] = {}
    exec(
        compile(client.replace("ws://localhost:8000/graphql", watcher.ws), "changes.md", "exec"),
        namespace,
    )
    w = await _world(committed)
    printed = _Printed()
    with contextlib.redirect_stdout(printed):
        patient_id = encode_id("Patient", w.patient.id)
        task = asyncio.create_task(namespace["watch"](clinician(w), patient_id))
        await asyncio.sleep(1.5)
        document = await _doc(committed, w, w.u, title="Från guiden")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(printed.changed.wait(), 15)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    assert encode_id("CareDocument", document.id, w.patient.id) in printed.getvalue()


def test_the_documented_webhook_check_accepts_our_signature() -> None:
    from app.changes.webhooks import signature

    (checker,) = [b for b in _guide_blocks("python") if "def valid" in b]
    namespace: dict[str, Any] = {}
    exec(compile(checker, "changes.md", "exec"), namespace)
    body, stamp = b'{"changes": []}', "1764842400"
    headers = {
        "X-Vardkedja-Timestamp": stamp,
        "X-Vardkedja-Signature": signature("s3", stamp, body),
    }
    assert namespace["valid"]("s3", headers, body)
    assert not namespace["valid"]("another", headers, body)
    assert not namespace["valid"]("s3", headers, body + b" ")
