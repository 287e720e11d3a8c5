"""FHIR Bulk Data export over HTTP, as the Bulk Data Access spec describes it: a kick-off answers
202 with Content-Location, polling that answers 202 until the manifest (200) lists NDJSON
files, which are fetched with the same token; DELETE cancels.

The export is `export_population` (the same as `vardkedja export-fhir --ndjson`): a system
integration gets every patient, a research client only opted-in patients, pseudonymised per
client (A15); the audit trail is written batch by batch. Other principals may not bulk-export.
Jobs live in this process (a restart forgets them); files are kept under the data directory.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import shutil
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, Response

from app import audit
from app.access.principal import Principal, PrincipalKind
from app.auth import authenticate
from app.context import build_context
from app.db import Database
from app.errors import AppError
from app.fhir.exporter import export_population
from app.fhir.http import not_acceptable, outcome, refusal
from app.fhir.ndjson import NdjsonWriter
from app.fhir.r4 import dumps
from app.guard import RateLimits
from app.settings import Settings

OPERATION = "$export"
NDJSON = "application/fhir+ndjson"
OUTPUT_FORMATS = {NDJSON, "application/ndjson", "ndjson"}
FILE_NAME = re.compile(r"[A-Za-z]+\.ndjson")


@dataclass
class ExportJob:
    id: str
    owner: str
    directory: Path
    request: str
    transaction_time: str
    types: set[str] | None
    counts: dict[str, int] = field(default_factory=dict)
    error: str | None = None
    task: asyncio.Task[None] | None = None

    @property
    def done(self) -> bool:
        return self.task is not None and self.task.done()


def _owner(principal: Principal) -> str:
    return f"{principal.kind.value}:{principal.subject}"


class BulkExports:
    def __init__(self, db: Database, settings: Settings, limits: RateLimits | None = None) -> None:
        self.db, self.settings = db, settings
        self.limits = limits or RateLimits(settings)
        self.jobs: dict[str, ExportJob] = {}

    async def kick_off(self, request: Request) -> Response:
        refused = not_acceptable(request)
        if refused is not None:
            return refused
        try:
            self.limits.check_address(request)
            principal = await authenticate(request, self.settings)
            self.limits.check_principal(principal)
        except AppError as exc:
            return refusal(exc)
        if principal.kind not in (PrincipalKind.SYSTEM, PrincipalKind.RESEARCH):
            return outcome(
                403, "forbidden", "bulk export is for system integrations and research clients"
            )
        wanted = request.query_params.get("_outputFormat")
        if wanted is not None and wanted not in OUTPUT_FORMATS:
            return outcome(400, "not-supported", f"_outputFormat {wanted!r}: only {NDJSON}")
        unsupported = set(request.query_params) - {"_outputFormat", "_type"}
        if unsupported:
            names = ", ".join(sorted(unsupported))
            return outcome(400, "not-supported", f"unsupported parameter(s): {names}")
        types_param = request.query_params.get("_type")
        types = {t.strip() for t in types_param.split(",")} if types_param else None
        job_id = uuid.uuid4().hex
        job = ExportJob(
            id=job_id,
            owner=_owner(principal),
            directory=Path(self.settings.data_dir) / "exports" / job_id,
            request=str(request.url),
            transaction_time=datetime.now(UTC).isoformat().replace("+00:00", "Z"),
            types=types,
        )
        self.jobs[job_id] = job
        job.task = asyncio.create_task(self._run(job, principal))
        location = f"{request.base_url}fhir/$export-status/{job_id}"
        return Response(status_code=202, headers={"Content-Location": location})

    async def _run(self, job: ExportJob, principal: Principal) -> None:
        try:
            async with self.db.transaction() as conn:
                ctx = build_context(conn, principal, self.settings, operation_name=OPERATION)

                async def after_batch(patients: int) -> None:
                    await ctx.data.settle()
                    await audit.flush(conn, ctx.audit, principal, OPERATION)

                with NdjsonWriter(job.directory) as writer:
                    await export_population(ctx, writer, after_batch=after_batch)
                    await ctx.data.settle()
                    await audit.flush(conn, ctx.audit, principal, OPERATION)
                    job.counts = dict(writer.counts)
        except Exception as exc:  # the manifest says the export failed, not why inside
            job.error = type(exc).__name__

    async def _job(self, request: Request) -> ExportJob | Response:
        try:
            principal = await authenticate(request, self.settings)
        except AppError as exc:
            return outcome(401, "login", exc.message)
        job = self.jobs.get(request.path_params["job"])
        # Another client's job looks like no job at all.
        if job is None or job.owner != _owner(principal):
            return outcome(404, "not-found", "no such export")
        return job

    async def status(self, request: Request) -> Response:
        job = await self._job(request)
        if isinstance(job, Response):
            return job
        if not job.done:
            return Response(status_code=202, headers={"X-Progress": "in progress"})
        if job.error is not None:
            return outcome(500, "exception", f"the export failed ({job.error})")
        base = f"{request.base_url}fhir/$export-file/{job.id}/"
        output = [
            {"type": name, "url": f"{base}{name}.ndjson", "count": count}
            for name, count in sorted(job.counts.items())
            if job.types is None or name in job.types
        ]
        manifest = {
            "transactionTime": job.transaction_time,
            "request": job.request,
            "requiresAccessToken": True,
            "output": output,
            "error": [],
        }
        return Response(dumps(manifest), media_type="application/json")

    async def file(self, request: Request) -> Response:
        job = await self._job(request)
        if isinstance(job, Response):
            return job
        name = request.path_params["name"]
        path = job.directory / name
        if not job.done or not FILE_NAME.fullmatch(name) or not path.is_file():
            return outcome(404, "not-found", "no such file")
        return FileResponse(path, media_type=NDJSON)

    async def cancel(self, request: Request) -> Response:
        job = await self._job(request)
        if isinstance(job, Response):
            return job
        if job.task is not None and not job.task.done():
            job.task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await job.task
        shutil.rmtree(job.directory, ignore_errors=True)
        del self.jobs[job.id]
        return Response(status_code=202)
