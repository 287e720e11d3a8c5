"""Referrals (remisser): sendReferral, acceptReferral, rejectReferral, answerReferral,
cancelReferral. Every step appends to the referral's status history (ReferralEvent).

The sender writes at its own unit; the recipient acts at the unit the referral was sent to
(the write policy's own-unit rule holds for both sides). Sending gives the recipient unit a
care relationship for the referral (REFERRAL_DAYS), so its staff can read the record to assess
it; rejecting or cancelling ends it. The answer (remissvar) is a ReferralOutcome of the
recipient unit, which the referring provider reads (app/access/addressed.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import RowMapping

from app import models
from app.context import Context
from resolvers.mutations.addressed import (
    addressee,
    end_purpose,
    grant_for_purpose,
    locked_sent_row,
)
from resolvers.mutations.checks import Checks, max_length, now
from resolvers.mutations.header import RecordInput, resolve_header
from resolvers.mutations.outcome import Code, Outcome, RowRef, reject
from resolvers.mutations.policy import WRITERS, ensure_may_write
from resolvers.mutations.references import one, practitioner
from resolvers.mutations.runner import Writer, run_mutation, stale
from resolvers.tables import CARE_UNIT, REFERRAL
from schema.ids import encode_id

# How long a referral lets the recipient unit read the record (renewed by care it documents).
REFERRAL_DAYS = timedelta(days=90)
# Which status each step starts from, and which side takes it.
OPEN = ("sent", "accepted")
STEPS = {
    "accepted": (("sent",), "recipient"),
    "rejected": (("sent", "accepted"), "recipient"),
    "answered": (OPEN, "recipient"),
    "cancelled": (OPEN, "sender"),
}


@dataclass(frozen=True, kw_only=True)
class SendReferral(RecordInput):
    recipient_unit_hsa_id: str
    priority: str
    reason: str
    question: str


@dataclass(frozen=True, kw_only=True)
class ReferralStep:
    id: str
    version: int
    reason: str | None = None
    idempotency_key: str | None = None


@dataclass(frozen=True, kw_only=True)
class AnswerReferral:
    id: str
    version: int
    text: str
    approved_for_patient: bool = True
    final: bool = True
    idempotency_key: str | None = None


async def _event(
    ctx: Context,
    write: Writer,
    referral: RowMapping | Mapping[str, Any],
    status: str,
    unit_id: object,
    reason: str | None,
) -> None:
    who = await practitioner(ctx, Checks(), None)
    await write.insert(
        models.ReferralEvent,
        {
            "patient_id": referral["patient_id"],
            "referral_id": referral["id"],
            "status": status,
            "occurred_at": now(),
            "care_unit_id": unit_id,
            "actor_hsa_id": who.hsa_id if who else None,
            "actor_name": who.name if who else None,
            "reason": reason,
        },
    )


async def _writers_only(ctx: Context) -> None:
    """Patients, proxies and research clients are refused before any input is judged."""
    if ctx.principal.kind not in WRITERS:
        await ensure_may_write(ctx, None, None)


async def send_referral(ctx: Context, cmd: SendReferral) -> Outcome:
    async def body(write: Writer) -> dict[str, RowRef]:
        await _writers_only(ctx)
        checks = Checks()

        def text(name: str, value: str, column: str) -> str | None:
            limit = max_length(models.Referral, column)
            return checks.text(f"input.{name}", value, limit=limit)

        content = {
            "priority": cmd.priority,
            "reason": text("reason", cmd.reason, "reason"),
            "question": text("question", cmd.question, "question"),
            "status": "sent",
        }
        recipient = await addressee(
            ctx, checks, "input.recipientUnitHsaId", cmd.recipient_unit_hsa_id
        )
        moment = now()
        header = await resolve_header(
            ctx, checks, cmd, event_time=moment, event_field="input.sentAt", table="referral"
        )
        assert recipient is not None
        if recipient.id == header.unit.id:
            raise reject(
                "input.recipientUnitHsaId",
                Code.INVALID_REFERENCE,
                "a referral goes to another unit than the sender's",
            )
        checks.done()
        row = header.row(
            moment,
            **content,
            recipient_unit_id=recipient.id,
            recipient_provider_id=recipient.care_provider_id,
        )
        ref = await write.insert(models.Referral, row)
        sent = {"patient_id": ref.patient_id, "id": ref.id}
        await _event(ctx, write, sent, "sent", header.unit.id, None)
        await grant_for_purpose(
            ctx,
            write,
            ref.patient_id,
            recipient,
            models.RelationshipOrigin.REFERRAL,
            ref.id,
            moment + REFERRAL_DAYS,
        )
        return {"referral": ref}

    return await run_mutation(ctx, "sendReferral", cmd, body, idempotency_key=cmd.idempotency_key)


async def _step(
    ctx: Context, write: Writer, cmd: ReferralStep, status: str, reason: str | None
) -> RowMapping:
    """Lock the referral, check the side and its state, move it to `status`."""
    referral = await locked_sent_row(ctx, REFERRAL, "Referral", cmd.id)
    starts, side = STEPS[status]
    unit = referral["recipient_unit_id"] if side == "recipient" else referral["care_unit_id"]
    await ensure_may_write(ctx, referral["patient_id"], unit, "referral")
    stale(referral, cmd.version)
    if referral["status"] not in starts:
        raise reject(
            "input.id",
            Code.INVALID_STATE,
            f"a {referral['status']} referral cannot become {status}",
        )
    await _event(ctx, write, referral, status, unit, reason)
    return referral


def _ref(referral: RowMapping) -> RowRef:
    return RowRef("Referral", referral["patient_id"], referral["id"])


async def _move(ctx: Context, cmd: ReferralStep, status: str, operation: str) -> Outcome:
    async def body(write: Writer) -> dict[str, RowRef]:
        await _writers_only(ctx)
        checks = Checks()
        limit = max_length(models.Referral, "status_reason")
        needed = status in ("rejected", "cancelled")
        reason = checks.text("input.reason", cmd.reason, limit=limit, required=needed)
        checks.done()
        referral = await _step(ctx, write, cmd, status, reason)
        values = {"status": status, "status_reason": reason}
        await write.update(_ref(referral), cmd.version, values, field="input.id")
        if status in ("rejected", "cancelled"):
            await end_purpose(ctx, write, referral["patient_id"], referral["id"])
        return {"referral": _ref(referral)}

    return await run_mutation(ctx, operation, cmd, body, idempotency_key=cmd.idempotency_key)


async def accept_referral(ctx: Context, cmd: ReferralStep) -> Outcome:
    return await _move(ctx, cmd, "accepted", "acceptReferral")


async def reject_referral(ctx: Context, cmd: ReferralStep) -> Outcome:
    return await _move(ctx, cmd, "rejected", "rejectReferral")


async def cancel_referral(ctx: Context, cmd: ReferralStep) -> Outcome:
    return await _move(ctx, cmd, "cancelled", "cancelReferral")


async def answer_referral(ctx: Context, cmd: AnswerReferral) -> Outcome:
    """The remissvar: a ReferralOutcome written at the recipient unit, linked from the
    referral; a final answer (slutsvar) closes the referral, a preliminary one keeps it open."""

    async def body(write: Writer) -> dict[str, RowRef]:
        await _writers_only(ctx)
        checks = Checks()
        answer = checks.text(
            "input.text", cmd.text, limit=max_length(models.ReferralOutcome, "text")
        )
        checks.done()
        status = "answered" if cmd.final else "accepted"
        referral = await locked_sent_row(ctx, REFERRAL, "Referral", cmd.id)
        unit_row = await one(ctx, CARE_UNIT, id=referral["recipient_unit_id"])
        assert unit_row is not None  # a foreign key
        record = RecordInput(
            patient_id=encode_id("Patient", referral["patient_id"], referral["patient_id"]),
            care_unit_hsa_id=unit_row["hsa_id"],
            approved_for_patient=cmd.approved_for_patient,
        )
        header = await resolve_header(
            ctx, checks, record, event_time=now(), event_field="input.id", table="referral_outcome"
        )
        checks.done()
        stale(referral, cmd.version)
        if referral["status"] not in OPEN:
            raise reject(
                "input.id", Code.INVALID_STATE, f"a {referral['status']} referral is not answered"
            )
        outcome = await write.insert(
            models.ReferralOutcome,
            header.row(
                now(),
                outcome_type="slutsvar" if cmd.final else "svar",
                text=answer,
                referral_id=referral["document_id"],
                referral_reason=referral["reason"],
                referral_author=referral["accountable_name"],
            ),
        )
        await _event(ctx, write, referral, status, referral["recipient_unit_id"], None)
        await write.update(
            _ref(referral),
            cmd.version,
            {"status": status, "outcome_id": outcome.id},
            field="input.id",
        )
        return {"referral": _ref(referral), "answer": outcome}

    return await run_mutation(ctx, "answerReferral", cmd, body, idempotency_key=cmd.idempotency_key)
