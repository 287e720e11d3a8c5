"""A planned read that rides on the policy's facts statement: one round trip instead of two.

A planned read needs the policy's decision (its plan is chosen by the decision's shape), and
the decision needs the patient's facts, read by a statement of their own. The planner predicts
the plan from the caller's earlier reads with the same document (`Predictions`: the decision's
shape rarely changes between two requests) and hands it over as a `Rider`. The facts statement
of a single patient then carries the predicted read as a LATERAL on the facts row, with the
row's patient id as the read's `pid`: both are read in one statement, in one snapshot.

The decision is still made in Python, from the facts read in that statement, exactly as
without a rider. Its data is used only if the plan that decision selects is the predicted plan
(the same object: the same SQL and constants) for the same patient; otherwise it is dropped
unread, nothing of it is disclosed, and the read runs on its own as before. A wrong prediction
costs the wasted read (its statements are as many as without a prediction); a right one saves
a round trip.
"""

from __future__ import annotations

import contextlib
import re
from collections import OrderedDict
from collections.abc import Hashable, Iterator, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from app.sqlplan import PLANS, Plan, Slot

# The prefix of the rider's columns in the fused statement's rows (no facts column has it),
# and a planned read's two.
RIDE = "ride_"
DATA, DISCLOSED = RIDE + "data", RIDE + "disclosed"


@dataclass
class Rider:
    """The predicted plan of a planned read; after the facts statement ran, `rows` are its
    rows (the facts' columns with the read's `columns`, prefixed `ride_`: `DATA`, `DISCLOSED`).

    The read's `pid` is the facts row's id. Its other slots are bound to `values` where given
    (a mutation's lookups ride with all their values known); the rest (values computed in
    Python from the decision, or answered by GraphQL execution) are not known before the
    decision: they are bound as markers and replaced in the read's JSON text afterwards
    (`spliced`). A marker is its slot's name between two U+0001 characters, which JSON text
    written from data never holds raw (it escapes control characters)."""

    plan: Plan
    values: Mapping[str, Any] = field(default_factory=dict)
    columns: tuple[str, ...] = ("data", "disclosed")
    taken: bool = False
    rows: Sequence[Mapping[str, Any]] = field(default_factory=tuple)

    def bound(self) -> dict[str, Any]:
        """The values of the read's slots other than `pid`, as the fused plan names them."""
        return {
            RIDING + s.name: self.values[s.name] if s.name in self.values else _marker(s.name)
            for s in self.plan.slots
            if s.name != "pid"
        }

    def answer(self, plan: Plan, patient_id: object) -> Mapping[str, Any] | None:
        """The ridden read's row, if `plan` is the predicted one and the facts row is this
        patient's: then it is what `plan` would read for them (None: run `plan` alone)."""
        if plan is not self.plan:
            return None
        for row in self.rows:
            if row["id"] == patient_id and row[DATA] is not None:
                return row
        return None


def spliced(data: str, values: Mapping[str, str]) -> str | None:
    """The ridden read's JSON text with each slot's marker replaced by its value; None if a
    marker is not in it (a slot used other than as JSON text put in place: run the read
    alone)."""
    for name, value in values.items():
        if name != "pid":
            marker = _marker(name)
            if marker not in data:
                return None
            data = data.replace(marker, value)
    return data


def _marker(name: str) -> str:
    return f"\x01{name}\x01"


# The prefix of the read's slot names in the fused plan (the facts plan has slots of its own).
RIDING = "ride:"


_RIDER: ContextVar[Rider | None] = ContextVar("vardkedja_rider", default=None)


@contextlib.contextmanager
def riding(rider: Rider | None) -> Iterator[None]:
    """Within the block, the next single-patient facts statement carries `rider`'s read."""
    token = _RIDER.set(rider)
    try:
        yield
    finally:
        _RIDER.reset(token)


async def facts_rows(
    plan: Plan, conn: AsyncConnection, values: Mapping[str, Any]
) -> Sequence[Mapping[str, Any]]:
    """The rows of a facts statement of at most one patient (its patient's key in the column
    `id`), with the rider's read beside them when one is waiting."""
    rider = _RIDER.get()
    if rider is None or rider.taken:
        return await plan.rows(conn, **values)
    rider.taken = True
    fused = fused_plan(plan, rider.plan, rider.columns)
    if not fused.sql:  # the read cannot ride (see `fuse`)
        return await plan.rows(conn, **values)
    rows = await fused.rows(conn, **values, **rider.bound())
    rider.rows = rows
    return rows


