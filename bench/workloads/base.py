"""What a workload is, and the helpers that bring answers to one canonical form."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

import asyncpg

from bench.fixture import Fixture

HERE = Path(__file__).resolve().parent
# The systems that are vardkedja: as configured by default (the planner on) and with the
# planner and the compiled operations off (every query through the loaders).
OURS = ("vardkedja", "loader")


def document(system: str, name: str) -> str:
    return (HERE / system / f"{name}.graphql").read_text()


def utc_iso(value: str | None) -> str | None:
    """Any ISO timestamp (with offset) as UTC with microseconds: one spelling for all."""
    if value is None:
        return None
    return datetime.fromisoformat(value).astimezone(UTC).isoformat(timespec="microseconds")


def plain_id(global_or_plain: str) -> str:
    """A row's own uuid from a vardkedja global id (or a plain uuid)."""
    try:
        return str(uuid.UUID(global_or_plain))
    except ValueError:
        from schema.ids import decode_id

        return str(decode_id(global_or_plain).id)


class Workload:
    name: ClassVar[str]
    title: ClassVar[str]
    writes: ClassVar[bool] = False

    def ours_request(self, fx: Fixture, i: int) -> dict[str, Any]:
        raise NotImplementedError

    def headers(self, fx: Fixture, i: int) -> dict[str, str]:
        """vardkedja's headers for request i (the caller's token)."""
        return fx.ours_headers

    def cycle_length(self, fx: Fixture) -> int:
        """How many different requests a read workload cycles through."""
        return fx.cycle_length

    def postgraphile_request(self, fx: Fixture, i: int) -> dict[str, Any]:
        raise NotImplementedError

    async def floor(self, conn: asyncpg.Connection, fx: Fixture, i: int) -> Any:
        raise NotImplementedError

    def success_marker(self, system: str) -> bytes | None:
        """Bytes a successful answer of `system` must contain (beyond having no `errors`)."""
        return None

    def canonical(self, system: str, answer: Any) -> Any:
        """The answer of `system` (GraphQL `data`, or the floor's value) in canonical form."""
        raise NotImplementedError
