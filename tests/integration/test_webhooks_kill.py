"""Webhooks survive a kill -9 of the server mid-delivery: a real server process (its webhook
worker inside `serve`) is killed while its POST hangs at the receiver; a new process sends the
same delivery again (same delivery id), through a receiver that then fails twice, and every
change arrives, signed, none lost."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import orjson
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from app import migrate, models
from app.db import create_engine
from app.tokens import mint
from schema.ids import encode_id
from tests import factories as f
from tests.integration.privacy_world import build_world
from tests.integration.test_subscriptions import SETTINGS, Server, _start
from tests.integration.test_webhooks import REGISTER


@dataclass
class Receiver:
    """Holds the first POST until released (the server is killed meanwhile), answers 500 to
    the next `failures`, then 200."""

    failures: int = 2
    received: list[tuple[dict[str, str], bytes, int]] = field(default_factory=list)
    first_arrived: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    port: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["content-length"]))
            if not state.first_arrived.is_set():
                state.first_arrived.set()
                state.release.wait(30)  # the sender dies meanwhile: nobody reads an answer
                state.received.append((dict(self.headers), body, 0))
                return
            failed = sum(1 for _, _, status in state.received if status == 500)
            status = 500 if failed < state.failures else 200
            state.received.append((dict(self.headers), body, status))
            self.send_response(status)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    state.release.set()
    server.shutdown()
    server.server_close()
    thread.join(5)


@pytest.fixture
def database_of_its_own(fresh_database: Callable[[], str]) -> str:
    """The servers commit for real: a database of this test's own, migrated."""
    url = fresh_database()
    migrate.upgrade(url)
    return url


@pytest.fixture
async def database(database_of_its_own: str) -> AsyncIterator[tuple[str, AsyncEngine]]:
    made = create_engine(database_of_its_own, pool_size=1)
    yield database_of_its_own, made
    await made.dispose()


def _stop(server: Server) -> None:
    server.process.terminate()
    try:
        server.process.wait(timeout=10)
    except Exception:
        server.process.kill()
        server.process.wait()


async def _wait(condition: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.1)


async def test_nothing_is_lost_when_the_server_is_killed_mid_delivery(
    database: tuple[str, AsyncEngine], receiver: Receiver
) -> None:
    url, live_engine = database
    first = _start(url)
    second: Server | None = None
    try:
        token = mint(SETTINGS, kind="system", subject="kommun-integration")
        async with httpx.AsyncClient(timeout=30) as http:
            answer = await http.post(
                f"{first.http}/graphql",
                json={
                    "query": REGISTER,
                    "variables": {"input": {"url": receiver.url, "categories": ["CARE_DOCUMENT"]}},
                },
                headers={"authorization": f"Bearer {token}"},
            )
        registered = answer.json()["data"]["registerWebhook"]
        assert registered["userErrors"] == []
        secret = registered["secret"]
        async with live_engine.begin() as conn:
            w = await build_world(conn)  # four notes: the first delivery
        expected = {encode_id("CareDocument", doc, w.patient.id) for doc in w.docs.values()}

        # The worker in the first process POSTs; kill -9 while the receiver holds the POST.
        # (Entries are final once every older transaction of the cluster has ended: on a
        # database server shared with other work, an idle transaction there holds this back.)
        assert await asyncio.to_thread(receiver.first_arrived.wait, 60), "no POST arrived"
        first.process.kill()
        first.process.wait(10)
        receiver.release.set()
        # Written while no server runs: delivered after the restart.
        async with live_engine.begin() as conn:
            later = await f.create_clinical(conn, models.CareDocument, w.patient, w.u)
        expected.add(encode_id("CareDocument", later.id, w.patient.id))

        second = _start(url)

        def delivered() -> set[str]:
            return {
                change["recordId"]
                for _, body, status in receiver.received
                if status == 200
                for change in orjson.loads(body)["changes"]
            }

        # Two 500s: retried after 2 s, then 4 s.
        await _wait(lambda: delivered() == expected, 60, "every change to be delivered")
    finally:
        _stop(first)
        if second is not None:
            _stop(second)

    ids = [headers["X-Vardkedja-Delivery"] for headers, _, _ in receiver.received]
    # The held delivery was sent again with its own id: the receiver can drop the copy.
    assert ids[0] == ids[1]
    assert [status for _, _, status in receiver.received[:3]] == [0, 500, 500]
    for headers, body, _ in receiver.received:
        mac = hmac.new(
            secret.encode(), headers["X-Vardkedja-Timestamp"].encode() + b"." + body, hashlib.sha256
        ).hexdigest()
        assert headers["X-Vardkedja-Signature"] == f"sha256={mac}"
    # At least once, never more than the retries: each change in exactly one 200 delivery.
    accepted = [
        change["recordId"]
        for _, body, status in receiver.received
        if status == 200
        for change in orjson.loads(body)["changes"]
    ]
    assert sorted(accepted) == sorted(expected)
