"""Cheaper COPY encoding for the seeding connection: timestamps as microseconds, numerics as
cached PostgreSQL binary values. asyncpg's own encoders spent most of the client's COPY time
on these two types (an aware datetime is compared with infinity and converted to UTC; a
Decimal is taken apart digit by digit)."""

from __future__ import annotations

import struct
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import lru_cache

import asyncpg

PG_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
MICROSECOND = timedelta(microseconds=1)
_NEGATIVE = 0x4000
_HEADER = struct.Struct("!hhHH")


async def use_fast_codecs(conn: asyncpg.Connection) -> None:
    await conn.set_type_codec(
        "timestamptz",
        schema="pg_catalog",
        encoder=to_pg_time,
        decoder=from_pg_time,
        format="tuple",
    )
    await conn.set_type_codec(
        "numeric",
        schema="pg_catalog",
        encoder=numeric_to_binary,
        decoder=numeric_from_binary,
        format="binary",
    )


def to_pg_time(value: datetime) -> tuple[int]:
    return ((value - PG_EPOCH) // MICROSECOND,)


def from_pg_time(value: tuple[int]) -> datetime:
    return PG_EPOCH + timedelta(microseconds=value[0])


@lru_cache(maxsize=1 << 16)
def numeric_to_binary(value: Decimal) -> bytes:
    """PostgreSQL's binary numeric: digit count, weight, sign, display scale, then base-10000
    digits. Equal values share a cache entry whatever their scale: every numeric column of
    the schema has a declared scale, which the server applies on input."""
    sign, digits, exponent = value.as_tuple()
    if not isinstance(exponent, int):
        raise ValueError(f"cannot send {value} as numeric")
    scale = max(0, -exponent)
    text = "".join(map(str, digits)) + "0" * max(0, exponent)
    text = text.rjust(scale + 1, "0")
    whole, fraction = text[: len(text) - scale].lstrip("0"), text[len(text) - scale :]
    whole = whole.rjust(-(-len(whole) // 4) * 4, "0")
    fraction = fraction.ljust(-(-len(fraction) // 4) * 4, "0")
    both = whole + fraction
    groups = [int(both[i : i + 4]) for i in range(0, len(both), 4)]
    weight = len(whole) // 4 - 1
    while groups and groups[0] == 0:
        groups.pop(0)
        weight -= 1
    while groups and groups[-1] == 0:
        groups.pop()
    if not groups:
        weight, sign = 0, 0
    header = _HEADER.pack(len(groups), weight, _NEGATIVE if sign else 0, scale)
    return header + struct.pack(f"!{len(groups)}H", *groups)


def numeric_from_binary(data: bytes) -> Decimal:
    count, weight, sign, scale = _HEADER.unpack_from(data)
    groups = struct.unpack_from(f"!{count}H", data, _HEADER.size)
    value = sum(Decimal(g) * Decimal(10000) ** (weight - i) for i, g in enumerate(groups))
    value = Decimal(value).quantize(Decimal(1).scaleb(-scale)) if count else Decimal(0)
    return -value if sign == _NEGATIVE else value
