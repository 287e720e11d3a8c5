"""What a mutation returns: the rows it wrote, or the problems that stopped it."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from sqlalchemy import RowMapping


class Code(StrEnum):
    """Why a mutation was refused (`UserError.code`); expected failures, not exceptions."""

    INVALID_IDENTIFIER = "INVALID_IDENTIFIER"
    INVALID_CODE = "INVALID_CODE"
    INVALID_VALUE = "INVALID_VALUE"
    INVALID_DATE_ORDER = "INVALID_DATE_ORDER"
    NOT_FOUND = "NOT_FOUND"
    INVALID_REFERENCE = "INVALID_REFERENCE"
    INVALID_STATE = "INVALID_STATE"
    CONFLICT = "CONFLICT"
    DUPLICATE = "DUPLICATE"
    WARNING_NOT_ACKNOWLEDGED = "WARNING_NOT_ACKNOWLEDGED"


@dataclass(frozen=True)
class Problem:
    """One reason a mutation was refused; `field` is the input path, e.g. input.personnummer."""

    field: str | None
    code: Code
    message: str


class Rejected(Exception):
    """Raised inside a mutation to stop it: its savepoint is rolled back, nothing is written."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        super().__init__("; ".join(p.message for p in problems))
        self.problems = list(problems)


def reject(field: str | None, code: Code, message: str) -> Rejected:
    return Rejected([Problem(field, code, message)])


@dataclass(frozen=True)
class RowRef:
    """A written row: its type (GraphQL name) and key. Patients have patient_id == id."""

    type_name: str
    patient_id: uuid.UUID
    id: uuid.UUID

    def to_json(self) -> list[str]:
        return [self.type_name, str(self.patient_id), str(self.id)]

    @classmethod
    def from_json(cls, raw: Sequence[str]) -> RowRef:
        return cls(raw[0], uuid.UUID(raw[1]), uuid.UUID(raw[2]))


@dataclass
class Outcome:
    """The rows of the payload by name (None if not visible to the caller), or the problems."""

    rows: Mapping[str, RowMapping | None] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    replayed: bool = False
    refs: Mapping[str, RowRef] = field(default_factory=dict)
    # Clinical warnings (resolvers/mutations/safety.py): acknowledged, or why it was refused.
    warnings: Sequence[Any] = ()

    def row(self, name: str) -> RowMapping | None:
        return self.rows.get(name)
