"""The FHIR REST API: /fhir/metadata, /fhir/{type}/{id}, /fhir/Patient?identifier=, and
/fhir/Patient/{id}/$everything. Authenticated like /graphql, one transaction per request, the
access policy decides and the audit trail records; answered as application/fhir+json (XML and
other formats are refused with 406), errors as OperationOutcome."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from app import audit
from app.access.principal import Principal, PrincipalKind
from app.auth import authenticate
from app.context import build_context
from app.db import Database, limit_statements
from app.errors import AppError, Forbidden, ResponseTooLarge
from app.fhir.exporter import everything
from app.fhir.mapping.registry import SUPPORTED_TYPES
from app.fhir.r4 import FhirJson, dumps
from app.fhir.rest import (
    SearchError,
    capability_statement,
    read,
    row_id_of,
    search_patients,
    search_records,
)
from app.fhir.summary import summary
from app.guard import (
    ClientGone,
    RateLimits,
    RunningRequest,
    ending_error,
    error_headers,
    refuse_anonymous,
    until_disconnect,
)
from app.settings import Settings

FHIR_JSON = "application/fhir+json"
OPERATION = "Patient/$everything"
# A GET has no use for a body; a large one is refused unread.
MAX_BODY_BYTES = 1_000_000
log = logging.getLogger("vardkedja.fhir")
JSON_TYPES = {FHIR_JSON, "application/json", "application/json+fhir", "application/*", "*/*"}
JSON_FORMATS = {"json", *JSON_TYPES}


def not_acceptable(request: Request) -> Response | None:
    """406 unless the client takes JSON (Accept, or FHIR's _format parameter)."""
    wanted = request.query_params.get("_format")
    if wanted is not None and wanted.strip().lower() not in JSON_FORMATS:
        return outcome(406, "not-supported", f"format {wanted!r}: only {FHIR_JSON} is served")
    accept = request.headers.get("accept")
    if accept:
        types = {part.split(";")[0].strip().lower() for part in accept.split(",")}
        if not types & JSON_TYPES:
            return outcome(406, "not-supported", f"only {FHIR_JSON} is served")
    return None


RESEARCH_REFUSAL = (
    "research tokens do not read through the FHIR REST API (its answers carry real ids): use"
    " GraphQL or the bulk export ($export), pseudonymised per study (A15)"
)


def outcome(status: int, code: str, text: str) -> Response:
    """An OperationOutcome with one issue (FHIR's error body)."""
    body: FhirJson = {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "error", "code": code, "diagnostics": text}],
    }
    return Response(dumps(body), status_code=status, media_type=FHIR_JSON)


# FHIR issue types (http://hl7.org/fhir/valueset-issue-type.html) for the coded refusals.
ISSUE_TYPES = {
    401: "login",
    403: "forbidden",
    413: "too-costly",
    422: "too-costly",
    429: "throttled",
}


