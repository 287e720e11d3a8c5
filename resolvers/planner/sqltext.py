"""The SQL text pieces of a planned statement: JSON fragments, lists, cursors, disclosures."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from graphql import GraphQLObjectType
from sqlalchemy import (
    ColumnElement,
    FromClause,
    Table,
    Text,
    case,
    cast,
    func,
    literal_column,
    true,
)
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.sql.selectable import LateralFromClause as Lateral
from sqlalchemy.sql.selectable import NamedFromClause

from resolvers.listing import Listing
from resolvers.planner.sqljson import (
    base64url,
    iso_datetime,
    text_date,
    text_plain,
    text_scalar,
    text_string,
)

NULL = literal_column("'null'", Text)


@functools.lru_cache(maxsize=1024)
def aliased(table: Table, name: str) -> NamedFromClause:
    """`table AS name`, one object per process: a builder names its aliases in the order it
    makes them, so every build of a document asks for the same ones, and an alias makes its
    columns once (a third of building MyRecord's plan went to making them anew). Aliases are
    immutable: statements share them safely. An alias with its columns is about 40 KB, so
    the cache holds at most about 40 MB (MyRecord's plan uses about 90)."""
    return table.alias(name)


def typename(gtype: GraphQLObjectType) -> ColumnElement[Any]:
    return literal_column(f"'\"{gtype.name}\"'", Text)


def text_bool(condition: ColumnElement[Any]) -> ColumnElement[Any]:
    return case((condition, literal_column("'true'", Text)), else_=literal_column("'false'", Text))


def agg_text(node: ColumnElement[Any], order: Sequence[ColumnElement[Any]]) -> ColumnElement[Any]:
    return func.string_agg(node, aggregate_order_by(literal_column("','", Text), *order))


def wrap_list(elements: ColumnElement[Any]) -> ColumnElement[Any]:
    inner = func.coalesce(elements, literal_column("''", Text))
    return literal_column("'['", Text).concat(inner).concat(literal_column("']'", Text))


def own_disclosure(listing: Listing, page: FromClause) -> ColumnElement[Any]:
    """The disclosure of a page row (none for lists that disclose nothing)."""
    if listing.disclose is None:
        return literal_column("NULL", Text)
    return disclosure(listing.disclose, page)


def disclosure(type_name: str, row: FromClause) -> ColumnElement[Any]:
    """ "patient|Type:id" of a row, as `DataAccess.fetch(disclose=...)` records it."""
    return (
        cast(row.c.patient_id, Text)
        .concat(literal_column(f"'|{type_name}:'", Text))
        .concat(cast(row.c.id, Text))
    )


def disclosed_of(parts: Sequence[ColumnElement[Any]]) -> ColumnElement[Any]:
    """The disclosure lists of one row and what was read under it, comma-separated."""
    if not parts:
        return literal_column("NULL", Text)
    # concat_ws of nothing but NULLs is '', which would add empty items to the list.
    return func.nullif(func.concat_ws(literal_column("','", Text), *parts), "")


def disclosed_agg(parts: Sequence[ColumnElement[Any]]) -> ColumnElement[Any]:
    return func.string_agg(disclosed_of(parts), literal_column("','", Text))


def joined(source: FromClause, laterals: Sequence[Lateral]) -> FromClause:
    out = source
    for each in laterals:
        out = out.outerjoin(each, true())
    return out


def cursor_of(tag: str, columns: Sequence[str], page: FromClause) -> ColumnElement[Any]:
    """SortKey.encode of a page row: base64url of the compact JSON [tag, *values]."""
    text: ColumnElement[Any] = literal_column(f"""'["{tag}"'""", Text)
    for name in columns:
        text = text.concat(literal_column("','", Text)).concat(json_value(page.c[name]))
    return base64url(text.concat(literal_column("']'", Text)))


def json_value(column: ColumnElement[Any]) -> ColumnElement[Any]:
    """A sort column's value as orjson writes it (`default=str` for UUIDs)."""
    try:
        kind = column.type.python_type
    except NotImplementedError:
        kind = object
    if kind is datetime:
        return text_plain(iso_datetime(column))
    if kind is int:
        return cast(column, Text)
    return cast(func.to_json(cast(column, Text) if _is_uuid(column) else column), Text)


def _is_uuid(column: ColumnElement[Any]) -> bool:
    try:
        return column.type.python_type is uuid.UUID
    except NotImplementedError:
        return False


def decimal_text(value: ColumnElement[Any]) -> ColumnElement[Any]:
    return text_string(cast(value, Text))


SCALARS: dict[str, Callable[[ColumnElement[Any]], ColumnElement[Any]]] = {
    "String": text_string,
    "Int": text_scalar,
    "Boolean": text_scalar,
    "DateTime": lambda v: text_plain(iso_datetime(v)),
    "Date": text_date,
    "Decimal": decimal_text,
    "UUID": lambda v: text_plain(cast(v, Text)),
}