def fused_plan(facts: Plan, read: Plan, columns: tuple[str, ...]) -> Plan:
    """`fuse(facts, read, columns)`, made once per pair of plans. Kept by the plans' identity,
    not their SQL: two callers' plans can have the same SQL with other constants (their units'
    and providers' ids, bound), and a fused plan holds the constants of both."""
    key = (id(facts), id(read), columns)
    found = _FUSED.get(key)
    if found is not None and found[0] is facts and found[1] is read:
        _FUSED.move_to_end(key)
        return found[2]
    fused = fuse(facts, read, columns)
    _FUSED[key] = (facts, read, fused)
    if len(_FUSED) > FUSED:
        _FUSED.popitem(last=False)
    return fused


# Fused plans by their two plans (which an entry keeps alive, so their ids are not reused
# while it is kept). A quarter of the plan cache's size: each entry holds three plans (a
# situation's read is 10-45 KB of SQL), and a fused plan is made again from the two by text.
FUSED = PLANS.size // 4
_FUSED: OrderedDict[tuple[int, int, tuple[str, ...]], tuple[Plan, Plan, Plan]] = OrderedDict()


# A positional parameter outside a string literal (SQLAlchemy writes literals in '...').
_PARAMETER = re.compile(r"'(?:[^']|'')*'|\$(\d+)(::[A-Z]+(?:\[\])?)?")


def fuse(facts: Plan, read: Plan, columns: tuple[str, ...] = ("data", "disclosed")) -> Plan:
    """One statement: the rows of `facts`, each with `read` run for its `id` as `pid` and
    the read's `columns` beside the facts' own, each prefixed `ride_`.

    `read`'s parameters are numbered after `facts`' and its `pid` becomes the facts row's
    `id`; its other slots are named with the prefix `RIDING`. A read without `pid`, or whose
    `pid` is not a plain UUID, cannot ride: the result is then a plan without SQL (kept, so
    that the check is made once)."""
    pid = {s.position for s in read.slots if s.name == "pid"}
    if not pid:
        return Plan("", (), ())
    numbers: dict[int, int] = {}
    constants = list(facts.constants)
    for position, constant in enumerate(read.constants):
        if position not in pid:
            numbers[position] = len(constants)
            constants.append(constant)
    slots = list(facts.slots)
    slots += [
        Slot(numbers[s.position], RIDING + s.name, s.process) for s in read.slots if s.name != "pid"
    ]
    plain_pid = True

    def renumber(match: re.Match[str]) -> str:
        nonlocal plain_pid
        number = match.group(1)
        if number is None:
            return match.group(0)
        position, cast = int(number) - 1, match.group(2) or ""
        if position in pid:
            plain_pid = plain_pid and cast == "::UUID"
            return "facts_row.id"
        return f"${numbers[position] + 1}{cast}"

    inner = _PARAMETER.sub(renumber, read.sql)
    if not plain_pid:
        return Plan("", (), ())
    ridden = ", ".join(f"ride.{name} AS {RIDE}{name}" for name in columns)
    sql = (
        f"SELECT facts_row.*, {ridden} "
        f"FROM ({facts.sql}) AS facts_row LEFT OUTER JOIN LATERAL ({inner}) AS ride ON true"
    )
    return Plan(sql, tuple(constants), tuple(slots), facts.tag)


class Predictions:
    """What the next request of a (principal, document) will likely be read with.

    Per patient: the plan they were last read with. Per (principal, document), for a patient
    not read yet: the plan of the last read, but only if the read before it had the same plan.
    A dropped read is read twice (inside the facts statement, then alone), so a caller whose
    patients' decisions differ (a home-care nurse's, some without a care relationship) wastes
    at most one read after each change of plan, while one whose patients share a plan (a
    pharmacist's queue) rides from their third patient on. Least recently used entries are
    dropped beyond `size`."""

    def __init__(self, size: int = 4096) -> None:
        self.size = size
        # (key, patient) and key -> (plan, whether the read before it had the same plan)
        self._plans: OrderedDict[Hashable, tuple[Plan, bool]] = OrderedDict()

    def rider(self, key: Hashable, patient: Hashable) -> Rider | None:
        """A rider for the plan predicted for this patient, if there is one."""
        found = self._plans.get((key, patient))
        if found is None:
            found = self._plans.get(key)
            if found is None or not found[1]:
                return None
        return Rider(found[0])

    def keep(self, key: Hashable, patients: Sequence[Hashable], plan: Plan) -> None:
        """`plan` was chosen for these references to one patient (its id, its person number)."""
        last = self._plans.get(key)
        shared = last is not None and last[0] is plan
        for k in (key, *((key, p) for p in patients if p is not None)):
            self._plans[k] = (plan, shared)
            self._plans.move_to_end(k)
        while len(self._plans) > self.size:
            self._plans.popitem(last=False)
