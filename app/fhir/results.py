"""What an import reports: counts per resource type, per-entry errors, unsupported entries."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

MAX_REPORTED = 1000  # problems listed in full; the rest are only counted


@dataclass(frozen=True)
class EntryError:
    """Why one entry cannot be imported. `index` counts entries from 0 across the whole import;
    `location` is file:line for NDJSON."""

    index: int
    resource_type: str | None
    path: str
    reason: str
    location: str | None = None


UNSUPPORTED_RESOURCE = "UNSUPPORTED_RESOURCE"
UNSUPPORTED_ELEMENT = "UNSUPPORTED_ELEMENT"


@dataclass(frozen=True)
class UnsupportedEntry:
    """Something vardkedja does not store; reported, and it does not fail the import.

    UNSUPPORTED_RESOURCE: the entry is skipped. UNSUPPORTED_ELEMENT: the entry is imported but
    its row cannot hold the element at `path` (missing from, or different in, the row); the
    reason says whether it is kept for FHIR export (patient data) or not kept."""

    index: int
    resource_type: str | None
    reason: str
    location: str | None = None
    code: str = UNSUPPORTED_RESOURCE
    path: str | None = None


@dataclass
class ImportResult:
    entries: int = 0
    created: Counter[str] = field(default_factory=Counter)
    updated: Counter[str] = field(default_factory=Counter)
    errors: list[EntryError] = field(default_factory=list)
    unsupported: list[UnsupportedEntry] = field(default_factory=list)
    errors_not_listed: int = 0
    unsupported_not_listed: int = 0

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def imported(self) -> dict[str, int]:
        """Rows written per resource type (created or updated); empty when the import failed."""
        if not self.ok:
            return {}
        return dict(sorted((self.created + self.updated).items()))

    def error(self, error: EntryError) -> None:
        if len(self.errors) < MAX_REPORTED:
            self.errors.append(error)
        else:
            self.errors_not_listed += 1

    def skip(self, entry: UnsupportedEntry) -> None:
        if len(self.unsupported) < MAX_REPORTED:
            self.unsupported.append(entry)
        else:
            self.unsupported_not_listed += 1

    def as_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "entries": self.entries,
            "imported": self.imported,
            "created": dict(sorted(self.created.items())) if self.ok else {},
            "updated": dict(sorted(self.updated.items())) if self.ok else {},
            "errors": [e.__dict__ for e in self.errors],
            "errorsNotListed": self.errors_not_listed,
            "unsupported": [u.__dict__ for u in self.unsupported],
            "unsupportedNotListed": self.unsupported_not_listed,
        }
