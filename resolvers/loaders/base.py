"""Generic batch loaders; each concrete loader names its table or listing (Saleor's habit:
`<Thing>By<Key>Loader`). One instance per request, from `ctx.loader(LoaderClass)`.

Loaders return plain row mappings; the schema turns them into types. Every patient row passes
`ctx.data` (visibility predicate in the WHERE, disclosure recorded by `fetch`).
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

from sqlalchemy import (
    ColumnElement,
    Integer,
    RowMapping,
    Table,
    and_,
    func,
    literal_column,
    or_,
    select,
)
from strawberry.dataloader import DataLoader

from app.context import Context
from resolvers.filters import PageArgs
from resolvers.listing import Key, Listing, pages_from_counts, pages_from_rows
from resolvers.pagination import Page

PageKey = tuple[Key, PageArgs]
RowKey = tuple[uuid.UUID, uuid.UUID]


class ReferenceByKeyLoader(DataLoader[Any, RowMapping | None]):
    """Rows of a reference table (organisations, code tables) by a unique column."""

    table: ClassVar[Table]
    column: ClassVar[str] = "id"

    def __init__(self, ctx: Context) -> None:
        super().__init__(load_fn=self.load_batch)
        self.ctx = ctx

    async def load_batch(self, keys: list[Any]) -> list[RowMapping | None]:
        col = self.table.c[self.column]
        rows = await self.ctx.data.fetch(select(self.table).where(col.in_(sorted(set(keys)))))
        found = {r[self.column]: r for r in rows}
        return [found.get(k) for k in keys]


class RowByKeyLoader(DataLoader[RowKey, RowMapping | None]):
    """Patient rows by their primary key (patient_id, id); invisible rows load as None.

    Nullified rows load too: a reference to one (or `node(id:)`) shows it with `nullified`.
    """

    table: ClassVar[Table]
    disclose: ClassVar[str]

    def __init__(self, ctx: Context) -> None:
        super().__init__(load_fn=self.load_batch)
        self.ctx = ctx

    async def load_batch(self, keys: list[RowKey]) -> list[RowMapping | None]:
        t = self.table
        visible = await self.ctx.data.visible_keys(t, keys)
        rows = await self.ctx.data.fetch(select(t).where(visible), disclose=self.disclose)
        found = {(r["patient_id"], r["id"]): r for r in rows}
        return [found.get(k) for k in keys]


def _group(keys: Sequence[PageKey]) -> dict[PageArgs, list[Key]]:
    groups: dict[PageArgs, list[Key]] = {}
    for part, args in keys:
        groups.setdefault(args, []).append(part)
    return groups


class PatientListLoader(DataLoader[PageKey, Page]):
    """Pages of a patient's list (partition starts with patient_id): one statement per
    distinct set of arguments, for all patients of the batch."""

    listing: ClassVar[Listing]

    def __init__(self, ctx: Context) -> None:
        super().__init__(load_fn=self.load_batch)
        self.ctx = ctx

    async def load_batch(self, keys: list[PageKey]) -> list[Page]:
        out: dict[PageKey, Page] = {}
        for args, parts in _group(keys).items():
            for part, page in (await self.pages(parts, args)).items():
                out[(part, args)] = page
        return [out[k] for k in keys]

    async def where(self, parts: Sequence[Key], args: PageArgs) -> list[Any]:
        lst = self.listing
        visible = await self.ctx.data.visibility(lst.table, {p[0] for p in parts})
        return [lst.key_match(parts), visible, *lst.conditions(args)]

    async def pages(self, parts: Sequence[Key], args: PageArgs) -> dict[Key, Page]:
        lst = self.listing
        source, where = lst.source(await self.where(parts, args))
        if args.first == 0:
            counts = await self.ctx.data.fetch(lst.count(source, where, args))
            return pages_from_counts(lst.partition, parts, counts)
        rows = await self.ctx.data.fetch(lst.page(source, where, args), disclose=lst.disclose)
        pages = pages_from_rows(lst.partition, parts, rows, args)
        for part, page in pages.items():
            if page.total is None:
                page.count = _counter(self, part, args)
        return pages

    async def count(self, parts: Sequence[Key], args: PageArgs) -> dict[Key, int]:
        lst = self.listing
        source, where = lst.source(await self.where(parts, args))
        rows = await self.ctx.data.fetch(lst.count(source, where, args))
        counted = {lst.partition_of(r): r["_total"] for r in rows}
        return {p: counted.get(p, 0) for p in parts}


class ReferenceListLoader(PatientListLoader):
    """Pages of reference rows (a provider's units): no patient data, so no policy."""

    async def where(self, parts: Sequence[Key], args: PageArgs) -> list[Any]:
        return [self.listing.key_match(parts), *self.listing.conditions(args)]


class ListCountLoader(DataLoader[tuple[Any, Key, PageArgs], int]):
    """Totals that a page could not carry (a page after the end of its list), batched."""

    def __init__(self, ctx: Context) -> None:
        super().__init__(load_fn=self.load_batch)
        self.ctx = ctx

    async def load_batch(self, keys: list[tuple[Any, Key, PageArgs]]) -> list[int]:
        groups: dict[tuple[Any, PageArgs], list[Key]] = {}
        for loader, part, args in keys:
            groups.setdefault((loader, args), []).append(part)
        out: dict[tuple[Any, Key, PageArgs], int] = {}
        for (loader, args), parts in groups.items():
            for part, n in (await loader.count(parts, args)).items():
                out[(loader, part, args)] = n
        return [out[k] for k in keys]


class _Counts(Protocol):
    ctx: Context

    async def count(self, parts: Sequence[Key], args: PageArgs) -> dict[Key, int]: ...


def _counter(loader: _Counts, part: Key, args: PageArgs) -> Callable[[], Awaitable[int]]:
    async def count() -> int:
        n: int = await loader.ctx.loader(ListCountLoader).load((loader, part, args))
        return n

    return count


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
        for args, parts in _group(keys).items():
            for part, page in (await self.pages(parts, args)).items():
                out[(part, args)] = page
        return [out[k] for k in keys]

    async def pages(self, parts: Sequence[Key], args: PageArgs) -> dict[Key, Page]:
        if args.first == 0:
            totals = await self.count_with_remaining(parts, args)
            return {p: Page([], rem > 0, tot > rem, tot) for p, (tot, rem) in totals.items()}
        progress = {p[0]: _Progress(args.after, args.first, []) for p in parts}
        window = args.first + 1
        while pending := [k for k, s in progress.items() if not s.done]:
            await self._round(pending, progress, args, window)
            window *= 2
        pages: dict[Key, Page] = {}
        for part in parts:
            s = progress[part[0]]
            page = Page(s.rows, s.has_next, args.after is not None)
            page.count = _counter(self, part, args)
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
