"""Patient, RelatedPerson (representatives) and EpisodeOfCare (care relationships).

Identifiers follow HL7 Sweden's SEBasePatient: personnummer `urn:oid:1.2.752.129.2.1.3.1`,
samordningsnummer `urn:oid:1.2.752.129.2.1.3.3`. Reservnummer have no national system: ours is
`https://vardkedja.se/fhir/sid/reservnummer` with the issuer as the assigner's display; the
national reservnummer is `urn:oid:1.2.752.129.2.1.3.2`. HL7 Sweden's URIs
(`http://electronichealth.se/identifier/...`) are read as the same identifiers. An identifier in
any other system is kept as it is, as (system, value) in patient_identifier: never as a
reservnummer.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from app.fhir.mapping.common import (
    PERSONNUMMER,
    SAMORDNINGSNUMMER,
    Ext,
    Resolver,
    Row,
    code_system,
    complex_ext,
    created_ext,
    day,
    ext,
    id_system,
    instant,
    meta,
    meta_from_fhir,
    municipality_resource_id,
    own_code,
    part,
    ref,
    row_uuid,
    to_date,
    to_datetime,
)
from app.fhir.mapping.header import patient_row_from_fhir, patient_row_to_fhir
from app.fhir.r4 import FhirJson, MappingError, Unsupported
from app.identifiers import (
    OID_RESERVNUMMER,
    IdentifierError,
    canonical_patient_system,
    normalize_person_identifier,
)

RESERVNUMMER = id_system("reservnummer")
SYSTEM_OF_KIND = {
    "personnummer": PERSONNUMMER,
    "samordningsnummer": SAMORDNINGSNUMMER,
    "reservnummer": RESERVNUMMER,
}
GENDERS = {"female", "male", "other", "unknown"}
ROLE_CODE = "http://terminology.hl7.org/CodeSystem/v3-RoleCode"
ROLE_OF_KIND = {"guardian": "GUARD", "power_of_attorney": "POWATT"}
KIND_OF_ROLE = {v: k for k, v in ROLE_OF_KIND.items()}


# --------------------------------------------------------------------------- Patient


def patient_identifiers_to_fhir(row: Mapping[str, Any]) -> list[FhirJson]:
    """The row's own Swedish identifier first, then its patient_identifier rows (the exporter
    puts them in row["identifiers"] as {system, value}) in their order."""
    out: list[FhirJson] = []
    own: tuple[str, str] | None = None
    kind = row["identifier_kind"]
    if kind != "external":
        if kind == "reservnummer" and row["reserve_issuer"] == NATIONAL_RESERVNUMMER:
            identifier: FhirJson = {"system": NATIONAL_RESERVNUMMER, "value": row["identifier"]}
        else:
            identifier = {"system": SYSTEM_OF_KIND[kind], "value": row["identifier"]}
            if row["reserve_issuer"] is not None:
                identifier["assigner"] = {"display": row["reserve_issuer"]}
        own = (identifier["system"], row["identifier"])
        out.append(identifier)
    for extra in row.get("identifiers") or ():
        if (extra["system"], extra["value"]) != own:
            out.append({"system": extra["system"], "value": extra["value"]})
    return out


def patient_meta(row: Mapping[str, Any]) -> FhirJson:
    """Our meta, SEBasePatient as profile, and sekretessmarkering as HL7 Sweden's base profile
    labels it (meta.security)."""
    out = meta(row) | {"profile": [SE_BASE_PATIENT]}
    if row["protected_identity"]:
        out["security"] = [
            {"system": SECURITY_LABEL, "code": SEKRETESSMARKERING, "display": "Sekretessmarkering"}
        ]
    return out


def is_protected(resource: Any) -> bool:
    """Sekretessmarkering: our extension, or an HL7 Sweden security label in meta.security
    (sekretessmarkering or skyddad folkbokföring; also the label's earlier system and code)."""
    if Ext(resource).value("protected-identity", "Boolean"):
        return True
    labels = resource.meta.security if resource.meta is not None else None
    return any(
        label.system in SECURITY_LABELS and label.code in PROTECTED_CODES for label in labels or []
    )


def patient_to_fhir(row: Mapping[str, Any], refs: Any = None) -> FhirJson:
    out: FhirJson = {
        "resourceType": "Patient",
        "id": str(row["id"]),
        "meta": patient_meta(row),
        "extension": [
            created_ext(row),
            ext("protected-identity", "Boolean", row["protected_identity"]),
        ],
        "identifier": patient_identifiers_to_fhir(row),
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


# HL7 Sweden's base profiles (http://hl7.se/fhir/ig/base).
SE_BASE = "http://hl7.se/fhir/ig/base"
SE_BASE_PATIENT = f"{SE_BASE}/StructureDefinition/SEBasePatient"
SECURITY_LABEL = f"{SE_BASE}/CodeSystem/SecurityLabel"
SECURITY_LABELS = {SECURITY_LABEL, "http://electronichealth.se/CodeSystem/SecurityLabel"}
SEKRETESSMARKERING = "sekretessmarkering"
PROTECTED_CODES = {SEKRETESSMARKERING, "skyddadFolkbokforing", "protected-information"}
SWEDISH_ORDER = ("personnummer", "samordningsnummer", "reservnummer")
NATIONAL_RESERVNUMMER = f"urn:oid:{OID_RESERVNUMMER}"
MAX_IDENTIFIER = 200  # patient_identifier.system and .value


@dataclass(frozen=True)
class SwedishId:
    kind: str
    value: str  # normalised (12 digits for person numbers)
    system: str  # canonical: the OID, or our reservnummer system
    issuer: str | None
    index: int


@dataclass(frozen=True)
class ExternalId:
    system: str
    value: str
    index: int


@dataclass(frozen=True)
class PatientIdentity:
    """A Patient's identifiers: Swedish ones by kind (at most one value each), and the
    identifiers of every other system, kept as (system, value), never as reservnummer."""

    swedish: dict[str, SwedishId]
    external: list[ExternalId]

    @property
    def primary(self) -> SwedishId | ExternalId:
        for kind in SWEDISH_ORDER:
            if kind in self.swedish:
                return self.swedish[kind]
        return self.external[0]

    def pairs(self) -> list[tuple[str, str]]:
        """Every identifier as (canonical system, value): what the patient is matched on."""
        return [(i.system, i.value) for i in self.swedish.values()] + [
            (i.system, i.value) for i in self.external
        ]


def patient_identity(resource: Any) -> PatientIdentity:
    """The identifiers of a Patient; MappingError for an invalid Swedish identifier, two values
    of one Swedish kind, or no identifier with a system and a value at all."""
    swedish: dict[str, SwedishId] = {}
    external: list[ExternalId] = []
    for i, ident in enumerate(resource.identifier or []):
        if not ident.system or not ident.value:
            continue  # not matchable: reported as an element that is not kept
        system = str(ident.system)
        issuer = ident.assigner.display if ident.assigner is not None else None
        if system == RESERVNUMMER:
            kind, canonical = "reservnummer", RESERVNUMMER
        else:
            kind, canonical = canonical_patient_system(system)  # type: ignore[assignment]
            if kind == "reservnummer":
                issuer = NATIONAL_RESERVNUMMER
        if kind is None:
            value = str(ident.value).strip()
            if len(system) > MAX_IDENTIFIER or len(value) > MAX_IDENTIFIER:
                raise MappingError(
                    f"Patient.identifier[{i}]", f"longer than {MAX_IDENTIFIER} characters"
                )
            if (system, value) not in {(e.system, e.value) for e in external}:
                external.append(ExternalId(system, value, i))
            continue
        found = SwedishId(kind, _normalized(kind, str(ident.value), i), canonical, issuer, i)
        earlier = swedish.get(kind)
        if earlier is not None and earlier.value != found.value:
            raise MappingError(
                f"Patient.identifier[{i}]",
                f"a second {kind} ({found.value}) beside identifier[{earlier.index}] "
                f"({earlier.value})",
            )
        swedish.setdefault(kind, found)
    if not swedish and not external:
        raise MappingError("Patient.identifier", "no identifier with a system and value")
    return PatientIdentity(swedish, external)


def patient_key(resource: Any) -> tuple[str, str, str | None]:
    """(identifier_kind, identifier, reserve issuer) of a Patient's own identifier: its
    personnummer, else samordningsnummer, else reservnummer, else its first external one."""
    primary = patient_identity(resource).primary
    if isinstance(primary, SwedishId):
        return primary.kind, primary.value, primary.issuer
    return "external", primary.value, None


def identifier_rows(
    patient_id: Any, identity: PatientIdentity, primary: tuple[str, str]
) -> list[Row]:
    """The patient_identifier rows of an identity: all but the row's own Swedish identifier
    (`primary` = (kind, value))."""
    rows: list[Row] = []
    every: list[SwedishId | ExternalId] = [*identity.swedish.values(), *identity.external]
    for ident in sorted(every, key=lambda x: x.index):
        if isinstance(ident, SwedishId) and (ident.kind, ident.value) == primary:
            continue
        rows.append(
            {
                "system": ident.system,
                "value": ident.value,
                "patient_id": patient_id,
                "position": ident.index,
            }
        )
    return rows


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
        "protected_identity": is_protected(resource),
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
    if row["origin"] is not None:
        out["extension"].append(
            complex_ext(
                "origin",
                [part("kind", "Code", row["origin"]), part("id", "String", str(row["origin_id"]))],
            )
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
    origin = Ext(resource).nested("origin")
    origin_id = origin.value("id", "String") if origin else None
    return {
        **patient_row_from_fhir(resource, resolver, resource.patient, "EpisodeOfCare.patient"),
        "care_unit_id": unit,
        "care_provider_id": provider,
        "practitioner_id": (
            resolver.id_of(manager, "practitioner", "careManager") if manager is not None else None
        ),
        "valid_from": to_datetime(period.start, "EpisodeOfCare.period.start"),
        "valid_to": to_datetime(period.end, "EpisodeOfCare.period.end") if period.end else None,
        "origin": origin.value("kind", "Code") if origin else None,
        "origin_id": uuid.UUID(origin_id) if origin_id else None,
    }
