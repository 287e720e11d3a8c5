"""SIP (samordnad individuell plan) as one FHIR R4 CarePlan of category `sip`: the
participants are a contained CareTeam, the goals contained Goals, the actions `activity`
entries whose performer is the responsible organisation. R4's CarePlan.basedOn may only
point at a CarePlan, so nothing else is put there.

`sip_to_fhir(plan, parts)` writes a plan with its parts; `sip_parts_from_fhir` reads them back
keyed to the plan (each part keeps its id in an extension, so a round trip is exact).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
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
    own_code,
    ref,
    to_datetime,
)
from app.fhir.mapping.header import header_from_fhir, header_to_fhir, practitioner_ref
from app.fhir.r4 import FhirJson, MappingError, Unsupported

KIND = code_system("care-plan-kind")
STATUS = {"active": "active", "completed": "completed", "cancelled": "revoked"}
FROM_STATUS = {v: k for k, v in STATUS.items()}
ACTION_STATUS = {"planned": "not-started", "done": "completed", "cancelled": "cancelled"}
FROM_ACTION_STATUS = {v: k for k, v in ACTION_STATUS.items()}
Parts = Mapping[str, Sequence[Mapping[str, Any]]]  # sip_participant, sip_goal, sip_action


def is_sip(data: FhirJson) -> bool:
    """Whether a CarePlan's JSON is a SIP (else it is a genomförandeplan)."""
    return any(
        cd.get("system") == KIND and cd.get("code") == "sip"
        for c in data.get("category") or []
        for cd in c.get("coding") or []
    )


def _written(row: Mapping[str, Any]) -> list[FhirJson]:
    out = [
        ext("part-id", "String", str(row["id"])),
        ext("written-by-unit", "Reference", ref("Organization", row["written_by_unit_id"])),
        ext("written-at", "DateTime", instant(row["written_at"])),
    ]
    if row["written_by_hsa_id"] is not None:
        out.append(ext("written-by-hsa-id", "String", row["written_by_hsa_id"]))
    return out


def _status_set(action: Mapping[str, Any]) -> list[FhirJson]:
    """When and by whom the action's status was last set (updateSipAction); its follow-up
    note is the activity's `progress` annotation."""
    out = []
    if action.get("status_set_at") is not None:
        out.append(ext("status-set-at", "DateTime", instant(action["status_set_at"])))
    if action.get("status_set_by_hsa_id") is not None:
        out.append(ext("status-set-by-hsa-id", "String", action["status_set_by_hsa_id"]))
    return out


def sip_to_fhir(row: Mapping[str, Any], refs: Any = None, parts: Parts | None = None) -> FhirJson:
    parts = parts or {}
    out = header_to_fhir("CarePlan", row)
    if row["follow_up_on"] is not None:
        out["extension"].append(ext("follow-up-on", "Date", day(row["follow_up_on"])))
    out["status"] = "entered-in-error" if row["nullified"] else STATUS[row["status"]]
    out["intent"] = "plan"
    out["category"] = [concept(KIND, "sip", "Samordnad individuell plan")]
    out["title"] = row["title"]
    out["description"] = row["situation"]
    out["created"] = instant(row["author_time"])
    who = practitioner_ref(row)
    if who is not None:
        out["author"] = who
    patient = ref("Patient", row["patient_id"])
    goals = sorted(parts.get("sip_goal", ()), key=lambda g: g["position"])
    contained: list[FhirJson] = []
    members = []
    for p in parts.get("sip_participant", ()):
        member: FhirJson = {"display": p["name"]}
        if p["care_unit_id"] is not None:
            member["reference"] = f"Organization/{p['care_unit_id']}"
        members.append({"extension": _written(p), "role": [{"text": p["role"]}], "member": member})
    if members:
        contained.append({"resourceType": "CareTeam", "id": "team", "participant": members})
        out["careTeam"] = [{"reference": "#team"}]
    for g in goals:
        contained.append(
            {
                "resourceType": "Goal",
                "id": f"goal-{g['position']}",
                "extension": _written(g),
                "lifecycleStatus": "active",
                "description": {"text": g["goal"]},
                "subject": patient,
            }
        )
    if goals:
        out["goal"] = [{"reference": f"#goal-{g['position']}"} for g in goals]
    if contained:
        out["contained"] = contained
    positions = {g["id"]: g["position"] for g in goals}
    activities = []
    for a in parts.get("sip_action", ()):
        extension = _written(a)
        if a["follow_up_on"] is not None:
            extension.append(ext("follow-up-on", "Date", day(a["follow_up_on"])))
        extension.append(
            ext(
                "responsible-provider",
                "Reference",
                ref("Organization", a["responsible_provider_id"]),
            )
        )
        extension += _status_set(a)
        detail: FhirJson = {
            "status": ACTION_STATUS[a["status"]],
            "description": a["description"],
        }
        if a["responsible_unit_id"] is not None:
            detail["performer"] = [ref("Organization", a["responsible_unit_id"])]
        if a["goal_id"] in positions:
            detail["goal"] = [{"reference": f"#goal-{positions[a['goal_id']]}"}]
        activity: FhirJson = {"extension": extension, "detail": detail}
        if a.get("status_note"):
            activity["progress"] = [{"text": a["status_note"]}]
        activities.append(activity)
    if activities:
        out["activity"] = activities
    return out


