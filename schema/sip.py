"""SIP, samordnad individuell plan: the plan a region and a municipality write together."""

from __future__ import annotations

import uuid
from datetime import date, datetime

import strawberry

from resolvers.filters import PageArgs
from resolvers.loaders.sip import (
    SipActionsByPlanLoader,
    SipGoalsByPlanLoader,
    SipParticipantsByPlanLoader,
)
from resolvers.planner.declare import Listed, Picked, Referenced
from resolvers.tables import CARE_PROVIDER, CARE_UNIT
from schema.connections import After, Connection, First, Info, list_of, page_of, paged
from schema.enums import SipActionStatus, SipStatus
from schema.events import CareEvent
from schema.fields import field
from schema.node import Node
from schema.referrals import _provider, _unit
from schema.refs import CareProviderRef, CareUnitRef


@strawberry.interface(description="Who wrote a row of a SIP, and where.")
class SipWritten(Node):
    patient_id: strawberry.Private[uuid.UUID]
    plan_id: strawberry.Private[uuid.UUID]
    written_by_unit_id: strawberry.Private[uuid.UUID]
    written_by_hsa_id: str | None = strawberry.field(description="HSA-id of who wrote it.")
    written_at: datetime = strawberry.field(description="When it was written.")

    @field(
        description="The care unit it was written at (region or municipality).",
        plan=Referenced(CARE_UNIT, "written_by_unit_id"),
    )
    async def written_by_unit(self, info: Info) -> CareUnitRef | None:
        return await _unit(info, self.written_by_unit_id)


def _goal_page() -> PageArgs:
    """The goals SipAction.goalPosition looks in: the plan's first 100."""
    return SipGoalsByPlanLoader.listing.args(first=100, after=None)


@strawberry.type(
    description="A participant of a SIP: a unit of the region or the municipality (with the "
    "person representing it), or a person such as the patient or next of kin."
)
class SipParticipant(SipWritten):
    care_unit_id: strawberry.Private[uuid.UUID | None]
    name: str = strawberry.field(description="The participant's name.")
    role: str = strawberry.field(description="Role, e.g. distriktssköterska, patient, dotter.")

    PATIENT_SCOPED = True

    @field(
        description="The unit taking part; null for a person without one.",
        plan=Referenced(CARE_UNIT, "care_unit_id"),
    )
    async def care_unit(self, info: Info) -> CareUnitRef | None:
        return await _unit(info, self.care_unit_id)


@strawberry.type(description="A goal of a SIP.")
class SipGoal(SipWritten):
    position: int = strawberry.field(description="Order of the goal in the plan (1, 2, ...).")
    goal: str = strawberry.field(description="What the plan aims at.")

    PATIENT_SCOPED = True


@strawberry.type(
    description="An action of a SIP: what is done, by which organisation, followed up when."
)
class SipAction(SipWritten):
    goal_id: strawberry.Private[uuid.UUID | None]
    responsible_provider_id: strawberry.Private[uuid.UUID]
    responsible_unit_id: strawberry.Private[uuid.UUID | None]
    description: str = strawberry.field(description="What is done.")
    follow_up_on: date | None = strawberry.field(description="When it is followed up.")
    status: SipActionStatus = strawberry.field(description="Planned, done or cancelled.")
    status_note: str | None = strawberry.field(
        description="The follow-up note of the last status change (updateSipAction)."
    )
    status_set_at: datetime | None = strawberry.field(
        description="When the status was last changed; null while as planned at first."
    )
    status_set_by_hsa_id: str | None = strawberry.field(
        description="HSA-id of who last changed the status."
    )

    PATIENT_SCOPED = True

    @field(
        description="The organisation (care provider) responsible for the action.",
        plan=Referenced(CARE_PROVIDER, "responsible_provider_id"),
    )
    async def responsible_provider(self, info: Info) -> CareProviderRef:
        return await _provider(info, self.responsible_provider_id)

    @field(
        description="The unit responsible for the action.",
        plan=Referenced(CARE_UNIT, "responsible_unit_id"),
    )
    async def responsible_unit(self, info: Info) -> CareUnitRef | None:
        return await _unit(info, self.responsible_unit_id)

    @field(
        description="Position of the goal the action serves, if any.",
        plan=Picked(
            Listed(SipGoalsByPlanLoader, ("patient_id", "plan_id"), _goal_page),
            "goal_id",
            "position",
        ),
    )
    async def goal_position(self, info: Info) -> int | None:
        if self.goal_id is None:
            return None
        goals = await page_of(
            info,
            SipGoalsByPlanLoader,
            (self.patient_id, self.plan_id),
            SipGoal.from_row,
            _goal_page(),
        )
        return next((g.position for g in goals.nodes if g.pk == self.goal_id), None)


@strawberry.type(
    description="SIP, samordnad individuell plan: one plan shared by a region and a "
    "municipality, with its participants, goals and actions. The header's unit convened it; "
    "every participating provider reads and writes it (docs/sip-and-medication-administration"
    ".md); the patient sees it when approvedForPatient."
)
class SipPlan(CareEvent):
    title: str = strawberry.field(description="What the plan is about.")
    situation: str = strawberry.field(description="The patient's situation and needs.")
    status: SipStatus = strawberry.field(description="Active, completed or cancelled.")
    follow_up_on: date | None = strawberry.field(description="The next joint follow-up.")

    @field(
        description="Who takes part, in the order they were added.",
        plan=Listed(
            SipParticipantsByPlanLoader, ("patient_id", "id"), paged(SipParticipantsByPlanLoader)
        ),
    )
    async def participants(
        self, info: Info, first: First = 20, after: After = None
    ) -> Connection[SipParticipant]:
        key = (self.patient_id, self.pk)
        return await list_of(
            info,
            SipParticipantsByPlanLoader,
            key,
            SipParticipant.from_row,
            first=first,
            after=after,
        )

    @field(
        description="The plan's goals, in order.",
        plan=Listed(SipGoalsByPlanLoader, ("patient_id", "id"), paged(SipGoalsByPlanLoader)),
    )
    async def goals(
        self, info: Info, first: First = 20, after: After = None
    ) -> Connection[SipGoal]:
        key = (self.patient_id, self.pk)
        return await list_of(
            info, SipGoalsByPlanLoader, key, SipGoal.from_row, first=first, after=after
        )

    @field(
        description="The plan's actions, in the order they were written.",
        plan=Listed(SipActionsByPlanLoader, ("patient_id", "id"), paged(SipActionsByPlanLoader)),
    )
    async def actions(
        self, info: Info, first: First = 20, after: After = None
    ) -> Connection[SipAction]:
        key = (self.patient_id, self.pk)
        return await list_of(
            info, SipActionsByPlanLoader, key, SipAction.from_row, first=first, after=after
        )
