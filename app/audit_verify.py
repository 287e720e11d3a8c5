"""Verify the audit chain: walk audit_entry in id order, in batches, and find every entry
that was changed, inserted or deleted.

Each entry's hash is an HMAC of its content and the previous entry's hash (app/audit.py), so
- a changed entry no longer matches its own hash;
- an inserted entry cannot carry a valid hash (no key), and the entry after it still links to
  the entry before it;
- a deletion leaves the next entry pointing at a hash that is not the previous entry's.
Deleting entries at the very end of the chain leaves nothing behind in the table; that is
what the checkpoint (the head seen by the previous run, kept outside the database) is for.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from app.audit import GENESIS, HASHED_FIELDS, entry_hash

BATCH = text(
    f"SELECT id, prev_hash, hash, {', '.join(HASHED_FIELDS)} FROM audit_entry"
    " WHERE id > :after ORDER BY id LIMIT :limit"
)


@dataclass(frozen=True)
class Problem:
    """One finding: `kind` is changed, inserted or deleted; `entry_id` where it shows."""

    kind: str
    entry_id: int
    detail: str


@dataclass(frozen=True)
class Head:
    entry_id: int
    hash: str

    def __str__(self) -> str:
        return f"{self.entry_id}:{self.hash}"

    @classmethod
    def parse(cls, raw: str) -> Head:
        entry_id, _, digest = raw.strip().partition(":")
        return cls(int(entry_id), digest)


@dataclass
class Report:
    checked: int = 0
    head: Head | None = None
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass
class _Walk:
    """The state between two entries of the walk."""

    expected: str = GENESIS  # the hash the next entry must link to
    before: str = GENESIS  # the hash the previous entry linked to
    previous: int | None = None
    previous_forged: bool = False


async def verify_chain(
    conn: AsyncConnection,
    key: bytes,
    *,
    batch_size: int = 1000,
    checkpoint: Head | None = None,
) -> Report:
    """Check every entry; `checkpoint` (a head from an earlier run) must still be there."""
    report, walk = Report(), _Walk()
    checkpoint_seen = checkpoint is None
    after = 0
    while True:
        rows = (await conn.execute(BATCH, {"after": after, "limit": batch_size})).mappings().all()
        if not rows:
            break
        for row in rows:
            _check(row, key, walk, report)
            if checkpoint is not None and row["id"] == checkpoint.entry_id:
                checkpoint_seen = row["hash"] == checkpoint.hash
        after = rows[-1]["id"]
    if walk.previous_forged and walk.previous is not None:
        _reclassify_last(report, walk.previous)
    if not checkpoint_seen and checkpoint is not None:
        report.problems.append(
            Problem(
                "deleted",
                checkpoint.entry_id,
                "the checkpointed head is gone or changed: entries were removed from the end",
            )
        )
    return report


def _check(row: Any, key: bytes, walk: _Walk, report: Report) -> None:
    entry_id: int = row["id"]
    forged = entry_hash(row["prev_hash"], dict(row), key) != row["hash"]
    if row["prev_hash"] == walk.expected:
        pass
    elif walk.previous_forged and row["prev_hash"] == walk.before and walk.previous is not None:
        # The entry before this one was never part of the chain: it was inserted.
        _reclassify(report, walk.previous, "inserted", "not part of the chain: inserted")
    elif not walk.previous_forged:
        report.problems.append(
            Problem(
                "deleted",
                entry_id,
                f"links to a hash that is not the previous entry's ({walk.previous or 'start'}):"
                " entries before it were deleted",
            )
        )
    if forged:
        report.problems.append(
            Problem("changed", entry_id, "content does not match its hash: changed")
        )
    walk.before, walk.expected = row["prev_hash"], row["hash"]
    walk.previous, walk.previous_forged = entry_id, forged
    report.checked += 1
    report.head = Head(entry_id, row["hash"])


def _reclassify(report: Report, entry_id: int, kind: str, detail: str) -> None:
    for i, problem in enumerate(report.problems):
        if problem.entry_id == entry_id and problem.kind == "changed":
            report.problems[i] = Problem(kind, entry_id, detail)


def _reclassify_last(report: Report, entry_id: int) -> None:
    _reclassify(
        report,
        entry_id,
        "changed",
        "the last entry does not match its hash: changed, or inserted at the end",
    )
