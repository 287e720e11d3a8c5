"""registerWebhook and webhookDeliveries: system integrations only, each sees its own."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from sqlalchemy import RowMapping, insert, select

from app.access.principal import PrincipalKind
from app.changes.webhooks import DELIVERY, WEBHOOK, new_secret
from app.context import Context
from app.errors import Forbidden
from app.models.base import utcnow
from resolvers.mutations.checks import Checks
from resolvers.mutations.outcome import Code, Rejected
from resolvers.pagination import page_size
from resolvers.tables import CARE_UNIT

URL_LENGTH = 2000


def client_of(ctx: Context) -> str:
    """The system integration's client id; FORBIDDEN (and a logged denial) for anyone else."""
    principal = ctx.principal
    if principal.kind is not PrincipalKind.SYSTEM:
        ctx.audit.deny(None, "webhooks are for system integrations")
        raise Forbidden("webhooks are for system integrations")
    return principal.client_id or principal.subject


@dataclass(frozen=True)
class Registered:
    row: RowMapping | None
    secret: str | None
    problems: list[tuple[str | None, Code, str]]


async def register(
    ctx: Context, url: str, categories: Sequence[str], unit_hsa_ids: Sequence[str]
) -> Registered:
    client = client_of(ctx)
    checks = Checks()
    cleaned = url.strip()
    parts = urlsplit(cleaned)
    if parts.scheme not in ("https", "http") or not parts.netloc or len(cleaned) > URL_LENGTH:
        checks.add("input.url", Code.INVALID_VALUE, "input.url must be an http(s) URL")
    units: list[str] = []
    if unit_hsa_ids:
        found = await ctx.data.fetch(
            select(CARE_UNIT.c.id, CARE_UNIT.c.hsa_id).where(
                CARE_UNIT.c.hsa_id.in_(sorted(set(unit_hsa_ids)))
            )
        )
        known = {r["hsa_id"]: str(r["id"]) for r in found}
        for hsa in unit_hsa_ids:
            if hsa not in known:
                checks.add("input.careUnitHsaIds", Code.NOT_FOUND, f"no care unit {hsa}")
        units = sorted(set(known.values()))
    try:
        checks.done()
    except Rejected as rejected:
        return Registered(None, None, [(p.field, p.code, p.message) for p in rejected.problems])
    secret = new_secret()
    hook_id = uuid.uuid4()
    # Notices start at the end of the log as it is now: what changes from here on.
    from app.changes.feed import head

    start = await head(ctx.data)
    await ctx.conn.execute(
        insert(WEBHOOK).values(
            id=hook_id,
            client_id=client,
            url=cleaned,
            secret=secret,
            categories=sorted(set(categories)),
            care_unit_ids=units,
            cursor_txid=start.txid,
            cursor_position=start.position,
            active=True,
            created_at=utcnow(),
        )
    )
    rows = await ctx.data.fetch(select(WEBHOOK).where(WEBHOOK.c.id == hook_id))
    return Registered(rows[0], secret, [])


async def deliveries(
    ctx: Context, webhook_id: uuid.UUID | None, first: int | None
) -> list[RowMapping]:
    """Deliveries of the caller's webhooks (or of one of them), newest first."""
    client = client_of(ctx)
    size = page_size(first)
    own = select(WEBHOOK.c.id).where(WEBHOOK.c.client_id == client)
    if webhook_id is not None:
        own = own.where(WEBHOOK.c.id == webhook_id)
    rows = await ctx.data.fetch(
        select(DELIVERY)
        .where(DELIVERY.c.webhook_id.in_(own))
        .order_by(DELIVERY.c.created_at.desc())
        .limit(size)
    )
    return list(rows)
