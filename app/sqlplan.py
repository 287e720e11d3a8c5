"""Statements built and compiled once, then run many times with new values.

For the hot operations, building an SQLAlchemy statement and computing its cache key cost more
CPU than PostgreSQL spends running it (docs/performance.md). A `Plan` is a statement compiled
once for asyncpg: its SQL text is fixed (so asyncpg reuses its prepared statement too, except
behind PgBouncer, where it keeps none: docs/operations.md) and each
bind parameter is either a constant of the plan or a slot filled per run.

A slot is marked in the statement in one of two ways:
- a `bindparam(name, None)` whose name is listed in `names`;
- a *placeholder*: a value from `placeholder()` used where the statement builder wants a real
  value (a patient id inside a policy predicate, say). A bind whose value is the placeholder,
  or a one-element list of it, becomes the slot of that placeholder's name. A placeholder
  anywhere else (inside a longer list) makes the plan unusable, so no value is ever silently
  left behind (`PlanError`).

Plans are cached by a key that must capture everything the statement's shape and constants
depend on (`PlanCache`); the values of the slots are the only per-run inputs.

A third kind of value is *written in* per run: a bind named in `written` (a page size, a
filter's statuses) is left in the plan's SQL as a marker, and `Plan.written_in` derives the
plan to run with the value in its text: an integer, or strings quoted by the dialect's own
literal processor, as the plan's inlined constants are. PostgreSQL sees a literal LIMIT or
IN list, as with a constant, while the statement is built and compiled once for every value.
"""

from __future__ import annotations

import dataclasses
import secrets
import uuid
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence, Set
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from sqlalchemy import (
    BindParameter,
    Boolean,
    ClauseElement,
    ColumnElement,
    Integer,
    String,
    TypeDecorator,
    bindparam,
    literal,
)
from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.compiler import SQLCompiler

from app.access.grouping import shape
from app.db import driver_fetch

DIALECT = asyncpg_dialect()  # type: ignore[no-untyped-call]


class PlanError(ValueError):
    """A statement that cannot be turned into a plan (a placeholder in an unexpected place)."""


def placeholder() -> uuid.UUID:
    """A fresh value that stands for a per-run id in a statement (a random UUID: no real row
    id is ever equal to it)."""
    return uuid.uuid4()


def text_placeholder() -> str:
    """A fresh value that stands for a per-run string (no real input contains it)."""
    return f"\x00slot:{uuid.uuid4()}"


def time_placeholder() -> datetime:
    """A fresh value that stands for a per-run time: a random instant in the year 1, which no
    time in a health record (nor any constant of a statement) is."""
    return datetime(1, 1, 1, tzinfo=UTC) + timedelta(microseconds=secrets.randbelow(10**12))


Placeholder = uuid.UUID | str | datetime


@dataclass(frozen=True)
class Slot:
    position: int
    name: str
    process: Callable[[Any], Any] | None


@dataclass(frozen=True)
class Plan:
    """SQL text with numbered parameters, the constants, and the per-run slots."""

    sql: str
    constants: tuple[Any, ...]
    slots: tuple[Slot, ...]
    # Whatever its builder wants to remember with the plan (e.g. that a search finds nobody).
    tag: Hashable = None
    # The names of the values written into `sql` per run (`written_in`): a plan with any is
    # a template, never run itself.
    written: tuple[str, ...] = ()

    def written_in(self, values: Mapping[str, Any]) -> Plan:
        """The plan to run: this one with the values of its `written` names in its text.
        A derived plan is kept (`_DERIVED`) and stays the same object while it is: a rider
        recognises its plan by identity (app/access/rider.py)."""
        if not self.written:
            return self
        written = tuple(_written_value(values[name]) for name in self.written)
        key = (id(self), written)
        found = _DERIVED.get(key)
        if found is not None and found[0] is self:
            _DERIVED.move_to_end(key)
            return found[1]
        sql = self.sql
        for name, value in zip(self.written, written, strict=True):
            sql = sql.replace(written_marker(name), str(value))
        plan = dataclasses.replace(self, sql=sql, written=())
        _DERIVED[key] = (self, plan)
        if len(_DERIVED) > DERIVED:
            _DERIVED.popitem(last=False)
        return plan

    def parameters(self, values: Mapping[str, Any]) -> tuple[Any, ...]:
        if self.written:
            raise PlanError(f"values to write in first: {self.written}")
        params = list(self.constants)
        for slot in self.slots:
            value = values[slot.name]
            params[slot.position] = slot.process(value) if slot.process else value
        return tuple(params)

    async def rows(self, conn: AsyncConnection, **values: Any) -> Sequence[Mapping[str, Any]]:
        """The rows (mappings by column name) of a run with these slot values."""
        return await driver_fetch(conn, self.sql, self.parameters(values))


