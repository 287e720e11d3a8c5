"""Bulk Data $export jobs live in the database: kicked off through one server process, polled
and downloaded through another; a job whose process is gone is run by the next poll, and one
being run elsewhere is not run twice; another client's job is a 404 and the attempt audited;
DELETE cancels through any process; expired jobs and their files are deleted."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import httpx
import orjson
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app import migrate
from app.db import create_engine
from app.fhir import export_jobs
from app.settings import Settings
from app.tokens import mint
from tests.conftest import TEST_SECRET
from tests.fixtures.fhir.rows import PATIENT, coherent_record
from tests.integration.test_fhir_export import insert_record
from tests.integration.test_subscriptions import Server, two_servers

SETTINGS = Settings(jwt_secret=TEST_SECRET, database_url=None)
KICK_OFF = {"accept": "application/fhir+json", "prefer": "respond-async"}
OWNER = {"authorization": f"Bearer {mint(SETTINGS, kind='system', subject='fhir-client')}"}
STRANGER = {"authorization": f"Bearer {mint(SETTINGS, kind='system', subject='other-client')}"}


@pytest.fixture(scope="module")
def live_url(fresh_database: Callable[[], str]) -> str:
    url = fresh_database()
    migrate.upgrade(url)
    return url


@pytest.fixture(scope="module")
def servers(live_url: str) -> Iterator[tuple[Server, Server]]:
    async def seed() -> None:
        engine = create_engine(live_url, pool_size=1)
        async with engine.begin() as conn:
            await insert_record(conn, coherent_record())
        await engine.dispose()

    asyncio.run(seed())
    with two_servers(live_url) as both:
        yield both


@pytest.fixture
async def db(live_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(live_url, pool_size=2)
    yield engine
    await engine.dispose()


def on(server: Server, location: str) -> str:
    """The same URL served by another process."""
    path = location.split("/fhir/", 1)[1]
    return f"{server.http}/fhir/{path}"


async def poll(http: httpx.AsyncClient, url: str, headers: dict[str, str]) -> httpx.Response:
    for _ in range(300):
        response = await http.get(url, headers=headers)
        if response.status_code != 202:
            return response
        await asyncio.sleep(0.1)
    raise AssertionError(f"{url} still in progress")


async def queued_job(db: AsyncEngine, owner: str = "system:fhir-client") -> uuid.UUID:
    """A job as a kick-off through a process that died at once left it."""
    async with db.begin() as conn:
        job = await export_jobs.create(
            conn, owner=owner, request="http://x/fhir/$export", types=None, retention=600
        )
    return job.id


async def status_of(db: AsyncEngine, job_id: uuid.UUID) -> Any:
    async with db.connect() as conn:
        found = await conn.execute(
            text("SELECT status FROM fhir_export_job WHERE id = :id"), {"id": job_id}
        )
        return found.scalar()


async def test_kicked_off_on_one_process_polled_and_downloaded_on_another(
    servers: tuple[Server, Server], db: AsyncEngine
) -> None:
    a, b = servers
    async with httpx.AsyncClient(timeout=30) as http:
        kick = await http.get(f"{a.http}/fhir/$export", headers=KICK_OFF | OWNER)
        assert kick.status_code == 202, kick.text
        location = kick.headers["content-location"]
        manifest = await poll(http, on(b, location), OWNER)
        assert manifest.status_code == 200, manifest.text
        outputs = {o["type"]: o for o in manifest.json()["output"]}
        patients = await http.get(on(b, outputs["Patient"]["url"]), headers=OWNER)
        assert patients.headers["content-type"].startswith("application/fhir+ndjson")
        rows = [orjson.loads(line) for line in patients.content.splitlines()]
        assert len(rows) == outputs["Patient"]["count"] == 2
        assert str(PATIENT) in {r["id"] for r in rows}
        # The same manifest from the first process (its URLs name that process).
        again = (await http.get(location, headers=OWNER)).json()
        assert [(o["type"], o["count"]) for o in again["output"]] == [
            (o["type"], o["count"]) for o in manifest.json()["output"]
        ]

        # Another client: no such job, on either process, and the attempt is in the audit trail.
        for url in (location, on(b, location), on(b, outputs["Patient"]["url"])):
            assert (await http.get(url, headers=STRANGER)).status_code == 404
        assert (await http.delete(on(b, location), headers=STRANGER)).status_code == 404
        job = location.rsplit("/", 1)[1]
        async with db.connect() as conn:
            denials = await conn.execute(
                text(
                    "SELECT count(*) FROM audit_entry WHERE principal_id = 'other-client'"
                    " AND action = 'deny' AND reason LIKE :job"
                ),
                {"job": f"%{job}%"},
            )
            assert denials.scalar() == 4

        # DELETE through the other process removes the job and its files.
        assert (await http.delete(on(b, location), headers=OWNER)).status_code == 202
        assert (await http.get(location, headers=OWNER)).status_code == 404
        assert await status_of(db, uuid.UUID(hex=job)) is None
        async with db.connect() as conn:
            files = await conn.execute(
                text("SELECT count(*) FROM fhir_export_file WHERE job_id = :id"),
                {"id": uuid.UUID(hex=job)},
            )
            assert files.scalar() == 0


async def test_a_job_whose_process_is_gone_is_run_by_the_next_poll(
    servers: tuple[Server, Server], db: AsyncEngine
) -> None:
    _, b = servers
    job_id = await queued_job(db)
    async with httpx.AsyncClient(timeout=30) as http:
        url = f"{b.http}/fhir/$export-status/{job_id.hex}"
        manifest = await poll(http, url, OWNER)
        assert manifest.status_code == 200, manifest.text
        assert {o["type"] for o in manifest.json()["output"]} >= {"Patient", "Organization"}
    assert await status_of(db, job_id) == "done"


async def test_a_job_run_elsewhere_is_not_run_twice(
    servers: tuple[Server, Server], db: AsyncEngine
) -> None:
    a, b = servers
    job_id = await queued_job(db)
    async with db.connect() as holder, httpx.AsyncClient(timeout=30) as http:
        # This session holds the job's lock, as a process running it would.
        async with holder.begin():
            assert await export_jobs.try_lock(holder, job_id)
            for server in (a, b, a):
                url = f"{server.http}/fhir/$export-status/{job_id.hex}"
                assert (await http.get(url, headers=OWNER)).status_code == 202
                await asyncio.sleep(0.3)
            assert await status_of(db, job_id) == "queued"
        # Its "process" ended without finishing it: the next poll runs it.
        done = await poll(http, f"{a.http}/fhir/$export-status/{job_id.hex}", OWNER)
        assert done.status_code == 200


async def test_expired_jobs_and_their_files_are_deleted(
    servers: tuple[Server, Server], db: AsyncEngine
) -> None:
    a, _ = servers
    async with httpx.AsyncClient(timeout=30) as http:
        kick = await http.get(f"{a.http}/fhir/$export?_type=Patient", headers=KICK_OFF | OWNER)
        location = kick.headers["content-location"]
        assert (await poll(http, location, OWNER)).status_code == 200
        job_id = uuid.UUID(hex=location.rsplit("/", 1)[1])
        async with db.begin() as conn:
            await conn.execute(
                text(
                    "UPDATE fhir_export_job SET expires_at = now() - interval '1 second'"
                    " WHERE id = :id"
                ),
                {"id": job_id},
            )
        # Any later request (here another client's kick-off) deletes what expired.
        assert (
            await http.get(f"{a.http}/fhir/$export", headers=KICK_OFF | STRANGER)
        ).status_code == 202
        assert await status_of(db, job_id) is None
        assert (await http.get(location, headers=OWNER)).status_code == 404
