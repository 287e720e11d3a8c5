"""createSip, addSipAction, updateSip, updateSipAction: one SIP (samordnad individuell plan)
that the region and the municipality write together.

The convening clinician creates the plan at their unit with its participants, goals and
actions. Then a clinician at any participating unit adds actions or changes the plan, at their
own unit (`ensure_may_write`), on a plan they may read (the policy shares it with every
participating provider). Every such write raises the plan's version: a write with an older
version is a CONFLICT, so neither side overwrites what the other just wrote unseen.

An action is marked done (or back to planned, or cancelled) with a follow-up note only by a
clinician of the organisation responsible for it (`updateSipAction`): the action is that
organisation's commitment in the plan, and the other side reads the result, not writes it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import RowMapping, select

from app import models
from app.context import Context
from app.identifiers import validate_hsa_id
from app.models.sip import SipActionStatus, SipStatus
from resolvers.mutations.checks import Checks, max_length, now
from resolvers.mutations.header import RecordInput, resolve_header
from resolvers.mutations.outcome import Code, Outcome, RowRef
from resolvers.mutations.policy import ensure_may_write
from resolvers.mutations.references import Unit, care_unit, global_id, one
from resolvers.mutations.runner import Writer, run_mutation, stale
from resolvers.tables import CARE_UNIT, SIP_ACTION, SIP_GOAL, SIP_PARTICIPANT, SIP_PLAN


@dataclass(frozen=True, kw_only=True)
class Participant:
    name: str
    role: str
    care_unit_hsa_id: str | None = None


@dataclass(frozen=True, kw_only=True)
class Action:
    description: str
    responsible_unit_hsa_id: str
    goal_position: int | None = None
    follow_up_on: date | None = None


@dataclass(frozen=True, kw_only=True)
class CreateSip(RecordInput):
    title: str
    situation: str
    follow_up_on: date | None = None
    participants: list[Participant] = field(default_factory=list)
    goals: list[str] = field(default_factory=list)
    actions: list[Action] = field(default_factory=list)


@dataclass(frozen=True, kw_only=True)
class AddSipAction:
    plan_id: str
    version: int
    action: Action
    goal: str | None = None
    care_unit_hsa_id: str | None = None
    idempotency_key: str | None = None


@dataclass(frozen=True, kw_only=True)
class UpdateSipAction:
    id: str
    version: int
    status: str
    note: str | None = None
    care_unit_hsa_id: str | None = None
    idempotency_key: str | None = None


@dataclass(frozen=True, kw_only=True)
class UpdateSip:
    id: str
    version: int
    care_unit_hsa_id: str | None = None
    status: str | None = None
    situation: str | None = None
    follow_up_on: date | None = None
    approved_for_patient: bool | None = None
    idempotency_key: str | None = None


def _text(checks: Checks, field_: str, value: str | None, model: Any, column: str) -> Any:
    return checks.text(field_, value, limit=max_length(model, column))


async def _unit(ctx: Context, checks: Checks, field_: str, hsa: str | None) -> Unit | None:
    """A unit named by HSA-id in the input (a participant, a responsible organisation)."""
    found = checks.identifier(field_, validate_hsa_id, hsa)
    if found is None:
        return None
    row = await one(ctx, CARE_UNIT, hsa_id=found)
    if row is None:
        checks.add(field_, Code.NOT_FOUND, f"{field_}: no care unit has HSA-id {found}")
        return None
    return Unit(row["id"], row["hsa_id"], row["kind"], row["care_provider_id"])


def _written(patient_id: uuid.UUID, plan_id: uuid.UUID, unit: Unit, ctx: Context) -> dict[str, Any]:
    return {
        "patient_id": patient_id,
        "plan_id": plan_id,
        "written_by_unit_id": unit.id,
        "written_by_hsa_id": ctx.principal.subject if ctx.principal.subject else None,
        "written_at": now(),
    }


async def _action_rows(
    ctx: Context,
    checks: Checks,
    actions: list[Action],
    participating: set[uuid.UUID],
    prefix: str,
) -> list[tuple[Action, Unit]]:
    """Each action with its responsible unit, which must belong to a participating provider."""
    found = []
    for i, action in enumerate(actions):
        where = f"{prefix}[{i}]" if prefix.endswith("actions") else prefix
        _text(checks, f"{where}.description", action.description, models.SipAction, "description")
        unit = await _unit(
            ctx, checks, f"{where}.responsibleUnitHsaId", action.responsible_unit_hsa_id
        )
        if unit is not None and unit.care_provider_id not in participating:
            checks.add(
                f"{where}.responsibleUnitHsaId",
                Code.INVALID_REFERENCE,
                "the responsible organisation does not take part in the plan",
            )
        if unit is not None:
            found.append((action, unit))
    return found


def _action(
    base: dict[str, Any], action: Action, unit: Unit, goal_id: uuid.UUID | None
) -> dict[str, Any]:
    return base | {
        "goal_id": goal_id,
        "description": action.description.strip(),
        "responsible_provider_id": unit.care_provider_id,
        "responsible_unit_id": unit.id,
        "follow_up_on": action.follow_up_on,
        "status": SipActionStatus.PLANNED.value,
    }


async def create_sip(ctx: Context, cmd: CreateSip) -> Outcome:
    async def body(write: Writer) -> dict[str, RowRef]:
        checks = Checks()
        title = _text(checks, "input.title", cmd.title, models.SipPlan, "title")
        situation = checks.text("input.situation", cmd.situation, limit=20000)
        people: list[tuple[Participant, Unit | None]] = []
        for i, p in enumerate(cmd.participants):
            where = f"input.participants[{i}]"
            _text(checks, f"{where}.name", p.name, models.SipParticipant, "name")
            _text(checks, f"{where}.role", p.role, models.SipParticipant, "role")
            unit = None
            if p.care_unit_hsa_id is not None:
                unit = await _unit(ctx, checks, f"{where}.careUnitHsaId", p.care_unit_hsa_id)
            people.append((p, unit))
        for i, goal in enumerate(cmd.goals):
            _text(checks, f"input.goals[{i}]", goal, models.SipGoal, "goal")
        header = await resolve_header(
            ctx, checks, cmd, event_time=now(), event_field="input", table="sip_plan"
        )
        participating = {header.unit.care_provider_id} | {
            u.care_provider_id for _, u in people if u is not None
        }
        if len(participating) < 2:
            checks.add(
                "input.participants",
                Code.INVALID_VALUE,
                "a SIP coordinates at least two providers (a region and a municipality)",
            )
        actions = await _action_rows(ctx, checks, cmd.actions, participating, "input.actions")
        for i, a in enumerate(cmd.actions):
            if a.goal_position is not None and not 1 <= a.goal_position <= len(cmd.goals):
                checks.add(
                    f"input.actions[{i}].goalPosition",
                    Code.INVALID_VALUE,
                    "no goal at that position",
                )
        checks.done()
        content = {
            "title": title,
            "situation": situation,
            "follow_up_on": cmd.follow_up_on,
            "status": SipStatus.ACTIVE.value,
        }
        ref = await write.insert(
            models.SipPlan, header.row(header.values["author_time"], **content)
        )
        base = _written(header.patient_id, ref.id, header.unit, ctx)
        convener = await _convener(ctx, header.unit)
        await write.insert(models.SipParticipant, base | convener)
        for p, unit in people:
            await write.insert(
                models.SipParticipant,
                base
                | {
                    "care_unit_id": unit.id if unit else None,
                    "care_provider_id": unit.care_provider_id if unit else None,
                    "name": p.name.strip(),
                    "role": p.role.strip(),
                },
            )
        goal_ids = []
        for position, goal in enumerate(cmd.goals, start=1):
            goal_ref = await write.insert(
                models.SipGoal, base | {"position": position, "goal": goal.strip()}
            )
            goal_ids.append(goal_ref.id)
        for action, unit in actions:
            goal_id = goal_ids[action.goal_position - 1] if action.goal_position else None
            await write.insert(models.SipAction, _action(base, action, unit, goal_id))
        return {"sip": ref}

    return await run_mutation(ctx, "createSip", cmd, body, idempotency_key=cmd.idempotency_key)


async def _convener(ctx: Context, unit: Unit) -> dict[str, Any]:
    """The convening clinician as the plan's first participant."""
    name = ctx.principal.name or ctx.principal.subject or "okänd"
    return {
        "care_unit_id": unit.id,
        "care_provider_id": unit.care_provider_id,
        "name": name[:200],
        "role": (ctx.principal.role or "sammankallande")[:100],
    }


