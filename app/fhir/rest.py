"""The FHIR REST reads beside GraphQL: read by id, search Patient by identifier, and the
CapabilityStatement. Every read goes through DataAccess like GraphQL's, so the access policy
decides what leaves and the audit trail records it (disclosures, denials, searches)."""

from __future__ import annotations

import base64
import binascii
import uuid
from typing import Any

from sqlalchemy import select
from sqlmodel import SQLModel

from app.context import Context
from app.fhir import exporter
from app.fhir.mapping.common import municipality_resource_id
from app.fhir.mapping.organizations import ORGANISATIONSNUMMER
from app.fhir.mapping.patients import RESERVNUMMER, SE_BASE_PATIENT, SYSTEM_OF_KIND
from app.fhir.mapping.registry import KINDS, REFERENCE, TABLES_OF_TYPE
from app.fhir.r4 import FhirJson
from app.identifiers import (
    IdentifierError,
    canonical_patient_system,
    detect_person_identifier_kind,
    normalize_person_identifier,
)

FHIR_VERSION = "4.0.1"
EVERYTHING = "http://hl7.org/fhir/OperationDefinition/Patient-everything"


def _table(name: str) -> Any:
    return SQLModel.metadata.tables[name]


def row_id_of(text: str, resource_type: str) -> uuid.UUID | None:
    """The row id a FHIR id names: our uuid, or the global id GraphQL shows for the row
    (base64url of `Type:id` or `Type:patient:id`)."""
    try:
        return uuid.UUID(text)
    except ValueError:
        pass
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    parts = raw.split(":")
    names = {k.name for k in KINDS if k.resource_type == resource_type}
    if len(parts) not in (2, 3) or parts[0] not in names:
        return None
    try:
        return uuid.UUID(parts[-1])
    except ValueError:
        return None


async def read(ctx: Context, resource_type: str, rid: str) -> FhirJson | None:
    """One resource by id, when the caller may see it (denials audited); None otherwise."""
    if resource_type == "Organization" and rid.startswith("kommun-"):
        rows = await ctx.data.fetch(
            select(_table("municipality")).where(
                _table("municipality").c.code == rid.removeprefix("kommun-")
            )
        )
        return exporter.to_resources("municipality", rows, {})[0] if rows else None
    row_id = row_id_of(rid, resource_type)
    if row_id is None:
        return None
    if resource_type == "Patient":
        return await read_patient(ctx, row_id)
    for name in TABLES_OF_TYPE.get(resource_type, ()):
        kind = next(k for k in KINDS if k.table == name)
        if kind.scope == REFERENCE:
            found = await _read_reference(ctx, name, row_id)
        else:
            found = await _read_patient_row(ctx, name, row_id)
        if found is not None:
            # A row exported as another resource type (an alert as a Flag) is not this one.
            return found if found["resourceType"] == resource_type else None
    return None


async def read_patient(ctx: Context, patient_id: uuid.UUID) -> FhirJson | None:
    if patient_id not in await ctx.data.visible_patients([patient_id]):
        return None
    table = _table("patient")
    rows = await ctx.data.fetch(select(table).where(table.c.id == patient_id), disclose="Patient")
    if not rows:
        return None
    kept = await exporter.preserved_of(ctx, [patient_id])
    return exporter.to_resources("patient", await exporter.with_identifiers(ctx, rows), {}, kept)[0]


async def _read_reference(ctx: Context, name: str, row_id: uuid.UUID) -> FhirJson | None:
    table = _table(name)
    rows = await ctx.data.fetch(select(table).where(table.c.id == row_id))
    return exporter.to_resources(name, rows, {})[0] if rows else None


async def _read_patient_row(ctx: Context, name: str, row_id: uuid.UUID) -> FhirJson | None:
    table = _table(name)
    # Whose row it is (no data leaves here); the policy then decides about that patient.
    owners = await ctx.data.fetch(select(table.c.patient_id).where(table.c.id == row_id))
    if not owners:
        return None
    key = (owners[0]["patient_id"], row_id)
    visible = await ctx.data.visible_keys(table, [key])
    kind = next(k for k in KINDS if k.table == name)
    rows = await ctx.data.fetch(select(table).where(visible), disclose=kind.name)
    if not rows:
        return None
    activities: dict[Any, list[Any]] = {}
    if name == "implementation_plan":
        activity = _table("plan_activity")
        shown = await ctx.data.visibility(activity, [key[0]])
        found = await ctx.data.fetch(
            select(activity)
            .where(shown, activity.c.plan_id == row_id)
            .order_by(activity.c.patient_id, activity.c.id),
            disclose="PlanActivity",
        )
        activities[row_id] = list(found)
    kept = await exporter.preserved_of(ctx, [key[0]])
    return exporter.to_resources(name, rows, activities, kept)[0]


