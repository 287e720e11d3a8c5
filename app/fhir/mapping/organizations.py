"""Reference data: municipalities, care providers and care units (Organization), practitioners
(Practitioner) and their assignments (PractitionerRole).

HSA-ids use `urn:oid:1.2.752.29.4.19` (type PRN) and organisationsnummer `urn:oid:2.5.4.97`
(type XX), as HL7 Sweden's SEBaseOrganization slices them; providers and units claim that profile
in meta.profile.
An Organization says which of ours it is with a type coding in our `organization-level` system;
one without it is a care unit when it has `partOf`, else a care provider.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from app.fhir.mapping.common import (
    HSA_ID,
    HSA_ID_RIV,
    Ext,
    Resolver,
    Row,
    code_system,
    concept,
    day,
    ext,
    hsa,
    id_system,
    identifier_value,
    municipality_resource_id,
    own_code,
    ref,
    row_uuid,
    text_of,
    to_date,
)
from app.fhir.r4 import FhirJson, MappingError, Unsupported
from app.identifiers import IdentifierError, validate_municipality_code

KOMMUNKOD = id_system("kommunkod")
# SEBaseOrganization: organisationsnummer as organizationIdentifier (X.520 2.5.4.97), type XX.
ORGANISATIONSNUMMER = "urn:oid:2.5.4.97"
ORGANISATIONSNUMMER_OWN = id_system("organisationsnummer")  # ours before; read on import
SE_BASE_ORGANIZATION = "http://hl7.se/fhir/ig/base/StructureDefinition/SEBaseOrganization"
V2_0203 = "http://terminology.hl7.org/CodeSystem/v2-0203"
GLN = "urn:oid:2.51.1.3"
LEVEL = "organization-level"
PROVIDER_KINDS = {"region", "kommun", "privat", "stat"}
UNIT_KINDS = {
    "primary_care",
    "hospital",
    "emergency",
    "specialist",
    "dental",
    "pharmacy",
    "home_care",
    "special_housing",
    "lss",
    "municipal_health",
}


def organization_level(data: FhirJson) -> str:
    """'municipality', 'care-provider' or 'care-unit' for an Organization's JSON."""
    for c in data.get("type") or []:
        for cd in c.get("coding") or []:
            if cd.get("system") == code_system(LEVEL) and cd.get("code"):
                return str(cd["code"])
    if any(i.get("system") == KOMMUNKOD for i in data.get("identifier") or []):
        return "municipality"
    return "care-unit" if data.get("partOf") else "care-provider"


def _hsa_identifier(value: str) -> FhirJson:
    """An HSA-id as SEBaseOrganization slices it: the FHIR OID and type PRN."""
    return {"type": concept(V2_0203, "PRN"), "system": HSA_ID, "value": value}


def hsa_of(resource: Any, what: str) -> str:
    value = identifier_value(resource.identifier, HSA_ID, HSA_ID_RIV)
    if value is None:
        raise Unsupported(f"{what} without an HSA-id (urn:oid:1.2.752.29.4.19)")
    return hsa(value, f"{resource.get_resource_type()}.identifier")


def _municipality_ext(code: str | None) -> FhirJson | None:
    if code is None:
        return None
    return ext("municipality", "Reference", ref("Organization", municipality_resource_id(code)))


def _municipality_from(resource: Any, resolver: Resolver) -> str | None:
    found = Ext(resource).value("municipality", "Reference")
    if found is None:
        return None
    return resolver.code_of(found, "municipality", "extension:municipality")


# --------------------------------------------------------------------------- municipality


def municipality_to_fhir(row: Mapping[str, Any], refs: Any = None) -> FhirJson:
    return {
        "resourceType": "Organization",
        "id": municipality_resource_id(row["code"]),
        "extension": [ext("county-code", "String", row["county_code"])],
        "identifier": [{"system": KOMMUNKOD, "value": row["code"]}],
        "type": [concept(code_system(LEVEL), "municipality")],
        "name": row["name"],
    }


def municipality_from_fhir(resource: Any, resolver: Resolver) -> Row:
    code = identifier_value(resource.identifier, KOMMUNKOD)
    if code is None:
        raise MappingError("Organization.identifier", "a municipality needs its kommunkod")
    try:
        code = validate_municipality_code(code)
    except IdentifierError as exc:
        raise MappingError("Organization.identifier", exc.detail) from None
    county = Ext(resource).value("county-code", "String") or code[:2]
    if not resource.name:
        raise MappingError("Organization.name", "a municipality needs a name")
    return {"code": code, "name": resource.name, "county_code": county}


# --------------------------------------------------------------------------- provider


def provider_to_fhir(row: Mapping[str, Any], refs: Any = None) -> FhirJson:
    extension = [ext("public", "Boolean", row["public"])]
    municipality = _municipality_ext(row["municipality_code"])
    if municipality is not None:
        extension.append(municipality)
    return {
        "resourceType": "Organization",
        "id": str(row["id"]),
        "meta": {"profile": [SE_BASE_ORGANIZATION]},
        "extension": extension,
        "identifier": [
            _hsa_identifier(row["hsa_id"]),
            {
                "type": concept(V2_0203, "XX"),
                "system": ORGANISATIONSNUMMER,
                "value": row["organisation_number"],
            },
        ],
        "type": [
            concept(code_system(LEVEL), "care-provider"),
            concept(code_system("provider-kind"), row["kind"]),
        ],
        "name": row["name"],
    }


