"""Referrals and discharge plans as FHIR R4.

A referral is a ServiceRequest (category `referral` in our service-request-kind system,
performer the recipient unit) and each step of its status history a Task (`basedOn` the
ServiceRequest, `owner` the unit that took the step); a discharge plan is a ServiceRequest of
category `discharge-plan` whose performers are the municipal and primary care units. Our exact
statuses travel in extensions; FHIR's own status says the same in its coarser words.
"""

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
    instant,
    opt_date,
    opt_datetime,
    opt_ext,
    opt_id,
    own_code,
    ref,
    to_datetime,
)
from app.fhir.mapping.header import (
    header_to_fhir,
    patient_row_from_fhir,
    patient_row_to_fhir,
    practitioner_ref,
    request_header_from_fhir,
)
from app.fhir.r4 import FhirJson, MappingError

KIND = code_system("service-request-kind")
REFERRAL_STATUS = code_system("referral-status")
SERVICE_REQUEST_STATUS = {
    "sent": "active",
    "accepted": "active",
    "rejected": "revoked",
    "answered": "completed",
    "cancelled": "revoked",
}
TASK_STATUS = {
    "sent": "requested",
    "accepted": "accepted",
    "rejected": "rejected",
    "answered": "completed",
    "cancelled": "cancelled",
}
DISCHARGE_STATUS = {
    "enrolled": "active",
    "ready": "active",
    "discharged": "completed",
    "cancelled": "revoked",
}


def service_request_kind(data: Mapping[str, Any]) -> str | None:
    """'referral', 'discharge-plan' or None (a municipal decision) for a ServiceRequest's JSON."""
    for concept_ in data.get("category") or []:
        for cd in concept_.get("coding") or []:
            if cd.get("system") == KIND:
                return str(cd.get("code"))
    return None


def _status(row: Mapping[str, Any], table: Mapping[str, str]) -> str:
    return "entered-in-error" if row["nullified"] else table[row["status"]]


# --------------------------------------------------------------------------- referral


def referral_to_fhir(row: Mapping[str, Any], refs: Any = None) -> FhirJson:
    out = header_to_fhir("ServiceRequest", row)
    out["extension"] += [
        ext("referral-status", "Code", row["status"]),
        ext(
            "recipient-provider",
            "Reference",
            ref("Organization", row["recipient_provider_id"]),
        ),
    ]
    for item in (
        opt_ext("status-reason", "String", row["status_reason"]),
        opt_ext(
            "answer", "Reference", row["outcome_id"] and ref("DiagnosticReport", row["outcome_id"])
        ),
    ):
        if item is not None:
            out["extension"].append(item)
    out["status"] = _status(row, SERVICE_REQUEST_STATUS)
    out["intent"] = "order"
    out["priority"] = row["priority"]
    out["category"] = [concept(KIND, "referral")]
    out["code"] = {"text": row["reason"]}
    out["note"] = [{"text": row["question"]}]
    out["authoredOn"] = instant(row["event_time"])
    who = practitioner_ref(row)
    if who is not None:
        out["requester"] = who
    out["performer"] = [ref("Organization", row["recipient_unit_id"])]
    return out


def referral_from_fhir(resource: Any, resolver: Resolver) -> Row:
    x = Ext(resource)
    status = x.value("referral-status", "Code")
    provider = x.value("recipient-provider", "Reference")
    performer = (resource.performer or [None])[0]
    reason = resource.code.text if resource.code is not None else None
    question = next((n.text for n in resource.note or [] if n.text), None)
    if None in (status, provider, performer, reason, question):
        raise MappingError(
            "ServiceRequest",
            "a referral needs its status, recipient unit and provider, reason and question",
        )
    row = request_header_from_fhir(resource, resolver)
    row.update(
        recipient_unit_id=resolver.id_of(performer, "care_unit", "ServiceRequest.performer"),
        recipient_provider_id=resolver.id_of(
            provider, "care_provider", "extension:recipient-provider"
        ),
        priority=resource.priority or "routine",
        reason=reason,
        question=question,
        status=status,
        status_reason=x.value("status-reason", "String"),
        outcome_id=opt_id(
            resolver, x.value("answer", "Reference"), "referral_outcome", "extension:answer"
        ),
    )
    return row


# --------------------------------------------------------------------------- status history


def referral_event_to_fhir(row: Mapping[str, Any], refs: Any = None) -> FhirJson:
    out = patient_row_to_fhir("Task", row, "for")
    out["status"] = TASK_STATUS[row["status"]]
    out["businessStatus"] = concept(REFERRAL_STATUS, row["status"])
    out["intent"] = "order"
    out["basedOn"] = [ref("ServiceRequest", row["referral_id"])]
    out["focus"] = ref("ServiceRequest", row["referral_id"])
    out["authoredOn"] = instant(row["occurred_at"])
    out["owner"] = ref("Organization", row["care_unit_id"])
    for item in (
        opt_ext("actor-hsa-id", "String", row["actor_hsa_id"]),
        opt_ext("actor-name", "String", row["actor_name"]),
    ):
        if item is not None:
            out["extension"].append(item)
    if row["reason"] is not None:
        out["statusReason"] = {"text": row["reason"]}
    return out


