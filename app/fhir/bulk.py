"""FHIR Bulk Data export over HTTP, as the Bulk Data Access spec describes it: a kick-off answers
202 with Content-Location, polling that answers 202 until the manifest (200) lists NDJSON
files, which are fetched with the same token; DELETE cancels.

The export is `export_population` (the same as `vardkedja export-fhir --ndjson`): a system
integration gets every patient, a research client only opted-in patients, pseudonymised per
client (A15); the audit trail is written batch by batch. Other principals may not bulk-export.
Jobs and their files are kept in the database (app/fhir/export_jobs.py): any server process
answers a poll or serves a file, and a job whose process died is run again by the next poll.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import tempfile
import uuid
from collections.abc import AsyncIterator, Awaitable
from datetime import UTC, datetime
from pathlib import Path

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from app import audit
from app.access.principal import Principal, PrincipalKind
from app.auth import authenticate
from app.context import Context, build_context
from app.db import Database
from app.errors import AppError
from app.fhir import export_jobs, jobs
from app.fhir.export_jobs import DONE, FAILED, Job
from app.fhir.exporter import export_population
from app.fhir.http import not_acceptable, outcome, refusal
from app.fhir.ndjson import NdjsonWriter
from app.fhir.r4 import dumps
from app.guard import RateLimits, ending_error
from app.settings import Settings

OPERATION = "$export"
NDJSON = "application/fhir+ndjson"
OUTPUT_FORMATS = {NDJSON, "application/ndjson", "ndjson"}
FILE_NAME = re.compile(r"([A-Za-z]+)\.ndjson")
log = logging.getLogger(__name__)


class Cancelled(Exception):
    """The job's row was deleted (DELETE on its status URL) while it ran."""


def _owner(principal: Principal) -> str:
    """Who may fetch a job's files: a research token only for the study it exported for."""
    study = f":{principal.study_id}" if principal.study_id else ""
    return f"{principal.kind.value}:{principal.subject}{study}"


