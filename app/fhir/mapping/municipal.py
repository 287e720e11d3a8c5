"""Municipal care: SoL/LSS decisions (ServiceRequest) and implementation plans with their
activities (CarePlan, one `activity` per plan activity).

The insats and the legal basis are codings in our `insats` and `legal-basis` code systems; their
code tables ship with the database (migrations), so an import only checks that the codes exist.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from app.fhir.mapping.common import (
    Ext,
    Resolver,
    Row,
    code_system,
    concept,
    created_ext,
    day,
    ext,
    instant,
    meta_from_fhir,
    municipality_resource_id,
    opt_date,
    own_code,
    ref,
    to_date,
    to_datetime,
)
from app.fhir.mapping.header import (
    header_from_fhir,
    header_to_fhir,
    practitioner_ref,
    request_header_from_fhir,
)
from app.fhir.r4 import FhirJson, MappingError, Unsupported

OUTCOME_STATUS = {"beviljad": "active", "delvis_beviljad": "active", "avslag": "revoked"}


def decision_to_fhir(row: Mapping[str, Any], refs: Any = None) -> FhirJson:
    out = header_to_fhir("ServiceRequest", row)
    out["extension"] += [
        ext("decision-outcome", "Code", row["outcome"]),
        ext("applied-on", "Date", day(row["applied_on"])),
        ext("decided-on", "Date", day(row["decided_on"])),
        ext("case-officer", "String", row["case_officer_name"]),
        ext(
            "municipality",
            "Reference",
            ref("Organization", municipality_resource_id(row["municipality_code"])),
        ),
    ]
    if row["extent_amount"] is None and row["extent_unit"] is not None:
        out["extension"].append(ext("extent-unit", "String", row["extent_unit"]))
    out["status"] = "entered-in-error" if row["nullified"] else OUTCOME_STATUS[row["outcome"]]
    out["intent"] = "order"
    out["category"] = [concept(code_system("legal-basis"), row["legal_basis_code"])]
    out["code"] = concept(code_system("insats"), row["insats_code"])
    if row["extent_amount"] is not None:
        quantity: FhirJson = {"value": row["extent_amount"]}
        if row["extent_unit"] is not None:
            quantity["unit"] = row["extent_unit"]
        out["quantityQuantity"] = quantity
    if row["valid_from"] is not None or row["valid_to"] is not None:
        out["occurrencePeriod"] = {
            k: day(row[c]) for k, c in (("start", "valid_from"), ("end", "valid_to")) if row[c]
        }
    out["authoredOn"] = instant(row["event_time"])
    who = practitioner_ref(row)
    if who is not None:
        out["requester"] = who
    out["performer"] = [ref("Organization", row["care_unit_id"])]
    if row["motivation"] is not None:
        out["note"] = [{"text": row["motivation"]}]
    return out


def decision_from_fhir(resource: Any, resolver: Resolver) -> Row:
    insats = own_code(resource.code, "insats") if resource.code else None
    if insats is None:
        raise Unsupported("a ServiceRequest is stored only as a municipal decision (insats code)")
    basis = own_code(resource.category or [], "legal-basis")
    x = Ext(resource)
    outcome = x.value("decision-outcome", "Code")
    applied, decided = x.value("applied-on", "Date"), x.value("decided-on", "Date")
    officer = x.value("case-officer", "String")
    municipality = x.value("municipality", "Reference")
    if None in (basis, outcome, applied, decided, officer, municipality):
        raise MappingError(
            "ServiceRequest.extension",
            "a decision needs legal basis, outcome, applied-on, decided-on, case officer and "
            "municipality",
        )
    row = request_header_from_fhir(resource, resolver)
    quantity = resource.quantityQuantity
    period = resource.occurrencePeriod
    row.update(
        legal_basis_code=resolver.known_code("legal_basis", str(basis), "ServiceRequest.category"),
        insats_code=resolver.known_code("insats", insats, "ServiceRequest.code"),
        municipality_code=resolver.code_of(municipality, "municipality", "extension:municipality"),
        applied_on=to_date(applied, "extension:applied-on"),
        decided_on=to_date(decided, "extension:decided-on"),
        valid_from=opt_date(period.start if period else None, "occurrencePeriod.start"),
        valid_to=opt_date(period.end if period else None, "occurrencePeriod.end"),
        extent_amount=quantity.value if quantity is not None else None,
        extent_unit=quantity.unit if quantity is not None else x.value("extent-unit", "String"),
        outcome=outcome,
        case_officer_name=officer,
        motivation=next((n.text for n in resource.note or [] if n.text), None),
    )
    return row


# --------------------------------------------------------------------------- CarePlan


def plan_to_fhir(
    row: Mapping[str, Any], refs: Any = None, activities: Sequence[Mapping[str, Any]] = ()
) -> FhirJson:
    out = header_to_fhir("CarePlan", row)
    if row["follow_up_on"] is not None:
        out["extension"].append(ext("follow-up-on", "Date", day(row["follow_up_on"])))
    # R4's CarePlan.basedOn may only point at a CarePlan: the decision is supporting info.
    out["supportingInfo"] = [ref("ServiceRequest", row["decision_id"])]
    out["status"] = "entered-in-error" if row["nullified"] else "active"
    out["intent"] = "plan"
    out["category"] = [concept(code_system("care-plan-kind"), "genomforandeplan")]
    out["description"] = row["goals"]
    out["created"] = instant(row["author_time"])
    who = practitioner_ref(row)
    if who is not None:
        out["author"] = who
    if activities:
        out["activity"] = [_activity(a) for a in sorted(activities, key=lambda a: a["position"])]
    return out


def _activity(row: Mapping[str, Any]) -> FhirJson:
    extension = [
        ext("activity-id", "String", str(row["id"])),
        ext("activity-version", "Integer", row["version"]),
        ext("activity-updated", "DateTime", instant(row["updated_at"])),
        created_ext(row),
        ext("position", "Integer", row["position"]),
        ext("activity-goal", "String", row["goal"]),
        ext("responsible", "String", row["responsible"]),
        ext("when-how", "String", row["when_how"]),
    ]
    if row["follow_up_on"] is not None:
        extension.append(ext("follow-up-on", "Date", day(row["follow_up_on"])))
    return {
        "extension": extension,
        "detail": {
            "code": concept(code_system("care-plan-kind"), "aktivitet"),
            "status": "unknown",
            "performer": [{"display": row["responsible"]}],
            "description": row["description"],
        },
    }


def plan_from_fhir(resource: Any, resolver: Resolver) -> Row:
    decision = next(
        (
            r
            for r in [*(resource.supportingInfo or []), *(resource.basedOn or [])]
            if (r.reference and "ServiceRequest/" in r.reference) or r.identifier
        ),
        None,
    )
    if decision is None or own_code(resource.category or [], "care-plan-kind") is None:
        raise Unsupported("a CarePlan is stored only as a genomförandeplan for a decision")
    row = header_from_fhir(
        resource,
        resolver,
        patient=resource.subject,
        event_time=resource.created,
        author_time=resource.created,
        practitioner=resource.author,
        encounter=resource.encounter,
        entered_in_error=resource.status == "entered-in-error",
    )
    if not resource.description:
        raise MappingError("CarePlan.description", "the plan's goals are needed")
    row.update(
        decision_id=resolver.id_of(decision, "municipal_decision", "CarePlan.supportingInfo"),
        goals=resource.description,
        follow_up_on=opt_date(Ext(resource).value("follow-up-on", "Date"), "follow-up-on"),
    )
    return row


def activities_from_fhir(resource: Any, resolver: Resolver, plan: Row) -> list[Row]:
    """The plan_activity rows of a CarePlan, keyed to `plan` (its final id and patient)."""
    rows = []
    for index, activity in enumerate(resource.activity or []):
        path = f"CarePlan.activity[{index}]"
        x = Ext(activity)
        detail = activity.detail
        if detail is None or not detail.description:
            raise MappingError(f"{path}.detail.description", "the activity's description")
        own_id = x.value("activity-id", "String")
        responsible = x.value("responsible", "String") or next(
            (p.display for p in detail.performer or [] if p.display), None
        )
        created = x.value("created", "DateTime")
        updated = x.value("activity-updated", "DateTime")
        fallback = meta_from_fhir(resource)
        rows.append(
            {
                "patient_id": plan["patient_id"],
                "id": resolver.child_id(plan["id"], own_id, index),
                "plan_id": plan["id"],
                "position": x.value("position", "Integer") or index + 1,
                "goal": x.value("activity-goal", "String") or "",
                "description": detail.description,
                "responsible": responsible or "",
                "when_how": x.value("when-how", "String") or "",
                "follow_up_on": opt_date(x.value("follow-up-on", "Date"), f"{path}.follow-up-on"),
                "version": x.value("activity-version", "Integer") or 1,
                "created_at": to_datetime(created, path) if created else fallback["created_at"],
                "updated_at": to_datetime(updated, path) if updated else fallback["updated_at"],
            }
        )
    return rows
