"""The FHIR REST reads beside GraphQL: read by id, search Patient by identifier, and the
CapabilityStatement. Every read goes through DataAccess like GraphQL's, so the access policy
decides what leaves and the audit trail records it (disclosures, denials, searches)."""

from __future__ import annotations

import base64
import binascii
import urllib.parse
import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, select
from sqlmodel import SQLModel

from app.context import Context
from app.fhir import exporter
from app.fhir.mapping.common import STOCKHOLM, municipality_resource_id
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
SUMMARY = "http://hl7.org/fhir/uv/ips/OperationDefinition/summary"


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
    parts = await exporter.parts_of(ctx, name, key[0], row_id)
    kept = await exporter.preserved_of(ctx, [key[0]])
    return exporter.to_resources(name, rows, parts, kept)[0]


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


PREFIXES = ("eq", "ge", "gt", "le", "lt")
RECORD_PARAMS = {"patient", "date", "_count", "_offset", "_since", "status", "_format"}


async def search_records(
    ctx: Context, resource_type: str, params: list[tuple[str, str]], *, base_url: str | None
) -> FhirJson:
    """{type}?patient=ID [&date=geYYYY-MM-DD ...] [&_since=instant] [&status=code] [&_count=N]:
    one patient's entries of this type that the caller may see, newest first."""
    unknown = {name for name, _ in params} - RECORD_PARAMS
    if unknown:
        raise SearchError(f"unsupported search parameter(s): {', '.join(sorted(unknown))}")
    values: dict[str, list[str]] = {}
    for name, value in params:
        values.setdefault(name, []).append(value)
    patient_text = (values.get("patient") or [""])[0].removeprefix("Patient/")
    patient_id = row_id_of(patient_text, "Patient") if patient_text else None
    if patient_id is None:
        raise SearchError("patient: a Patient id is needed (patient=<id>)")
    tables = [
        k.table
        for k in dict.fromkeys(k for k in KINDS if k.resource_type == resource_type)
        if k.scope not in (REFERENCE, "patient")
    ]
    if not tables:
        raise SearchError(f"{resource_type} is not searched by patient")
    count = _count(values["_count"][0] if "_count" in values else None)
    offset = _offset(values["_offset"][0] if "_offset" in values else None)
    statuses = set(values.get("status", []))
    found: list[tuple[Any, FhirJson, str, Any]] = []
    for name in dict.fromkeys(tables):
        table = _table(name)
        conditions = [table.c.patient_id == patient_id, *_since(table, values.get("_since", []))]
        conditions += _dates(table, values.get("date", []))
        visible = await ctx.data.visibility(table, [patient_id])
        kind = next(k for k in KINDS if k.table == name)
        # Disclosed below, page by page: only what the answer holds is in the audit entry.
        rows = await ctx.data.fetch(select(table).where(visible, *conditions))
        kept = await exporter.preserved_of(ctx, [patient_id]) if rows else {}
        parts = await exporter.parts_of(ctx, name, patient_id) if rows else {}
        resources = exporter.to_resources(name, rows, parts, kept)
        for row, resource in zip(rows, resources, strict=False):
            if resource["resourceType"] != resource_type:
                continue
            if statuses and resource.get("status") not in statuses:
                continue
            when = row.get("event_time") or row.get("updated_at")
            found.append((when, resource, kind.name, row["id"]))
    found.sort(key=lambda item: item[0], reverse=True)
    page = found[offset : offset + count]
    entries = []
    for _, resource, type_name, row_id in page:
        ctx.audit.disclose(patient_id, type_name, row_id)
        entry: FhirJson = {}
        if base_url is not None:
            entry["fullUrl"] = f"{base_url}{resource_type}/{resource['id']}"
        entries.append(entry | {"resource": resource, "search": {"mode": "match"}})
    bundle: FhirJson = {"resourceType": "Bundle", "type": "searchset", "total": len(found)}
    if base_url is not None:
        # Pages never end silently: `next` while entries remain (FHIR's paging links).
        links = [{"relation": "self", "url": _page_url(base_url, resource_type, params, offset)}]
        if offset + count < len(found) and count > 0:
            next_url = _page_url(base_url, resource_type, params, offset + count)
            links.append({"relation": "next", "url": next_url})
        bundle["link"] = links
    return bundle | {"entry": entries}


def _page_url(base_url: str, resource_type: str, params: list[tuple[str, str]], offset: int) -> str:
    kept = [(name, value) for name, value in params if name != "_offset"]
    query = urllib.parse.urlencode([*kept, ("_offset", str(offset))])
    return f"{base_url}{resource_type}?{query}"


def _offset(value: str | None) -> int:
    if value is None:
        return 0
    try:
        offset = int(value)
    except ValueError:
        raise SearchError("_offset: a number is needed") from None
    if offset < 0:
        raise SearchError("_offset: 0 or more")
    return offset


def _count(value: str | None) -> int:
    if value is None:
        return 100
    try:
        count = int(value)
    except ValueError:
        raise SearchError("_count: a number is needed") from None
    if not 0 <= count <= 1000:
        raise SearchError("_count: 0 to 1000")
    return count


def _instant(text: str, name: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise SearchError(f"{name}: not a date or dateTime: {text!r}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=STOCKHOLM)


def _since(table: Any, values: list[str]) -> list[Any]:
    return [table.c.updated_at >= _instant(v, "_since") for v in values]


def _dates(table: Any, values: list[str]) -> list[Any]:
    """date=[prefix]YYYY-MM-DD[Thh:mm...]: on the entry's time (event_time)."""
    if values and "event_time" not in table.c:
        raise SearchError("date: this resource type has no date to search")
    out = []
    for value in values:
        prefix = value[:2] if value[:2] in PREFIXES else "eq"
        text = value[2:] if value[:2] in PREFIXES else value
        start = _instant(text, "date")
        day_only = "T" not in text
        end = start + timedelta(days=1) if day_only else start
        column = table.c.event_time
        if prefix == "eq":
            out.append(and_(column >= start, column < end) if day_only else column == start)
        elif prefix == "ge":
            out.append(column >= start)
        elif prefix == "gt":
            out.append(column >= end if day_only else column > start)
        elif prefix == "le":
            out.append(column < end if day_only else column <= start)
        else:
            out.append(column < start)
    return out


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
            resource["operation"] = [
                {"name": "everything", "definition": EVERYTHING},
                {"name": "summary", "definition": SUMMARY},
            ]
        if name not in (
            "Patient",
            "Organization",
            "Practitioner",
            "PractitionerRole",
            "ResearchStudy",
        ):
            resource["interaction"].append({"code": "search-type"})
            resource["searchParam"] = [
                {"name": "patient", "type": "reference"},
                {"name": "date", "type": "date"},
                {"name": "status", "type": "token"},
                {"name": "_since", "type": "date"},
                {"name": "_count", "type": "number"},
                {"name": "_offset", "type": "number"},
            ]
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
