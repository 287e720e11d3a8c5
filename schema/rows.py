"""Row mappings -> Strawberry types with the least per-row work.

A type's Python attribute names are its table's column names (`pk` holds `id`, because `id`
is the global id), so `from_row` is one dict comprehension over a spec computed once per type.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, Self

_SPECS: dict[type, tuple[tuple[str, str], ...]] = {}
# Attributes named differently from their column.
_COLUMN = {"pk": "id", "personnummer": "identifier"}


def _spec(cls: type) -> tuple[tuple[str, str], ...]:
    spec = tuple((f.name, _COLUMN.get(f.name, f.name)) for f in dataclasses.fields(cls) if f.init)
    _SPECS[cls] = spec
    return spec


class FromRow:
    """Mixin: `Type.from_row(row)` builds the type from a row mapping (or a model's dict)."""

    @classmethod
    def from_row(cls, row: Mapping[Any, Any]) -> Self:
        spec = _SPECS.get(cls) or _spec(cls)
        return cls(**{attr: row[col] for attr, col in spec})

    @classmethod
    def from_optional(cls, row: Mapping[Any, Any] | None) -> Self | None:
        return None if row is None else cls.from_row(row)