async def _writable_plan(
    ctx: Context, checks: Checks, field_: str, raw: str, version: int, unit_hsa: str | None
) -> tuple[RowMapping, Unit, set[uuid.UUID]]:
    """The plan, locked, that this clinician may write to at their unit, at `version`; and the
    providers taking part in it."""
    gid = global_id(checks, field_, raw, "SipPlan")
    unit = await care_unit(ctx, checks, unit_hsa, None)
    checks.done()
    assert gid is not None and unit is not None and gid.patient_id is not None
    await ensure_may_write(ctx, gid.patient_id, unit.id, "sip_plan")
    plan, providers = await _locked_plan(
        ctx, checks, field_, (gid.patient_id, gid.id), version, unit
    )
    return plan, unit, providers


async def _locked_plan(
    ctx: Context,
    checks: Checks,
    field_: str,
    key: tuple[uuid.UUID, uuid.UUID],
    version: int,
    unit: Unit,
) -> tuple[RowMapping, set[uuid.UUID]]:
    """The plan (patient_id, id), visible and locked, that `unit`'s provider takes part in,
    at `version`; and the providers taking part in it."""
    visible = await ctx.data.visible_keys(SIP_PLAN, [key])
    rows = await ctx.data.fetch(select(SIP_PLAN).where(visible).with_for_update(of=SIP_PLAN))
    if not rows or rows[0]["nullified"]:
        checks.add(field_, Code.NOT_FOUND, f"{field_}: no such SIP")
        checks.done()
    plan = rows[0]
    participants = await ctx.data.fetch(
        select(SIP_PARTICIPANT.c.care_provider_id).where(
            SIP_PARTICIPANT.c.patient_id == plan["patient_id"],
            SIP_PARTICIPANT.c.plan_id == plan["id"],
        )
    )
    providers = {r["care_provider_id"] for r in participants if r["care_provider_id"]}
    if unit.care_provider_id not in providers:
        checks.add(field_, Code.INVALID_STATE, "your organisation does not take part in the SIP")
        checks.done()
    stale(plan, version)
    return plan, providers