def _z(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


class BulkExports:
    def __init__(self, db: Database, settings: Settings, limits: RateLimits | None = None) -> None:
        self.db, self.settings = db, settings
        self.limits = limits or RateLimits(settings)
        # Jobs this process runs now (another process's runs are seen by their locks).
        self.running: dict[uuid.UUID, asyncio.Task[None]] = {}

    async def kick_off(self, request: Request) -> Response:
        return await self._coded(self._kick_off(request))

    async def _kick_off(self, request: Request) -> Response:
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
        denied = await jobs.refused_export(self.db.transaction, self.settings, principal, OPERATION)
        if denied is not None:
            return refusal(denied)
        async with self.db.transaction() as conn:
            await export_jobs.remove_expired(conn)
            job = await export_jobs.create(
                conn,
                owner=_owner(principal),
                request=str(request.url),
                types=types,
                retention=self.settings.fhir_export_retention,
            )
        self._start(job.id, principal)
        location = f"{request.base_url}fhir/$export-status/{job.id.hex}"
        return Response(status_code=202, headers={"Content-Location": location})

    async def _coded(self, answer: Awaitable[Response]) -> Response:
        """The database away (503) or a statement too slow (504): a coded OperationOutcome."""
        try:
            return await answer
        except Exception as exc:
            ending = ending_error(exc, self.settings)
            if ending is None:
                raise
            return refusal(ending)

    def _start(self, job_id: uuid.UUID, principal: Principal) -> None:
        if job_id in self.running:
            return
        task = asyncio.create_task(self._run(job_id, principal))
        self.running[job_id] = task
        task.add_done_callback(lambda _: self.running.pop(job_id, None))

    async def _run(self, job_id: uuid.UUID, principal: Principal) -> None:
        retention = self.settings.fhir_export_retention
        ctx: Context | None = None
        try:
            async with self.db.transaction() as conn:
                if await export_jobs.claim(conn, job_id) is None:
                    return  # run by another process, finished, or cancelled
                ctx = build_context(conn, principal, self.settings, operation_name=OPERATION)

                async def after_batch(patients: int) -> None:
                    await ctx.data.settle()
                    await audit.flush(conn, ctx.audit, principal, OPERATION)
                    if not await export_jobs.still_wanted(conn, job_id):
                        raise Cancelled

                with tempfile.TemporaryDirectory(prefix="vardkedja-export-") as folder:
                    with NdjsonWriter(Path(folder)) as writer:
                        await export_population(ctx, writer, after_batch=after_batch)
                        await ctx.data.settle()
                        await audit.flush(conn, ctx.audit, principal, OPERATION)
                    counts = dict(writer.counts)
                    if not await export_jobs.finish(conn, job_id, Path(folder), counts, retention):
                        raise Cancelled
        except (Cancelled, asyncio.CancelledError):
            return
        except Exception as exc:  # the manifest says the export failed, not why inside
            log.exception("bulk export %s failed", job_id)
            with contextlib.suppress(Exception):
                async with self.db.transaction() as conn:
                    await export_jobs.fail(conn, job_id, type(exc).__name__, retention)
                    if ctx is not None and isinstance(exc, AppError) and exc.code == "NOT_APPROVED":
                        # A refusal raised in the run (the approval changed after the
                        # kick-off): its denial rolled back with the run; written here.
                        await audit.flush(conn, ctx.audit, principal, OPERATION)

    async def _job(self, request: Request) -> tuple[Job, Principal] | Response:
        """The caller's job; another client's job looks like no job at all (and the attempt is
        audited as a denial)."""
        try:
            principal = await authenticate(request, self.settings)
        except AppError as exc:
            return outcome(401, "login", exc.message)
        try:
            job_id = uuid.UUID(hex=request.path_params["job"])
        except ValueError:
            return outcome(404, "not-found", "no such export")
        async with self.db.transaction() as conn:
            await export_jobs.remove_expired(conn)
            job = await export_jobs.find(conn, job_id)
            if job is not None and job.owner != _owner(principal):
                ctx = build_context(conn, principal, self.settings, operation_name=OPERATION)
                ctx.audit.deny(None, f"bulk export {job_id.hex} belongs to another client")
                await audit.flush(conn, ctx.audit, principal, OPERATION)
                job = None
            # Nobody holds its lock: the process that ran it is gone; run it here.
            if (
                job is not None
                and job.status not in (DONE, FAILED)
                and job.id not in self.running
                and await export_jobs.try_lock(conn, job.id)
            ):
                self._start(job.id, principal)
        if job is None:
            return outcome(404, "not-found", "no such export")
        return job, principal

    async def status(self, request: Request) -> Response:
        return await self._coded(self._status(request))

    async def _status(self, request: Request) -> Response:
        found = await self._job(request)
        if isinstance(found, Response):
            return found
        job, _ = found
        if job.status == FAILED:
            return outcome(500, "exception", f"the export failed ({job.error})")
        if job.status != DONE:
            return Response(status_code=202, headers={"X-Progress": "in progress"})
        base = f"{request.base_url}fhir/$export-file/{job.id.hex}/"
        output = [
            {"type": name, "url": f"{base}{name}.ndjson", "count": count}
            for name, count in sorted(job.output.items())
            if job.types is None or name in job.types
        ]
        manifest = {
            "transactionTime": _z(job.transaction_time),
            "request": job.request,
            "requiresAccessToken": True,
            "output": output,
            "error": [],
        }
        expires = job.expires_at.strftime("%a, %d %b %Y %H:%M:%S GMT")
        return Response(
            dumps(manifest), media_type="application/json", headers={"Expires": expires}
        )

    async def file(self, request: Request) -> Response:
        return await self._coded(self._file(request))

    async def _file(self, request: Request) -> Response:
        found = await self._job(request)
        if isinstance(found, Response):
            return found
        job, _ = found
        name = FILE_NAME.fullmatch(request.path_params["name"])
        resource_type = name.group(1) if name else None
        if job.status != DONE or resource_type not in job.output:
            return outcome(404, "not-found", "no such file")
        async with self.db.transaction() as conn:
            numbers = await export_jobs.parts(conn, job.id, resource_type)

        async def content() -> AsyncIterator[bytes]:
            # One part (at most PART_BYTES) in memory at a time.
            for number in numbers:
                async with self.db.transaction() as conn:
                    chunk = await export_jobs.part(conn, job.id, resource_type, number)
                if chunk is not None:
                    yield chunk

        return StreamingResponse(content(), media_type=NDJSON)

    async def cancel(self, request: Request) -> Response:
        return await self._coded(self._cancel(request))

    async def _cancel(self, request: Request) -> Response:
        found = await self._job(request)
        if isinstance(found, Response):
            return found
        job, _ = found
        async with self.db.transaction() as conn:
            await export_jobs.remove(conn, job.id)
        task = self.running.get(job.id)
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        return Response(status_code=202)