def referral_event_from_fhir(resource: Any, resolver: Resolver) -> Row:
    status = own_code(resource.businessStatus, "referral-status")
    based_on = (resource.basedOn or [None])[0]
    if status is None or based_on is None or resource.owner is None or not resource.authoredOn:
        raise MappingError("Task", "a referral step needs its status, referral, unit and time")
    x = Ext(resource)
    return {
        **patient_row_from_fhir(resource, resolver, resource.for_fhir, "Task.for"),
        "referral_id": resolver.id_of(based_on, "referral", "Task.basedOn"),
        "status": status,
        "occurred_at": to_datetime(resource.authoredOn, "Task.authoredOn"),
        "care_unit_id": resolver.id_of(resource.owner, "care_unit", "Task.owner"),
        "actor_hsa_id": x.value("actor-hsa-id", "String"),
        "actor_name": x.value("actor-name", "String"),
        "reason": resource.statusReason.text if resource.statusReason is not None else None,
    }


# --------------------------------------------------------------------------- discharge plan


def discharge_plan_to_fhir(row: Mapping[str, Any], refs: Any = None) -> FhirJson:
    out = header_to_fhir("ServiceRequest", row)
    out["extension"] += [
        ext("discharge-status", "Code", row["status"]),
        ext(
            "municipal-provider",
            "Reference",
            ref("Organization", row["municipal_provider_id"]),
        ),
    ]
    optional = (
        (
            "primary-care-provider",
            "Reference",
            row["primary_care_provider_id"]
            and ref("Organization", row["primary_care_provider_id"]),
        ),
        ("ready-at", "DateTime", row["ready_at"] and instant(row["ready_at"])),
        ("acknowledged-at", "DateTime", row["acknowledged_at"] and instant(row["acknowledged_at"])),
        ("acknowledged-by-hsa-id", "String", row["acknowledged_by_hsa_id"]),
        ("acknowledged-by-name", "String", row["acknowledged_by_name"]),
        ("discharged-at", "DateTime", row["discharged_at"] and instant(row["discharged_at"])),
    )
    for name, kind, value in optional:
        item = opt_ext(name, kind, value)
        if item is not None:
            out["extension"].append(item)
    out["status"] = _status(row, DISCHARGE_STATUS)
    out["intent"] = "plan"
    out["category"] = [concept(KIND, "discharge-plan")]
    out["code"] = {"text": "Samordnad utskrivning (lag 2017:612)"}
    if row["expected_needs"] is not None:
        out["note"] = [{"text": row["expected_needs"]}]
    out["authoredOn"] = instant(row["event_time"])
    if row["planned_discharge_on"] is not None:
        out["occurrenceDateTime"] = day(row["planned_discharge_on"])
    who = practitioner_ref(row)
    if who is not None:
        out["requester"] = who
    performers = [ref("Organization", row["municipal_unit_id"])]
    if row["primary_care_unit_id"] is not None:
        performers.append(ref("Organization", row["primary_care_unit_id"]))
    out["performer"] = performers
    return out


def discharge_plan_from_fhir(resource: Any, resolver: Resolver) -> Row:
    x = Ext(resource)
    status = x.value("discharge-status", "Code")
    provider = x.value("municipal-provider", "Reference")
    performers = resource.performer or []
    if status is None or provider is None or not performers:
        raise MappingError(
            "ServiceRequest", "a discharge plan needs its status and municipal unit and provider"
        )
    row = request_header_from_fhir(resource, resolver)
    primary = performers[1] if len(performers) > 1 else None

    def moment(name: str) -> Any:
        return opt_datetime(x.value(name, "DateTime"), f"extension:{name}")

    row.update(
        municipal_unit_id=resolver.id_of(performers[0], "care_unit", "ServiceRequest.performer"),
        municipal_provider_id=resolver.id_of(
            provider, "care_provider", "extension:municipal-provider"
        ),
        primary_care_unit_id=opt_id(resolver, primary, "care_unit", "ServiceRequest.performer"),
        primary_care_provider_id=opt_id(
            resolver,
            x.value("primary-care-provider", "Reference"),
            "care_provider",
            "extension:primary-care-provider",
        ),
        status=status,
        expected_needs=next((n.text for n in resource.note or [] if n.text), None),
        ready_at=moment("ready-at"),
        planned_discharge_on=opt_date(resource.occurrenceDateTime, "occurrenceDateTime"),
        acknowledged_at=moment("acknowledged-at"),
        acknowledged_by_hsa_id=x.value("acknowledged-by-hsa-id", "String"),
        acknowledged_by_name=x.value("acknowledged-by-name", "String"),
        discharged_at=moment("discharged-at"),
    )
    return row
