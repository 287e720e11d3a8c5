"""Page sizes, opaque keyset cursors and the Page every list loader returns.

A cursor is the base64 of the sort key of the last row seen (plus the list's tag), never an
offset: rows inserted before it do not shift the next page.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import orjson
from sqlalchemy import ColumnElement, FromClause, RowMapping, bindparam, literal, tuple_

from app.access.cursor_seal import opened
from app.errors import AppError, BadInput

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100


class PageSizeExceeded(AppError):
    code = "PAGE_SIZE_EXCEEDED"


def page_size(first: int | None) -> int:
    """`first` checked against the limits; None means the default page size."""
    if first is None:
        return DEFAULT_PAGE_SIZE
    if first < 0:
        raise BadInput("first: must not be negative", field="first", rule="non_negative")
    if first > MAX_PAGE_SIZE:
        raise PageSizeExceeded(
            f"first: at most {MAX_PAGE_SIZE} items per page, asked for {first}",
            field="first",
            maximum=MAX_PAGE_SIZE,
        )
    return first


# asyncpg returns its own UUID class, which orjson does not know: `default=str` covers it.
_PARSERS: dict[type, Callable[[Any], Any]] = {
    datetime: datetime.fromisoformat,
    date: date.fromisoformat,
    uuid.UUID: uuid.UUID,
}


def _parse(column: ColumnElement[Any], value: Any) -> Any:
    """A cursor value as the column's Python type; ValueError if it is not one."""
    try:
        kind = column.type.python_type
    except NotImplementedError:
        kind = object
    if kind in _PARSERS:
        if not isinstance(value, str):
            raise ValueError(value)
        return _PARSERS[kind](value)
    expected = int if kind is int else str  # sqlmodel strings report `object`
    if not isinstance(value, expected) or isinstance(value, bool):
        raise ValueError(value)
    return value


@dataclass(frozen=True)
class CursorSlots:
    """Slots of a plan (app/sqlplan.py) that stand for a cursor's sort key, one per sort
    column, bound per run: a page after any cursor of the list is one plan."""

    names: tuple[str, ...]


@dataclass(frozen=True)
class SortKey:
    """The keyset order of a list: columns (all ascending or all descending) ending in a key."""

    tag: str
    columns: tuple[str, ...]
    descending: bool = True

    def order(self, source: FromClause) -> list[ColumnElement[Any]]:
        cols = [source.c[n] for n in self.columns]
        return [c.desc() if self.descending else c.asc() for c in cols]

    def after(self, source: FromClause, after: Sequence[Any] | CursorSlots) -> ColumnElement[bool]:
        """Rows of `source` strictly after the sort key `after` in this order (a cursor's
        values, or the slots of a plan that stand for them)."""
        cols = [source.c[n] for n in self.columns]
        if isinstance(after, CursorSlots):
            values = [
                bindparam(name, None, type_=c.type)
                for name, c in zip(after.names, cols, strict=True)
            ]
        else:
            values = [literal(v, type_=c.type) for v, c in zip(after, cols, strict=True)]
        left = tuple_(*cols) if len(cols) > 1 else cols[0]
        right = tuple_(*values) if len(values) > 1 else values[0]
        return left < right if self.descending else left > right

    def after_slots(self, source: FromClause) -> tuple[ColumnElement[bool], list[str]]:
        """`after` with a slot per sort column (a plan's, app/sqlplan.py), and their names:
        bind `slot_values` of the cursor's key to them."""
        names = [f"after_{n}" for n in self.columns]
        return self.after(source, CursorSlots(tuple(names))), names

    def slot_values(self, after: Sequence[Any]) -> dict[str, Any]:
        """The values of `after_slots` for the sort key `after`."""
        return {f"after_{n}": v for n, v in zip(self.columns, after, strict=True)}

    def values(self, row: RowMapping) -> tuple[Any, ...]:
        return tuple(row[c] for c in self.columns)

    def encode(self, row: RowMapping) -> str:
        raw = orjson.dumps([self.tag, *self.values(row)], default=str)
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    def decode(self, cursor: str, source: FromClause) -> tuple[Any, ...]:
        """The sort key in `cursor`; BAD_USER_INPUT if it is not a cursor of this list."""
        types = [source.c[c] for c in self.columns]
        parts = cursor_parts(opened(cursor))  # a research request's cursors are sealed
        if parts is not None and parts[0] == self.tag and len(parts[1]) == len(self.columns):
            try:
                return tuple(_parse(col, v) for col, v in zip(types, parts[1], strict=True))
            except (ValueError, TypeError):
                pass
        raise BadInput("after: not a cursor of this list", field="after", rule="cursor")


def cursor_parts(cursor: str) -> tuple[Any, list[Any]] | None:
    """The tag and values a cursor holds (None: not a cursor's encoding), whatever list's."""
    try:
        tag, *values = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, orjson.JSONDecodeError, ValueError, TypeError):
        return None
    return tag, values


@dataclass
class Page:
    """One page of one list: its rows in order, and what is known about the rest.

    `total` is None when it was not computed with the page; `count` then computes it. `last`
    is the last row the page read when the policy then left some out (its sort columns): the
    next page starts after it, so a page the policy emptied still gives a cursor to go on.
    """

    rows: Sequence[RowMapping]
    has_next: bool
    has_previous: bool
    total: int | None = None
    count: Callable[[], Awaitable[int]] | None = field(default=None, repr=False)
    last: RowMapping | None = None

    async def total_count(self) -> int:
        if self.total is None:
            if self.count is None:
                raise RuntimeError("page without a total or a way to count")
            self.total = await self.count()
        return self.total
