"""The FHIR REST API: /fhir/metadata, /fhir/{type}/{id}, /fhir/Patient?identifier=, and
/fhir/Patient/{id}/$everything. Authenticated like /graphql, one transaction per request, the
access policy decides and the audit trail records; answered as application/fhir+json (XML and
other formats are refused with 406), errors as OperationOutcome."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from app import audit
from app.auth import authenticate
from app.context import build_context
from app.db import Database
from app.errors import AppError
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
from app.settings import Settings

FHIR_JSON = "application/fhir+json"
OPERATION = "Patient/$everything"
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
        refused = not_acceptable(request)
        if refused is not None:
            return refused
        try:
            principal = await authenticate(request, self.settings)
        except AppError as exc:
            return outcome(401, "login", exc.message)
        try:
            async with self.db.transaction() as conn:
                ctx = build_context(conn, principal, self.settings, operation_name=operation)
                found = await produce(ctx)
                await ctx.data.settle()
                await audit.flush(conn, ctx.audit, principal, operation)
        except SearchError as exc:
            return outcome(400, "invalid", str(exc))
        if found is None:
            # The same answer whether it is missing or hidden (A12: reveal nothing).
            return outcome(404, "not-found", missing)
        return Response(dumps(found), media_type=FHIR_JSON)

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
        refused = not_acceptable(request)
        if refused is not None:
            return refused
        try:
            principal = await authenticate(request, self.settings)
        except AppError as exc:
            return outcome(401, "login", exc.message)
        patient_id = row_id_of(request.path_params["id"], "Patient")
        if patient_id is None:
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