async def add_sip_action(ctx: Context, cmd: AddSipAction) -> Outcome:
    async def body(write: Writer) -> dict[str, RowRef]:
        checks = Checks()
        plan, unit, providers = await _writable_plan(
            ctx, checks, "input.planId", cmd.plan_id, cmd.version, cmd.care_unit_hsa_id
        )
        if plan["status"] != SipStatus.ACTIVE:
            checks.add("input.planId", Code.INVALID_STATE, f"the SIP is {plan['status']}")
        if cmd.goal is not None:
            _text(checks, "input.goal", cmd.goal, models.SipGoal, "goal")
        actions = await _action_rows(ctx, checks, [cmd.action], providers, "input.action")
        checks.done()
        base = _written(plan["patient_id"], plan["id"], unit, ctx)
        goal_id = None
        if cmd.goal is not None:
            goal_id = await _new_goal(ctx, write, base, cmd.goal.strip())
        action, responsible = actions[0]
        ref = await write.insert(models.SipAction, _action(base, action, responsible, goal_id))
        plan_ref = RowRef("SipPlan", plan["patient_id"], plan["id"])
        await write.update(plan_ref, cmd.version, {}, field="input.planId")
        return {"sip": plan_ref, "action": ref}

    return await run_mutation(ctx, "addSipAction", cmd, body, idempotency_key=cmd.idempotency_key)


