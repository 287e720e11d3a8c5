"""GET /fhir/Patient/{id}/$everything: authenticated like /graphql, one transaction, the access
policy decides and the audit trail records, answered as application/fhir+json."""

from __future__ import annotations

import logging
import uuid

from starlette.requests import Request
from starlette.responses import Response

from app import audit
from app.access.principal import Principal
from app.auth import authenticate
from app.context import build_context
from app.db import Database, limit_statements
from app.errors import AppError, ResponseTooLarge
from app.fhir.exporter import everything
from app.fhir.r4 import FhirJson, dumps
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

    async def everything(self, request: Request) -> Response:
        try:
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
        except AppError as exc:
            return _refusal(exc)
        try:
            patient_id = uuid.UUID(request.path_params["id"])
        except ValueError:
            return outcome(404, "not-found", "no such patient")
        running = RunningRequest()
        try:
            body = await until_disconnect(
                request, self._bundle(running, request, principal, patient_id), running.cancel
            )
        except ClientGone:
            return Response(status_code=499)
        except AppError as exc:
            return _refusal(exc)
        if body is None:
            # The same answer whether the patient is missing or hidden (A12: reveal nothing).
            return outcome(404, "not-found", "no such patient")
        return Response(body, media_type=FHIR_JSON)

    async def _bundle(
        self, running: RunningRequest, request: Request, principal: Principal, patient_id: uuid.UUID
    ) -> bytes | None:
        try:
            async with self.db.transaction() as conn:
                running.conn = conn
                await limit_statements(self.db, conn, self.settings.statement_timeout)
                ctx = build_context(conn, principal, self.settings, operation_name=OPERATION)
                try:
                    bundle = await everything(ctx, patient_id, base_url=f"{request.base_url}fhir/")
                finally:
                    # Also when cancelled (the client left): no rollback while a read runs.
                    await ctx.data.settle()
                body = None if bundle is None else dumps(bundle)
                limit = self.settings.max_response_bytes
                if body is not None and len(body) > limit:
                    raise ResponseTooLarge(
                        f"the bundle would be {len(body)} bytes, more than the {limit} the"
                        " server sends"
                    )
                await audit.flush(conn, ctx.audit, principal, OPERATION)
        except AppError:
            raise
        except Exception as exc:
            ending = ending_error(exc, self.settings)
            if ending is None:
                log.exception("Patient/$everything failed")
                raise AppError(
                    "Internal server error", code="INTERNAL_SERVER_ERROR", status=500
                ) from exc
            raise ending from exc
        finally:
            running.conn = None
        return body


def _refusal(exc: AppError) -> Response:
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
