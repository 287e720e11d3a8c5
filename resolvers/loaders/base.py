"""Generic batch loaders; each concrete loader names its table or listing (Saleor's habit:
`<Thing>By<Key>Loader`). One instance per request, from `ctx.loader(LoaderClass)`.

Loaders return plain row mappings; the schema turns them into types. Every patient row passes
`ctx.data` (visibility predicate in the WHERE, disclosure recorded by `fetch`).
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, ClassVar, Protocol

from sqlalchemy import (
    RowMapping,
    Table,
    select,
)

from app.context import Context
from resolvers.filters import PageArgs
from resolvers.listing import Key, Listing, pages_from_counts, pages_from_rows
from resolvers.loaders.shared import DataLoader
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


def group_by_args(keys: Sequence[PageKey]) -> dict[PageArgs, list[Key]]:
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
        for args, parts in group_by_args(keys).items():
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
                page.count = counter(self, part, args)
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


def counter(loader: _Counts, part: Key, args: PageArgs) -> Callable[[], Awaitable[int]]:
    async def count() -> int:
        n: int = await loader.ctx.loader(ListCountLoader).load((loader, part, args))
        return n

    return count
