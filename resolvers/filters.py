"""Filters of the list fields, frozen (hashable) so they can be part of a loader key."""

from __future__ import annotations

import dataclasses
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    DateTime,
    FromClause,
    String,
    Table,
    Uuid,
    any_,
    bindparam,
    func,
    or_,
    select,
)
from sqlalchemy.dialects.postgresql import ARRAY

from app.sqlplan import to_write
from resolvers.pagination import CursorSlots
from resolvers.tables import CARE_PROVIDER as _PROVIDER
from resolvers.tables import CARE_UNIT as _UNIT


@dataclass(frozen=True)
class Slot:
    """A part of a planned statement's filter whose value comes per run (resolvers/planner/,
    `slotted`): a bind named `name`, or a text written into the plan's SQL under that name
    (strings, so that PostgreSQL sees them as it sees the document's own constants)."""

    name: str


# A set of values, or in a plan the slot that stands for it.
Values = frozenset[Any] | Slot


@dataclass(frozen=True)
class RowFilter:
    """What a client asked to narrow a list to. Empty sets mean "no restriction".

    `period_overlaps` makes the period match items whose own period (event_time to
    `period_end`, open if null) overlaps it, instead of items whose event_time falls in it.
    """

    # A bind parameter instead of a datetime: in a plan, a time bound per run.
    start: datetime | ColumnElement[Any] | None = None
    end: datetime | ColumnElement[Any] | None = None
    care_provider_ids: frozenset[uuid.UUID] | Slot = frozenset()
    care_unit_ids: frozenset[uuid.UUID] | Slot = frozenset()
    care_provider_hsa_ids: frozenset[str] | Slot = frozenset()
    care_unit_hsa_ids: frozenset[str] | Slot = frozenset()
    values: tuple[tuple[str, Values], ...] = ()
    # (column, prefixes): in a plan, one slot per prefix.
    prefixes: tuple[tuple[str, frozenset[str] | tuple[Slot, ...]], ...] = ()
    period_overlaps: bool = False
    # Delta sync for lists: only rows written or changed at or after this time.
    changed_since: datetime | ColumnElement[Any] | None = None

    def conditions(self, table: FromClause) -> list[ColumnElement[bool]]:
        c = table.c
        out: list[ColumnElement[bool]] = []
        if self.period_overlaps:
            if self.start is not None:
                out.append(or_(c.period_end.is_(None), c.period_end >= self.start))
            if self.end is not None:
                out.append(c.event_time < self.end)
        else:
            if self.start is not None:
                out.append(c.event_time >= self.start)
            if self.end is not None:
                out.append(c.event_time < self.end)
        if self.changed_since is not None:
            out.append(c.updated_at >= self.changed_since)
        if self.care_provider_ids:
            out.append(_ids_in(c.care_provider_id, self.care_provider_ids))
        if self.care_unit_ids:
            out.append(_ids_in(c.care_unit_id, self.care_unit_ids))
        if self.care_provider_hsa_ids:
            out.append(_among(c.care_provider_id, _PROVIDER, self.care_provider_hsa_ids))
        if self.care_unit_hsa_ids:
            out.append(_among(c.care_unit_id, _UNIT, self.care_unit_hsa_ids))
        for column, allowed in self.values:
            out.append(_one_of(c[column], allowed))
        for column, starts in self.prefixes:
            out.append(or_(*[_starts_with(c[column], p) for p in _ordered(starts)]))
        return out

    def shape(self) -> tuple[Any, ...]:
        """What of this filter makes its statement: which conditions it has (and how many
        prefixes), not their values. Two filters of one shape share a plan (`slotted`)."""
        return (
            self.start is not None,
            self.end is not None,
            self.changed_since is not None,
            bool(self.care_provider_ids),
            bool(self.care_unit_ids),
            bool(self.care_provider_hsa_ids),
            bool(self.care_unit_hsa_ids),
            tuple(column for column, _ in self.values),
            tuple((column, len(starts)) for column, starts in self.prefixes),
            self.period_overlaps,
        )


def _ordered(starts: frozenset[str] | tuple[Slot, ...]) -> list[Any]:
    return list(starts) if isinstance(starts, tuple) else sorted(starts)


def _ids_in(column: ColumnElement[Any], ids: frozenset[uuid.UUID] | Slot) -> ColumnElement[bool]:
    if isinstance(ids, Slot):
        return column == any_(bindparam(ids.name, None, type_=ARRAY(Uuid())))
    return column.in_(sorted(ids))


def _one_of(column: ColumnElement[Any], allowed: Values) -> ColumnElement[bool]:
    if isinstance(allowed, Slot):  # the list written in: `IN ('a', 'b')`
        return column.in_(to_write(allowed.name, expanding=True))
    return column.in_(sorted(allowed))