def provider_from_fhir(resource: Any, resolver: Resolver) -> Row:
    hsa_id = hsa_of(resource, "a care provider")
    number = identifier_value(resource.identifier, ORGANISATIONSNUMMER, ORGANISATIONSNUMMER_OWN)
    if number is None:
        raise MappingError(
            "Organization.identifier", "a care provider needs an organisationsnummer"
        )
    kind = own_code(resource.type or [], "provider-kind")
    if kind not in PROVIDER_KINDS:
        raise MappingError(
            "Organization.type", f"provider kind must be one of {sorted(PROVIDER_KINDS)}"
        )
    public = Ext(resource).value("public", "Boolean")
    return {
        "id": row_uuid(resource),
        "hsa_id": hsa_id,
        "name": resource.name or hsa_id,
        "organisation_number": number,
        "kind": kind,
        "municipality_code": _municipality_from(resource, resolver),
        "public": True if public is None else bool(public),
    }


# --------------------------------------------------------------------------- unit


def unit_to_fhir(row: Mapping[str, Any], refs: Any = None) -> FhirJson:
    identifier = [_hsa_identifier(row["hsa_id"])]
    if row["gln"] is not None:
        identifier.append({"system": GLN, "value": row["gln"]})
    out: FhirJson = {
        "resourceType": "Organization",
        "id": str(row["id"]),
        "meta": {"profile": [SE_BASE_ORGANIZATION]},
    }
    municipality = _municipality_ext(row["municipality_code"])
    if municipality is not None:
        out["extension"] = [municipality]
    out["identifier"] = identifier
    out["type"] = [
        concept(code_system(LEVEL), "care-unit"),
        concept(code_system("unit-kind"), row["kind"]),
    ]
    out["name"] = row["name"]
    out["partOf"] = ref("Organization", row["care_provider_id"])
    return out


def unit_from_fhir(resource: Any, resolver: Resolver) -> Row:
    hsa_id = hsa_of(resource, "a care unit")
    kind = own_code(resource.type or [], "unit-kind")
    if kind not in UNIT_KINDS:
        raise MappingError("Organization.type", f"unit kind must be one of {sorted(UNIT_KINDS)}")
    if resource.partOf is None:
        raise MappingError("Organization.partOf", "a care unit is part of a care provider")
    return {
        "id": row_uuid(resource),
        "hsa_id": hsa_id,
        "name": resource.name or hsa_id,
        "care_provider_id": resolver.id_of(resource.partOf, "care_provider", "Organization.partOf"),
        "kind": kind,
        "municipality_code": _municipality_from(resource, resolver),
        "gln": identifier_value(resource.identifier, GLN),
    }


# --------------------------------------------------------------------------- practitioner


def practitioner_to_fhir(row: Mapping[str, Any], refs: Any = None) -> FhirJson:
    return {
        "resourceType": "Practitioner",
        "id": str(row["id"]),
        "identifier": [{"system": HSA_ID, "value": row["hsa_id"]}],
        "name": [{"family": row["family_name"], "given": [row["given_name"]]}],
        "qualification": [{"code": {"text": row["profession"]}}],
    }


def practitioner_from_fhir(resource: Any, resolver: Resolver) -> Row:
    hsa_id = hsa_of(resource, "a practitioner")
    name = (resource.name or [None])[0]
    if name is None or not name.family or not name.given:
        raise MappingError("Practitioner.name", "a family name and a given name are needed")
    qualification = (resource.qualification or [None])[0]
    profession = text_of(qualification.code) if qualification is not None else None
    if profession is None:
        raise MappingError("Practitioner.qualification", "the profession is needed")
    return {
        "id": row_uuid(resource),
        "hsa_id": hsa_id,
        "given_name": " ".join(name.given),
        "family_name": name.family,
        "profession": profession,
    }


# --------------------------------------------------------------------------- assignment


def assignment_to_fhir(row: Mapping[str, Any], refs: Any = None) -> FhirJson:
    period = {"start": day(row["valid_from"])}
    if row["valid_to"] is not None:
        period["end"] = day(row["valid_to"])
    return {
        "resourceType": "PractitionerRole",
        "id": str(row["id"]),
        "extension": [
            ext("care-provider", "Reference", ref("Organization", row["care_provider_id"])),
            ext("assignment-purpose", "String", row["purpose"]),
        ],
        "period": period,
        "practitioner": ref("Practitioner", row["practitioner_id"]),
        "organization": ref("Organization", row["care_unit_id"]),
        "code": [concept(code_system("assignment-role"), row["role"])],
    }


def assignment_from_fhir(resource: Any, resolver: Resolver) -> Row:
    if resource.practitioner is None or resource.organization is None:
        raise MappingError("PractitionerRole", "a practitioner and a care unit are needed")
    unit = resolver.id_of(resource.organization, "care_unit", "PractitionerRole.organization")
    x = Ext(resource)
    provider_ref = x.value("care-provider", "Reference")
    provider = (
        resolver.id_of(provider_ref, "care_provider", "extension:care-provider")
        if provider_ref is not None
        else resolver.provider_of_unit(unit)
    )
    role = own_code(resource.code or [], "assignment-role") or next(
        (text_of(c) for c in resource.code or [] if text_of(c)), None
    )
    if role is None or provider is None:
        raise MappingError("PractitionerRole.code", "the role and the unit's provider are needed")
    period = resource.period
    if period is None or period.start is None:
        raise MappingError("PractitionerRole.period.start", "the start of the assignment")
    return {
        "id": row_uuid(resource),
        "practitioner_id": resolver.id_of(resource.practitioner, "practitioner", "practitioner"),
        "care_unit_id": unit,
        "care_provider_id": provider,
        "role": role,
        "purpose": x.value("assignment-purpose", "String") or "vard_och_behandling",
        "valid_from": to_date(period.start, "PractitionerRole.period.start"),
        "valid_to": to_date(period.end, "PractitionerRole.period.end") if period.end else None,
    }
