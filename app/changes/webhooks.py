"""Webhooks: notices of changes POSTed to system integrations, at least once, signed.

The worker (in every server process, or `vardkedja worker`) runs two steps, each in its own
transaction, once a second and, in a server process, as soon as its change listener has read
new entries (app/changes/notify.py):

1. `enqueue`: for every active webhook (locked with SKIP LOCKED, so several workers share the
   work), the change log entries after its cursor, in the gap-free order of feed.py, filtered by
   its categories and care units, become one delivery row of at most MAX_NOTICES notices; the
   cursor moves in the same transaction (a transactional outbox: a crash loses nothing and
   duplicates nothing at this step). The notices are ids only, and are audited as disclosed to
   the system.
2. `send_due`: the oldest pending delivery of each webhook (locked while it is POSTed, so no two
   workers send it at once) is POSTed; 2xx marks it delivered, anything else retries with
   exponential back-off (2, 4, 8 s ... capped at an hour) until MAX_ATTEMPTS, then `failed`.
   A worker killed mid-POST leaves the row pending (its transaction is gone): it is sent again,
   with the same delivery id, so the receiver can drop the duplicate.

Each POST carries `X-Vardkedja-Delivery` (the delivery id), `X-Vardkedja-Timestamp` and
`X-Vardkedja-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<body>" under the webhook's
secret>`.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import logging
import secrets
import urllib.error
import urllib.request
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import and_, exists, func, insert, or_, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncConnection

from app import audit
from app.access.principal import Principal, PrincipalKind, Purpose
from app.changes.feed import LOG, Cursor, final, table_of
from app.models.base import utcnow
from app.models.patients import CareRelationship
from app.models.webhooks import Webhook, WebhookDelivery

log = logging.getLogger("vardkedja.webhooks")

WEBHOOK = Webhook.__table__  # type: ignore[attr-defined]
DELIVERY = WebhookDelivery.__table__  # type: ignore[attr-defined]
RELATIONSHIP = CareRelationship.__table__  # type: ignore[attr-defined]
MAX_NOTICES = 100
MAX_ATTEMPTS = 12
BACKOFF_START = 2.0
BACKOFF_CAP = 3600.0
TIMEOUT = 10.0
Post = Callable[[str, bytes, dict[str, str]], Awaitable[int]]


def type_names() -> dict[str, str]:
    """Table name -> GraphQL type name (the model's class name) of every table."""
    from sqlmodel import SQLModel

    import app.models  # noqa: F401  (registers every table)

    return {
        str(mapper.class_.__tablename__): mapper.class_.__name__
        for mapper in SQLModel._sa_registry.mappers
    }


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def signature(secret: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return f"sha256={digest.hexdigest()}"


def backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(BACKOFF_CAP, BACKOFF_START * 2 ** max(0, attempts - 1)))


def _system(client_id: str) -> Principal:
    return Principal(
        kind=PrincipalKind.SYSTEM, subject=client_id, client_id=client_id, purpose=Purpose.ADMIN
    )


async def enqueue(conn: AsyncConnection, *, audit_key: bytes = b"") -> int:
    """Queue the new notices of every webhook; returns how many deliveries were made."""
    from schema.ids import encode_id  # app/ imports the schema only lazily

    names = type_names()
    made = 0
    hooks = (
        (
            await conn.execute(
                select(WEBHOOK).where(WEBHOOK.c.active).with_for_update(skip_locked=True)
            )
        )
        .mappings()
        .all()
    )
    for hook in hooks:
        after = Cursor(hook["cursor_txid"], hook["cursor_position"])
        conditions: list[Any] = [
            tuple_(LOG.c.txid, LOG.c.position) > tuple_(after.txid, after.position),
            final(),
        ]
        if hook["categories"]:
            conditions.append(LOG.c.category.in_(list(hook["categories"])))
        if hook["care_unit_ids"]:
            conditions.append(
                exists().where(
                    RELATIONSHIP.c.patient_id == LOG.c.patient_id,
                    RELATIONSHIP.c.care_unit_id.in_([uuid.UUID(u) for u in hook["care_unit_ids"]]),
                    RELATIONSHIP.c.valid_from <= func.now(),
                    or_(RELATIONSHIP.c.valid_to.is_(None), RELATIONSHIP.c.valid_to > func.now()),
                )
            )
        rows = (
            (
                await conn.execute(
                    select(LOG)
                    .where(and_(*conditions))
                    .order_by(LOG.c.txid, LOG.c.position)
                    .limit(MAX_NOTICES)
                )
            )
            .mappings()
            .all()
        )
        if not rows:
            continue
        last = Cursor(rows[-1]["txid"], rows[-1]["position"])
        delivery_id = uuid.uuid4()
        buffer = audit.AuditBuffer(chain_key=audit_key)
        notices = []
        for row in rows:
            table = table_of(row["category"], row["record_table"])
            name = names.get(table, table)
            owner = None if name == "Patient" else row["patient_id"]
            record = encode_id(name, row["record_id"], owner)
            notices.append(
                {
                    "patientId": encode_id("Patient", row["patient_id"]),
                    "category": row["category"].upper(),
                    "recordId": record,
                    "kind": row["kind"].upper(),
                }
            )
            buffer.disclose(row["patient_id"], "ChangeNotice", record)
        payload = {
            "deliveryId": str(delivery_id),
            "webhookId": str(hook["id"]),
            "cursor": last.encode(),
            "changes": notices,
        }
        await conn.execute(
            insert(DELIVERY).values(
                id=delivery_id,
                webhook_id=hook["id"],
                payload=payload,
                status="pending",
                attempts=0,
                next_attempt_at=utcnow(),
                created_at=utcnow(),
            )
        )
        await conn.execute(
            update(WEBHOOK)
            .where(WEBHOOK.c.id == hook["id"])
            .values(cursor_txid=last.txid, cursor_position=last.position)
        )
        await audit.flush(conn, buffer, _system(hook["client_id"]), "webhook")
        made += 1
    return made


async def post_json(url: str, body: bytes, headers: dict[str, str]) -> int:
    """POST with the standard library (off the event loop); the status, 0 if unreachable."""

    def send() -> int:
        request = urllib.request.Request(url, data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
                return int(response.status)
        except urllib.error.HTTPError as exc:
            return int(exc.code)
        except (urllib.error.URLError, OSError, TimeoutError):
            return 0

    return await asyncio.to_thread(send)


async def send_due(
    conn: AsyncConnection, *, now: datetime | None = None, post: Post = post_json
) -> int:
    """POST the oldest pending delivery of each webhook that is due; returns how many were
    delivered. Later deliveries of a webhook wait for earlier ones (order is kept)."""
    moment = now or utcnow()
    older = DELIVERY.alias("older")
    due = (
        (
            await conn.execute(
                select(DELIVERY, WEBHOOK.c.url, WEBHOOK.c.secret)
                .join(WEBHOOK, WEBHOOK.c.id == DELIVERY.c.webhook_id)
                .where(
                    DELIVERY.c.status == "pending",
                    DELIVERY.c.next_attempt_at <= moment,
                    ~exists().where(
                        older.c.webhook_id == DELIVERY.c.webhook_id,
                        older.c.status == "pending",
                        older.c.created_at < DELIVERY.c.created_at,
                    ),
                )
                .order_by(DELIVERY.c.created_at)
                .limit(20)
                .with_for_update(of=DELIVERY, skip_locked=True)
            )
        )
        .mappings()
        .all()
    )
    delivered = 0
    for row in due:
        body = orjson.dumps(row["payload"])
        timestamp = str(int(moment.timestamp()))
        headers = {
            "Content-Type": "application/json",
            "X-Vardkedja-Delivery": str(row["id"]),
            "X-Vardkedja-Timestamp": timestamp,
            "X-Vardkedja-Signature": signature(row["secret"], timestamp, body),
        }
        status = await post(row["url"], body, headers)
        attempts = row["attempts"] + 1
        if 200 <= status < 300:
            values: dict[str, Any] = {"status": "delivered", "delivered_at": utcnow()}
            delivered += 1
        else:
            values = {
                "status": "failed" if attempts >= MAX_ATTEMPTS else "pending",
                "next_attempt_at": moment + backoff(attempts),
                "last_error": f"HTTP {status}" if status else "unreachable",
            }
        values |= {"attempts": attempts, "last_status_code": status or None}
        await conn.execute(update(DELIVERY).where(DELIVERY.c.id == row["id"]).values(**values))
    return delivered


async def run_worker(
    begin: Callable[[], Any],
    *,
    audit_key: bytes = b"",
    interval: float = 1.0,
    wake: asyncio.Event | None = None,
    settle: float = 0.1,
) -> None:
    """Enqueue and send forever, each step in its own transaction (`begin()` opens one): every
    `interval` seconds, and when `wake` is set (new log entries, app/changes/notify.py), at most
    once per `settle` seconds: under a burst of writes one step serves many, instead of two
    transactions of the worker per write in the serving process."""
    while True:
        try:
            async with begin() as conn:
                await enqueue(conn, audit_key=audit_key)
            async with begin() as conn:
                await send_due(conn)
        except asyncio.CancelledError:
            raise
        except Exception:  # a database hiccup must not end the worker
            log.exception("webhook worker step failed; retrying")
        if wake is None:
            await asyncio.sleep(interval)
            continue
        await asyncio.sleep(settle)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(wake.wait(), interval)
        wake.clear()
