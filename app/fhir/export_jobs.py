"""Bulk Data $export jobs kept in PostgreSQL, so that every server process answers the polls of
every job and a restart loses nothing.

A job is run inside one transaction that holds the job's transaction-level advisory lock: one
process at a time runs it, and when that process dies its connection ends, the lock is freed
and the next poll (through any process) runs the job again. Nothing needs a heartbeat or a
lease timeout. Cancelling deletes the row (its files go with it); the runner sees the row gone
after its next batch of patients and stops. The output NDJSON is stored in the database in
parts, so any process can serve it; finished jobs expire after `fhir_export_retention`
seconds and are deleted by the next kick-off or poll.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import orjson
from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from app.db import driver_fetch
from app.models.base import utcnow
from app.models.fhir import FhirExportFile, FhirExportJob

QUEUED, DONE, FAILED = "queued", "done", "failed"
PART_BYTES = 8 * 1024 * 1024
LOCK_SPACE = 0x6668_6972  # "fhir": the first key of every job's advisory lock
JOBS = FhirExportJob.__table__  # type: ignore[attr-defined]
FILES = FhirExportFile.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Job:
    id: uuid.UUID
    owner: str
    status: str
    request: str
    types: frozenset[str] | None
    transaction_time: datetime
    expires_at: datetime
    output: dict[str, int]
    error: str | None


def _job(row: object) -> Job:
    m = row._mapping  # type: ignore[attr-defined]
    return Job(
        id=m["id"],
        owner=m["owner"],
        status=m["status"],
        request=m["request"],
        types=frozenset(m["types"].split(",")) if m["types"] else None,
        transaction_time=m["transaction_time"],
        expires_at=m["expires_at"],
        output=orjson.loads(m["output"]) if m["output"] else {},
        error=m["error"],
    )


async def create(
    conn: AsyncConnection,
    *,
    owner: str,
    request: str,
    types: Iterable[str] | None,
    retention: float,
) -> Job:
    now = utcnow()
    job_id = uuid.uuid4()
    await conn.execute(
        insert(JOBS).values(
            id=job_id,
            owner=owner,
            status=QUEUED,
            request=request,
            types=",".join(sorted(types)) if types is not None else None,
            transaction_time=now,
            expires_at=now + timedelta(seconds=retention),
        )
    )
    found = await find(conn, job_id)
    assert found is not None
    return found


async def find(conn: AsyncConnection, job_id: uuid.UUID) -> Job | None:
    row = (await conn.execute(select(JOBS).where(JOBS.c.id == job_id))).first()
    return _job(row) if row is not None else None


# The second lock key in SQL: the first 4 bytes of the id as a signed integer (_lock_args).
_SQL_KEY = "('x' || left(replace(id::text, '-', ''), 8))::bit(32)::int"
_EXPIRED = f"""DELETE FROM fhir_export_job WHERE expires_at < $1
AND (status <> 'queued' OR pg_try_advisory_xact_lock({LOCK_SPACE}, {_SQL_KEY}))"""


async def remove_expired(conn: AsyncConnection) -> None:
    """Deletes jobs (and their files) past their expiry, except one still being run."""
    await driver_fetch(conn, _EXPIRED, (utcnow(),))


async def remove(conn: AsyncConnection, job_id: uuid.UUID) -> None:
    await conn.execute(delete(JOBS).where(JOBS.c.id == job_id))


def _lock_args(job_id: uuid.UUID) -> tuple[int, int]:
    return LOCK_SPACE, int.from_bytes(job_id.bytes[:4], "big", signed=True)


async def try_lock(conn: AsyncConnection, job_id: uuid.UUID) -> bool:
    """Takes the job's lock until conn's transaction ends; False when another session holds it
    (the job is being run)."""
    sql = "SELECT pg_try_advisory_xact_lock($1, $2) AS got"
    rows = await driver_fetch(conn, sql, _lock_args(job_id))
    return bool(rows[0]["got"])


async def claim(conn: AsyncConnection, job_id: uuid.UUID) -> Job | None:
    """The queued job, locked for this transaction; None when it is gone, finished or being run
    by another session."""
    if not await try_lock(conn, job_id):
        return None
    job = await find(conn, job_id)
    # No write to the row while it runs: a DELETE (cancel) must not wait for the run to end.
    return job if job is not None and job.status == QUEUED else None


async def still_wanted(conn: AsyncConnection, job_id: uuid.UUID) -> bool:
    """Whether the job was not cancelled meanwhile (READ COMMITTED: sees a committed DELETE)."""
    found = await conn.execute(select(JOBS.c.id).where(JOBS.c.id == job_id))
    return found.first() is not None


async def finish(
    conn: AsyncConnection,
    job_id: uuid.UUID,
    directory: Path,
    counts: dict[str, int],
    retention: float,
) -> bool:
    """Stores the NDJSON files of `directory` and marks the job done; False when the job was
    cancelled meanwhile (nothing is stored)."""
    done = await conn.execute(
        update(JOBS)
        .where(JOBS.c.id == job_id, JOBS.c.status == QUEUED)
        .values(
            status=DONE,
            output=orjson.dumps(counts).decode(),
            expires_at=utcnow() + timedelta(seconds=retention),
        )
    )
    if done.rowcount != 1:
        return False
    for resource_type in sorted(counts):
        with (directory / f"{resource_type}.ndjson").open("rb") as handle:
            part = 0
            while chunk := handle.read(PART_BYTES):
                await conn.execute(
                    insert(FILES).values(
                        job_id=job_id, resource_type=resource_type, part=part, content=chunk
                    )
                )
                part += 1
    return True


async def fail(conn: AsyncConnection, job_id: uuid.UUID, error: str, retention: float) -> None:
    await conn.execute(
        update(JOBS)
        .where(JOBS.c.id == job_id, JOBS.c.status == QUEUED)
        .values(
            status=FAILED, error=error[:200], expires_at=utcnow() + timedelta(seconds=retention)
        )
    )


async def parts(conn: AsyncConnection, job_id: uuid.UUID, resource_type: str) -> list[int]:
    found = await conn.execute(
        select(FILES.c.part)
        .where(FILES.c.job_id == job_id, FILES.c.resource_type == resource_type)
        .order_by(FILES.c.part)
    )
    return [row.part for row in found]


async def part(
    conn: AsyncConnection, job_id: uuid.UUID, resource_type: str, number: int
) -> bytes | None:
    found = await conn.execute(
        select(FILES.c.content).where(
            FILES.c.job_id == job_id,
            FILES.c.resource_type == resource_type,
            FILES.c.part == number,
        )
    )
    row = found.first()
    return bytes(row.content) if row is not None else None
