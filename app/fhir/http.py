"""GET /fhir/Patient/{id}/$everything: authenticated like /graphql, one transaction, the access
policy decides and the audit trail records, answered as application/fhir+json."""

from __future__ import annotations

import uuid

from starlette.requests import Request
from starlette.responses import Response

from app import audit
from app.auth import authenticate
from app.context import build_context
from app.db import Database
from app.errors import AppError
from app.fhir.exporter import everything
from app.fhir.r4 import FhirJson, dumps
from app.settings import Settings

FHIR_JSON = "application/fhir+json"
OPERATION = "Patient/$everything"


def outcome(status: int, code: str, text: str) -> Response:
    """An OperationOutcome with one issue (FHIR's error body)."""
    body: FhirJson = {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "error", "code": code, "diagnostics": text}],
    }
    return Response(dumps(body), status_code=status, media_type=FHIR_JSON)


class FhirEndpoint:
    def __init__(self, db: Database, settings: Settings) -> None:
        self.db, self.settings = db, settings

    async def everything(self, request: Request) -> Response:
        try:
            principal = await authenticate(request, self.settings)
        except AppError as exc:
            return outcome(401, "login", exc.message)
        try:
            patient_id = uuid.UUID(request.path_params["id"])
        except ValueError:
            return outcome(404, "not-found", "no such patient")
        async with self.db.transaction() as conn:
            ctx = build_context(conn, principal, self.settings, operation_name=OPERATION)
            bundle = await everything(ctx, patient_id, base_url=f"{request.base_url}fhir/")
            await ctx.data.settle()
            await audit.flush(conn, ctx.audit, principal, OPERATION)
        if bundle is None:
            # The same answer whether the patient is missing or hidden (A12: reveal nothing).
            return outcome(404, "not-found", "no such patient")
        return Response(dumps(bundle), media_type=FHIR_JSON)
