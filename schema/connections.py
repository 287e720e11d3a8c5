"""Relay connections: every list of the schema is one, with opaque keyset cursors.

`first` is at most 100 (PAGE_SIZE_EXCEEDED beyond, BAD_USER_INPUT if negative); `after` takes
the `endCursor` of the previous page. `nodes` is a shortcut for `edges { node }`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Annotated, Any, Generic, TypeVar

import strawberry
from sqlalchemy import RowMapping

from app.access.cohort import published_total
from app.access.principal import PrincipalKind
from app.access.research import bound
from app.context import Context
from app.errors import BadInput
from resolvers.filters import PageArgs, RowFilter
from resolvers.listing import Key
from resolvers.loaders.base import PatientListLoader
from resolvers.loaders.reverse import ReverseListLoader
from resolvers.pagination import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, Page, SortKey
from schema.fields import field

T = TypeVar("T")

Info = strawberry.Info[Context, None]

First = Annotated[
    int | None,
    strawberry.argument(
        description=f"How many items to return: 0 to {MAX_PAGE_SIZE} (default "
        f"{DEFAULT_PAGE_SIZE}). More than {MAX_PAGE_SIZE} is an error with code "
        "PAGE_SIZE_EXCEEDED, never a silent cut."
    ),
]
After = Annotated[
    str | None,
    strawberry.argument(
        description="Return the items after this cursor: the `pageInfo.endCursor` (or an edge's "
        "`cursor`) of the same list."
    ),
]
ChangedSince = Annotated[
    datetime | None,
    strawberry.argument(
        description="Delta sync: only items written or changed at or after this time (with a "
        "time zone). Nullified and newly hidden items are not listed: the `changes` feed "
        "reports those as tombstones."
    ),
]


def since_filter(filter: RowFilter, changed_since: datetime | None) -> RowFilter:
    """`filter` narrowed to rows changed at or after `changed_since`."""
    if changed_since is None:
        return filter
    if changed_since.tzinfo is None:
        raise BadInput(
            "changedSince: give a time zone (e.g. 2026-12-01T08:00:00Z)",
            field="changedSince",
            rule="timezone",
        )
    return dataclasses.replace(filter, changed_since=bound(changed_since, "changedSince"))


IncludeNullified = Annotated[
    bool,
    strawberry.argument(
        description="Also return nullified (makulerade) items. They are hidden unless this is "
        "true; a nullified item shows `nullified: true` and its `nullifiedReason`."
    ),
]


@strawberry.type(description="Where a page sits in its list (Relay PageInfo).")
class PageInfo:
    has_next_page: bool = strawberry.field(description="Whether items follow this page.")
    has_previous_page: bool = strawberry.field(
        description="Whether items precede this page (paging forward: true after a cursor)."
    )
    start_cursor: str | None = strawberry.field(
        description="Cursor of the first item of the page; null if the page is empty."
    )
    end_cursor: str | None = strawberry.field(
        description="Cursor of the last item: pass it as `after` to get the next page."
    )


@strawberry.type(description="One item of a list and its cursor (Relay edge).")
class Edge(Generic[T]):
    cursor: str = strawberry.field(description="Opaque cursor of this item, for `after`.")
    node: T = strawberry.field(description="The item.")


@strawberry.type(description="One page of a list, in keyset order (Relay connection).")
class Connection(Generic[T]):
    nodes: list[T] = strawberry.field(description="The items of this page, in order.")
    page: strawberry.Private[Page]
    sort: strawberry.Private[SortKey]

    @field(description="The items of this page with their cursors.")
    def edges(self) -> list[Edge[T]]:
        encode = self.sort.encode
        return [
            Edge(cursor=encode(row), node=node)
            for row, node in zip(self.page.rows, self.nodes, strict=True)
        ]

    @field(description="Whether there is more, and the cursors to get it.")
    def page_info(self) -> PageInfo:
        rows = self.page.rows
        last = self.page.last if self.page.last is not None else (rows[-1] if rows else None)
        return PageInfo(
            has_next_page=self.page.has_next,
            has_previous_page=self.page.has_previous,
            start_cursor=self.sort.encode(rows[0]) if rows else None,
            end_cursor=self.sort.encode(last) if last is not None else None,
        )

    @field(
        description="How many items the whole list holds (all pages, with the same filter), "
        "counting only what the caller may see. For a research client, perturbed and "
        "suppressed as the study's cohort counts are (0 for a count under its k)."
    )
    async def total_count(self, info: Info) -> int:
        total = await self.page.total_count()
        ctx = info.context
        if ctx.principal.kind is not PrincipalKind.RESEARCH:
            return total
        release = await ctx.data.research_release()
        return published_total(
            ctx.data.pseudonym_key, release.study, self.sort.tag, total, release.min_cell_size
        )


def connection(page: Page, sort: SortKey, convert: Callable[[RowMapping], Any]) -> Connection[Any]:
    """A Connection of the page's rows, each turned into its type by `convert`."""
    return Connection(nodes=[convert(r) for r in page.rows], page=page, sort=sort)


def mixed_connection(page: Page, sort: SortKey, nodes: Sequence[Any | None]) -> Connection[Any]:
    """A Connection whose nodes were loaded separately (None: not loadable, dropped)."""
    kept = [(r, n) for r, n in zip(page.rows, nodes, strict=True) if n is not None]
    trimmed = Page(
        [r for r, _ in kept],
        page.has_next,
        page.has_previous,
        page.total,
        page.count,
        last=page.last if page.last is not None else (page.rows[-1] if page.rows else None),
    )
    return Connection(nodes=[n for _, n in kept], page=trimmed, sort=sort)


async def list_of(
    info: Info,
    loader: type[PatientListLoader] | type[ReverseListLoader],
    part: Key,
    convert: Callable[[RowMapping], Any],
    *,
    first: int | None,
    after: str | None,
    include_nullified: bool = False,
    filter: RowFilter | None = None,
) -> Connection[Any]:
    """One page of the list `loader` keeps for `part`, through the request's loader."""
    args = loader.listing.args(
        first=first, after=after, include_nullified=include_nullified, filter=filter
    )
    return await page_of(info, loader, part, convert, args)


async def page_of(
    info: Info,
    loader: type[PatientListLoader] | type[ReverseListLoader],
    part: Key,
    convert: Callable[[RowMapping], Any],
    args: PageArgs,
) -> Connection[Any]:
    """The page `args` of the list `loader` keeps for `part`, through the request's loader."""
    page = await info.context.loader(loader).load((part, args))
    return connection(page, loader.listing.sort, convert)


def paged(loader: type[PatientListLoader] | type[ReverseListLoader]) -> Callable[..., PageArgs]:
    """The page arguments of a plain list field (first, after, includeNullified), as its
    resolver and the planner (resolvers/planner/declare.py `Listed`) both read them."""

    def args(
        first: int | None = None, after: str | None = None, include_nullified: bool = False
    ) -> PageArgs:
        return loader.listing.args(first=first, after=after, include_nullified=include_nullified)

    return args