async def _new_goal(ctx: Context, write: Writer, base: dict[str, Any], goal: str) -> uuid.UUID:
    rows = await ctx.data.fetch(
        select(SIP_GOAL.c.position).where(
            SIP_GOAL.c.patient_id == base["patient_id"], SIP_GOAL.c.plan_id == base["plan_id"]
        )
    )
    position = max((r["position"] for r in rows), default=0) + 1
    ref = await write.insert(models.SipGoal, base | {"position": position, "goal": goal})
    return ref.id


async def update_sip(ctx: Context, cmd: UpdateSip) -> Outcome:
    async def body(write: Writer) -> dict[str, RowRef]:
        checks = Checks()
        plan, _, _ = await _writable_plan(
            ctx, checks, "input.id", cmd.id, cmd.version, cmd.care_unit_hsa_id
        )
        values: dict[str, Any] = {}
        if cmd.status is not None:
            values["status"] = cmd.status
        if cmd.situation is not None:
            values["situation"] = checks.text("input.situation", cmd.situation, limit=20000)
        if cmd.follow_up_on is not None:
            values["follow_up_on"] = cmd.follow_up_on
        if cmd.approved_for_patient is not None:
            values["approved_for_patient"] = cmd.approved_for_patient
        if not values:
            checks.add("input", Code.INVALID_VALUE, "nothing to change")
        checks.done()
        ref = RowRef("SipPlan", plan["patient_id"], plan["id"])
        await write.update(ref, cmd.version, values, field="input.id")
        return {"sip": ref}

    return await run_mutation(ctx, "updateSip", cmd, body, idempotency_key=cmd.idempotency_key)


NOTE_LENGTH = 2000


async def update_sip_action(ctx: Context, cmd: UpdateSipAction) -> Outcome:
    async def body(write: Writer) -> dict[str, RowRef]:
        checks = Checks()
        gid = global_id(checks, "input.id", cmd.id, "SipAction")
        unit = await care_unit(ctx, checks, cmd.care_unit_hsa_id, None)
        note = checks.text("input.note", cmd.note, limit=NOTE_LENGTH, required=False)
        checks.done()
        assert gid is not None and unit is not None and gid.patient_id is not None
        await ensure_may_write(ctx, gid.patient_id, unit.id, "sip_action")
        visible = await ctx.data.visible_keys(SIP_ACTION, [(gid.patient_id, gid.id)])
        rows = await ctx.data.fetch(select(SIP_ACTION).where(visible))
        if not rows:
            checks.add("input.id", Code.NOT_FOUND, "input.id: no such SIP action")
            checks.done()
        action = rows[0]
        plan, _ = await _locked_plan(
            ctx, checks, "input.id", (action["patient_id"], action["plan_id"]), cmd.version, unit
        )
        if unit.care_provider_id != action["responsible_provider_id"]:
            reason = "only the organisation responsible for a SIP action marks it"
            ctx.audit.deny(action["patient_id"], reason)
            checks.add("input.careUnitHsaId", Code.INVALID_STATE, reason)
        if plan["status"] != SipStatus.ACTIVE:
            checks.add("input.id", Code.INVALID_STATE, f"the SIP is {plan['status']}")
        if cmd.status == action["status"] and note in (None, action["status_note"]):
            checks.add("input", Code.INVALID_VALUE, "nothing to change")
        checks.done()
        values = {
            "status": cmd.status,
            "status_note": note,  # the note belongs to this change; none clears the last one
            "status_set_at": now(),
            "status_set_by_hsa_id": ctx.principal.subject or None,
        }
        ref = RowRef("SipAction", action["patient_id"], action["id"])
        await write.update(ref, action["version"], values, field="input.id")
        # The plan's version rises with every write to its parts: the other side learns of it.
        plan_ref = RowRef("SipPlan", plan["patient_id"], plan["id"])
        await write.update(plan_ref, cmd.version, {}, field="input.id")
        return {"sip": plan_ref, "action": ref}

    return await run_mutation(
        ctx, "updateSipAction", cmd, body, idempotency_key=cmd.idempotency_key
    )
