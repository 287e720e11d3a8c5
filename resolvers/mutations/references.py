"""Look up what a mutation refers to: patient, care unit and provider, care contact,
practitioner. Reference data (organisations) is read directly; patient rows pass `ctx.data`."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date

from sqlalchemy import RowMapping, Table, select

from app.access.principal import PrincipalKind
from app.context import Context
from app.errors import BadInput
from app.identifiers import validate_hsa_id
from resolvers.mutations.checks import Checks
from resolvers.mutations.outcome import Code
from resolvers.tables import CARE_PROVIDER, CARE_UNIT, PATIENT, PRACTITIONER
from schema.ids import GlobalId, decode_id


@dataclass(frozen=True)
class Unit:
    id: uuid.UUID
    hsa_id: str
    kind: str
    care_provider_id: uuid.UUID


@dataclass(frozen=True)
class Practitioner:
    id: uuid.UUID | None
    hsa_id: str
    name: str | None
    role_code: str | None


def global_id(
    checks: Checks, field: str, raw: str | None, type_name: str, *, required: bool = True
) -> GlobalId | None:
    """Decode a global id of `type_name`; a malformed or other-typed id is a problem."""
    if raw is None or not raw.strip():
        if required:
            checks.add(field, Code.INVALID_VALUE, f"{field} is required")
        return None
    try:
        gid = decode_id(raw.strip(), field=field)
    except BadInput:
        checks.add(field, Code.INVALID_IDENTIFIER, f"{field}: not a valid global id (global_id)")
        return None
    if gid.type_name != type_name:
        checks.add(
            field,
            Code.INVALID_REFERENCE,
            f"{field} is the id of a {gid.type_name}, not of a {type_name}",
        )
        return None
    return gid


async def one(ctx: Context, table: Table, **where: object) -> RowMapping | None:
    """One row by equality on columns (no disclosure: only existence and keys are used)."""
    condition = [table.c[k] == v for k, v in where.items()]
    rows = await ctx.data.fetch(select(table).where(*condition).limit(1))
    return rows[0] if rows else None


async def patient_birth_date(
    ctx: Context, checks: Checks, field: str, patient_id: uuid.UUID
) -> date | None:
    """The patient's birth date; NOT_FOUND if there is no such patient."""
    row = await one(ctx, PATIENT, id=patient_id)
    if row is None:
        checks.add(field, Code.NOT_FOUND, f"{field}: no such patient")
        return None
    born: date = row["birth_date"]
    return born


async def care_unit(
    ctx: Context, checks: Checks, unit_hsa_id: str | None, provider_hsa_id: str | None
) -> Unit | None:
    """The unit (by HSA-id; a clinician's own unit by default), checked against the provider."""
    unit_field, provider_field = "input.careUnitHsaId", "input.careProviderHsaId"
    if unit_hsa_id is None:
        unit_hsa_id = ctx.principal.care_unit_hsa_id
        if unit_hsa_id is None:
            checks.add(
                unit_field, Code.INVALID_VALUE, f"{unit_field} is required (no unit in the token)"
            )
            return None
    hsa = checks.identifier(unit_field, validate_hsa_id, unit_hsa_id)
    provider_hsa = checks.identifier(
        provider_field, validate_hsa_id, provider_hsa_id, required=False
    )
    if hsa is None:
        return None
    row = await one(ctx, CARE_UNIT, hsa_id=hsa)
    if row is None:
        checks.add(unit_field, Code.NOT_FOUND, f"{unit_field}: no care unit has HSA-id {hsa}")
        return None
    unit = Unit(row["id"], row["hsa_id"], row["kind"], row["care_provider_id"])
    if provider_hsa is not None:
        provider = await one(ctx, CARE_PROVIDER, hsa_id=provider_hsa)
        if provider is None:
            checks.add(
                provider_field,
                Code.NOT_FOUND,
                f"{provider_field}: no care provider has HSA-id {provider_hsa}",
            )
            return None
        if provider["id"] != unit.care_provider_id:
            checks.add(
                provider_field,
                Code.INVALID_REFERENCE,
                f"care unit {hsa} does not belong to care provider {provider_hsa}",
            )
            return None
    return unit


async def practitioner(
    ctx: Context, checks: Checks, accountable_hsa_id: str | None
) -> Practitioner | None:
    """The accountable professional: the signed-in clinician, or for a system integration the
    HSA-id it names (looked up in the directory when known)."""
    principal = ctx.principal
    field = "input.accountableHsaId"
    if principal.kind is PrincipalKind.CLINICIAN:
        hsa: str | None = principal.subject
    else:
        hsa = checks.identifier(field, validate_hsa_id, accountable_hsa_id, required=False)
    if not hsa:
        return None
    row = await one(ctx, PRACTITIONER, hsa_id=hsa)
    # Token claims are free text: cut them to the header's columns.
    role = (principal.role or (row["profession"] if row else None) or "")[:40] or None
    if row is None:
        return Practitioner(None, hsa, (principal.name or "")[:200] or None, role)
    return Practitioner(row["id"], hsa, f"{row['given_name']} {row['family_name']}"[:200], role)


async def patient_row(
    ctx: Context,
    checks: Checks,
    field: str,
    table: Table,
    gid: GlobalId | None,
    patient_id: uuid.UUID | None,
) -> RowMapping | None:
    """A visible row of the patient by its global id; another patient's row is a reference
    error, a missing (or hidden) one NOT_FOUND."""
    if gid is None:
        return None
    if patient_id is not None and gid.patient_id != patient_id:
        checks.add(field, Code.INVALID_REFERENCE, f"{field} belongs to another patient")
        return None
    if gid.patient_id is None:
        checks.add(field, Code.INVALID_IDENTIFIER, f"{field}: not a valid global id (global_id)")
        return None
    visible = await ctx.data.visible_keys(table, [(gid.patient_id, gid.id)])
    rows = await ctx.data.fetch(select(table).where(visible))
    if not rows:
        checks.add(field, Code.NOT_FOUND, f"{field}: no such {gid.type_name}")
        return None
    return rows[0]
