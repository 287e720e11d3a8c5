"""Input validation that collects every problem (not just the first) as user errors."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlmodel import SQLModel

from app.identifiers import IdentifierError
from resolvers.mutations.outcome import Code, Problem, Rejected

# Clocks differ a little between systems; a time this far ahead still counts as now.
CLOCK_SKEW = timedelta(minutes=5)
# Free text without a column limit (notes, motivations) is capped here.
MAX_TEXT = 100_000


def max_length(model: type[SQLModel], column: str) -> int:
    """The declared length of a string column (MAX_TEXT for unbounded text)."""
    col_type = model.__table__.c[column].type  # type: ignore[attr-defined]
    length = getattr(col_type, "length", None)
    return int(length) if length else MAX_TEXT


def now() -> datetime:
    return datetime.now(UTC)


class Checks:
    """Collects problems; `done()` raises Rejected with all of them."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def add(self, field: str | None, code: Code, message: str) -> None:
        self.problems.append(Problem(field, code, message))

    def done(self) -> None:
        if self.problems:
            raise Rejected(self.problems)

    def _missing(self, field: str, value: Any, required: bool) -> bool:
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                self.add(field, Code.INVALID_VALUE, f"{field} is required")
            return True
        return False

    def identifier(
        self,
        field: str,
        validate: Callable[..., str],
        value: str | None,
        *,
        required: bool = True,
        code: Code = Code.INVALID_IDENTIFIER,
    ) -> str | None:
        """Run an app.identifiers validator; its rule goes into the message."""
        if self._missing(field, value, required):
            return None
        try:
            return validate(value, field=field)
        except IdentifierError as exc:
            self.add(field, code, f"{field}: {exc.detail} ({exc.rule})")
            return None

    def code(
        self, field: str, validate: Callable[..., str], value: str | None, *, required: bool = True
    ) -> str | None:
        """A code of a code system (ICD-10-SE, ATC, KVÅ, TLV, FDI...)."""
        return self.identifier(field, validate, value, required=required, code=Code.INVALID_CODE)

    def text(
        self, field: str, value: str | None, *, limit: int, required: bool = True
    ) -> str | None:
        """Trimmed text of at most `limit` characters; blank counts as missing."""
        if self._missing(field, value, required):
            return None
        assert value is not None
        cleaned = value.strip()
        if "\x00" in cleaned:
            self.add(field, Code.INVALID_VALUE, f"{field} contains a NUL character")
            return None
        if len(cleaned) > limit:
            self.add(field, Code.INVALID_VALUE, f"{field} has more than {limit} characters")
            return None
        return cleaned

    def moment(
        self, field: str, value: datetime | None, *, required: bool = True, past: bool = True
    ) -> datetime | None:
        """A point in time with a UTC offset; with `past`, not in the future."""
        if value is None:
            self._missing(field, value, required)
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            self.add(
                field,
                Code.INVALID_VALUE,
                f"{field} needs a UTC offset, e.g. 2024-03-01T09:30:00+01:00",
            )
            return None
        if past and value > now() + CLOCK_SKEW:
            self.add(field, Code.INVALID_DATE_ORDER, f"{field} is in the future")
            return None
        return value.astimezone(UTC)

    def day(
        self, field: str, value: date | None, *, required: bool = True, past: bool = True
    ) -> date | None:
        if value is None:
            self._missing(field, value, required)
            return None
        if past and value > (now() + CLOCK_SKEW).date():
            self.add(field, Code.INVALID_DATE_ORDER, f"{field} is in the future")
            return None
        return value

    def order(
        self,
        field: str,
        earlier: date | datetime | None,
        later: date | datetime | None,
        message: str,
        *,
        strict: bool = False,
    ) -> None:
        """`later` must not come before `earlier` (with `strict`, must come after)."""
        if earlier is None or later is None:
            return
        if later < earlier or (strict and later == earlier):
            self.add(field, Code.INVALID_DATE_ORDER, message)

    def number(
        self,
        field: str,
        value: int | Decimal | None,
        *,
        minimum: int | Decimal | None = None,
        maximum: int | Decimal | None = None,
        required: bool = True,
        above: bool = False,
    ) -> Any:
        """A number within bounds (`above`: strictly greater than `minimum`)."""
        if value is None:
            self._missing(field, value, required)
            return None
        if isinstance(value, Decimal) and not value.is_finite():
            self.add(field, Code.INVALID_VALUE, f"{field} must be a finite number")
            return None
        if minimum is not None and (value <= minimum if above else value < minimum):
            relation = "more than" if above else "at least"
            self.add(field, Code.INVALID_VALUE, f"{field} must be {relation} {minimum}")
            return None
        if maximum is not None and value > maximum:
            self.add(field, Code.INVALID_VALUE, f"{field} must be at most {maximum}")
            return None
        return value