def sip_from_fhir(resource: Any, resolver: Resolver) -> Row:
    if own_code(resource.category or [], "care-plan-kind") != "sip":
        raise Unsupported("this CarePlan is not a SIP")
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
    if not resource.title or not resource.description:
        raise MappingError("CarePlan.title", "a SIP needs its title and description")
    row.update(
        title=resource.title[:200],
        situation=resource.description,
        status=FROM_STATUS.get(resource.status, "active"),
        follow_up_on=opt_date(Ext(resource).value("follow-up-on", "Date"), "follow-up-on"),
    )
    return row


def _part(
    element: Any, resolver: Resolver, plan: Row, index: int, path: str, default_unit: uuid.UUID
) -> Row:
    x = Ext(element)
    unit = x.value("written-by-unit", "Reference")
    at = x.value("written-at", "DateTime")
    return {
        "patient_id": plan["patient_id"],
        "id": resolver.child_id(plan["id"], x.value("part-id", "String"), index),
        "plan_id": plan["id"],
        "written_by_unit_id": resolver.id_of(unit, "care_unit", f"{path}.written-by-unit")
        if unit is not None
        else default_unit,
        "written_by_hsa_id": x.value("written-by-hsa-id", "String"),
        "written_at": to_datetime(at, f"{path}.written-at") if at else plan["author_time"],
    }


def sip_parts_from_fhir(resource: Any, resolver: Resolver, plan: Row) -> dict[str, list[Row]]:
    """The participants, goals and actions of a SIP CarePlan, keyed to `plan`."""
    unit = plan["care_unit_id"]
    contained = {c.id: c for c in resource.contained or []}
    out: dict[str, list[Row]] = {"sip_participant": [], "sip_goal": [], "sip_action": []}
    team = next((c for c in contained.values() if type(c).__name__ == "CareTeam"), None)
    for i, p in enumerate(team.participant or [] if team is not None else []):
        path = f"CarePlan.contained.CareTeam.participant[{i}]"
        member = p.member
        unit_id = None
        if member is not None and member.reference:
            unit_id = resolver.id_of(member, "care_unit", f"{path}.member")
        out["sip_participant"].append(
            _part(p, resolver, plan, i, path, unit)
            | {
                "care_unit_id": unit_id,
                "care_provider_id": resolver.provider_of_unit(unit_id) if unit_id else None,
                "name": ((member.display if member else None) or "okänd")[:200],
                "role": ((p.role[0].text if p.role else None) or "deltagare")[:100],
            }
        )
    goal_ids: dict[str, uuid.UUID] = {}
    goals = [c for c in contained.values() if type(c).__name__ == "Goal"]
    for i, g in enumerate(goals, start=len(out["sip_participant"])):
        row = _part(g, resolver, plan, i, "CarePlan.contained.Goal", unit)
        row |= {"position": len(out["sip_goal"]) + 1, "goal": (g.description.text or "")[:500]}
        goal_ids[f"#{g.id}"] = row["id"]
        out["sip_goal"].append(row)
    offset = len(out["sip_participant"]) + len(goals)
    for i, a in enumerate(resource.activity or []):
        path = f"CarePlan.activity[{i}]"
        detail = a.detail
        if detail is None or not detail.description:
            raise MappingError(f"{path}.detail.description", "the action's description")
        x = Ext(a)
        performer = (detail.performer or [None])[0]
        responsible_unit = (
            resolver.id_of(performer, "care_unit", f"{path}.detail.performer")
            if performer is not None
            else None
        )
        provider_ref = x.value("responsible-provider", "Reference")
        provider = (
            resolver.id_of(provider_ref, "care_provider", f"{path}.responsible-provider")
            if provider_ref is not None
            else resolver.provider_of_unit(responsible_unit)
            if responsible_unit
            else None
        )
        if provider is None:
            raise MappingError(f"{path}.detail.performer", "the organisation responsible")
        goal = next((goal_ids.get(r.reference) for r in detail.goal or []), None)
        set_at = x.value("status-set-at", "DateTime")
        out["sip_action"].append(
            _part(a, resolver, plan, offset + i, path, unit)
            | {
                "goal_id": goal,
                "description": detail.description[:1000],
                "responsible_provider_id": provider,
                "responsible_unit_id": responsible_unit,
                "follow_up_on": opt_date(x.value("follow-up-on", "Date"), "follow-up-on"),
                "status": FROM_ACTION_STATUS.get(detail.status, "planned"),
                "status_note": next((p.text for p in a.progress or [] if p.text), None),
                "status_set_at": to_datetime(set_at, f"{path}.status-set-at") if set_at else None,
                "status_set_by_hsa_id": x.value("status-set-by-hsa-id", "String"),
            }
        )
    return out
