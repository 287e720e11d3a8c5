"""Archive whole months of the audit trail: `vardkedja audit archive --before YYYY-MM`.

In one transaction: verify the whole trail (nothing broken is archived), write the entries of
the month partitions that end by then to a JSON-lines file with its SHA-256 beside it, record
for each chain the cut (its last archived entry, HMAC'd under the audit key) in `audit_cut`,
and only then drop the partitions. `audit verify` then starts each chain at its cut, so the
rest still verifies and tampering with it is still found (app/audit_verify.py).

A chain's times never decrease (app/audit.py), so the entries before a month boundary are a
prefix of every chain; entries written before that rule (or sitting in the default partition)
could break it, and then the archive refuses rather than cut a chain in two.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from app.audit import cut_mac
from app.audit_partitions import DEFAULT, TABLE
from app.audit_verify import verify_chain
from app.cli import CommandError
from app.partitions import month_partitions

ROWS = text(
    f"SELECT * FROM {TABLE} WHERE occurred_at < :before AND id > :after ORDER BY id LIMIT :n"
)
# Per chain: the last entry before the cut, and the first after it.
SPLIT = text(
    f"SELECT chain, max(id) FILTER (WHERE occurred_at < :before) AS last_archived,"
    f" min(id) FILTER (WHERE occurred_at >= :before) AS first_kept FROM {TABLE} GROUP BY chain"
)
LAST = text(f"SELECT id, hash, occurred_at FROM {TABLE} WHERE id = :id AND occurred_at < :before")


class ArchiveRefused(CommandError):
    """The trail cannot be archived as asked (broken, or not cut cleanly at the boundary)."""


@dataclass
class Archived:
    partitions: list[str] = field(default_factory=list)
    entries: int = 0
    file: Path | None = None
    sha256: str = ""


async def archive(
    conn: AsyncConnection,
    keys: Sequence[bytes],
    before: datetime,
    folder: Path,
    *,
    batch_size: int = 5000,
) -> Archived:
    """Archive the month partitions that end by `before` (a month start, UTC) into `folder`.
    The keys are the audit keys oldest first; the cuts are made with the last (current) one.
    One transaction: commit it, then the partitions are gone and the file is the record."""
    done = Archived()
    old = {n: b for n, b in (await month_partitions(conn, TABLE)).items() if b[1] <= before}
    if not old:
        return done
    report = await verify_chain(conn, list(keys), batch_size=batch_size)
    if not report.ok:
        raise ArchiveRefused(
            f"the audit chain is broken ({len(report.problems)} problem(s)): run `vardkedja"
            " audit verify`; nothing was archived"
        )
    stray = await conn.execute(
        text(f"SELECT count(*) FROM {DEFAULT} WHERE occurred_at < :b"), {"b": before}
    )
    if stray.scalar_one():
        raise ArchiveRefused(
            f"{DEFAULT} holds entries from before {before:%Y-%m}: run `vardkedja audit"
            " maintain` first to move them into their months"
        )
    splits = (await conn.execute(SPLIT, {"before": before})).all()
    for chain, last_archived, first_kept in splits:
        if last_archived is not None and first_kept is not None and first_kept < last_archived:
            raise ArchiveRefused(
                f"chain {chain} has entry {first_kept} after {before:%Y-%m} but before entry"
                f" {last_archived} in id order: the cut would split the chain"
            )
    done.partitions = sorted(old, key=lambda name: old[name][0])
    # e.g. audit_entry_p202501-202610.jsonl: the months it holds.
    done.file = folder / f"{done.partitions[0]}-{done.partitions[-1][-6:]}.jsonl"
    done.entries, done.sha256 = await _write(conn, before, done.file, batch_size)
    for chain, last_archived, _ in splits:
        if last_archived is not None:
            await _record_cut(conn, keys[-1], chain, last_archived, before, done.sha256)
    for name in done.partitions:
        await conn.execute(text(f"DROP TABLE {name}"))
    return done


async def _write(
    conn: AsyncConnection, before: datetime, path: Path, batch_size: int
) -> tuple[int, str]:
    """Every entry before `before`, in id order, one JSON object a line; the file's SHA-256,
    also written to `<file>.sha256` in the format of sha256sum."""
    digest, count, after = hashlib.sha256(), 0, 0
    partial = path.with_suffix(".partial")
    with partial.open("wb") as out:
        while True:
            params = {"before": before, "after": after, "n": batch_size}
            rows = (await conn.execute(ROWS, params)).mappings().all()
            if not rows:
                break
            for row in rows:
                line = _line(dict(row))
                digest.update(line)
                out.write(line)
            count += len(rows)
            after = rows[-1]["id"]
        out.flush()
        os.fsync(out.fileno())
    partial.rename(path)
    sha256 = digest.hexdigest()
    path.with_name(path.name + ".sha256").write_text(f"{sha256}  {path.name}\n")
    return count, sha256


def _line(row: dict[str, Any]) -> bytes:
    """One entry as JSON, `resources` as the JSON it holds (the driver gives its text)."""
    if isinstance(row["resources"], str):
        row["resources"] = orjson.loads(row["resources"])
    return orjson.dumps(row, option=orjson.OPT_SORT_KEYS, default=str) + b"\n"


async def _record_cut(
    conn: AsyncConnection, key: bytes, chain: int, entry_id: int, before: datetime, sha256: str
) -> None:
    last = (await conn.execute(LAST, {"id": entry_id, "before": before})).one()
    mac = cut_mac(
        key, chain=chain, entry_id=entry_id, digest=last.hash, before=before, sha256=sha256
    )
    await conn.execute(
        text(
            "INSERT INTO audit_cut (chain, entry_id, occurred_at, hash, archived_before,"
            " archive_sha256, mac) VALUES (:c, :i, :t, :h, :b, :s, :m)"
        ),
        {
            "c": chain,
            "i": entry_id,
            "t": last.occurred_at,
            "h": last.hash,
            "b": before,
            "s": sha256,
            "m": mac,
        },
    )
