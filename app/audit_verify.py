"""Verify the audit chains: walk audit_entry in id order, in batches, follow each chain
(the `chain` column) on its own, and find every entry that was changed, inserted or deleted.

Each entry's hash is an HMAC of its content and the previous entry's hash in its chain
(app/audit.py), so
- a changed entry no longer matches its own hash;
- an inserted entry cannot carry a valid hash (no key), and the entry after it still links to
  the entry before it;
- a deletion leaves the next entry pointing at a hash that is not the previous entry's (moving
  an entry to another chain shows as a deletion in both).
Deleting entries at the very end of a chain leaves nothing behind in the table; that is what
the checkpoint (the heads of all chains seen by the previous run, kept outside the database)
is for.

The table is partitioned by month; the walk goes by id across all partitions. After old
partitions were archived (app/audit_archive.py), each chain starts at its newest cut in
`audit_cut` (the last archived entry's hash) instead of the genesis hash; a cut carries an HMAC
under the audit key, so it cannot be moved to hide entries deleted after it, and deleting a cut
makes the chain start at an older one, where the first remaining entry no longer links.

Key rotation: the chain goes on across a change of key (each entry links to the previous
entry's hash whatever key made it). Verification takes the keys in the order they were used,
oldest first; an entry may be made with the key of the entry before it in its chain or a newer
one, never an older one, so a retired (perhaps leaked) key cannot forge entries after its
chain moved to the new key: such an entry is reported as changed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from app.audit import GENESIS, HASHED_FIELDS, cut_mac, entry_hash

BATCH = text(
    f"SELECT id, chain, prev_hash, hash, {', '.join(HASHED_FIELDS)} FROM audit_entry"
    " WHERE id > :after ORDER BY id LIMIT :limit"
)

# The newest cut of each chain.
CUTS = text(
    "SELECT DISTINCT ON (chain) chain, entry_id, hash, archived_before, archive_sha256, mac"
    " FROM audit_cut ORDER BY chain, entry_id DESC"
)


@dataclass(frozen=True)
class Problem:
    """One finding: `kind` is changed, inserted or deleted; `entry_id` where it shows."""

    kind: str
    entry_id: int
    detail: str


@dataclass(frozen=True)
class Head:
    """The last entry of one chain: written as `chain:id:hash` (a bare `id:hash`, the format
    from before there were several chains, means chain 0)."""

    entry_id: int
    hash: str
    chain: int = 0

    def __str__(self) -> str:
        return f"{self.chain}:{self.entry_id}:{self.hash}"

    @classmethod
    def parse(cls, raw: str) -> Head:
        parts = raw.strip().split(":")
        if len(parts) == 2:
            return cls(int(parts[0]), parts[1])
        chain, entry_id, digest = parts
        return cls(int(entry_id), digest, int(chain))

    @classmethod
    def parse_all(cls, raw: str) -> list[Head]:
        """The heads of a checkpoint file, one per line."""
        return [cls.parse(line) for line in raw.splitlines() if line.strip()]


@dataclass
class Report:
    checked: int = 0
    heads: dict[int, Head] = field(default_factory=dict)
    cuts: dict[int, Head] = field(default_factory=dict)  # where each chain starts, if archived
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def head(self) -> Head | None:
        """The newest entry of all chains."""
        return max(self.heads.values(), key=lambda h: h.entry_id, default=None)

    def checkpoint(self) -> str:
        """The heads of all chains, for the checkpoint file."""
        return "".join(f"{self.heads[chain]}\n" for chain in sorted(self.heads))


@dataclass
class _Walk:
    """The state of one chain between two of its entries."""

    expected: str = GENESIS  # the hash the next entry must link to
    before: str = GENESIS  # the hash the previous entry linked to
    previous: int | None = None
    previous_forged: bool = False
    key_index: int = 0  # the oldest key the next entry may be made with


async def verify_chain(
    conn: AsyncConnection,
    key: bytes | Sequence[bytes],
    *,
    batch_size: int = 1000,
    checkpoint: Head | Iterable[Head] | None = None,
) -> Report:
    """Check every entry of every chain; each `checkpoint` head (from an earlier run) must
    still be there, in its chain. `key` is the key, or the keys oldest first (rotation)."""
    keys = [key] if isinstance(key, bytes) else list(key)
    report, walks = Report(), dict[int, _Walk]()
    pending = {
        h.entry_id: h for h in ([checkpoint] if isinstance(checkpoint, Head) else checkpoint or [])
    }
    found: set[int] = set()
    for cut in await _cuts(conn, keys, report):
        walks[cut.chain] = _Walk(expected=cut.hash, before=cut.hash, previous=cut.entry_id)
        # A checkpointed head that was archived since is accounted for by the cut.
        found.update(h.entry_id for h in pending.values() if _archived(h, cut))
    after = 0
    while True:
        rows = (await conn.execute(BATCH, {"after": after, "limit": batch_size})).mappings().all()
        if not rows:
            break
        for row in rows:
            _check(row, keys, walks.setdefault(row["chain"], _Walk()), report)
            head = pending.get(row["id"])
            if head is not None and row["hash"] == head.hash and row["chain"] == head.chain:
                found.add(head.entry_id)
        after = rows[-1]["id"]
    for walk in walks.values():
        if walk.previous_forged and walk.previous is not None:
            _reclassify_last(report, walk.previous)
    for entry_id, head in sorted(pending.items()):
        if entry_id not in found:
            report.problems.append(
                Problem(
                    "deleted",
                    entry_id,
                    f"the checkpointed head of chain {head.chain} is gone or changed:"
                    " entries were removed from the end",
                )
            )
    return report


async def _cuts(conn: AsyncConnection, keys: Sequence[bytes], report: Report) -> list[Head]:
    """The newest cut of each chain; a cut that no key made is reported as changed."""
    cuts = []
    for row in (await conn.execute(CUTS)).mappings():
        head = Head(row["entry_id"], row["hash"], row["chain"])
        made = {
            cut_mac(
                key,
                chain=head.chain,
                entry_id=head.entry_id,
                digest=head.hash,
                before=row["archived_before"],
                sha256=row["archive_sha256"],
            )
            for key in keys
        }
        if row["mac"] not in made:
            report.problems.append(
                Problem(
                    "changed",
                    head.entry_id,
                    f"the archive cut of chain {head.chain} does not match its MAC: forged",
                )
            )
        report.cuts[head.chain] = head
        cuts.append(head)
    return cuts


def _archived(head: Head, cut: Head) -> bool:
    return head.chain == cut.chain and head.entry_id <= cut.entry_id


def _key_of(row: Any, keys: Sequence[bytes], start: int) -> int | None:
    """The index of the key the entry was made with, trying the chain's current key first."""
    content, stored = dict(row), str(row["hash"])
    order: list[int] = [*range(start, len(keys)), *range(start)]
    for index in order:
        if entry_hash(str(row["prev_hash"]), content, keys[index]) == stored:
            return index
    return None


def _check(row: Any, keys: Sequence[bytes], walk: _Walk, report: Report) -> None:
    entry_id: int = row["id"]
    index = _key_of(row, keys, walk.key_index)
    forged = index is None
    if index is not None and index < walk.key_index:
        report.problems.append(
            Problem(
                "changed",
                entry_id,
                "made with a retired key after its chain moved to a newer one: forged",
            )
        )
    elif index is not None:
        walk.key_index = index
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
                f"links to a hash that is not the previous entry's in chain {row['chain']}"
                f" ({walk.previous or 'start'}): entries before it were deleted",
            )
        )
    if forged:
        report.problems.append(
            Problem("changed", entry_id, "content does not match its hash: changed")
        )
    walk.before, walk.expected = row["prev_hash"], row["hash"]
    walk.previous, walk.previous_forged = entry_id, forged
    report.checked += 1
    report.heads[row["chain"]] = Head(entry_id, row["hash"], row["chain"])


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