# --------------------------------------------------------------------------- search


class SearchError(ValueError):
    """A search parameter we cannot use (an OperationOutcome 400)."""


async def search_patients(
    ctx: Context, identifier: str, *, base_url: str | None = None
) -> FhirJson:
    """Patient?identifier=system|value (or a bare personnummer): a searchset Bundle of the
    patients the caller may see. The search is audited (A12), also when it finds nobody."""
    system, _, value = identifier.rpartition("|")
    value = value.strip()
    if not value:
        raise SearchError("identifier: a value is needed (system|value)")
    kind: str | None
    if system == RESERVNUMMER:
        kind, canonical = "reservnummer", RESERVNUMMER
    elif system:
        kind, canonical = canonical_patient_system(system)
    else:
        try:
            kind = detect_person_identifier_kind(value, field="identifier")
        except IdentifierError:
            raise SearchError("identifier: without a system, a personnummer is expected") from None
        canonical = SYSTEM_OF_KIND[kind]
    if kind is not None:
        try:
            value = normalize_person_identifier(kind, value, field="identifier")
        except IdentifierError as exc:
            raise SearchError(str(exc)) from None
    patient, extra = _table("patient"), _table("patient_identifier")
    ids: list[uuid.UUID] = []
    scope = ctx.data.search_scope(patient.c.id)  # audits the search
    if kind is not None:
        found = await ctx.data.fetch(
            select(patient.c.id).where(
                scope, patient.c.identifier_kind == kind, patient.c.identifier == value
            )
        )
        ids += [r["id"] for r in found]
    found = await ctx.data.fetch(
        select(extra.c.patient_id).where(
            extra.c.system == canonical,
            extra.c.value == value,
            ctx.data.scope_predicate(extra.c.patient_id),
        )
    )
    ids += [r["patient_id"] for r in found]
    entries = []
    for pid in dict.fromkeys(ids):
        resource = await read_patient(ctx, pid)
        if resource is not None:
            entry: FhirJson = {}
            if base_url is not None:
                entry["fullUrl"] = f"{base_url}Patient/{resource['id']}"
            entries.append(entry | {"resource": resource, "search": {"mode": "match"}})
    return {"resourceType": "Bundle", "type": "searchset", "total": len(entries), "entry": entries}


# --------------------------------------------------------------------------- metadata


def capability_statement(base_url: str) -> FhirJson:
    """What this server does (GET /fhir/metadata): JSON only, bearer tokens, read for every
    type it stores, Patient search by identifier, and Patient/$everything."""
    types = sorted({k.resource_type for k in KINDS})
    resources: list[FhirJson] = []
    for name in types:
        resource: FhirJson = {"type": name, "interaction": [{"code": "read"}]}
        if name == "Patient":
            resource["supportedProfile"] = [SE_BASE_PATIENT]
            resource["interaction"].append({"code": "search-type"})
            resource["searchParam"] = [
                {
                    "name": "identifier",
                    "type": "token",
                    "documentation": "system|value; personnummer, samordningsnummer and "
                    "reservnummer under their OIDs or HL7 Sweden's URIs, any other system as "
                    "stored; a bare value is read as a personnummer",
                }
            ]
            resource["operation"] = [{"name": "everything", "definition": EVERYTHING}]
        if name == "Organization":
            resource["supportedProfile"] = [
                "http://hl7.se/fhir/ig/base/StructureDefinition/SEBaseOrganization"
            ]
        resources.append(resource)
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": "2026-12-04",
        "kind": "instance",
        "software": {"name": "vardkedja"},
        "implementation": {"description": "vardkedja FHIR R4 API", "url": base_url},
        "fhirVersion": FHIR_VERSION,
        "format": ["application/fhir+json", "json"],
        "rest": [
            {
                "mode": "server",
                "documentation": "The same access policy and audit trail as /graphql. Ids are "
                "our uuids; the global id GraphQL shows is accepted too. Organisations are "
                f"identified by HSA-id and organisationsnummer ({ORGANISATIONSNUMMER}); "
                f"municipalities have ids like {municipality_resource_id('0180')}.",
                "security": {
                    "cors": False,
                    "description": "Bearer tokens as for /graphql (Authorization header).",
                },
                "resource": resources,
            }
        ],
    }
