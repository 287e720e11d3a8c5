"""The patient's say: consents (Consent, provision permit), blocks / spärrar (Consent, provision
deny) and research studies (ResearchStudy). Our consent kind is the Consent's category in our
`consent-kind` code system; blocks are `block-inner` and `block-outer`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from app.fhir.mapping.common import (
    Ext,
    Resolver,
    Row,
    code_system,
    concept,
    day,
    ext,
    id_system,
    identifier_value,
    instant,
    opt_datetime,
    opt_id,
    own_code,
    ref,
    row_uuid,
    to_date,
    to_datetime,
)
from app.fhir.mapping.header import patient_row_from_fhir, patient_row_to_fhir
from app.fhir.r4 import FhirJson, MappingError, Unsupported

SCOPE = "http://terminology.hl7.org/CodeSystem/consentscope"
ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
PARTICIPATION = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"
ETHICS_APPROVAL = id_system("ethics-approval")
CONSENT_KINDS = {"svod_access", "nll_access", "research", "block_lift"}
BLOCK_KINDS = {"block-inner": "inner", "block-outer": "outer"}


def consent_kind(data: FhirJson) -> str | None:
    """Our consent-kind code of a Consent's JSON (block-inner/-outer for blocks)."""
    for c in data.get("category") or []:
        for cd in c.get("coding") or []:
            if cd.get("system") == code_system("consent-kind"):
                return str(cd.get("code"))
    return None


def _period(start: Any, end: Any) -> FhirJson:
    out = {}
    if start is not None:
        out["start"] = instant(start)
    if end is not None:
        out["end"] = instant(end)
    return out


def _actors(row: Mapping[str, Any]) -> list[FhirJson]:
    actors = []
    for column, resource_type in (
        ("care_provider_id", "Organization"),
        ("care_unit_id", "Organization"),
        ("practitioner_id", "Practitioner"),
    ):
        if row.get(column) is not None:
            actors.append(
                {
                    "role": concept(PARTICIPATION, "IRCP"),
                    "reference": ref(resource_type, row[column]),
                }
            )
    return actors


def _reference_exts(row: Mapping[str, Any], columns: tuple[str, ...]) -> list[FhirJson]:
    names = {
        "care_provider_id": ("care-provider", "Organization"),
        "care_unit_id": ("care-unit", "Organization"),
        "practitioner_id": ("practitioner", "Practitioner"),
        "research_study_id": ("research-study", "ResearchStudy"),
        "block_id": ("block", "Consent"),
    }
    return [
        ext(names[c][0], "Reference", ref(names[c][1], row[c]))
        for c in columns
        if row[c] is not None
    ]


# --------------------------------------------------------------------------- Consent


def consent_to_fhir(row: Mapping[str, Any], refs: Any = None) -> FhirJson:
    out = patient_row_to_fhir("Consent", row)
    out["extension"] += [
        ext("given-by", "Code", row["given_by"]),
        *_reference_exts(
            row,
            (
                "care_provider_id",
                "care_unit_id",
                "practitioner_id",
                "research_study_id",
                "block_id",
            ),
        ),
    ]
    if row["revoked_at"] is not None:
        out["extension"].append(ext("revoked-at", "DateTime", instant(row["revoked_at"])))
    if row.get("recorded_by_hsa_id") is not None:
        out["extension"].append(ext("recorded-by-hsa-id", "String", row["recorded_by_hsa_id"]))
    out["status"] = "inactive" if row["revoked_at"] is not None else "active"
    research = row["kind"] == "research"
    out["scope"] = concept(SCOPE, "research" if research else "patient-privacy")
    out["category"] = [concept(code_system("consent-kind"), row["kind"])]
    out["dateTime"] = instant(row["valid_from"])
    out["policyRule"] = concept(ACT_CODE, "OPTIN")
    provision: FhirJson = {"type": "permit", "period": _period(row["valid_from"], row["valid_to"])}
    actors = _actors(row)
    if actors:
        provision["actor"] = actors
    out["provision"] = provision
    return out


def consent_from_fhir(resource: Any, resolver: Resolver) -> Row:
    kind = own_code(resource.category or [], "consent-kind")
    if kind not in CONSENT_KINDS:
        raise Unsupported("a Consent is stored only with our consent-kind category")
    x = Ext(resource)
    provision = resource.provision
    period = provision.period if provision is not None else None
    start = (period.start if period else None) or resource.dateTime
    if start is None:
        raise MappingError("Consent.provision.period.start", "when the consent starts")
    return {
        **patient_row_from_fhir(resource, resolver, resource.patient, "Consent.patient"),
        "kind": kind,
        "care_provider_id": opt_id(
            resolver, x.value("care-provider", "Reference"), "care_provider", "care-provider"
        ),
        "care_unit_id": opt_id(
            resolver, x.value("care-unit", "Reference"), "care_unit", "care-unit"
        ),
        "practitioner_id": opt_id(
            resolver, x.value("practitioner", "Reference"), "practitioner", "practitioner"
        ),
        "research_study_id": opt_id(
            resolver, x.value("research-study", "Reference"), "research_study", "research-study"
        ),
        "block_id": opt_id(resolver, x.value("block", "Reference"), "block", "extension:block"),
        "given_by": x.value("given-by", "Code") or "patient",
        "recorded_by_hsa_id": x.value("recorded-by-hsa-id", "String"),
        "valid_from": to_datetime(start, "Consent.provision.period.start"),
        "valid_to": opt_datetime(period.end if period else None, "Consent.provision.period.end"),
        "revoked_at": opt_datetime(x.value("revoked-at", "DateTime"), "extension:revoked-at"),
    }