# Plans derived from templates by (the template's id, the values written in), the least
# recently used dropped beyond DERIVED; each entry holds its template, so that id is not
# another's while the entry lives.
_DERIVED: OrderedDict[tuple[int, tuple[int | str, ...]], tuple[Plan, Plan]] = OrderedDict()
DERIVED = 256


def _written_value(value: Any) -> int | str:
    """The text of a value written in: an integer (a page size), a string (a quoted literal)
    or a non-empty tuple of strings (a parenthesised list: `IN ('a', 'b')`). Strings are
    quoted by the dialect's own literal processor, as the plan's inlined constants are; a
    NUL, which PostgreSQL refuses in a statement's text, is refused here."""
    if isinstance(value, int) and not isinstance(value, bool):
        return int(value)
    if isinstance(value, str):
        return _quoted(value)
    if isinstance(value, tuple) and value and all(isinstance(v, str) for v in value):
        return "(" + ", ".join(_quoted(v) for v in value) + ")"
    raise PlanError(f"only integers and strings are written into a plan, not {value!r}")


def writable(value: Any) -> bool:
    """Whether `_written_value` takes `value` (a caller declines a request it would not)."""
    try:
        _written_value(value)
    except PlanError:
        return False
    return True


_STRING = String().literal_processor(DIALECT)  # type: ignore[no-untyped-call]


def _quoted(value: str) -> str:
    if "\x00" in value:
        raise PlanError("a NUL cannot be written into a statement")
    text = _STRING(value)
    assert isinstance(text, str)
    return text


class _Unwritten:
    def __repr__(self) -> str:
        return "<a value written in per run>"


UNWRITTEN = _Unwritten()


def to_write(name: str, *, expanding: bool = False) -> BindParameter[Any]:
    """The bind of a value written in per run (a list's values when `expanding`). Compiled
    without being named in `compile_plan`'s `written`, it is refused (PlanError) rather than
    left as a constant that matches nothing."""
    return bindparam(name, [UNWRITTEN] if expanding else UNWRITTEN, expanding=expanding)


def written_marker(name: str) -> str:
    """What stands in a template's SQL for the value of `name` (a NUL never reaches
    PostgreSQL in a statement's text: a template run by mistake fails loudly)."""
    return f"\x00written:{name}\x00"


def compile_plan(
    statement: ClauseElement,
    *,
    names: Iterable[str] = (),
    placeholders: Mapping[Placeholder, str] | None = None,
    optional: Iterable[str] = (),
    tag: Hashable = None,
    written: Iterable[str] = (),
) -> Plan:
    """Compile `statement` for asyncpg, with the given named binds and placeholders as slots;
    every slot must occur in the statement, except those named in `optional`. Binds named in
    `written` become markers of a template (`Plan.written_in`); those not in the statement
    are left out of its `written`."""
    named, marks = set(names), dict(placeholders or {})
    inlining = _InliningCompiler(statement, named, marks, set(written))
    found = tuple(sorted(inlining.written_found))
    compiled: SQLCompiler = inlining
    if "__[POSTCOMPILE_" in compiled.string:
        # SQLAlchemy leaves a written-in constant of an INSERT's RETURNING unrendered: such a
        # statement keeps its constants bound.
        if found:
            raise PlanError("a statement that keeps its constants bound writes nothing in")
        compiled = _compiled(statement)
    assert compiled.positiontup is not None
    processors = cast(Mapping[str, Callable[[Any], Any]], compiled._bind_processors)
    values = compiled.params
    constants: list[Any] = []
    slots: list[Slot] = []
    for position, bind in enumerate(compiled.positiontup):
        value, process = values[bind], processors.get(bind)
        slot = bind if bind in named else _placeholder_name(value, marks)
        if slot is not None:
            slots.append(Slot(position, slot, process))
            constants.append(None)
        else:
            constants.append(process(value) if process else value)
    missing = (named | set(marks.values())) - {s.name for s in slots} - set(optional)
    if missing:
        raise PlanError(f"slots not found in the statement: {sorted(missing)}")
    return Plan(compiled.string, tuple(constants), tuple(slots), tag, found)


class Personal(TypeDecorator[str]):
    """A string that may identify a person (a personnummer, a name searched for): a plan keeps
    it bound, never written into its SQL text, which error reports and the server's own logs
    can show. (Bound as constants of their plan, such values still key it.)"""

    impl = String
    cache_ok = True


