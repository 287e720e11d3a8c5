"""Lists that span patients (a unit's contacts, a practitioner's notes): two steps per page."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from sqlalchemy import ColumnElement, Integer, RowMapping, and_, func, literal_column, or_, select

from app.context import Context
from resolvers.filters import PageArgs
from resolvers.listing import Key, Listing
from resolvers.loaders.base import PageKey, counter, group_by_args
from resolvers.loaders.shared import DataLoader
from resolvers.pagination import CursorSlots, Page


@dataclass
class _Progress:
    """Where one reverse list stands while its page is being filled."""

    position: tuple[Any, ...] | None
    needed: int
    rows: list[RowMapping]
    has_next: bool = False
    done: bool = False


class ReverseListLoader(DataLoader[PageKey, Page]):
    """Pages of a list that spans patients (a unit's contacts, a practitioner's notes).

    Two steps, because the policy decides per patient: (1) the next candidate keys of each
    list in order, ids only; (2) the visible rows among them, through `ctx.data`. When the
    policy hides candidates, the window doubles and the step pair repeats until each page is
    full or its list ends. With everything visible a page costs two statements. totalCount is
    computed only when asked (distinct patients, then a count under their visibility).
    """

    listing: ClassVar[Listing]

    def __init__(self, ctx: Context) -> None:
        super().__init__(load_fn=self.load_batch)
        self.ctx = ctx

    async def load_batch(self, keys: list[PageKey]) -> list[Page]:
        out: dict[PageKey, Page] = {}
        for args, parts in group_by_args(keys).items():
            for part, page in (await self.pages(parts, args)).items():
                out[(part, args)] = page
        return [out[k] for k in keys]

    async def pages(self, parts: Sequence[Key], args: PageArgs) -> dict[Key, Page]:
        if args.first == 0:
            totals = await self.count_with_remaining(parts, args)
            return {p: Page([], rem > 0, tot > rem, tot) for p, (tot, rem) in totals.items()}
        after = args.after
        assert not isinstance(after, CursorSlots)  # a plan's slots never reach a loader
        progress = {p[0]: _Progress(after, args.first, []) for p in parts}
        window = args.first + 1
        while pending := [k for k, s in progress.items() if not s.done]:
            await self._round(pending, progress, args, window)
            window *= 2
        pages: dict[Key, Page] = {}
        for part in parts:
            s = progress[part[0]]
            page = Page(s.rows, s.has_next, args.after is not None)
            page.count = counter(self, part, args)
            pages[part] = page
        return pages

    async def _round(
        self, pending: list[Any], progress: dict[Any, _Progress], args: PageArgs, window: int
    ) -> None:
        lst, data = self.listing, self.ctx.data
        t = lst.table
        link = lst.partition[0]
        per_list = []
        for k in pending:
            pos = progress[k].position
            own = [t.c[link] == k]
            if pos is not None:
                own.append(lst.sort.after(t, pos))
            per_list.append(and_(*own))
        names = list(dict.fromkeys([link, "patient_id", "id", *lst.sort.columns]))
        part_col, order = t.c[link], lst.sort.order(t)
        inner = (
            select(
                *[t.c[n] for n in names],
                func.row_number().over(partition_by=part_col, order_by=order).label("_rn"),
                func.count().over(partition_by=part_col).label("_remaining"),
            )
            .where(or_(*per_list), *lst.conditions(args))
            .subquery("candidates")
        )
        rn: ColumnElement[int] = literal_column("_rn", Integer)
        candidates = await data.fetch(
            select(literal_column("*")).select_from(inner).where(rn <= window).order_by(rn)
        )
        found: dict[Any, list[RowMapping]] = {}
        for row in candidates:
            found.setdefault(row[link], []).append(row)
        shown: dict[Any, list[RowMapping]] = {}
        if candidates:
            visible = await data.visible_keys(t, [(r["patient_id"], r["id"]) for r in candidates])
            inner2 = (
                select(
                    t,
                    func.row_number().over(partition_by=part_col, order_by=order).label("_rn"),
                    func.count().over(partition_by=part_col).label("_visible"),
                )
                .where(visible)
                .subquery("shown")
            )
            owner = literal_column(link, type_=t.c[link].type)
            cut = or_(*[and_(owner == k, rn <= progress[k].needed) for k in pending if k in found])
            shown_rows = await data.fetch(
                select(literal_column("*")).select_from(inner2).where(cut).order_by(rn),
                disclose=lst.disclose,
            )
            for row in shown_rows:
                shown.setdefault(row[link], []).append(row)
        for k in pending:
            s, mine, cands = progress[k], shown.get(k, []), found.get(k, [])
            visible_count = mine[0]["_visible"] if mine else 0
            s.rows.extend(mine)
            if visible_count > s.needed:
                s.has_next, s.done = True, True
                continue
            s.needed -= visible_count
            more = bool(cands) and cands[0]["_remaining"] > len(cands)
            if not more:
                s.done = True
            elif s.needed == 0:
                # Full page, more candidates, visibility unknown: say there may be more.
                s.has_next, s.done = True, True
            else:
                s.position = lst.sort.values(cands[-1])

    async def count_with_remaining(
        self, parts: Sequence[Key], args: PageArgs
    ) -> dict[Key, tuple[int, int]]:
        lst, data = self.listing, self.ctx.data
        t = lst.table
        link = t.c[lst.partition[0]]
        where = [lst.key_match(parts), *lst.conditions(args)]
        patients = await data.fetch(select(t.c.patient_id).where(*where).distinct())
        counted: dict[Any, RowMapping] = {}
        if patients:
            visible = await data.visibility(t, [r["patient_id"] for r in patients])
            stmt = lst.count(t, [*where, visible], args)
            counted = {r[link.name]: r for r in await data.fetch(stmt)}
        return {
            p: (counted[p[0]]["_total"], counted[p[0]]["_remaining"]) if p[0] in counted else (0, 0)
            for p in parts
        }

    async def count(self, parts: Sequence[Key], args: PageArgs) -> dict[Key, int]:
        return {p: tot for p, (tot, _) in (await self.count_with_remaining(parts, args)).items()}
