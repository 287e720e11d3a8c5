"""SQL expressions that produce exactly what the GraphQL layer would serialise.

The compiled operations build their whole `data` object in PostgreSQL, so every scalar must come
out as strawberry writes it: global ids as in schema/ids.py, enums by NAME (the stored value is
the enum's value), datetimes as Python's `isoformat()` of the UTC datetime asyncpg returns,
dates as ISO dates (what `json_build_object` writes for a date).
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import Enum
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    FromClause,
    Select,
    Text,
    case,
    cast,
    extract,
    func,
    literal_column,
    null,
    select,
)
from sqlalchemy.dialects.postgresql import aggregate_order_by


def key(name: str) -> ColumnElement[Any]:
    """A JSON key as an SQL string literal (names are constants of this package, never input)."""
    assert name.replace("_", "").isalnum(), name
    return literal_column(f"'{name}'", Text)


def obj(*pairs: tuple[str, ColumnElement[Any]]) -> ColumnElement[Any]:
    """json_build_object of (key, value) pairs, keys in the order the operation selects them."""
    args: list[ColumnElement[Any]] = []
    for name, value in pairs:
        args += [key(name), value]
    return func.json_build_object(*args)


def global_id(
    type_name: str, row_id: ColumnElement[Any], patient_id: ColumnElement[Any] | None = None
) -> ColumnElement[Any]:
    """encode_id(type_name, row_id, patient_id): url-safe base64 without padding.

    PostgreSQL's base64 wraps lines at 76 characters and uses + and /: the replaces drop the
    newlines and the padding and map the alphabet to the url-safe one. (One `translate` does the
    same but walks its character set for every character: ~3 us a row against ~1 us.)
    """
    raw: ColumnElement[Any] = literal_column(f"'{type_name}:'", Text)
    if patient_id is not None:
        raw = raw.concat(cast(patient_id, Text)).concat(literal_column("':'", Text))
    raw = raw.concat(cast(row_id, Text))
    encoded = func.encode(
        func.convert_to(raw, literal_column("'UTF8'")), literal_column("'base64'")
    )
    for old, new in (("E'\\n'", "''"), ("'='", "''"), ("'+'", "'-'"), ("'/'", "'_'")):
        encoded = func.replace(encoded, literal_column(old), literal_column(new))
    return encoded


def enum_name(column: ColumnElement[Any], enum: type[Enum]) -> ColumnElement[Any]:
    """The GraphQL name of a stored enum value (NULL stays NULL)."""
    names = {member.value: literal_column(f"'{member.name}'", Text) for member in enum}
    return case(names, value=column, else_=null())


def iso_datetime(column: ColumnElement[Any]) -> ColumnElement[Any]:
    """`datetime.isoformat()` of a timestamptz read as UTC: microseconds only when non-zero."""
    utc = func.timezone(literal_column("'UTC'"), column)
    seconds = func.to_char(utc, literal_column("'YYYY-MM-DD\"T\"HH24:MI:SS'"))
    micros = cast(extract("microseconds", column), BigInteger) % 1_000_000
    fraction = case(
        (micros != 0, func.to_char(utc, literal_column("'.US'"))), else_=literal_column("''")
    )
    return seconds.concat(fraction).concat(literal_column("'+00:00'", Text))


def json_list(
    source: FromClause,
    node: ColumnElement[Any],
    order: Sequence[ColumnElement[Any]],
    where: Sequence[ColumnElement[bool]] = (),
) -> ColumnElement[Any]:
    """The rows of `source` (matching `where`) as a JSON array in `order` ('[]' when none)."""
    agg = func.json_agg(aggregate_order_by(node, *order))
    return select(or_empty(agg)).select_from(source).where(*where).scalar_subquery()


def json_lists(
    source: FromClause,
    group: ColumnElement[Any],
    node: ColumnElement[Any],
    order: Sequence[ColumnElement[Any]],
) -> Select[Any]:
    """(group, nodes): the rows of `source` of each `group` value as a JSON array in `order`
    (groups without rows are absent: join to them with `or_empty`)."""
    agg = func.json_agg(aggregate_order_by(node, *order))
    return select(group, agg.label("nodes")).select_from(source).group_by(group)


def or_empty(array: ColumnElement[Any]) -> ColumnElement[Any]:
    """A JSON array, '[]' for NULL (no rows)."""
    return func.coalesce(array, literal_column("'[]'::json"))
