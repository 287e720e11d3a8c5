"""SIPs (samordnade individuella planer) in the seed: a plan convened by the patient's
vårdcentral with the municipal health care that visits them, with goals and actions of both.
Written after the rest of a chart, so the older rows stay what they were."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from app.seed.chart import Chart, at
from app.seed.world import Staff, Unit


@dataclass(frozen=True, slots=True)
class Side:
    """A participating unit and who represents it."""

    unit: Unit
    staff: Staff


@dataclass(frozen=True, slots=True)
class PlannedAction:
    side: int  # 0: the convening (region) side, 1: the municipality
    description: str
    goal: int | None  # position of the goal, 1-based
    follow_up_days: int


STANDARD_GOALS = ("Kunna bo kvar hemma på ett tryggt sätt", "Säker läkemedelshantering")
STANDARD_ACTIONS = (
    PlannedAction(
        0, "Läkemedelsgenomgång på vårdcentralen, ordinationer till hemsjukvården", 2, 30
    ),
    PlannedAction(1, "Läkemedelsöverlämning enligt signeringslista", 2, 14),
    PlannedAction(1, "Hemtjänst morgon och kväll enligt beslut", 1, 60),
)


def _part(c: Chart, plan: uuid.UUID, side: Side, when: datetime) -> tuple[object, ...]:
    """The columns every row of a plan starts with: key, plan, who wrote it where, when."""
    return (c.pid, c.new_id(), when, when, 1, plan, side.unit.id, side.staff.hsa_id, when)


def write_sip(
    c: Chart,
    sides: tuple[Side, Side],
    day: date,
    *,
    title: str,
    situation: str,
    goals: tuple[str, ...] = STANDARD_GOALS,
    actions: tuple[PlannedAction, ...] = STANDARD_ACTIONS,
    people: tuple[tuple[str, str], ...] = (),
) -> uuid.UUID:
    """One SIP convened by sides[0] on `day`; returns its id."""
    convener = sides[0]
    when = at(day, 13)
    plan, head = c.header(convener.unit, convener.staff, when)
    follow_up = day + timedelta(days=90)
    c.add("sip_plan", (*head, title, situation, "active", follow_up))
    for side in sides:
        c.add(
            "sip_participant",
            (
                *_part(c, plan, convener, when),
                side.unit.id,
                side.unit.provider.id,
                side.staff.name,
                side.staff.role,
            ),
        )
    for name, role in people:
        c.add("sip_participant", (*_part(c, plan, convener, when), None, None, name, role))
    goal_ids: list[object] = []
    for position, text in enumerate(goals, start=1):
        row = _part(c, plan, convener, when)
        goal_ids.append(row[1])  # the row's id
        c.add("sip_goal", (*row, position, text))
    for action in actions:
        side = sides[action.side]
        # Each side writes its own actions into the plan, the municipality a day later.
        written = when + timedelta(days=action.side)
        goal = goal_ids[action.goal - 1] if action.goal else None
        c.add(
            "sip_action",
            (
                *_part(c, plan, side, written),
                goal,
                action.description,
                side.unit.provider.id,
                side.unit.id,
                day + timedelta(days=action.follow_up_days),
                "planned",
                None,  # no status note yet: nobody has marked the action (updateSipAction)
                None,
                None,
            ),
        )
    return plan
