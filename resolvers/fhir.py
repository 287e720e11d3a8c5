"""FHIR over GraphQL: a patient's record as a Bundle, and importing a Bundle."""

from __future__ import annotations

import uuid
from typing import Any

import orjson

from app.access.principal import PrincipalKind
from app.context import Context
from app.errors import Forbidden
from app.fhir.exporter import everything
from app.fhir.importer import ImportOptions, bundle_entries, import_entries
from app.fhir.r4 import dumps
from app.fhir.results import ImportResult


async def fhir_everything(ctx: Context, patient_id: uuid.UUID) -> dict[str, Any] | None:
    """Patient/$everything as JSON; None when the patient is not visible (denial audited).

    Decimals become JSON numbers of the GraphQL response (doubles); the REST endpoint and the
    CLI keep every digit.
    """
    bundle = await everything(ctx, patient_id)
    if bundle is None:
        return None
    found: dict[str, Any] = orjson.loads(dumps(bundle))
    return found


async def import_bundle(
    ctx: Context,
    bundle: Any,
    *,
    source_system_hsa_id: str | None,
    care_unit_hsa_id: str | None,
) -> ImportResult:
    """Import one Bundle, all or nothing; only system integrations may import."""
    if ctx.principal.kind is not PrincipalKind.SYSTEM:
        raise Forbidden("only system integrations may import FHIR bundles")
    return await import_entries(
        ctx.conn,
        [bundle_entries(bundle)],
        options=ImportOptions(source_system_hsa_id, care_unit_hsa_id),
        audit=ctx.audit,
    )
