"""Filters of the list fields, frozen (hashable) so they can be part of a loader key."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, FromClause, Table, any_, func, or_, select

from resolvers.pagination import CursorSlots
from resolvers.tables import CARE_PROVIDER as _PROVIDER
from resolvers.tables import CARE_UNIT as _UNIT


@dataclass(frozen=True)
class RowFilter:
    """What a client asked to narrow a list to. Empty sets mean "no restriction".

    `period_overlaps` makes the period match items whose own period (event_time to
    `period_end`, open if null) overlaps it, instead of items whose event_time falls in it.
    """

    # A bind parameter instead of a datetime: the start of a precompiled plan, bound per run.
    start: datetime | ColumnElement[Any] | None = None
    end: datetime | None = None
    care_provider_ids: frozenset[uuid.UUID] = frozenset()
    care_unit_ids: frozenset[uuid.UUID] = frozenset()
    care_provider_hsa_ids: frozenset[str] = frozenset()
    care_unit_hsa_ids: frozenset[str] = frozenset()
    values: tuple[tuple[str, frozenset[Any]], ...] = ()
    prefixes: tuple[tuple[str, frozenset[str]], ...] = ()
    period_overlaps: bool = False
    # Delta sync for lists: only rows written or changed at or after this time.
    changed_since: datetime | None = None

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
            out.append(c.care_provider_id.in_(sorted(self.care_provider_ids)))
        if self.care_unit_ids:
            out.append(c.care_unit_id.in_(sorted(self.care_unit_ids)))
        if self.care_provider_hsa_ids:
            out.append(_among(c.care_provider_id, _PROVIDER, self.care_provider_hsa_ids))
        if self.care_unit_hsa_ids:
            out.append(_among(c.care_unit_id, _UNIT, self.care_unit_hsa_ids))
        for column, allowed in self.values:
            out.append(c[column].in_(sorted(allowed)))
        for column, starts in self.prefixes:
            out.append(or_(*[c[column].startswith(p, autoescape=True) for p in sorted(starts)]))
        return out


def _among(
    column: ColumnElement[Any], named: Table, hsa_ids: frozenset[str]
) -> ColumnElement[bool]:
    """`column` is one of the ids of these HSA-ids. As `= ANY(ARRAY(SELECT ...))` rather than
    `IN (SELECT ...)`: PostgreSQL then looks the ids up once per statement (an InitPlan) and
    filters the list's index scan with them, instead of joining every row of the list to the
    named table, below its LIMIT."""
    ids = select(named.c.id).where(named.c.hsa_id.in_(sorted(hsa_ids)))
    return column == any_(func.array(ids.scalar_subquery()))


NO_FILTER = RowFilter()


@dataclass(frozen=True)
class PageArgs:
    """Everything about one list request except whose list it is: the rest of a loader key."""

    first: int
    # A cursor's sort key; in a plan, the slots that stand for it (resolvers/planner/).
    after: tuple[Any, ...] | CursorSlots | None = None
    include_nullified: bool = False
    filter: RowFilter = NO_FILTER
