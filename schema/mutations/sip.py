"""createSip, addSipAction, updateSip, updateSipAction: the SIP both sides write to."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import strawberry

from resolvers.mutations import sip
from resolvers.mutations.outcome import Outcome
from schema.enums import SipActionStatus, SipStatus
from schema.mutations.common import Info, KeyedInput, Payload, RecordFields, command, payload_fields
from schema.sip import SipAction, SipPlan


@strawberry.input(
    description="A participant of a SIP: a unit (with who represents it) or a person."
)
class SipParticipantInput:
    name: str = strawberry.field(description="Name of the person taking part (at most 200).")
    role: str = strawberry.field(description="Role, e.g. distriktssköterska, patient, dotter.")
    care_unit_hsa_id: str | None = strawberry.field(
        default=None, description="HSA-id of the unit the person represents; null for a person."
    )


@strawberry.input(description="An action of a SIP.")
class SipActionInput:
    description: str = strawberry.field(description="What is done (at most 1000 characters).")
    responsible_unit_hsa_id: str = strawberry.field(
        description="HSA-id of the unit responsible; its provider must take part in the plan."
    )
    goal_position: int | None = strawberry.field(
        default=None, description="Position (1, 2, ...) of the goal the action serves."
    )
    follow_up_on: date | None = strawberry.field(default=None, description="When to follow up.")


@strawberry.input(
    description="A new SIP, convened at your unit: at least one participating unit of another "
    "provider (the region and the municipality). You take part as its convener."
)
class CreateSipInput(RecordFields):
    title: str = strawberry.field(description="What the plan is about (at most 200).")
    situation: str = strawberry.field(description="The patient's situation and needs.")
    follow_up_on: date | None = strawberry.field(
        default=None, description="The next joint follow-up."
    )
    participants: list[SipParticipantInput] = strawberry.field(
        default_factory=list, description="Who else takes part."
    )
    goals: list[str] = strawberry.field(
        default_factory=list, description="Goals, in order (at most 500 characters each)."
    )
    actions: list[SipActionInput] = strawberry.field(
        default_factory=list, description="Actions, each with the organisation responsible."
    )


@strawberry.input(
    description="An action added to a SIP by a clinician at a participating unit (either side)."
)
class AddSipActionInput(KeyedInput):
    plan_id: strawberry.ID = strawberry.field(description="Global id of the SIP.")
    version: int = strawberry.field(
        description="The plan's version you read; if it changed since, the result is a CONFLICT."
    )
    action: SipActionInput = strawberry.field(description="The action.")
    goal: str | None = strawberry.field(
        default=None, description="A new goal the action serves (added after the others)."
    )
    care_unit_hsa_id: str | None = strawberry.field(
        default=None, description="Your unit (a participant); default: the token's unit."
    )


@strawberry.input(description="A change to a SIP by a clinician at a participating unit.")
class UpdateSipInput(KeyedInput):
    id: strawberry.ID = strawberry.field(description="Global id of the SIP.")
    version: int = strawberry.field(
        description="The plan's version you read; if it changed since, the result is a CONFLICT."
    )
    status: SipStatus | None = strawberry.field(default=None, description="A new status.")
    situation: str | None = strawberry.field(default=None, description="A new situation text.")
    follow_up_on: date | None = strawberry.field(default=None, description="A new follow-up.")
    approved_for_patient: bool | None = strawberry.field(
        default=None, description="Whether the patient may read the plan (A10)."
    )
    care_unit_hsa_id: str | None = strawberry.field(
        default=None, description="Your unit (a participant); default: the token's unit."
    )


@strawberry.input(
    description="An action of a SIP marked done, back to planned or cancelled, with a "
    "follow-up note, by a clinician at a unit of the organisation responsible for the action."
)
class UpdateSipActionInput(KeyedInput):
    id: strawberry.ID = strawberry.field(description="Global id of the SIP action.")
    version: int = strawberry.field(
        description="The plan's version you read (SipPlan.version); if it changed since, the "
        "result is a CONFLICT."
    )
    status: SipActionStatus = strawberry.field(
        description="The action's new status: DONE, PLANNED (not done) or CANCELLED."
    )
    note: str | None = strawberry.field(
        default=None,
        description="The follow-up: what was done, or why not (at most 2000 characters). "
        "It belongs to this change: without one, the previous note is cleared.",
    )
    care_unit_hsa_id: str | None = strawberry.field(
        default=None,
        description="Your unit, of the organisation responsible for the action; default: the "
        "token's unit.",
    )


@strawberry.type(description="The result of createSip, addSipAction, updateSip or updateSipAction.")
class SipPayload(Payload):
    sip: SipPlan | None = strawberry.field(description="The plan as it is now; null if refused.")
    action: SipAction | None = strawberry.field(
        description="The action added (addSipAction) or changed (updateSipAction); null otherwise."
    )


def _action(a: SipActionInput) -> sip.Action:
    return sip.Action(
        description=a.description,
        responsible_unit_hsa_id=a.responsible_unit_hsa_id,
        goal_position=a.goal_position,
        follow_up_on=a.follow_up_on,
    )


def _payload(outcome: Outcome) -> SipPayload:
    return SipPayload(
        sip=SipPlan.from_optional(outcome.row("sip")),
        action=SipAction.from_optional(outcome.row("action")),
        **payload_fields(outcome),
    )


async def create_sip(
    info: Info, input: Annotated[CreateSipInput, strawberry.argument(description="The plan.")]
) -> SipPayload | None:
    participants = [
        sip.Participant(name=p.name, role=p.role, care_unit_hsa_id=p.care_unit_hsa_id)
        for p in input.participants
    ]
    cmd = command(
        input,
        sip.CreateSip,
        participants=participants,
        actions=[_action(a) for a in input.actions],
        goals=list(input.goals),
    )
    return _payload(await sip.create_sip(info.context, cmd))


async def add_sip_action(
    info: Info, input: Annotated[AddSipActionInput, strawberry.argument(description="The action.")]
) -> SipPayload | None:
    cmd = command(input, sip.AddSipAction, action=_action(input.action))
    return _payload(await sip.add_sip_action(info.context, cmd))


async def update_sip(
    info: Info, input: Annotated[UpdateSipInput, strawberry.argument(description="The change.")]
) -> SipPayload | None:
    return _payload(await sip.update_sip(info.context, command(input, sip.UpdateSip)))


async def update_sip_action(
    info: Info,
    input: Annotated[UpdateSipActionInput, strawberry.argument(description="The change.")],
) -> SipPayload | None:
    return _payload(await sip.update_sip_action(info.context, command(input, sip.UpdateSipAction)))


# Mixed into the root Mutation type (schema/mutation.py); tested in tests/integration/test_sip.py
# (both sides' writes, version conflicts, idempotency, audit), as referrals and discharge are.
@strawberry.type(description="SIP plans (docs/sip-and-medication-administration.md).")
class SipMutation:
    create_sip = strawberry.mutation(
        resolver=create_sip,
        description="Convene a SIP (samordnad individuell plan) shared by the region and the "
        "municipality, with participants, goals and actions.",
    )
    add_sip_action = strawberry.mutation(
        resolver=add_sip_action,
        description="Add an action (and optionally a goal) to a SIP, from either side.",
    )
    update_sip = strawberry.mutation(
        resolver=update_sip,
        description="Change a SIP's status, situation, follow-up or approval for the patient.",
    )
    update_sip_action = strawberry.mutation(
        resolver=update_sip_action,
        description="Mark a SIP action done, not done (planned) or cancelled, with a follow-up "
        "note: only the organisation responsible for the action does.",
    )
