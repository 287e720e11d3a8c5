"""strawberry's DataLoader, with each field's wait for a key of its own.

A loader gives every field that asks for one key the same future. When GraphQL execution
cancels a field (a sibling failed under a non-null parent, and graphql-core cancels what else
that parent awaits), asyncio cancels the future the field's task awaits: the shared one, so
every other field of that key, elsewhere in the answer, ended in CancelledError and the
request with it. Here each `load` awaits the shared future through `asyncio.shield`: a
cancelled field stops waiting, the others still get the value
(tests/integration/test_shared_loads.py)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TypeVar

from strawberry.dataloader import DataLoader as StrawberryDataLoader

K = TypeVar("K")
T = TypeVar("T")


class DataLoader(StrawberryDataLoader[K, T]):
    def load(self, key: K) -> Awaitable[T]:
        return asyncio.shield(super().load(key))