def personal(value: str) -> ColumnElement[str]:
    """`value` as a bound `Personal` string."""
    return literal(value, Personal())


def _compiled(statement: ClauseElement) -> SQLCompiler:
    compiled = statement.compile(dialect=DIALECT, compile_kwargs={"render_postcompile": True})
    assert isinstance(compiled, SQLCompiler) and compiled.positiontup is not None
    return compiled


class _InliningCompiler(DIALECT.statement_compiler):  # type: ignore[misc,name-defined]
    """A compiler that writes the statement's plain constants (strings, numbers, booleans, and
    lists of them: kinds, statuses, limits) into the SQL text instead of binding them.

    PostgreSQL can then settle on a generic plan where it needs the values to choose an index:
    a partial index (`uq_patient_identifier ... WHERE identifier_kind <> 'external'`) or an
    IN list proves nothing about `$2`, so with the constants bound, every run of the
    statement was planned anew (a custom plan, each time) instead of reusing one. Decided per
    bind while compiling: a copy of the statement with its constants marked cost a plan as
    much as compiling it (a large plan, MyRecord's, 0.1 s)."""

    def __init__(
        self,
        statement: ClauseElement,
        named: set[str],
        marks: Mapping[Placeholder, str],
        written: Set[str] = frozenset(),
    ) -> None:
        self._named, self._marks, self._written = named, marks, written
        self.written_found: set[str] = set()
        super().__init__(DIALECT, statement, compile_kwargs={"render_postcompile": True})
        assert self.positiontup is not None

    def visit_bindparam(self, bindparam: BindParameter[Any], **kw: Any) -> str:
        if bindparam.key in self._written:
            self.written_found.add(bindparam.key)
            return written_marker(bindparam.key)
        if bindparam.value is UNWRITTEN or bindparam.value == [UNWRITTEN]:
            raise PlanError(f"{bindparam.key}: a value to write in, not named written")
        if bindparam.key not in self._named and _inlinable(
            bindparam.value, bindparam.type, self._marks
        ):
            kw["literal_execute"] = True
        text: str = super().visit_bindparam(bindparam, **kw)
        return text


def _inlinable(value: Any, kind: Any, marks: Mapping[Placeholder, str]) -> bool:
    if isinstance(kind, Personal):
        return False
    if isinstance(kind, TypeDecorator):  # SQLModel's AutoString, say: what it stores as
        kind = kind.impl_instance
    if not isinstance(kind, String | Integer | Boolean):
        return False
    values = value if isinstance(value, list | tuple) else [value]
    return bool(values) and all(isinstance(v, str | int) and v not in marks for v in values)


def _placeholder_name(value: Any, marks: Mapping[Placeholder, str]) -> str | None:
    if isinstance(value, uuid.UUID | str | datetime):
        return marks.get(value)
    if isinstance(value, list | tuple):
        found = [v for v in value if isinstance(v, uuid.UUID | str | datetime) and v in marks]
        if not found:
            return None
        if len(value) == 1:
            return marks[found[0]]
        raise PlanError("a placeholder inside a list of other values")
    return None


class PlanCache:
    """Plans by key, least recently used dropped beyond `size`."""

    def __init__(self, size: int = 512) -> None:
        self.size = size
        self._plans: OrderedDict[Hashable, Plan] = OrderedDict()

    def get(self, key: Hashable, build: Callable[[], Plan]) -> Plan:
        plan = self._plans.get(key)
        if plan is None:
            plan = self._plans[key] = build()
            if len(self._plans) > self.size:
                self._plans.popitem(last=False)
        else:
            self._plans.move_to_end(key)
        return plan

    def __len__(self) -> int:
        return len(self._plans)


# The process's plans: keys start with the name of what builds them, so they never collide.
PLANS = PlanCache(size=1024)


def plan_per_decision(
    key: tuple[Any, ...], decision: Any, make: Callable[[Any, uuid.UUID], Plan]
) -> Plan:
    """`make(decision, patient id)` once per decision shape (app/access/grouping.shape): built
    from a stand-in decision whose patient id is a placeholder, bound per run as `pid`. A
    decision that cannot be compared gets a plan of its own, not kept."""
    blank = shape(decision)

    def cached() -> Plan:
        marker = placeholder()
        return make(dataclasses.replace(decision, patient_id=marker), marker)

    if blank is None:
        return make(decision, decision.patient_id)
    return PLANS.get((*key, blank), cached)