def _starts_with(column: ColumnElement[Any], prefix: str | Slot) -> ColumnElement[bool]:
    # (In a plan, the pattern written in per run: the same statement as with the prefix.)
    pattern = to_write(prefix.name) if isinstance(prefix, Slot) else like_pattern(prefix)
    return column.like(pattern, escape=LIKE_ESCAPE)


LIKE_ESCAPE = "/"


def like_pattern(prefix: str) -> str:
    """The LIKE pattern of the strings that start with `prefix`, escaped with LIKE_ESCAPE."""
    for special in (LIKE_ESCAPE, "%", "_"):
        prefix = prefix.replace(special, LIKE_ESCAPE + special)
    return prefix + "%"


def _among(
    column: ColumnElement[Any], named: Table, hsa_ids: frozenset[str] | Slot
) -> ColumnElement[bool]:
    """`column` is one of the ids of these HSA-ids. As `= ANY(ARRAY(SELECT ...))` rather than
    `IN (SELECT ...)`: PostgreSQL then looks the ids up once per statement (an InitPlan) and
    filters the list's index scan with them, instead of joining every row of the list to the
    named table, below its LIMIT."""
    if isinstance(hsa_ids, Slot):  # bound: the lookup is an InitPlan whatever the values
        wanted = named.c.hsa_id == any_(bindparam(hsa_ids.name, None, type_=ARRAY(String())))
    else:
        wanted = named.c.hsa_id.in_(sorted(hsa_ids))
    ids = select(named.c.id).where(wanted)
    return column == any_(func.array(ids.scalar_subquery()))


@dataclass(frozen=True)
class Slotted:
    """A filter whose values a plan takes per run (`slotted`), and the names of its slots."""

    filter: RowFilter
    bound: tuple[str, ...]
    written: tuple[str, ...]


def slotted(f: RowFilter, prefix: str) -> Slotted:
    """`f` with every value a slot named after `prefix` (`slot_values` gives their values per
    run from a filter of the same shape). Bound: ids, times and HSA-ids (looked up in an
    InitPlan, whose result PostgreSQL does not know when planning, bound or not), so that
    any of them reads with one prepared statement. Written into the SQL: a column's values
    (statuses, types: few, and PostgreSQL estimates their rows from its statistics) and
    prefixes' patterns."""
    bound, written = slot_values(f, prefix)
    parts: dict[str, Any] = {}
    for part in ("start", "end", "changed_since"):
        if getattr(f, part) is not None:
            parts[part] = bindparam(f"{prefix}_{part}", None, type_=DateTime(timezone=True))
    for part in ID_SETS + HSA_SETS:
        if getattr(f, part):
            parts[part] = Slot(f"{prefix}_{part}")
    parts["values"] = tuple((column, Slot(f"{prefix}_v_{column}")) for column, _ in f.values)
    parts["prefixes"] = tuple(
        (column, tuple(Slot(f"{prefix}_p_{column}_{i}") for i in range(len(starts))))
        for column, starts in f.prefixes
    )
    return Slotted(dataclasses.replace(f, **parts), tuple(bound), tuple(written))


def slot_values(f: RowFilter, prefix: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The values of the slots `slotted(g, prefix)` made, for a filter `f` of g's shape: the
    bound (ids, times, HSA-ids) and the written (a tuple for a column's values, a pattern
    for a prefix)."""
    bound: dict[str, Any] = {}
    written: dict[str, Any] = {}
    for part in ("start", "end", "changed_since"):
        if getattr(f, part) is not None:
            bound[f"{prefix}_{part}"] = getattr(f, part)
    for part in ID_SETS + HSA_SETS:
        if getattr(f, part):
            bound[f"{prefix}_{part}"] = sorted(getattr(f, part))
    for column, allowed in f.values:
        assert not isinstance(allowed, Slot), "the values of a slotted filter are per run"
        written[f"{prefix}_v_{column}"] = tuple(sorted(allowed))
    for column, starts in f.prefixes:
        for i, start in enumerate(_ordered(starts)):
            written[f"{prefix}_p_{column}_{i}"] = like_pattern(start)
    return bound, written


ID_SETS = ("care_provider_ids", "care_unit_ids")
HSA_SETS = ("care_provider_hsa_ids", "care_unit_hsa_ids")


NO_FILTER = RowFilter()


@dataclass(frozen=True)
class PageArgs:
    """Everything about one list request except whose list it is: the rest of a loader key."""

    first: int
    # A cursor's sort key; in a plan, the slots that stand for it (resolvers/planner/).
    after: tuple[Any, ...] | CursorSlots | None = None
    include_nullified: bool = False
    filter: RowFilter = NO_FILTER
