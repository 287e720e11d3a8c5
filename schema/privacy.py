"""Privacy fields of the root Query: the patient's log extract, the review of emergency
access, the blocked-elsewhere hint (A7) and emergency step 1 (A6). Query inherits them."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import strawberry
from sqlalchemy import RowMapping

from resolvers import privacy
from resolvers.loaders.organizations import CareProviderByIdLoader
from schema.connections import Info
from schema.ids import encode_id
from schema.inputs import expect_id
from schema.refs import CareProviderRef

PatientIdArg = Annotated[strawberry.ID, strawberry.argument(description="Global id of a patient.")]
FirstEntries = Annotated[
    int, strawberry.argument(description=f"How many entries, 0 to {privacy.MAX_ENTRIES}.")
]
BeforeEntry = Annotated[
    str | None,
    strawberry.argument(description="Only entries older than this `cursor` (next page)."),
]


@strawberry.type(
    description="One access to the patient's record in the log extract (loggutdrag): when, "
    "which unit and provider, who (named for public providers), and for which purpose."
)
class AccessLogEntry:
    cursor: str = strawberry.field(description="Pass as `before` for the next (older) page.")
    occurred_at: datetime = strawberry.field(description="When the record was accessed.")
    care_unit_hsa_id: str | None = strawberry.field(description="HSA-id of the unit.")
    care_unit_name: str | None = strawberry.field(description="Name of the unit.")
    care_provider_hsa_id: str | None = strawberry.field(description="HSA-id of the provider.")
    care_provider_name: str | None = strawberry.field(description="Name of the provider.")
    person_name: str | None = strawberry.field(
        description="Who accessed it: named for public providers (and for the patient and "
        "their representatives), null for private providers and integrations."
    )
    accessor_kind: str = strawberry.field(
        description="clinician, patient, proxy, research or system."
    )
    purpose: str | None = strawberry.field(
        description="Purpose of use: TREAT, ETREAT (emergency), PATRQT, RESEARCH, ADMIN."
    )
    action: str = strawberry.field(
        description="read, write, emergency, emergency_step1 or log_extract."
    )

    @classmethod
    def from_row(cls, row: RowMapping) -> AccessLogEntry:
        from app.access_log import person_shown

        return cls(
            cursor=str(row["id"]),
            occurred_at=row["occurred_at"],
            care_unit_hsa_id=row["care_unit_hsa_id"],
            care_unit_name=row["care_unit_name"],
            care_provider_hsa_id=row["care_provider_hsa_id"],
            care_provider_name=row["care_provider_name"],
            person_name=person_shown(
                row["principal_kind"], row["provider_public"], row["principal_name"]
            ),
            accessor_kind=row["principal_kind"],
            purpose=row["purpose"],
            action=row["action"],
        )


@strawberry.type(description="An emergency access (nödåtkomst) to follow up.")
class EmergencyAccess:
    cursor: str = strawberry.field(description="Pass as `before` for the next (older) page.")
    occurred_at: datetime = strawberry.field(description="When it happened.")
    practitioner_hsa_id: str = strawberry.field(description="HSA-id of the user.")
    practitioner_name: str | None = strawberry.field(description="Name of the user.")
    care_unit_hsa_id: str | None = strawberry.field(description="The user's unit.")
    care_provider_hsa_id: str | None = strawberry.field(description="The user's provider.")
    patient_id: strawberry.ID | None = strawberry.field(description="Global id of the patient.")
    personnummer: str | None = strawberry.field(description="The patient's personnummer.")
    step: int = strawberry.field(
        description="1: which providers hold blocked data was shown; 2: content was shown."
    )
    reason: str | None = strawberry.field(description="The reason the user gave.")
    resources: list[str] = strawberry.field(description="What was shown (Type:id).")

    @classmethod
    def from_row(cls, row: RowMapping) -> EmergencyAccess:
        from app.access.facts import EMERGENCY_STEP1_ACTION

        pid = row["patient_id"]
        return cls(
            cursor=str(row["id"]),
            occurred_at=row["occurred_at"],
            practitioner_hsa_id=row["principal_id"],
            practitioner_name=row["principal_name"],
            care_unit_hsa_id=row["care_unit_hsa_id"],
            care_provider_hsa_id=row["care_provider_hsa_id"],
            patient_id=strawberry.ID(encode_id("Patient", pid)) if pid else None,
            personnummer=row["patient_identifier"],
            step=1 if row["action"] == EMERGENCY_STEP1_ACTION else 2,
            reason=row["reason"],
            resources=[str(r) for r in row["resources"]],
        )


def _before(before: str | None) -> int | None:
    from app.errors import BadInput

    if before is None:
        return None
    try:
        return int(before)
    except ValueError:
        raise BadInput("before: not a cursor of this list", field="before", rule="cursor") from None


async def _my_access_log(
    info: Info,
    patient_id: Annotated[
        strawberry.ID | None,
        strawberry.argument(
            description="A representative: the patient acted for (default: yourself)."
        ),
    ] = None,
    first: FirstEntries = 50,
    before: BeforeEntry = None,
) -> list[AccessLogEntry] | None:
    pid = expect_id(patient_id, "Patient", field="patientId") if patient_id else None
    rows = await privacy.my_access_log(info.context, pid, first, _before(before))
    return None if rows is None else [AccessLogEntry.from_row(r) for r in rows]


async def _emergency_access_review(
    info: Info,
    since: Annotated[
        datetime | None, strawberry.argument(description="Only accesses from this time.")
    ] = None,
    first: FirstEntries = 100,
    before: BeforeEntry = None,
) -> list[EmergencyAccess]:
    rows = await privacy.emergency_access_review(info.context, since, first, _before(before))
    return [EmergencyAccess.from_row(r) for r in rows]


async def _blocked_information_elsewhere(info: Info, patient_id: PatientIdArg) -> bool | None:
    pid = expect_id(patient_id, "Patient", field="patientId")
    return await privacy.blocked_information_elsewhere(info.context, pid)


async def _emergency_blocked_providers(
    info: Info, patient_id: PatientIdArg
) -> list[CareProviderRef] | None:
    from schema.organizations import CareProvider

    pid = expect_id(patient_id, "Patient", field="patientId")
    providers = await privacy.emergency_blocked_providers(info.context, pid)
    if providers is None:
        return None
    rows: list[Any] = await info.context.loader(CareProviderByIdLoader).load_many(providers)
    return [CareProvider.from_row(r) for r in rows if r is not None]


@strawberry.type(description="Privacy fields of the root query (mixed into Query).")
class PrivacyQuery:
    my_access_log: list[AccessLogEntry] | None = strawberry.field(
        resolver=_my_access_log,
        description="Loggutdrag (A13): who accessed your record, when, from which unit, for "
        "which purpose; newest first. For patients and their representatives (a guardian "
        "for a child up to 12, a holder of power of attorney); null when not allowed. "
        "Reading it is logged too.",
    )
    emergency_access_review: list[EmergencyAccess] = strawberry.field(
        resolver=_emergency_access_review,
        description="Emergency accesses (nödåtkomst, A6) to follow up, newest first. For "
        "system integrations and clinicians with the role 'granskare' (their own provider's "
        "accesses only).",
    )
    blocked_information_elsewhere: bool | None = strawberry.field(
        resolver=_blocked_information_elsewhere,
        description="A7: whether the patient has blocked information at another care "
        "provider (never which one). Null when the caller may not see the patient.",
    )
    emergency_blocked_providers: list[CareProviderRef] | None = strawberry.field(
        resolver=_emergency_blocked_providers,
        description="Emergency access step 1 (A6): which providers hold information blocked "
        "from you. Needs purpose ETREAT and an X-Emergency-Reason header; logged and flagged "
        "for review. Afterwards (step 2), requests with the same purpose and a reason show "
        "the blocked content. Null when not allowed.",
    )
