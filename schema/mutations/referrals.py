"""sendReferral, acceptReferral, rejectReferral, answerReferral, cancelReferral."""

from __future__ import annotations

from typing import Annotated

import strawberry

from resolvers.mutations import referrals
from resolvers.mutations.outcome import Outcome
from schema.care import ReferralOutcome
from schema.enums import ReferralPriority
from schema.mutations.common import (
    Info,
    KeyedInput,
    Payload,
    RecordFields,
    command,
    payload_fields,
)
from schema.referrals import Referral


@strawberry.input(
    description="A referral (remiss) from the signed-in clinician's unit (the record's care "
    "unit) to another unit of any provider. The recipient unit gets a care relationship for "
    "the referral (90 days), so its staff can read the record to assess it."
)
class SendReferralInput(RecordFields):
    recipient_unit_hsa_id: str = strawberry.field(
        description="HSA-id of the unit the referral is sent to (not the sender's own)."
    )
    priority: ReferralPriority = strawberry.field(description="How soon it should be seen to.")
    reason: str = strawberry.field(
        description="The question in short (frågeställning), at most 500 characters."
    )
    question: str = strawberry.field(description="Anamnesis and question, in full.")


@strawberry.input(
    description="Move a referral one step: accept or reject it (the recipient unit), or "
    "cancel it (the sender's unit)."
)
class ReferralStepInput(KeyedInput):
    id: strawberry.ID = strawberry.field(description="Global id of the referral.")
    version: int = strawberry.field(
        description="The version you read; if it changed since, the result is a CONFLICT."
    )
    reason: str | None = strawberry.field(
        default=None,
        description="Why (at most 500 characters): required to reject or cancel.",
    )


@strawberry.input(
    description="Answer a referral (remissvar) at the recipient unit: a referral outcome of "
    "that unit, linked from the referral, which the sender reads."
)
class AnswerReferralInput(KeyedInput):
    id: strawberry.ID = strawberry.field(description="Global id of the referral.")
    version: int = strawberry.field(
        description="The version you read; if it changed since, the result is a CONFLICT."
    )
    text: str = strawberry.field(description="The answer.")
    final: bool = strawberry.field(
        default=True,
        description="A final answer (slutsvar) closes the referral; false: a preliminary "
        "answer (svar) that keeps it open.",
    )
    approved_for_patient: bool = strawberry.field(
        default=True, description="Whether the patient may see the answer in the patient app."
    )


@strawberry.type(description="The result of a referral mutation.")
class ReferralPayload(Payload):
    referral: Referral | None = strawberry.field(
        description="The referral as it is now; null when refused."
    )


@strawberry.type(description="The result of answerReferral.")
class AnswerReferralPayload(ReferralPayload):
    answer: ReferralOutcome | None = strawberry.field(
        description="The answer written; null when refused."
    )


def _payload(outcome: Outcome) -> ReferralPayload:
    return ReferralPayload(
        referral=Referral.from_optional(outcome.row("referral")), **payload_fields(outcome)
    )


async def send_referral(
    info: Info,
    input: Annotated[SendReferralInput, strawberry.argument(description="The referral.")],
) -> ReferralPayload | None:
    return _payload(
        await referrals.send_referral(info.context, command(input, referrals.SendReferral))
    )


Step = Annotated[ReferralStepInput, strawberry.argument(description="The referral and step.")]


async def accept_referral(info: Info, input: Step) -> ReferralPayload | None:
    cmd = command(input, referrals.ReferralStep)
    return _payload(await referrals.accept_referral(info.context, cmd))


async def reject_referral(info: Info, input: Step) -> ReferralPayload | None:
    cmd = command(input, referrals.ReferralStep)
    return _payload(await referrals.reject_referral(info.context, cmd))


async def cancel_referral(info: Info, input: Step) -> ReferralPayload | None:
    cmd = command(input, referrals.ReferralStep)
    return _payload(await referrals.cancel_referral(info.context, cmd))


async def answer_referral(
    info: Info,
    input: Annotated[AnswerReferralInput, strawberry.argument(description="The answer.")],
) -> AnswerReferralPayload | None:
    outcome = await referrals.answer_referral(
        info.context, command(input, referrals.AnswerReferral)
    )
    return AnswerReferralPayload(
        referral=Referral.from_optional(outcome.row("referral")),
        answer=ReferralOutcome.from_optional(outcome.row("answer")),
        **payload_fields(outcome),
    )


@strawberry.type(description="Referrals between units (docs/referrals-and-discharge.md).")
class ReferralMutation:
    send_referral = strawberry.mutation(
        resolver=send_referral,
        description="Send a referral (remiss) to another unit, of any provider.",
    )
    accept_referral = strawberry.mutation(
        resolver=accept_referral, description="Accept a referral sent to your unit."
    )
    reject_referral = strawberry.mutation(
        resolver=reject_referral,
        description="Reject a referral sent to your unit, with a reason; the care relationship "
        "it gave your unit ends.",
    )
    answer_referral = strawberry.mutation(
        resolver=answer_referral,
        description="Answer a referral sent to your unit (remissvar); the sender reads it.",
    )
    cancel_referral = strawberry.mutation(
        resolver=cancel_referral,
        description="Withdraw a referral your unit sent, with a reason; the care relationship "
        "it gave the recipient ends.",
    )
