"""Delta sync: which of the caller's patients' rows changed after a cursor.

The log is read under the caller's search scope (a clinician: the unit's current care
relationships; a patient: themself; a proxy: whom they represent; a system: everyone), then each
patient passes the policy's decision as of now: entries of patients the caller may not see are
left out (and the denial audited). The schema layer then loads each row through the ordinary
loaders, so what is shown is what the policy lets the caller see now; the rest are tombstones.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from app.access.principal import PrincipalKind
from app.changes import feed
from app.context import Context
from app.errors import Forbidden
from resolvers.pagination import page_size


@dataclass(frozen=True)
class ChangeBatch:
    entries: list[feed.Entry]
    end: feed.Cursor
    has_next: bool


def _require_reader(ctx: Context) -> None:
    # Research clients read pseudonymised exports, never a feed keyed by patient ids (A15).
    if ctx.principal.kind is PrincipalKind.RESEARCH:
        ctx.audit.deny(None, "the change feed is not for research clients (A15)")
        raise Forbidden("the change feed is not for research clients")


async def changes(
    ctx: Context,
    *,
    after: str | None,
    first: int | None,
    categories: Sequence[str] | None,
    patient_ids: Sequence[uuid.UUID] | None = None,
) -> ChangeBatch:
    """The visible patients' entries after `after` (at most `first`, collapsed per record)."""
    _require_reader(ctx)
    size = page_size(first)
    cursor = feed.Cursor.decode(after) if after else feed.START
    data = ctx.data
    if size == 0:
        await feed.check_horizon(data, cursor)
        end = await feed.head(data) if after is None else cursor
        return ChangeBatch([], end, False)
    scope = data.search_scope(feed.LOG.c.patient_id)
    batch = await feed.read(
        data, cursor, size, scope=scope, categories=categories, patient_ids=patient_ids
    )
    entries = await visible_entries(ctx, feed.latest_per_record(batch.entries))
    return ChangeBatch(entries, batch.end, batch.has_next)


async def visible_entries(ctx: Context, entries: Sequence[feed.Entry]) -> list[feed.Entry]:
    """The entries of patients the caller may see now; the others' denials are audited."""
    decisions = await ctx.data.access({e.patient_id for e in entries})
    visible = set()
    for pid, decision in decisions.items():
        if decision.may_see_patient:
            visible.add(pid)
        else:
            ctx.data.deny(decision)
    return [e for e in entries if e.patient_id in visible]
