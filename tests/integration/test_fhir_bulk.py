"""Bulk Data $export over HTTP: kick-off (202 + Content-Location), polling until the manifest,
NDJSON files fetched with the same token; system integrations get everyone, research clients
only opted-in patients, pseudonymised; other principals may not bulk-export."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from sqlalchemy import insert, text
from sqlalchemy.ext.asyncio import AsyncConnection

from app.db import ConnectionDatabase
from app.settings import Settings
from app.tokens import mint
from tests.fixtures.fhir.rows import PATIENT, STUDY, T0, coherent_record
from tests.integration.test_fhir_export import TABLES, audit_of, insert_record

KICK_OFF = {"accept": "application/fhir+json", "prefer": "respond-async"}


@dataclass
class SerialDatabase(ConnectionDatabase):
    """One transaction at a time on the test's connection: the export runs in the background
    while the test polls, and savepoints of the two must not interleave."""

    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncConnection]:
        async with self.lock, self.connection.begin_nested():
            yield self.connection


@pytest.fixture
async def bulk_client(
    conn: AsyncConnection, settings: Settings, tmp_path: Path
) -> AsyncIterator[httpx.AsyncClient]:
    from app.main import create_app

    ours = settings.model_copy(update={"data_dir": tmp_path, "pseudonym_key": "test-pseudonym-key"})
    app = create_app(ours, db=SerialDatabase(conn))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield http


def auth(settings: Settings, kind: str = "system", subject: str = "test-fhir", **kw: Any) -> Any:
    return {"authorization": f"Bearer {mint(settings, kind=kind, subject=subject, **kw)}"}


async def export(
    client: httpx.AsyncClient, headers: dict[str, str], path: str = "/fhir/$export"
) -> tuple[str, Any]:
    kick = await client.get(path, headers=KICK_OFF | headers)
    assert kick.status_code == 202, kick.text
    location = kick.headers["content-location"]
    for _ in range(400):
        status = await client.get(location, headers=headers)
        if status.status_code != 202:
            break
        await asyncio.sleep(0.05)
    assert status.status_code == 200, status.text
    return location, status.json()


async def lines(client: httpx.AsyncClient, headers: dict[str, str], url: str) -> list[Any]:
    response = await client.get(url, headers=headers)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/fhir+ndjson")
    return [orjson.loads(line) for line in response.content.splitlines()]


async def test_a_system_integration_exports_everyone(
    bulk_client: httpx.AsyncClient, conn: AsyncConnection, settings: Settings
) -> None:
    await insert_record(conn, coherent_record())
    headers = auth(settings)
    location, manifest = await export(bulk_client, headers)
    assert manifest["requiresAccessToken"] is True and manifest["error"] == []
    outputs = {o["type"]: o for o in manifest["output"]}
    assert {"Patient", "Organization", "MedicationRequest"} <= set(outputs)
    patients = await lines(bulk_client, headers, outputs["Patient"]["url"])
    assert len(patients) == outputs["Patient"]["count"] == 2
    # Another client cannot see the job or its files.
    stranger = auth(settings, subject="someone-else")
    assert (await bulk_client.get(location, headers=stranger)).status_code == 404
    assert (await bulk_client.get(outputs["Patient"]["url"], headers=stranger)).status_code == 404
    assert [a for _, a, _ in await audit_of(conn, PATIENT)] == ["read"]
    # Done with it: DELETE removes the job.
    assert (await bulk_client.delete(location, headers=headers)).status_code == 202
    assert (await bulk_client.get(location, headers=headers)).status_code == 404


async def test_type_filter(
    bulk_client: httpx.AsyncClient, conn: AsyncConnection, settings: Settings
) -> None:
    await insert_record(conn, coherent_record())
    _, manifest = await export(bulk_client, auth(settings), "/fhir/Patient/$export?_type=Patient")
    assert [o["type"] for o in manifest["output"]] == ["Patient"]


async def test_a_research_client_gets_opted_in_patients_pseudonymised(
    bulk_client: httpx.AsyncClient, conn: AsyncConnection, settings: Settings
) -> None:
    record = coherent_record()
    await insert_record(conn, record)
    consent = record["consent"][0] | {
        "id": STUDY,
        "kind": "research",
        "block_id": None,
        "valid_from": T0,
        "valid_to": None,
        "revoked_at": None,
    }
    await conn.execute(insert(TABLES["consent"]).values(consent))
    headers = auth(settings, "research", "research-ki", client_id="research-ki", study=str(STUDY))
    _, manifest = await export(bulk_client, headers)
    outputs = {o["type"]: o for o in manifest["output"]}
    (patient,) = await lines(bulk_client, headers, outputs["Patient"]["url"])
    assert patient["id"].startswith("psn-") and "name" not in patient
    everything = b""
    for output in manifest["output"]:
        everything += (await bulk_client.get(output["url"], headers=headers)).content
    for identifying in (b"191212121212", b"Tolvan", str(PATIENT).encode()):
        assert identifying not in everything


async def test_who_may_not_and_what_is_refused(
    bulk_client: httpx.AsyncClient, settings: Settings
) -> None:
    for headers, status in (
        ({}, 403),  # anonymous
        (auth(settings, "patient", "191212121212", pnr="191212121212"), 403),
        (auth(settings) | {"accept": "application/fhir+xml"}, 406),
    ):
        response = await bulk_client.get("/fhir/$export", headers=KICK_OFF | headers)
        assert response.status_code == status
        assert response.json()["resourceType"] == "OperationOutcome"
    for query in ("_outputFormat=application/fhir+xml", "_since=2020-01-01"):
        response = await bulk_client.get(f"/fhir/$export?{query}", headers=auth(settings))
        assert response.status_code == 400


async def test_the_database_away_is_a_coded_503(settings: Settings) -> None:
    from tests.integration.test_http_hardening import client_of, free_port, pooled

    url = f"postgresql://vardkedja@127.0.0.1:{free_port()}/vardkedja"
    async with pooled(url, pool_timeout=2, retry_after=7) as db, client_of(settings, db) as http:
        answers = [
            await http.get("/fhir/$export", headers=KICK_OFF | auth(settings)),
            await http.get(f"/fhir/$export-status/{'0' * 32}", headers=auth(settings)),
            await http.delete(f"/fhir/$export-status/{'0' * 32}", headers=auth(settings)),
        ]
    for response in answers:
        assert response.status_code == 503 and response.headers["retry-after"] == "7"
        issue = response.json()["issue"][0]
        assert issue["details"]["coding"][0]["code"] == "SERVICE_UNAVAILABLE"


async def test_a_counts_only_study_is_refused_and_the_refusal_is_audited(
    bulk_client: httpx.AsyncClient, conn: AsyncConnection, settings: Settings
) -> None:
    """A15, A12: a study whose approval does not allow record access gets NOT_APPROVED at the
    kick-off (no job), and the denial stays in the audit trail."""
    record = coherent_record()
    record["research_study"] = [record["research_study"][0] | {"allows_record_access": False}]
    await insert_record(conn, record)
    headers = auth(settings, "research", "research-ki", client_id="research-ki", study=str(STUDY))
    kick = await bulk_client.get("/fhir/$export", headers=KICK_OFF | headers)
    assert kick.status_code == 403, kick.text
    assert "content-location" not in kick.headers
    assert kick.json()["issue"][0]["details"]["coding"][0]["code"] == "NOT_APPROVED"
    found = await conn.execute(
        text(
            "SELECT principal_kind, client_id, action, outcome, operation, reason"
            " FROM audit_entry WHERE client_id = 'research-ki'"
        )
    )
    ((kind, client, action, outcome, operation, reason),) = found.all()
    assert (kind, client, action, outcome, operation) == (
        "research", "research-ki", "deny", "denied", "$export"
    )  # fmt: skip
    assert reason.startswith("NOT_APPROVED") and f"ResearchStudy:{STUDY}" in reason
    assert (await conn.execute(text("SELECT count(*) FROM fhir_export_job"))).scalar_one() == 0


async def test_a_refusal_inside_a_run_is_audited_with_the_failure(
    conn: AsyncConnection, settings: Settings
) -> None:
    """An approval withdrawn between the kick-off and the run: the run's transaction rolls
    back, and the job's failure is written together with the denial."""
    from app.fhir import export_jobs
    from app.fhir.bulk import BulkExports
    from app.fhir.jobs import research_principal

    record = coherent_record()
    record["research_study"] = [record["research_study"][0] | {"allows_record_access": False}]
    await insert_record(conn, record)
    ours = settings.model_copy(update={"pseudonym_key": "test-pseudonym-key"})
    principal = research_principal("research-ki", STUDY)
    job = await export_jobs.create(
        conn, owner="research:research-ki", request="test", types=None, retention=60
    )
    await BulkExports(SerialDatabase(conn), ours)._run(job.id, principal)
    failed = await export_jobs.find(conn, job.id)
    assert failed is not None and failed.status == "failed" and failed.error == "AppError"
    found = await conn.execute(
        text("SELECT action, reason FROM audit_entry WHERE client_id = 'research-ki'")
    )
    ((action, reason),) = found.all()
    assert action == "deny" and reason.startswith("NOT_APPROVED") and str(STUDY) in reason