class FhirEndpoint:
    def __init__(self, db: Database, settings: Settings, limits: RateLimits | None = None) -> None:
        self.db, self.settings = db, settings
        self.limits = limits or RateLimits(settings)

    async def metadata(self, request: Request) -> Response:
        """The CapabilityStatement: public, as FHIR clients ask for it before logging in."""
        refused = not_acceptable(request)
        if refused is not None:
            return refused
        return Response(
            dumps(capability_statement(f"{request.base_url}fhir")), media_type=FHIR_JSON
        )

    async def read(self, request: Request) -> Response:
        resource_type, rid = request.path_params["type"], request.path_params["id"]
        if resource_type not in SUPPORTED_TYPES:
            return outcome(404, "not-supported", f"resource type {resource_type!r} is not served")
        return await self._answer(
            request,
            f"{resource_type}/read",
            lambda ctx: read(ctx, resource_type, rid),
            f"no such {resource_type}",
        )

    async def search(self, request: Request) -> Response:
        resource_type = request.path_params["type"]
        if resource_type not in SUPPORTED_TYPES:
            return outcome(404, "not-supported", f"resource type {resource_type!r} is not served")
        if resource_type != "Patient":
            items = list(request.query_params.multi_items())
            base_url = f"{request.base_url}fhir/"
            return await self._answer(
                request,
                f"{resource_type}/search",
                lambda ctx: search_records(ctx, resource_type, items, base_url=base_url),
                "",
            )
        params = set(request.query_params) - {"_format"}
        identifier = request.query_params.get("identifier")
        if identifier is None or params != {"identifier"}:
            return outcome(400, "not-supported", "Patient search takes identifier=system|value")
        base = f"{request.base_url}fhir/"
        return await self._answer(
            request,
            "Patient/search",
            lambda ctx: search_patients(ctx, identifier, base_url=base),
            "",
        )

    async def _answer(
        self,
        request: Request,
        operation: str,
        produce: Callable[[Any], Awaitable[FhirJson | None]],
        missing: str,
    ) -> Response:
        """Every data route's one path: format, limits, principal, then the transaction,
        cancelled if the client leaves; 404 alike for missing and hidden (A12)."""
        refused = not_acceptable(request)
        if refused is not None:
            return refused
        try:
            principal = await self._principal(request)
            if principal.kind is PrincipalKind.RESEARCH:
                await self._refuse_research(principal, operation)
        except AppError as exc:
            return refusal(exc)
        running = RunningRequest()
        try:
            body = await until_disconnect(
                request, self._run(running, principal, operation, produce), running.cancel
            )
        except ClientGone:
            return Response(status_code=499)
        except SearchError as exc:
            return outcome(400, "invalid", str(exc))
        except AppError as exc:
            return refusal(exc)
        if body is None:
            return outcome(404, "not-found", missing)
        return Response(body, media_type=FHIR_JSON)

    async def _principal(self, request: Request) -> Principal:
        """Who asks, after the address and principal rate limits and the body limit; anonymous
        callers are refused before anything is looked up."""
        self.limits.check_address(request)
        declared = request.headers.get("content-length", "0")
        if not declared.isdigit() or int(declared) > MAX_BODY_BYTES:
            raise AppError(
                f"the body is larger than {MAX_BODY_BYTES} bytes",
                code="PAYLOAD_TOO_LARGE",
                status=413,
            )
        principal = await authenticate(request, self.settings)
        self.limits.check_principal(principal)
        if principal.is_anonymous:
            raise refuse_anonymous()
        return principal

    async def _refuse_research(self, principal: Principal, operation: str) -> None:
        """A15: the REST reads answer with real ids, so research tokens are refused here (a
        logged denial); they read through GraphQL or the bulk export, pseudonymised per study."""
        async with self.db.transaction() as conn:
            ctx = build_context(conn, principal, self.settings, operation_name=operation)
            ctx.audit.deny(None, RESEARCH_REFUSAL)
            await audit.flush(conn, ctx.audit, principal, operation)
        raise Forbidden(RESEARCH_REFUSAL)

    async def _run(
        self,
        running: RunningRequest,
        principal: Principal,
        operation: str,
        produce: Callable[[Any], Awaitable[FhirJson | None]],
    ) -> bytes | None:
        try:
            async with self.db.transaction() as conn:
                running.conn = conn
                await limit_statements(self.db, conn, self.settings.statement_timeout)
                ctx = build_context(conn, principal, self.settings, operation_name=operation)
                try:
                    found = await produce(ctx)
                finally:
                    # Also when cancelled (the client left): no rollback while a read runs.
                    await ctx.data.settle()
                body = None if found is None else dumps(found)
                limit = self.settings.max_response_bytes
                if body is not None and len(body) > limit:
                    raise ResponseTooLarge(
                        f"the answer would be {len(body)} bytes, more than the {limit} the"
                        " server sends"
                    )
                await audit.flush(conn, ctx.audit, principal, operation)
        except (AppError, SearchError):
            raise
        except Exception as exc:
            ending = ending_error(exc, self.settings)
            if ending is None:
                log.exception("%s failed", operation)
                raise AppError(
                    "Internal server error", code="INTERNAL_SERVER_ERROR", status=500
                ) from exc
            raise ending from exc
        finally:
            running.conn = None
        return body

    async def summary(self, request: Request) -> Response:
        """Patient/$summary: the International Patient Summary document (IPS, EHDS)."""
        patient_id = row_id_of(request.path_params["id"], "Patient")
        base = f"{request.base_url}fhir/"

        async def produce(ctx: Any) -> FhirJson | None:
            if patient_id is None:
                return None
            return await summary(ctx, patient_id, base_url=base)

        return await self._answer(request, "Patient/$summary", produce, "no such patient")

    async def everything(self, request: Request) -> Response:
        patient_id = row_id_of(request.path_params["id"], "Patient")
        base = f"{request.base_url}fhir/"

        async def produce(ctx: Any) -> FhirJson | None:
            if patient_id is None:
                return None
            return await everything(ctx, patient_id, base_url=base)

        return await self._answer(request, OPERATION, produce, "no such patient")


def refusal(exc: AppError) -> Response:
    """An OperationOutcome for a coded refusal, with the code in the issue's details."""
    body: FhirJson = {
        "resourceType": "OperationOutcome",
        "issue": [
            {
                "severity": "error",
                "code": ISSUE_TYPES.get(
                    exc.status, "exception" if exc.status >= 500 else "invalid"
                ),
                "details": {"coding": [{"code": exc.code}], "text": exc.code},
                "diagnostics": exc.message,
            }
        ],
    }
    return Response(
        dumps(body), status_code=exc.status, media_type=FHIR_JSON, headers=error_headers(exc)
    )
