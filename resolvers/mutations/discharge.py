"""Coordinated discharge (lag 2017:612): sendAdmissionNotice (inskrivningsmeddelande),
declareReadyForDischarge (utskrivningsklar with the planned day), acknowledgeDischargePlan
(the municipality's kvittens), recordDischarge, cancelDischargePlan.

The hospital unit writes the plan and moves it; the municipal unit acknowledges it (each at its
own unit, as the write policy wants). The notice gives the municipal unit and primary care a
care relationship for the discharge (DISCHARGE_DAYS), so their staff read what the hospital
wrote and prepare; cancelling ends it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
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
from resolvers.mutations.references import practitioner
from resolvers.mutations.runner import Writer, run_mutation, stale
from resolvers.tables import DISCHARGE_PLAN

# How long the notice lets the addressees read the record (a long stay is renewed by care).
DISCHARGE_DAYS = timedelta(days=90)
# A municipal unit takes over: home care, special housing, municipal health care, LSS.
MUNICIPAL_KINDS = ("home_care", "special_housing", "municipal_health", "lss")


@dataclass(frozen=True, kw_only=True)
class SendAdmissionNotice(RecordInput):
    municipal_unit_hsa_id: str
    primary_care_unit_hsa_id: str | None = None
    expected_needs: str | None = None
    admitted_at: datetime | None = None


@dataclass(frozen=True, kw_only=True)
class DischargeStep:
    id: str
    version: int
    at: datetime | None = None
    planned_discharge_on: date | None = None
    idempotency_key: str | None = None


async def _writers_only(ctx: Context) -> None:
    """Patients, proxies and research clients are refused before any input is judged."""
    if ctx.principal.kind not in WRITERS:
        await ensure_may_write(ctx, None, None)


async def send_admission_notice(ctx: Context, cmd: SendAdmissionNotice) -> Outcome:
    async def body(write: Writer) -> dict[str, RowRef]:
        await _writers_only(ctx)
        checks = Checks()
        admitted = checks.moment("input.admittedAt", cmd.admitted_at, required=False) or now()
        needs = checks.text(
            "input.expectedNeeds",
            cmd.expected_needs,
            limit=max_length(models.DischargePlan, "expected_needs"),
            required=False,
        )
        municipal = await addressee(
            ctx, checks, "input.municipalUnitHsaId", cmd.municipal_unit_hsa_id
        )
        if municipal is not None and municipal.kind not in MUNICIPAL_KINDS:
            checks.add(
                "input.municipalUnitHsaId",
                Code.INVALID_REFERENCE,
                "the unit is not a municipal care unit",
            )
        primary = None
        if cmd.primary_care_unit_hsa_id is not None:
            primary = await addressee(
                ctx, checks, "input.primaryCareUnitHsaId", cmd.primary_care_unit_hsa_id
            )
        header = await resolve_header(
            ctx,
            checks,
            cmd,
            event_time=admitted,
            event_field="input.admittedAt",
            table="discharge_plan",
        )
        checks.done()
        assert municipal is not None
        ref = await write.insert(
            models.DischargePlan,
            header.row(
                admitted,
                municipal_unit_id=municipal.id,
                municipal_provider_id=municipal.care_provider_id,
                primary_care_unit_id=primary.id if primary else None,
                primary_care_provider_id=primary.care_provider_id if primary else None,
                status="enrolled",
                expected_needs=needs,
            ),
        )
        origin = models.RelationshipOrigin.DISCHARGE_PLAN
        for unit in (municipal, primary):
            if unit is not None and unit.id != header.unit.id:
                until = now() + DISCHARGE_DAYS
                await grant_for_purpose(ctx, write, ref.patient_id, unit, origin, ref.id, until)
        return {"dischargePlan": ref}

    return await run_mutation(
        ctx, "sendAdmissionNotice", cmd, body, idempotency_key=cmd.idempotency_key
    )


# step -> (the statuses it starts from, the side that takes it)
STEPS = {
    "declareReadyForDischarge": (("enrolled", "ready"), "hospital"),
    "acknowledgeDischargePlan": (("enrolled", "ready"), "municipality"),
    "recordDischarge": (("ready",), "hospital"),
    "cancelDischargePlan": (("enrolled", "ready"), "hospital"),
}


async def _values(
    ctx: Context, checks: Checks, operation: str, cmd: DischargeStep, plan: RowMapping
) -> dict[str, Any]:
    """What the step changes, after checking its own input."""
    at = checks.moment("input.at", cmd.at, required=False) or now()
    if at < plan["event_time"]:
        checks.add("input.at", Code.INVALID_DATE_ORDER, "input.at is before the admission")
    if operation == "declareReadyForDischarge":
        planned = cmd.planned_discharge_on
        if planned is None:
            checks.add("input.plannedDischargeOn", Code.INVALID_VALUE, "the planned day is needed")
        elif planned < at.date() - timedelta(days=1):
            checks.add(
                "input.plannedDischargeOn",
                Code.INVALID_DATE_ORDER,
                "the planned day is before utskrivningsklar",
            )
        return {"status": "ready", "ready_at": at, "planned_discharge_on": planned}
    if operation == "acknowledgeDischargePlan":
        if plan["acknowledged_at"] is not None:
            checks.add("input.id", Code.INVALID_STATE, "the plan is already acknowledged")
        who = await practitioner(ctx, checks, None)
        return {
            "acknowledged_at": at,
            "acknowledged_by_hsa_id": who.hsa_id if who else None,
            "acknowledged_by_name": who.name if who else None,
        }
    if operation == "recordDischarge":
        if plan["ready_at"] is not None and at < plan["ready_at"]:
            checks.add("input.at", Code.INVALID_DATE_ORDER, "input.at is before utskrivningsklar")
        return {"status": "discharged", "discharged_at": at}
    return {"status": "cancelled"}


async def discharge_step(ctx: Context, operation: str, cmd: DischargeStep) -> Outcome:
    """One step of a discharge plan by the side that takes it."""

    async def body(write: Writer) -> dict[str, RowRef]:
        await _writers_only(ctx)
        plan = await locked_sent_row(ctx, DISCHARGE_PLAN, "DischargePlan", cmd.id)
        starts, side = STEPS[operation]
        unit = plan["municipal_unit_id"] if side == "municipality" else plan["care_unit_id"]
        await ensure_may_write(ctx, plan["patient_id"], unit, "discharge_plan")
        stale(plan, cmd.version)
        if plan["status"] not in starts:
            raise reject("input.id", Code.INVALID_STATE, f"the plan is {plan['status']}")
        checks = Checks()
        values = await _values(ctx, checks, operation, cmd, plan)
        checks.done()
        ref = RowRef("DischargePlan", plan["patient_id"], plan["id"])
        await write.update(ref, cmd.version, values, field="input.id")
        if operation == "cancelDischargePlan":
            await end_purpose(ctx, write, plan["patient_id"], plan["id"])
        return {"dischargePlan": ref}

    return await run_mutation(ctx, operation, cmd, body, idempotency_key=cmd.idempotency_key)
