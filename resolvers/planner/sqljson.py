"""SQL expressions that produce exactly what the GraphQL layer would serialise.

The planner builds the whole `data` object in PostgreSQL, so every scalar must come out as
strawberry writes it: global ids as in schema/ids.py, enums by NAME (the stored value is
the enum's value), datetimes as Python's `isoformat()` of the UTC datetime asyncpg returns,
dates as ISO dates (what `to_json` writes for a date). The JSON is built as compact text (see
the text builders below), as orjson writes it: the response carries it as it is.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import Enum
from functools import reduce
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
    select,
)
from sqlalchemy.dialects.postgresql import aggregate_order_by


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
    return base64url(raw.concat(cast(row_id, Text)))


def base64url(text: ColumnElement[Any]) -> ColumnElement[Any]:
    """The url-safe base64 of the UTF-8 of `text`, without padding (as the ids and cursors
    are written in Python)."""
    encoded = func.encode(
        func.convert_to(text, literal_column("'UTF8'")), literal_column("'base64'")
    )
    for old, new in (("E'\\n'", "''"), ("'='", "''"), ("'+'", "'-'"), ("'/'", "'_'")):
        encoded = func.replace(encoded, literal_column(old), literal_column(new))
    return encoded


def iso_datetime(column: ColumnElement[Any]) -> ColumnElement[Any]:
    """`datetime.isoformat()` of a timestamptz read as UTC: microseconds only when non-zero."""
    utc = func.timezone(literal_column("'UTC'"), column)
    seconds = func.to_char(utc, literal_column("'YYYY-MM-DD\"T\"HH24:MI:SS'"))
    micros = cast(extract("microseconds", column), BigInteger) % 1_000_000
    fraction = case(
        (micros != 0, func.to_char(utc, literal_column("'.US'"))), else_=literal_column("''")
    )
    return seconds.concat(fraction).concat(literal_column("'+00:00'", Text))


# JSON built as text. json_build_object and json_agg look up every argument's type and output
# function on every call (~1.5 us a row of five keys); concatenating text fragments that are
# already JSON costs about half. The text is compact (no spaces), as orjson writes JSON, and the
# response carries it as it is. Every fragment is non-NULL JSON text ('null' for NULL).


def text_obj(*pairs: tuple[str, ColumnElement[Any]]) -> ColumnElement[Any]:
    """The JSON object of (key, JSON text fragment) pairs, keys in the operation's order."""
    if not pairs:
        return literal_column("'{}'", Text)
    parts: list[ColumnElement[Any]] = []
    for n, (name, value) in enumerate(pairs):
        assert name.replace("_", "").isalnum(), name
        before = "," if n else "{"
        parts += [literal_column(f"'{before}\"{name}\":'", Text), value]
    parts.append(literal_column("'}'", Text))
    return reduce(lambda whole, part: whole.concat(part), parts)


def text_string(value: ColumnElement[Any]) -> ColumnElement[Any]:
    """A string (or NULL) as JSON text, escaped as json_build_object escapes it."""
    return func.coalesce(cast(func.to_json(value), Text), literal_column("'null'", Text))


def text_plain(value: ColumnElement[Any]) -> ColumnElement[Any]:
    """A string that never needs escaping (global ids, ISO datetimes) as JSON text."""
    quote = literal_column("'\"'", Text)
    return func.coalesce(quote.concat(value).concat(quote), literal_column("'null'", Text))


def text_date(value: ColumnElement[Any]) -> ColumnElement[Any]:
    """A date (or NULL) as JSON text: the ISO date "YYYY-MM-DD" `to_json` writes (as strawberry
    writes a `date`)."""
    return text_string(value)


def text_scalar(value: ColumnElement[Any]) -> ColumnElement[Any]:
    """A boolean or integer (or NULL) as JSON text: their text forms (true, false, 42) are JSON."""
    return func.coalesce(cast(value, Text), literal_column("'null'", Text))


def text_or_null(fragment: ColumnElement[Any]) -> ColumnElement[Any]:
    """A JSON text fragment that may be NULL (a nested object that is absent) ('null' then)."""
    return func.coalesce(fragment, literal_column("'null'", Text))


def text_enum(column: ColumnElement[Any], enum: type[Enum]) -> ColumnElement[Any]:
    """The GraphQL name of a stored enum value as JSON text ('null' for NULL or unknown)."""
    names = {m.value: literal_column(f"""'"{m.name}"'""", Text) for m in enum}
    assert all(m.name.replace("_", "").isalnum() for m in enum)
    return case(names, value=column, else_=literal_column("'null'", Text))


def _text_agg(node: ColumnElement[Any], order: Sequence[ColumnElement[Any]]) -> ColumnElement[Any]:
    return func.string_agg(node, aggregate_order_by(literal_column("','", Text), *order))


def text_list(
    source: FromClause,
    node: ColumnElement[Any],
    order: Sequence[ColumnElement[Any]],
    where: Sequence[ColumnElement[bool]] = (),
) -> ColumnElement[Any]:
    """The JSON array of the rows of `source` (matching `where`) in `order` ('[]' when none)."""
    nodes = select(_text_agg(node, order)).select_from(source).where(*where).scalar_subquery()
    return text_or_empty(nodes)


def text_lists(
    source: FromClause,
    group: ColumnElement[Any],
    node: ColumnElement[Any],
    order: Sequence[ColumnElement[Any]],
) -> Select[Any]:
    """(group, nodes): the rows of `source` of each `group` value, JSON text of the elements in
    `order` (groups without rows are absent: join to them with `text_or_empty`)."""
    return select(group, _text_agg(node, order).label("nodes")).select_from(source).group_by(group)


def text_or_empty(nodes: ColumnElement[Any]) -> ColumnElement[Any]:
    """The JSON array of the elements `nodes` ('[]' for NULL: no rows)."""
    elements = func.coalesce(nodes, literal_column("''", Text))
    return literal_column("'['", Text).concat(elements).concat(literal_column("']'", Text))
