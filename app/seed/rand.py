"""A seeded random generator with cheaper draws, and UUIDs that are cheap to make and to COPY.

random.Random.randrange checks its arguments and draws bits until they fit; a seeding run
makes millions of small draws, where `start + int(random() * width)` is three times faster
and just as deterministic. asyncpg's own UUID type (a uuid.UUID subclass) is built from bytes
in C and copied without conversion.
"""

from __future__ import annotations

import random
import uuid
from typing import Protocol, TypeVar, cast

from asyncpg.pgproto.pgproto import UUID as _PgUUID

T = TypeVar("T", covariant=True)

# Version 4 and the RFC 4122 variant, as uuid.UUID(int=..., version=4) sets them.
_KEEP = ~((0xF000 << 64) | (0xC000 << 48)) & ((1 << 128) - 1)
_SET = (0x4000 << 64) | (0x8000 << 48)


class Indexable(Protocol[T]):
    def __len__(self) -> int: ...
    def __getitem__(self, index: int, /) -> T: ...


def uuid4_of(value: int) -> uuid.UUID:
    """The version-4 UUID of a 128-bit number (version and variant bits overwritten)."""
    return cast(uuid.UUID, _PgUUID(((value & _KEEP) | _SET).to_bytes(16, "big")))


class Rng(random.Random):
    def randrange(self, start: int, stop: int | None = None, step: int = 1) -> int:
        if stop is None:
            start, stop = 0, start
        return start + int(self.random() * (stop - start))

    def randint(self, a: int, b: int) -> int:
        return a + int(self.random() * (b - a + 1))

    def choice(self, seq: Indexable[T]) -> T:
        return seq[int(self.random() * len(seq))]

    def uuid4(self) -> uuid.UUID:
        return uuid4_of(self.getrandbits(128))
