"""Delta sync on the root Query: `changes(after:, first:, categories:)`.

Each item is one changed row as the caller may see it now: the row itself, or a tombstone
(nullified, or no longer visible: a block, a revoked consent) with only its id. Changes of
consents, blocks, representatives and care relationships come as `accessChanged` items: what
the caller may see of that patient changed, so re-read the patient's lists.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime
from enum import Enum
from functools import cache
from typing import Annotated, Any

import strawberry

from app.changes import feed
from app.context import Context
from resolvers import changes as resolve
from resolvers.loaders.patients import PatientByIdLoader
from schema.connections import After, First, Info
from schema.ids import encode_id
from schema.inputs import expect_id
from schema.node import Node


@strawberry.enum(description="What kind of data changed: the tables of a patient's record.")
class ChangeCategory(Enum):
    PATIENT = strawberry.enum_value("patient", description="The patient's demographics.")
    PATIENT_IDENTIFIER = strawberry.enum_value(
        "patient_identifier",
        description="The patient's identifiers of other systems (the record is the patient).",
    )
    FHIR_PRESERVED = strawberry.enum_value(
        "fhir_preserved",
        description="The FHIR elements kept for export beside a record (the record is that "
        "row): its FHIR form changed.",
    )
    CARE_CONTACT = strawberry.enum_value("care_contact", description="Care contacts.")
    CARE_DOCUMENT = strawberry.enum_value("care_document", description="Notes.")
    DIAGNOSIS = strawberry.enum_value("diagnosis", description="Diagnoses.")
    ALERT = strawberry.enum_value("alert", description="Alert information.")
    FUNCTIONAL_STATUS = strawberry.enum_value(
        "functional_status", description="Functional status assessments."
    )
    LAB_RESULT = strawberry.enum_value("lab_result", description="Laboratory results.")
    REFERRAL_OUTCOME = strawberry.enum_value("referral_outcome", description="Referral outcomes.")
    VACCINATION = strawberry.enum_value("vaccination", description="Vaccinations.")
    PRESCRIPTION = strawberry.enum_value("prescription", description="Prescriptions.")
    DISPENSATION = strawberry.enum_value("dispensation", description="Dispensations.")
    SIP_PLAN = strawberry.enum_value("sip_plan", description="SIPs (samordnade planer).")
    SIP_PARTICIPANT = strawberry.enum_value("sip_participant", description="SIP participants.")
    SIP_GOAL = strawberry.enum_value("sip_goal", description="SIP goals.")
    SIP_ACTION = strawberry.enum_value("sip_action", description="SIP actions.")
    MEDICATION_ADMINISTRATION = strawberry.enum_value(
        "medication_administration",
        description="Medication administrations (home-care signing lists).",
    )
    DENTAL_TREATMENT = strawberry.enum_value("dental_treatment", description="Dental treatments.")
    TOOTH_FINDING = strawberry.enum_value("tooth_finding", description="Tooth findings.")
    MUNICIPAL_DECISION = strawberry.enum_value(
        "municipal_decision", description="Municipal decisions."
    )
    IMPLEMENTATION_PLAN = strawberry.enum_value(
        "implementation_plan", description="Implementation plans."
    )
    VITAL_SIGNS = strawberry.enum_value(
        "vital_signs", description="Vital signs (NEWS2 observations)."
    )
    PLAN_ACTIVITY = strawberry.enum_value(
        "plan_activity", description="Activities of implementation plans."
    )
    REFERRAL = strawberry.enum_value("referral", description="Referrals (remisser).")
    REFERRAL_EVENT = strawberry.enum_value(
        "referral_event", description="Steps of referrals' status histories."
    )
    DISCHARGE_PLAN = strawberry.enum_value(
        "discharge_plan", description="Coordinated discharges (lag 2017:612)."
    )
    CONSENT = strawberry.enum_value("consent", description="Consents (an access change).")
    BLOCK = strawberry.enum_value("block", description="Blocks (an access change).")
    REPRESENTATIVE = strawberry.enum_value(
        "representative", description="Representatives (an access change)."
    )
    CARE_RELATIONSHIP = strawberry.enum_value(
        "care_relationship", description="Care relationships (an access change)."
    )
    PORTAL_EXCEPTION = strawberry.enum_value(
        "portal_access_exception",
        description="Exceptions to the patient app's age rules (an access change).",
    )
    ACCESS = strawberry.enum_value(
        "access",
        description="An access change whose row the caller may not see (ACCESS_CHANGED items).",
    )


@strawberry.enum(description="How a row changed.")
class ChangeKind(Enum):
    CREATED = strawberry.enum_value(
        "created", description="The row was written for the first time."
    )
    UPDATED = strawberry.enum_value("updated", description="The row was changed.")
    NULLIFIED = strawberry.enum_value("nullified", description="The row was nullified (makulerad).")
    DELETED = strawberry.enum_value(
        "deleted", description="The row was deleted (not done by the API; by an operator)."
    )
    ACCESS_CHANGED = strawberry.enum_value(
        "access_changed",
        description="What the caller may see of the patient changed: re-read the patient's lists.",
    )


@strawberry.type(description="One changed row of a patient's record, as the caller may see it now.")
class RecordChange:
    cursor: str = strawberry.field(
        description="Position of this change: pass as `after` to continue after it."
    )
    kind: ChangeKind = strawberry.field(
        description="How it changed (its latest change within this page). ACCESS_CHANGED: "
        "something that governs what the caller may see of the patient changed (a consent, a "
        "block, a care relationship) and is not itself shown: re-read the patient's lists."
    )
    changed_at: datetime = strawberry.field(description="When the writing transaction began.")
    category: ChangeCategory = strawberry.field(
        description="The kind of data; ACCESS for an ACCESS_CHANGED item."
    )
    patient_id: strawberry.ID = strawberry.field(description="Global id of the patient.")
    record_id: strawberry.ID | None = strawberry.field(
        description="Global id of the changed row; null for ACCESS_CHANGED items."
    )
    tombstone: bool = strawberry.field(
        description="True when the row is nullified or no longer visible to the caller: drop "
        "it from any copy. `record` is then null."
    )
    access_changed: bool = strawberry.field(
        description="True when the change may alter what the caller sees of the patient "
        "(consents, blocks, representatives, care relationships, A10 exceptions)."
    )
    record: Node | None = strawberry.field(
        description="The row as the caller may see it now; null for tombstones and "
        "ACCESS_CHANGED items."
    )


@strawberry.type(description="A page of the change feed.")
class ChangePage:
    changes: list[RecordChange] = strawberry.field(
        description="Changed rows in the order of their changes (one item per row per page)."
    )
    end_cursor: str = strawberry.field(
        description="Pass as `after` for the next page; store it after applying the page."
    )
    has_next_page: bool = strawberry.field(
        description="Whether more changes follow already: ask again at once with `endCursor`."
    )


@cache
def _types() -> dict[str, tuple[str, Any, Any]]:
    """Table name -> (type name, type, loader by key) of every row the feed can show."""
    from schema.registry import PATIENT_ROW_TYPES, REFERENCE_TYPES

    found: dict[str, tuple[str, Any, Any]] = {}
    for name, (cls, loader) in PATIENT_ROW_TYPES.items():
        found[loader.table.name] = (name, cls, loader)
    patient_cls, _ = REFERENCE_TYPES["Patient"]
    found["patient"] = ("Patient", patient_cls, PatientByIdLoader)
    return found


async def item(ctx: Context, entry: feed.Entry) -> RecordChange:
    """One entry as the caller may see it now; tombstones and hints are audited as shown."""
    patient_gid = encode_id("Patient", entry.patient_id)
    known = _types().get(entry.table)
    record: Node | None = None
    gid = None
    if known is not None:
        type_name, cls, loader = known
        owner = None if type_name == "Patient" else entry.patient_id
        gid = encode_id(type_name, entry.record_id, owner)
        key = entry.record_id if type_name == "Patient" else (entry.patient_id, entry.record_id)
        row = await ctx.loader(loader).load(key)
        # Nullified rows load for references; the feed shows them as tombstones.
        if row is not None and not row.get("nullified", False):
            record = cls.from_row(row)
    if entry.changes_access and record is None:
        ctx.audit.disclose(entry.patient_id, "AccessChanged", entry.patient_id)
        return RecordChange(
            cursor=entry.cursor.encode(),
            kind=ChangeKind.ACCESS_CHANGED,
            changed_at=entry.recorded_at,
            category=ChangeCategory.ACCESS,
            patient_id=strawberry.ID(patient_gid),
            record_id=None,
            tombstone=False,
            access_changed=True,
            record=None,
        )
    if record is None:
        ctx.audit.disclose(entry.patient_id, "Tombstone", gid or str(entry.record_id))
    return RecordChange(
        cursor=entry.cursor.encode(),
        kind=ChangeKind(entry.kind),
        changed_at=entry.recorded_at,
        category=ChangeCategory(entry.category),
        patient_id=strawberry.ID(patient_gid),
        record_id=strawberry.ID(gid) if gid else None,
        tombstone=record is None,
        access_changed=entry.changes_access,
        record=record,
    )


Categories = Annotated[
    list[ChangeCategory] | None,
    strawberry.argument(
        description="Only changes of these kinds of data (null: all). ACCESS_CHANGED items "
        "come whatever the filter."
    ),
]
PatientIds = Annotated[
    list[strawberry.ID] | None,
    strawberry.argument(description="Only changes of these patients (global ids); null: all."),
]


async def changes(
    info: Info,
    after: After = None,
    first: First = 20,
    categories: Categories = None,
    patient_ids: PatientIds = None,
) -> ChangePage:
    pids: list[uuid.UUID] | None = None
    if patient_ids is not None:
        pids = [expect_id(p, "Patient", field="patientIds") for p in patient_ids]
    wanted = None if categories is None else [str(c.value) for c in categories]
    batch = await resolve.changes(
        info.context, after=after, first=first, categories=wanted, patient_ids=pids
    )
    # Concurrently, so that the loaders fetch each table's rows in one statement.
    items = list(await asyncio.gather(*(item(info.context, entry) for entry in batch.entries)))
    return ChangePage(changes=items, end_cursor=batch.end.encode(), has_next_page=batch.has_next)


@strawberry.type
class ChangesQuery:
    changes: ChangePage = strawberry.field(
        resolver=changes,
        description="Delta sync: the rows of the caller's patients that changed after `after` "
        "(null: from the oldest change kept), as the caller may see them now, with tombstones "
        "for rows nullified or no longer visible. `first: 0` without `after` returns the "
        "current end of the feed (start there after a full sync). CURSOR_EXPIRED when the "
        "cursor is older than the log keeps. Audited like a read.",
    )
