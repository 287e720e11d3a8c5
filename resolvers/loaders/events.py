"""The timeline: every CareEvent of a patient, newest first, across all clinical tables.

One statement per batch: a UNION ALL of (kind, patient_id, id, event_time) over the asked
kinds, each arm under its table's visibility predicate, cut into pages by window functions.
It returns keys only; the rows themselves come from the `<Kind>ByIdLoader`s (one statement
per kind on the pages), which disclose them.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from sqlalchemy import String, Subquery, literal, select, union_all

from app.context import Context
from resolvers.filters import PageArgs
from resolvers.listing import count_statement, page_statement, pages_from_rows
from resolvers.loaders.shared import DataLoader
from resolvers.pagination import Page, SortKey
from resolvers.tables import CLINICAL

TIMELINE_SORT = SortKey("Timeline", ("event_time", "id"))
ALL_KINDS = frozenset(CLINICAL)


@dataclass(frozen=True)
class TimelineArgs:
    page: PageArgs
    kinds: frozenset[str] = ALL_KINDS


class TimelineByPatientLoader(DataLoader[tuple[uuid.UUID, TimelineArgs], Page]):
    def __init__(self, ctx: Context) -> None:
        super().__init__(load_fn=self.load_batch)
        self.ctx = ctx

    async def load_batch(self, keys: list[tuple[uuid.UUID, TimelineArgs]]) -> list[Page]:
        groups: dict[TimelineArgs, list[uuid.UUID]] = {}
        for pid, args in keys:
            groups.setdefault(args, []).append(pid)
        out: dict[tuple[uuid.UUID, TimelineArgs], Page] = {}
        for args, pids in groups.items():
            for (pid,), page in (await self.pages(pids, args)).items():
                out[(pid, args)] = page
        return [out[k] for k in keys]

    async def pages(
        self, pids: list[uuid.UUID], args: TimelineArgs
    ) -> dict[tuple[uuid.UUID, ...], Page]:
        parts = [(pid,) for pid in pids]
        if not args.kinds:
            return {p: Page([], False, False, 0) for p in parts}
        arms = []
        for kind in sorted(args.kinds):
            t = CLINICAL[kind]
            where = [
                t.c.patient_id.in_(sorted(set(pids))),
                await self.ctx.data.visibility(t, pids),
                *args.page.filter.conditions(t),
            ]
            if not args.page.include_nullified:
                where.append(t.c.nullified.is_(False))
            arms.append(
                select(
                    literal(kind, type_=String).label("kind"),
                    t.c.patient_id,
                    t.c.id,
                    t.c.event_time,
                ).where(*where)
            )
        union = union_all(*arms).subquery("timeline")
        page = args.page
        if page.first == 0:
            page = PageArgs(1, page.after, page.include_nullified, page.filter)
        stmt = page_statement(("patient_id",), TIMELINE_SORT, union, [], page)
        rows = await self.ctx.data.fetch(stmt)
        pages = pages_from_rows(("patient_id",), parts, rows, page)
        if args.page.first == 0:
            pages = {
                p: Page([], bool(pg.rows) or pg.has_next, pg.has_previous, pg.total)
                for p, pg in pages.items()
            }
        for (pid,), pg in pages.items():
            if pg.total is None:
                pg.count = self._counter(union, page, pid)
        return pages

    def _counter(
        self, union: Subquery, page: PageArgs, pid: uuid.UUID
    ) -> Callable[[], Awaitable[int]]:
        """A count for a page after the end of the timeline (rare: not batched)."""

        async def count() -> int:
            stmt = count_statement(("patient_id",), TIMELINE_SORT, union, [], page)
            counted = {r["patient_id"]: r["_total"] for r in await self.ctx.data.fetch(stmt)}
            return int(counted.get(pid, 0))

        return count
