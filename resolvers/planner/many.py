"""A statement over many patients under their decisions, planned once per shape of those
decisions: patients whose decisions differ only in the patient share one predicate over
their ids (app/access/grouping.py), the ids bound per run."""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import Any

from sqlalchemy import ColumnElement, FromClause, false, or_

from app.access.data import visibility_of
from app.access.grouping import for_group, shape
from app.access.policy import PatientAccess
from app.sqlplan import PLANS, Placeholder, Plan, PlanError, placeholder

Visibility = Callable[[FromClause], ColumnElement[bool]]
# Builds and compiles the statement: `visible(table)` is the policy's predicate on each table
# (as `visibility_of`), `marks` the placeholders of the groups' id slots, to compile with.
Make = Callable[[Visibility, Mapping[Placeholder, str]], Plan]


def plan_for_many(
    key: Hashable, decisions: Sequence[PatientAccess], make: Make
) -> tuple[Plan, dict[str, Any]]:
    """The plan of a many-patient statement under the policy's `decisions`, and the values of
    its patient slots.

    Patients with the same decision but for the id form a group whose filter is the
    decision's, with `patient_id = ANY(<the group's ids>)` (app/access/grouping.py); the plan
    depends only on the groups' decisions, each group's ids are one slot. Decisions that
    cannot be grouped so are compiled for this run alone.
    """
    groups: dict[object, list[PatientAccess]] = {}
    for decision in decisions:
        if decision.may_see_patient:
            blank = shape(decision)
            if blank is None:
                return _plan_now(decisions, make), {}
            groups.setdefault(blank, []).append(decision)
    values = {f"group{n}": [d.patient_id for d in g] for n, g in enumerate(groups.values())}

    def grouped() -> Plan:
        ids = [placeholder() for _ in groups]
        stand_ins: list[PatientAccess] = [
            dataclasses.replace(typing.cast(Any, group[0]), patient_id=marker)
            for marker, group in zip(ids, groups.values(), strict=True)
        ]

        def visible(table: FromClause) -> ColumnElement[bool]:
            filters = []
            for marker, stand_in in zip(ids, stand_ins, strict=True):
                grouped = for_group(stand_in.row_filter(table), marker, [marker])
                if grouped is None:
                    raise PlanError("a decision whose patient id is not only compared")
                filters.append(grouped)
            return or_(*filters) if filters else false()

        return make(visible, {m: f"group{n}" for n, m in enumerate(ids)})

    try:
        return PLANS.get((key, tuple(groups)), grouped), values
    except PlanError:
        return _plan_now(decisions, make), {}


def _plan_now(decisions: Sequence[PatientAccess], make: Make) -> Plan:
    return make(lambda table: visibility_of(table, decisions), {})
