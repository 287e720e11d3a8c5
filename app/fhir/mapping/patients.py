"""Patient, RelatedPerson (representatives) and EpisodeOfCare (care relationships).

Identifiers follow HL7 Sweden's SEBasePatient: personnummer `urn:oid:1.2.752.129.2.1.3.1`,
samordningsnummer `urn:oid:1.2.752.129.2.1.3.3`. Reservnummer have no national system: ours is
`https://vardkedja.se/fhir/sid/reservnummer` with the issuer as the assigner's display. A
patient identifier in any other system is imported as a reservnummer issued by that system.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from app.fhir.mapping.common import (
    PERSONNUMMER,
    SAMORDNINGSNUMMER,
    Ext,
    Resolver,
    Row,
    code_system,
    created_ext,
    day,
    ext,
    id_system,
    instant,
    meta,
    meta_from_fhir,
    municipality_resource_id,
    own_code,
    ref,
    row_uuid,
    to_date,
    to_datetime,
)
from app.fhir.mapping.header import patient_row_from_fhir, patient_row_to_fhir
from app.fhir.r4 import FhirJson, MappingError, Unsupported
from app.identifiers import IdentifierError, normalize_person_identifier

RESERVNUMMER = id_system("reservnummer")
SYSTEM_OF_KIND = {
    "personnummer": PERSONNUMMER,
    "samordningsnummer": SAMORDNINGSNUMMER,
    "reservnummer": RESERVNUMMER,
}
KIND_OF_SYSTEM = {v: k for k, v in SYSTEM_OF_KIND.items()}
GENDERS = {"female", "male", "other", "unknown"}
ROLE_CODE = "http://terminology.hl7.org/CodeSystem/v3-RoleCode"
ROLE_OF_KIND = {"guardian": "GUARD", "power_of_attorney": "POWATT"}
KIND_OF_ROLE = {v: k for k, v in ROLE_OF_KIND.items()}


# --------------------------------------------------------------------------- Patient


def patient_to_fhir(row: Mapping[str, Any], refs: Any = None) -> FhirJson:
    identifier: FhirJson = {
        "system": SYSTEM_OF_KIND[row["identifier_kind"]],
        "value": row["identifier"],
    }
    if row["reserve_issuer"] is not None:
        identifier["assigner"] = {"display": row["reserve_issuer"]}
    out: FhirJson = {
        "resourceType": "Patient",
        "id": str(row["id"]),
        "meta": meta(row),
        "extension": [
            created_ext(row),
            ext("protected-identity", "Boolean", row["protected_identity"]),
        ],
        "identifier": [identifier],
        "name": [{"use": "official", "family": row["family_name"], "given": [row["given_name"]]}],
        "gender": row["sex"],
        "birthDate": day(row["birth_date"]),
    }
    if row["municipality_code"] is not None:
        out["extension"].append(
            ext(
                "municipality",
                "Reference",
                ref("Organization", municipality_resource_id(row["municipality_code"])),
            )
        )
    if row["deceased_on"] is not None:
        out["deceasedDateTime"] = day(row["deceased_on"])
    address = {
        k: v
        for k, v in (
            ("line", [row["street_address"]] if row["street_address"] is not None else None),
            ("city", row["city"]),
            ("postalCode", row["postal_code"]),
        )
        if v is not None
    }
    if address:
        out["address"] = [address]
    return out


def patient_key(resource: Any) -> tuple[str, str, str | None]:
    """(identifier_kind, identifier, reserve issuer) of a Patient: its natural key."""
    identifiers = resource.identifier or []
    for system, kind in KIND_OF_SYSTEM.items():
        for i, ident in enumerate(identifiers):
            if ident.system == system and ident.value:
                issuer = ident.assigner.display if ident.assigner is not None else None
                return kind, _normalized(kind, str(ident.value), i), issuer
    for i, ident in enumerate(identifiers):
        if ident.value and ident.system:
            # A local identifier from another system: a reservnummer issued by that system.
            value = str(ident.value)
            return "reservnummer", _normalized("reservnummer", value, i), str(ident.system)[:100]
    raise MappingError("Patient.identifier", "no identifier with a system and value")


def _normalized(kind: str, value: str, index: int) -> str:
    try:
        return normalize_person_identifier(kind, value)
    except IdentifierError as exc:
        raise MappingError(f"Patient.identifier[{index}].value", str(exc)) from None


def patient_from_fhir(resource: Any, resolver: Resolver) -> Row:
    kind, identifier, issuer = patient_key(resource)
    name = next((n for n in resource.name or [] if n.use in (None, "official", "usual")), None)
    if name is None or not name.family or not name.given:
        raise MappingError("Patient.name", "a family name and a given name are needed")
    if resource.birthDate is None:
        raise MappingError("Patient.birthDate", "the date of birth is needed")
    gender = resource.gender or "unknown"
    if gender not in GENDERS:
        raise MappingError("Patient.gender", f"unknown gender {gender!r}")
    x = Ext(resource)
    address = (resource.address or [None])[0]
    municipality = x.value("municipality", "Reference")
    deceased = resource.deceasedDateTime
    return {
        "id": row_uuid(resource),
        "identifier_kind": kind,
        "identifier": identifier,
        "reserve_issuer": issuer if kind == "reservnummer" else None,
        "given_name": " ".join(name.given),
        "family_name": name.family,
        "birth_date": to_date(resource.birthDate, "Patient.birthDate"),
        "sex": gender,
        "protected_identity": bool(x.value("protected-identity", "Boolean")),
        "street_address": (address.line or [None])[0]
        if address is not None and address.line
        else None,
        "postal_code": _postal_code(address.postalCode if address is not None else None),
        "city": address.city if address is not None else None,
        "municipality_code": (
            resolver.code_of(municipality, "municipality", "extension:municipality")
            if municipality is not None
            else None
        ),
        "deceased_on": to_date(deceased, "Patient.deceasedDateTime") if deceased else None,
        **meta_from_fhir(resource),
    }


def _postal_code(value: str | None) -> str | None:
    """Swedish postal codes are stored as five digits; longer codes lose their spaces
    ("1024 RJ" -> "1024RJ") to fit the six characters we keep."""
    if value is None or len(value) <= 6:
        return value
    return value.replace(" ", "")


# --------------------------------------------------------------------------- RelatedPerson


def representative_to_fhir(row: Mapping[str, Any], refs: Any = None) -> FhirJson:
    out = patient_row_to_fhir("RelatedPerson", row)
    if row["representative_patient_id"] is None:
        # A power of attorney for a person not registered yet: the personnummer named.
        pending = ext("representative-identifier", "String", row["representative_identifier"])
        out["extension"].append(pending)
    else:
        out["extension"].append(
            ext("representative", "Reference", ref("Patient", row["representative_patient_id"]))
        )
    out["relationship"] = [
        {
            "coding": [
                {"system": ROLE_CODE, "code": ROLE_OF_KIND[row["kind"]]},
                {"system": code_system("representative-kind"), "code": row["kind"]},
            ]
        }
    ]
    out["period"] = _date_period(row["valid_from"], row["valid_to"])
    return out


def representative_from_fhir(resource: Any, resolver: Resolver) -> Row:
    who = Ext(resource).value("representative", "Reference")
    pending = Ext(resource).value("representative-identifier", "String")
    if who is None and pending is None:
        raise Unsupported(
            "a RelatedPerson is stored only as a representative who is a patient here "
            "(extension representative)"
        )
    kind = own_code(resource.relationship or [], "representative-kind")
    if kind is None:
        for c in resource.relationship or []:
            for cd in c.coding or []:
                if cd.system == ROLE_CODE and cd.code in KIND_OF_ROLE:
                    kind = KIND_OF_ROLE[cd.code]
    if kind is None:
        raise Unsupported("only guardians (GUARD) and powers of attorney (POWATT) are stored")
    period = resource.period
    if period is None or period.start is None:
        raise MappingError("RelatedPerson.period.start", "the start of the representation")
    return {
        **patient_row_from_fhir(resource, resolver, resource.patient, "RelatedPerson.patient"),
        "representative_patient_id": None
        if who is None
        else resolver.id_of(who, "patient", "extension:representative"),
        "representative_identifier": pending if who is None else None,
        "kind": kind,
        "valid_from": to_date(period.start, "RelatedPerson.period.start"),
        "valid_to": to_date(period.end, "RelatedPerson.period.end") if period.end else None,
    }


def _date_period(start: Any, end: Any) -> FhirJson:
    out = {"start": day(start)}
    if end is not None:
        out["end"] = day(end)
    return out


# --------------------------------------------------------------------------- EpisodeOfCare


def care_relationship_to_fhir(row: Mapping[str, Any], refs: Any = None) -> FhirJson:
    out = patient_row_to_fhir("EpisodeOfCare", row)
    out["extension"].append(
        ext("care-provider", "Reference", ref("Organization", row["care_provider_id"]))
    )
    out["status"] = "active" if row["valid_to"] is None else "finished"
    out["managingOrganization"] = ref("Organization", row["care_unit_id"])
    if row["practitioner_id"] is not None:
        out["careManager"] = ref("Practitioner", row["practitioner_id"])
    period = {"start": instant(row["valid_from"])}
    if row["valid_to"] is not None:
        period["end"] = instant(row["valid_to"])
    out["period"] = period
    return out


def care_relationship_from_fhir(resource: Any, resolver: Resolver) -> Row:
    if resource.managingOrganization is None:
        raise MappingError("EpisodeOfCare.managingOrganization", "the care unit is needed")
    unit = resolver.id_of(resource.managingOrganization, "care_unit", "managingOrganization")
    provider_ref = Ext(resource).value("care-provider", "Reference")
    provider = (
        resolver.id_of(provider_ref, "care_provider", "extension:care-provider")
        if provider_ref is not None
        else resolver.provider_of_unit(unit)
    )
    if provider is None:
        raise MappingError("EpisodeOfCare.managingOrganization", "the unit's provider is unknown")
    period = resource.period
    if period is None or period.start is None:
        raise MappingError("EpisodeOfCare.period.start", "the start of the care relationship")
    manager = resource.careManager
    return {
        **patient_row_from_fhir(resource, resolver, resource.patient, "EpisodeOfCare.patient"),
        "care_unit_id": unit,
        "care_provider_id": provider,
        "practitioner_id": (
            resolver.id_of(manager, "practitioner", "careManager") if manager is not None else None
        ),
        "valid_from": to_datetime(period.start, "EpisodeOfCare.period.start"),
        "valid_to": to_datetime(period.end, "EpisodeOfCare.period.end") if period.end else None,
    }
