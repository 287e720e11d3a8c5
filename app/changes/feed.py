"""Reading the change log in order, without gaps, under the caller's search scope.

Order is (txid, position), not position alone: positions come from a sequence when a row is
written, but transactions commit in another order, so a reader following positions alone
would skip an entry that commits after a later position was read. Every transaction whose id
is below the xmin of the reader's snapshot has ended, and every later writer gets a larger id;
so the entries with txid < xmin are final, and (txid, position) is a gap-free order over them.
A long-running writing transaction therefore holds the feed back until it ends (never loses).
The reader's own transaction's entries count as final too (a test writes and reads in one).
"""

from __future__ import annotations

import base64
import binascii
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ColumnElement, and_, cast, or_, select, text, tuple_

from app.access.cursor_seal import opened
from app.access.data import DataAccess
from app.errors import AppError, BadInput
from app.models.changes import ChangeLog, ChangeLogHorizon

LOG = ChangeLog.__table__  # type: ignore[attr-defined]
HORIZON = ChangeLogHorizon.__table__  # type: ignore[attr-defined]
# Tables whose changes alter what a caller may see of the patient, not records to show.
ACCESS_TABLES = frozenset(
    {"consent", "block", "representative", "care_relationship", "portal_access_exception"}
)
_XMIN = cast(text("pg_snapshot_xmin(pg_current_snapshot())::text"), BigInteger)
_OWN = cast(text("pg_current_xact_id_if_assigned()::text"), BigInteger)
_PREFIX = "chg1:"


class CursorExpired(AppError):
    """The cursor is older than what retention keeps: the client must sync from scratch."""

    code = "CURSOR_EXPIRED"
    status = 410


@dataclass(frozen=True, order=True)
class Cursor:
    """A position in the log: (txid, position) of the last entry read."""

    txid: int
    position: int

    def encode(self) -> str:
        raw = f"{_PREFIX}{self.txid}:{self.position}".encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, value: str, *, field: str = "after") -> Cursor:
        value = opened(value, field=field)  # a research request's cursors are sealed
        try:
            raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode()
            if raw.startswith(_PREFIX):
                txid, position = raw[len(_PREFIX) :].split(":")
                if txid.isdigit() and position.isdigit():
                    return cls(int(txid), int(position))
        except (binascii.Error, UnicodeDecodeError, ValueError):
            pass
        raise BadInput(f"{field}: not a cursor of the change feed", field=field, rule="cursor")


START = Cursor(0, 0)


def table_of(category: str, record_table: str | None) -> str:
    """The table of an entry's record_id: the category's own table, but the patient for a
    change of their identifiers and the record itself for its preserved FHIR elements."""
    if category == "patient_identifier":
        return "patient"
    return record_table or category


@dataclass(frozen=True)
class Entry:
    cursor: Cursor
    recorded_at: datetime
    patient_id: uuid.UUID
    category: str
    record_id: uuid.UUID
    kind: str
    record_table: str | None = None

    @property
    def table(self) -> str:
        return table_of(self.category, self.record_table)

    @property
    def changes_access(self) -> bool:
        return self.category in ACCESS_TABLES


@dataclass(frozen=True)
class Batch:
    entries: list[Entry]
    end: Cursor
    has_next: bool


def final() -> ColumnElement[bool]:
    """Entries of ended transactions (and the reader's own)."""
    return or_(LOG.c.txid < _XMIN, LOG.c.txid == _OWN)


async def check_horizon(data: DataAccess, after: Cursor) -> None:
    """CURSOR_EXPIRED when retention dropped entries after this cursor."""
    rows = await data.fetch(select(HORIZON.c.txid, HORIZON.c.position).where(HORIZON.c.id == 1))
    if rows and after < Cursor(rows[0]["txid"], rows[0]["position"]):
        raise CursorExpired(
            "the cursor is older than the change log keeps: sync again from the lists, then "
            "continue from a fresh cursor"
        )


async def head(data: DataAccess) -> Cursor:
    """The newest final entry (or the start): where a client that has just read everything
    continues from."""
    rows = await data.fetch(
        select(LOG.c.txid, LOG.c.position)
        .where(final())
        .order_by(LOG.c.txid.desc(), LOG.c.position.desc())
        .limit(1)
    )
    return Cursor(rows[0]["txid"], rows[0]["position"]) if rows else START


async def read(
    data: DataAccess,
    after: Cursor,
    limit: int,
    *,
    scope: ColumnElement[bool],
    categories: Sequence[str] | None = None,
    patient_ids: Sequence[uuid.UUID] | None = None,
) -> Batch:
    """Up to `limit` final entries after `after`, in order, within `scope` (a predicate over
    the log's patient_id) and `categories` (changes of access always come)."""
    await check_horizon(data, after)
    conditions: list[Any] = [
        tuple_(LOG.c.txid, LOG.c.position) > tuple_(after.txid, after.position),
        final(),
        scope,
    ]
    if categories is not None:
        wanted = sorted(set(categories) | ACCESS_TABLES)
        conditions.append(LOG.c.category.in_(wanted))
    if patient_ids is not None:
        conditions.append(LOG.c.patient_id.in_(list(patient_ids)))
    statement = (
        select(LOG).where(and_(*conditions)).order_by(LOG.c.txid, LOG.c.position).limit(limit + 1)
    )
    rows = await data.fetch(statement)
    entries = [
        Entry(
            Cursor(r["txid"], r["position"]),
            r["recorded_at"],
            r["patient_id"],
            r["category"],
            r["record_id"],
            r["kind"],
            r["record_table"],
        )
        for r in rows[:limit]
    ]
    has_next = len(rows) > limit
    return Batch(entries, entries[-1].cursor if entries else after, has_next)


def latest_per_record(entries: Sequence[Entry]) -> list[Entry]:
    """One entry per record (its last in the batch), in the order of those last entries: the
    record is shown as it is now, once."""
    last: dict[tuple[str, uuid.UUID], Entry] = {}
    for entry in entries:
        key = (entry.category, entry.record_id)
        last.pop(key, None)
        last[key] = entry
    return list(last.values())
