"""Filters of the list fields, frozen (hashable) so they can be part of a loader key."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, FromClause, or_, select

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
            by_hsa = select(_PROVIDER.c.id).where(
                _PROVIDER.c.hsa_id.in_(sorted(self.care_provider_hsa_ids))
            )
            out.append(c.care_provider_id.in_(by_hsa))
        if self.care_unit_hsa_ids:
            by_hsa = select(_UNIT.c.id).where(_UNIT.c.hsa_id.in_(sorted(self.care_unit_hsa_ids)))
            out.append(c.care_unit_id.in_(by_hsa))
        for column, allowed in self.values:
            out.append(c[column].in_(sorted(allowed)))
        for column, starts in self.prefixes:
            out.append(or_(*[c[column].startswith(p, autoescape=True) for p in sorted(starts)]))
        return out


NO_FILTER = RowFilter()


@dataclass(frozen=True)
class PageArgs:
    """Everything about one list request except whose list it is: the rest of a loader key."""

    first: int
    after: tuple[Any, ...] | None = None
    include_nullified: bool = False
    filter: RowFilter = NO_FILTER
