"""The tail every simple "record a clinical item" mutation shares: when it happened, the header,
then one insert, once every check has passed."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import SQLModel

from app.context import Context
from resolvers.mutations.checks import Checks, now
from resolvers.mutations.header import RecordInput, resolve_header
from resolvers.mutations.outcome import RowRef
from resolvers.mutations.runner import Writer


async def insert_record(
    ctx: Context,
    write: Writer,
    checks: Checks,
    record: RecordInput,
    model: type[SQLModel],
    *,
    event_field: str,
    event_time: datetime | None,
    content: dict[str, Any],
) -> RowRef:
    """Check the event time (default now), resolve the header, stop on any user error, insert."""
    when = checks.moment(event_field, event_time or now())
    header = await resolve_header(ctx, checks, record, event_time=when, event_field=event_field)
    checks.done()
    assert when is not None  # checks.done() raised otherwise
    return await write.insert(model, header.row(when, **content), payload=True)