# --------------------------------------------------------------------------- Block


def block_to_fhir(row: Mapping[str, Any], refs: Any = None) -> FhirJson:
    out = patient_row_to_fhir("Consent", row)
    out["extension"] += [
        *_reference_exts(row, ("care_provider_id", "care_unit_id")),
        ext("except-medication", "Boolean", row["except_medication"]),
        ext("except-alerts", "Boolean", row["except_alerts"]),
    ]
    if row["lifted_at"] is not None:
        out["extension"].append(ext("lifted-at", "DateTime", instant(row["lifted_at"])))
    out["status"] = "inactive" if row["lifted_at"] is not None else "active"
    out["scope"] = concept(SCOPE, "patient-privacy")
    out["category"] = [concept(code_system("consent-kind"), f"block-{row['kind']}")]
    out["dateTime"] = instant(row["placed_at"])
    out["policyRule"] = concept(ACT_CODE, "OPTOUT")
    provision: FhirJson = {"type": "deny", "actor": _actors(row)}
    records = _period(row["records_from"], row["records_to"])
    if records:
        provision["dataPeriod"] = records
    out["provision"] = provision
    return out


def block_from_fhir(resource: Any, resolver: Resolver) -> Row:
    kind = BLOCK_KINDS.get(own_code(resource.category or [], "consent-kind") or "")
    x = Ext(resource)
    provider = x.value("care-provider", "Reference")
    if kind is None or provider is None or resource.dateTime is None:
        raise MappingError("Consent", "a block needs its kind, care provider and time placed")
    records = resource.provision.dataPeriod if resource.provision is not None else None
    return {
        **patient_row_from_fhir(resource, resolver, resource.patient, "Consent.patient"),
        "kind": kind,
        "care_provider_id": resolver.id_of(provider, "care_provider", "extension:care-provider"),
        "care_unit_id": opt_id(
            resolver, x.value("care-unit", "Reference"), "care_unit", "care-unit"
        ),
        "records_from": opt_datetime(records.start if records else None, "dataPeriod.start"),
        "records_to": opt_datetime(records.end if records else None, "dataPeriod.end"),
        "except_medication": bool(x.value("except-medication", "Boolean")),
        "except_alerts": bool(x.value("except-alerts", "Boolean")),
        "placed_at": to_datetime(resource.dateTime, "Consent.dateTime"),
        "lifted_at": opt_datetime(x.value("lifted-at", "DateTime"), "extension:lifted-at"),
    }


# --------------------------------------------------------------------------- ResearchStudy


def study_to_fhir(row: Mapping[str, Any], refs: Any = None) -> FhirJson:
    return {
        "resourceType": "ResearchStudy",
        "id": str(row["id"]),
        "extension": [
            ext("research-client", "String", row["client_id"]),
            ext("release-free-text", "Boolean", row["release_free_text"]),
            ext("release-clinician-identity", "Boolean", row["release_clinician_identity"]),
            ext("time-precision", "Code", row["time_precision"]),
            ext("min-cell-size", "PositiveInt", row["min_cell_size"]),
            ext("allows-record-access", "Boolean", row["allows_record_access"]),
        ],
        "identifier": [{"system": ETHICS_APPROVAL, "value": row["ethics_approval_ref"]}],
        "title": row["name"],
        "status": "active",
        "period": {"start": day(row["approved_on"])},
    }


def study_from_fhir(resource: Any, resolver: Resolver) -> Row:
    approval = identifier_value(resource.identifier, ETHICS_APPROVAL)
    x = Ext(resource)
    client = x.value("research-client", "String")
    start = resource.period.start if resource.period else None
    if approval is None or client is None or start is None or not resource.title:
        raise Unsupported(
            "a ResearchStudy is stored only with its ethics approval, research client and date"
        )
    return {
        "id": row_uuid(resource),
        "name": resource.title,
        "ethics_approval_ref": approval,
        "approved_on": to_date(start, "ResearchStudy.period.start"),
        "client_id": client,
        # What the approval releases (A15); absent: the most careful defaults.
        "release_free_text": bool(x.value("release-free-text", "Boolean")),
        "release_clinician_identity": bool(x.value("release-clinician-identity", "Boolean")),
        "time_precision": x.value("time-precision", "Code") or "month",
        "min_cell_size": x.value("min-cell-size", "PositiveInt") or 5,
        "allows_record_access": bool(x.value("allows-record-access", "Boolean")),
    }
