"""Row mappings -> Strawberry types with the least per-row work.

A type's Python attribute names are its table's column names (`pk` holds `id`, because `id`
is the global id), so `from_row` is one dict comprehension over a spec computed once per type.
Node types get their global id here too: a plain field is much cheaper for GraphQL execution
than a resolver (no Info object, no resolver call per row).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, ClassVar, Self

from schema.ids import encode_id

# Attributes named differently from their column; `id` is computed.
_COLUMN = {"pk": "id", "personnummer": "identifier"}
_SPECS: dict[type, tuple[tuple[tuple[str, str], ...], bool, bool]] = {}


def _spec(cls: type) -> tuple[tuple[tuple[str, str], ...], bool, bool]:
    names = [f.name for f in dataclasses.fields(cls) if f.init]
    columns = tuple((n, _COLUMN.get(n, n)) for n in names if n != "id")
    spec = (columns, "id" in names, bool(getattr(cls, "PATIENT_SCOPED", False)))
    _SPECS[cls] = spec
    return spec


class FromRow:
    """Mixin: `Type.from_row(row)` builds the type from a row mapping (or a model's dict)."""

    # Patient rows carry their patient in the global id (see schema/ids.py).
    PATIENT_SCOPED: ClassVar[bool] = False

    @classmethod
    def from_row(cls, row: Mapping[Any, Any]) -> Self:
        columns, has_id, scoped = _SPECS.get(cls) or _spec(cls)
        values = {attr: row[col] for attr, col in columns}
        if has_id:
            owner = row["patient_id"] if scoped else None
            values["id"] = encode_id(cls.__name__, row["id"], owner)
        # Skips the dataclass __init__ (all fields come from the row): ~5x faster per row.
        obj = cls.__new__(cls)
        obj.__dict__.update(values)
        return obj

    @classmethod
    def from_optional(cls, row: Mapping[Any, Any] | None) -> Self | None:
        return None if row is None else cls.from_row(row)
