"""What a research client sees of the records it may read (A15), beyond which patients.

A research client reads opted-in patients' records for its ethics-approved studies. The
answer never carries a real identifier: every id is a pseudonym (the keyed HMAC of
app/access/pseudonym.py, the same as the bulk export's), and so is every other identifier
(documentId, HSA-ids, order and referral ids). Times are cut to the study's precision, and
free text and clinicians' names are left out unless the approval releases them
(`research_study.release_*`). A client with several studies gets what all of them allow.
The GraphQL answer is rewritten by schema/research_view.py; identifying lookups (by
personnummer, name, a clinician's HSA-id) are refused before they run (`refuse_lookup`).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from app import models
from app.access.facts import table
from app.models.consent import TimePrecision

# Coarsest last: a client with several studies gets the coarsest of their precisions.
PRECISIONS = (TimePrecision.EXACT, TimePrecision.DAY, TimePrecision.MONTH, TimePrecision.YEAR)
DEFAULT_MIN_CELL_SIZE = 5


@dataclass(frozen=True)
class Release:
    """What the approvals of a research client's studies let it see."""

    studies: tuple[uuid.UUID, ...] = ()
    approvals: tuple[str, ...] = ()
    free_text: bool = False
    clinician_identity: bool = False
    time_precision: TimePrecision = TimePrecision.YEAR
    min_cell_size: int = DEFAULT_MIN_CELL_SIZE


# No approved study: nothing is read anyway; the most careful view.
NO_RELEASE = Release()


async def load_release(conn: AsyncConnection, client_id: str, today: date) -> Release:
    """The release of this client's ethics-approved studies (as app/access/facts.py decides
    which studies count), the most careful of them where they differ."""
    rs = table(models.ResearchStudy)
    rows = (
        (
            await conn.execute(
                select(rs)
                .where(
                    rs.c.client_id == client_id,
                    rs.c.ethics_approval_ref != "",
                    rs.c.approved_on <= today,
                )
                .order_by(rs.c.id)
            )
        )
        .mappings()
        .all()
    )
    if not rows:
        return NO_RELEASE
    precision = max((TimePrecision(r["time_precision"]) for r in rows), key=PRECISIONS.index)
    return Release(
        studies=tuple(r["id"] for r in rows),
        approvals=tuple(r["ethics_approval_ref"] for r in rows),
        free_text=all(r["release_free_text"] for r in rows),
        clinician_identity=all(r["release_clinician_identity"] for r in rows),
        time_precision=precision,
        min_cell_size=max(max(r["min_cell_size"] for r in rows), 1),
    )


def cut_time(value: datetime, precision: TimePrecision) -> datetime:
    """A time cut to the precision (in UTC): the start of its day, month or year."""
    if precision is TimePrecision.EXACT:
        return value
    utc = value.astimezone(UTC)
    day = utc.replace(hour=0, minute=0, second=0, microsecond=0)
    if precision is TimePrecision.DAY:
        return day
    if precision is TimePrecision.MONTH:
        return day.replace(day=1)
    return day.replace(month=1, day=1)


def cut_date(value: date, precision: TimePrecision) -> date:
    """A date cut to the precision: the first day of its month or year."""
    if precision in (TimePrecision.EXACT, TimePrecision.DAY):
        return value
    if precision is TimePrecision.MONTH:
        return value.replace(day=1)
    return value.replace(month=1, day=1)
