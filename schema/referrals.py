"""Referrals (remisser) with their status history, and coordinated discharges (lag 2017:612):
records a unit writes and sends to another unit (docs/referrals-and-discharge.md)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

import strawberry

from app.discharge import (
    AGREED_DAYS,
    days_since_ready,
    is_overdue,
    sql_days_since_ready,
    sql_overdue,
    today_in_sweden,
)
from resolvers.loaders.care import ReferralOutcomeByIdLoader
from resolvers.loaders.organizations import CareProviderByIdLoader, CareUnitByIdLoader
from resolvers.loaders.referrals import ReferralEventsByReferralLoader
from resolvers.planner.declare import Computed, Listed, Owned, Referenced
from resolvers.tables import CARE_PROVIDER, CARE_UNIT
from schema.connections import After, Connection, First, Info, list_of, paged
from schema.enums import DischargeStatus, ReferralPriority, ReferralStatus
from schema.events import CareEvent
from schema.fields import field
from schema.node import Node
from schema.refs import CareProviderRef, CareUnitRef, ReferralOutcomeRef


async def _unit(info: Info, unit_id: uuid.UUID | None) -> CareUnitRef | None:
    from schema.organizations import CareUnit

    if unit_id is None:
        return None
    return CareUnit.from_optional(await info.context.loader(CareUnitByIdLoader).load(unit_id))


async def _provider(info: Info, provider_id: uuid.UUID) -> CareProviderRef:
    from schema.organizations import CareProvider

    row = await info.context.loader(CareProviderByIdLoader).load(provider_id)
    assert row is not None  # a foreign key
    return CareProvider.from_row(row)


@strawberry.type(description="One step of a referral's status history.")
class ReferralEvent(Node):
    patient_id: strawberry.Private[uuid.UUID]
    care_unit_id: strawberry.Private[uuid.UUID]
    status: ReferralStatus = strawberry.field(description="The status the referral moved to.")
    occurred_at: datetime = strawberry.field(description="When.")
    actor_hsa_id: str | None = strawberry.field(description="HSA-id of who moved it.")
    actor_name: str | None = strawberry.field(description="Name of who moved it.")
    reason: str | None = strawberry.field(description="Why (a rejection, a cancellation).")

    PATIENT_SCOPED = True

    @field(
        description="The unit where the step was taken (the sender's or the recipient's).",
        plan=Referenced(CARE_UNIT, "care_unit_id"),
    )
    async def care_unit(self, info: Info) -> CareUnitRef | None:
        return await _unit(info, self.care_unit_id)


@strawberry.type(
    description="Remiss: a request from one unit (the record's care unit, the sender) to "
    "another, of any provider (region, municipality, dental care). The recipient accepts or "
    "rejects it and answers with a remissvar (`answer`). Sending gives the recipient unit a "
    "care relationship for the referral, so its staff read what the sender wrote."
)
class Referral(CareEvent):
    recipient_unit_id: strawberry.Private[uuid.UUID]
    recipient_provider_id: strawberry.Private[uuid.UUID]
    outcome_id: strawberry.Private[uuid.UUID | None]
    priority: ReferralPriority = strawberry.field(description="How soon it should be seen to.")
    reason: str = strawberry.field(description="The question in short (frågeställning).")
    question: str = strawberry.field(description="Anamnesis and question, as the sender wrote.")
    status: ReferralStatus = strawberry.field(description="Where the referral stands.")
    status_reason: str | None = strawberry.field(description="Why it was rejected or cancelled.")

    @field(
        description="The unit the referral is sent to.",
        plan=Referenced(CARE_UNIT, "recipient_unit_id"),
    )
    async def recipient_unit(self, info: Info) -> CareUnitRef | None:
        return await _unit(info, self.recipient_unit_id)

    @field(
        description="The care provider the referral is sent to.",
        plan=Referenced(CARE_PROVIDER, "recipient_provider_id"),
    )
    async def recipient_provider(self, info: Info) -> CareProviderRef:
        return await _provider(info, self.recipient_provider_id)

    @field(
        description="The latest answer (remissvar: preliminary svar or final slutsvar); null "
        "while unanswered. The sender reads it whatever provider answered.",
        plan=Owned(ReferralOutcomeByIdLoader, "outcome_id"),
    )
    async def answer(self, info: Info) -> ReferralOutcomeRef | None:
        from schema.care import ReferralOutcome

        if self.outcome_id is None:
            return None
        key = (self.patient_id, self.outcome_id)
        row = await info.context.loader(ReferralOutcomeByIdLoader).load(key)
        return ReferralOutcome.from_optional(row)

    @field(
        description="The status history, oldest first.",
        plan=Listed(
            ReferralEventsByReferralLoader,
            ("patient_id", "id"),
            paged(ReferralEventsByReferralLoader),
        ),
    )
    async def history(
        self, info: Info, first: First = 20, after: After = None
    ) -> Connection[ReferralEvent]:
        return await list_of(
            info,
            ReferralEventsByReferralLoader,
            (self.patient_id, self.pk),
            ReferralEvent.from_row,
            first=first,
            after=after,
        )


@strawberry.type(
    description="Samordnad utskrivning (lag 2017:612): the hospital unit (the record's care "
    "unit) tells the municipality and primary care that an admitted patient will need their "
    "care (inskrivningsmeddelande, `eventTime` the admission), then that the patient is "
    "utskrivningsklar with a planned date; the municipality acknowledges. `daysSinceReady` is "
    "the day counter the municipality's payment follows."
)
class DischargePlan(CareEvent):
    municipal_unit_id: strawberry.Private[uuid.UUID]
    municipal_provider_id: strawberry.Private[uuid.UUID]
    primary_care_unit_id: strawberry.Private[uuid.UUID | None]
    primary_care_provider_id: strawberry.Private[uuid.UUID | None]
    acknowledged_by_hsa_id: strawberry.Private[str | None]
    status: DischargeStatus = strawberry.field(description="Where the discharge stands.")
    expected_needs: str | None = strawberry.field(
        description="The support the patient is expected to need after discharge."
    )
    ready_at: datetime | None = strawberry.field(
        description="When the patient was declared utskrivningsklar; null before."
    )
    planned_discharge_on: date | None = strawberry.field(
        description="The planned day of discharge."
    )
    acknowledged_at: datetime | None = strawberry.field(
        description="When the municipality acknowledged (kvitterade) the plan; null before."
    )
    acknowledged_by_name: str | None = strawberry.field(
        description="Who acknowledged it for the municipality."
    )
    discharged_at: datetime | None = strawberry.field(description="When the patient left.")

    @field(
        description="The municipal unit that takes over (home care, special housing).",
        plan=Referenced(CARE_UNIT, "municipal_unit_id"),
    )
    async def municipal_unit(self, info: Info) -> CareUnitRef | None:
        return await _unit(info, self.municipal_unit_id)

    @field(
        description="The primary care unit told of the admission, if any.",
        plan=Referenced(CARE_UNIT, "primary_care_unit_id"),
    )
    async def primary_care_unit(self, info: Info) -> CareUnitRef | None:
        return await _unit(info, self.primary_care_unit_id)

    @field(
        description="Calendar days (Swedish time) from utskrivningsklar to the discharge, or "
        "to today while the patient is still in hospital; null before utskrivningsklar.",
        plan=Computed(lambda row, _: sql_days_since_ready(row)),
    )
    def days_since_ready(self) -> int | None:
        today = today_in_sweden(datetime.now(UTC))
        return days_since_ready(self.ready_at, self.discharged_at, today)

    @field(
        description=f"Past the agreed days after utskrivningsklar ({AGREED_DAYS} unless the "
        "region and municipality agreed otherwise) and not discharged: the municipality pays "
        "for each further hospital day.",
        plan=Computed(lambda row, _: sql_overdue(row)),
    )
    def overdue(self) -> bool:
        # Rows carry the stored value ("ready"), not the enum member.
        if self.discharged_at is not None or str(self.status) != "ready":
            return False
        return is_overdue(self.days_since_ready())
