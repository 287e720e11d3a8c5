"""Webhooks: a system integration registers an endpoint; notices (ids only) are queued from the
change log, POSTed signed to a real local receiver that fails at first, retried with back-off,
delivered at least once with a stable delivery id, and visible in webhookDeliveries."""

from __future__ import annotations

import hashlib
import hmac
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import orjson
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from app import models
from app.changes import webhooks
from app.models.base import utcnow
from app.settings import Settings
from schema.ids import encode_id
from tests import factories as f
from tests.integration.mutation_support import call, make_world, system_token
from tests.integration.test_privacy_queries import clinician_token

REGISTER = """mutation($input: RegisterWebhookInput!) {
  registerWebhook(input: $input) {
    webhook { id url categories active } secret userErrors { field code } } }"""
DELIVERIES = """query($id: ID!) { webhookDeliveries(webhookId: $id) {
  id status attempts lastStatusCode notices deliveredAt } }"""


@dataclass
class Receiver:
    """A local HTTP endpoint that answers 500 to the first `failures` POSTs, then 200."""

    failures: int
    received: list[tuple[dict[str, str], bytes, int]] = field(default_factory=list)
    port: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver(failures=2)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["content-length"]))
            status = 500 if len(state.received) < state.failures else 200
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
    server.shutdown()
    server.server_close()
    thread.join(5)


async def _register(client: httpx.AsyncClient, settings: Settings, **input_: Any) -> dict[str, Any]:
    body = await call(client, REGISTER, {"input": input_}, token=system_token(settings))
    payload: dict[str, Any] = body["data"]["registerWebhook"]
    return payload


async def test_notices_are_signed_retried_and_delivered_once_received(
    client: httpx.AsyncClient, conn: AsyncConnection, settings: Settings, receiver: Receiver
) -> None:
    registered = await _register(client, settings, url=receiver.url, categories=["CARE_DOCUMENT"])
    assert registered["userErrors"] == []
    secret = registered["secret"]
    world = await make_world(conn)
    doc = await f.create_clinical(
        conn, models.CareDocument, world.patient, world.unit, title="INNEHALL"
    )
    await f.create_clinical(conn, models.Diagnosis, world.patient, world.unit)  # not served
    assert await webhooks.enqueue(conn) == 1
    assert await webhooks.enqueue(conn) == 0  # the cursor moved with the queued delivery
    now = utcnow()
    assert await webhooks.send_due(conn, now=now) == 0  # 500
    assert await webhooks.send_due(conn, now=now) == 0  # not due yet: back-off
    assert await webhooks.send_due(conn, now=now + timedelta(seconds=3)) == 0  # 500 again
    assert await webhooks.send_due(conn, now=now + timedelta(seconds=10)) == 1  # 200
    assert [status for _, _, status in receiver.received] == [500, 500, 200]
    ids = {headers["X-Vardkedja-Delivery"] for headers, _, _ in receiver.received}
    assert len(ids) == 1  # the same delivery id on every retry
    for headers, body, _ in receiver.received:
        expected = hmac.new(
            secret.encode(),
            headers["X-Vardkedja-Timestamp"].encode() + b"." + body,
            hashlib.sha256,
        ).hexdigest()
        assert headers["X-Vardkedja-Signature"] == f"sha256={expected}"
    payload = orjson.loads(receiver.received[-1][1])
    assert b"INNEHALL" not in receiver.received[-1][1]
    assert payload["changes"] == [
        {
            "patientId": encode_id("Patient", world.patient.id),
            "category": "CARE_DOCUMENT",
            "recordId": encode_id("CareDocument", doc.id, world.patient.id),
            "kind": "CREATED",
        }
    ]
    assert payload["cursor"]
    shown = await call(
        client, DELIVERIES, {"id": registered["webhook"]["id"]}, token=system_token(settings)
    )
    [delivery] = shown["data"]["webhookDeliveries"]
    assert delivery["status"] == "delivered" and delivery["attempts"] == 3
    assert delivery["lastStatusCode"] == 200 and delivery["notices"] == 1
    audited = await conn.execute(
        text("SELECT resources FROM audit_entry WHERE patient_id = :p AND operation = 'webhook'"),
        {"p": world.patient.id},
    )
    assert [r for (rs,) in audited for r in rs] == [
        f"ChangeNotice:{encode_id('CareDocument', doc.id, world.patient.id)}"
    ]


async def test_a_worker_dying_mid_post_leaves_the_delivery_to_be_sent_again(
    client: httpx.AsyncClient, conn: AsyncConnection, settings: Settings, receiver: Receiver
) -> None:
    receiver.failures = 0
    await _register(client, settings, url=receiver.url)
    world = await make_world(conn)
    await f.create_clinical(conn, models.CareDocument, world.patient, world.unit)
    await webhooks.enqueue(conn)

    async def crash(url: str, body: bytes, headers: dict[str, str]) -> int:
        await webhooks.post_json(url, body, headers)  # the receiver got it ...
        raise RuntimeError("killed")  # ... and the worker died before recording it

    savepoint = await conn.begin_nested()
    with pytest.raises(RuntimeError):
        await webhooks.send_due(conn, post=crash)
    await savepoint.rollback()
    assert await webhooks.send_due(conn) == 1
    ids = [headers["X-Vardkedja-Delivery"] for headers, _, _ in receiver.received]
    assert len(ids) == 2 and ids[0] == ids[1]  # at least once, the same id to drop the copy


async def test_units_narrow_the_patients(
    client: httpx.AsyncClient, conn: AsyncConnection, settings: Settings, receiver: Receiver
) -> None:
    world = await make_world(conn)
    elsewhere = await f.create_unit(conn, world.provider)
    registered = await _register(
        client, settings, url=receiver.url, careUnitHsaIds=[elsewhere.hsa_id]
    )
    assert registered["userErrors"] == []
    await f.create_clinical(conn, models.CareDocument, world.patient, world.unit)
    assert await webhooks.enqueue(conn) == 0
    await f.create_care_relationship(conn, world.patient, elsewhere)
    await f.create_clinical(conn, models.CareDocument, world.patient, world.unit)
    assert await webhooks.enqueue(conn) == 1


async def test_only_system_integrations_register_and_input_is_checked(
    client: httpx.AsyncClient, conn: AsyncConnection, settings: Settings, receiver: Receiver
) -> None:
    from tests.integration.privacy_world import build_world

    w = await build_world(conn)
    body = await call(
        client, REGISTER, {"input": {"url": receiver.url}}, token=clinician_token(settings, w)
    )
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    bad = await _register(client, settings, url="ftp://example", careUnitHsaIds=["SE0-x"])
    assert {(e["field"], e["code"]) for e in bad["userErrors"]} == {
        ("input.url", "INVALID_VALUE"),
        ("input.careUnitHsaIds", "NOT_FOUND"),
    }
    assert bad["webhook"] is None
