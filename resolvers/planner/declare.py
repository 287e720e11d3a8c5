"""How a schema field is read in SQL: the declarations the planner follows.

A field of a row type without a resolver is its table's column (schema/rows.py names them the
same), so it needs no declaration. A field with a resolver carries one of these in its
strawberry metadata (`planned(...)`), written beside the field in schema/; a field with a
resolver and no declaration cannot be planned, and the planner answers it through GraphQL
execution instead (docs/performance.md).
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, FromClause, Table

from resolvers.filters import PageArgs
from resolvers.pagination import SortKey

if TYPE_CHECKING:
    from app.access.policy import PatientAccess
    from app.context import Context

PLAN = "vardkedja.plan"

# A predicate or value over the row being read, given the policy's decision on its patient.
RowExpression = Callable[[FromClause, "PatientAccess"], ColumnElement[Any]]


@dataclass(frozen=True)
class Listed:
    """A connection: one page of the list a PatientListLoader keeps (its `listing`).

    `parent` names the columns of the parent row that make the list's partition key, in the
    order of `listing.partition`; `args` turns the field's arguments (as the resolver gets
    them) into the page arguments, as the resolver does, so both paths page alike.
    """

    loader: type[Any]
    parent: tuple[str, ...]
    args: Callable[..., PageArgs]


@dataclass(frozen=True)
class Interleaved:
    """A connection of an interface: one page over the rows of several tables (the timeline),
    each node read from its own table as its `RowByKeyLoader` reads it. `args` gives the
    TimelineArgs (page arguments and kinds) from the field's arguments."""

    args: Callable[..., Any]
    tables: Mapping[str, Table]
    sort: SortKey
    # Kind -> its RowByKeyLoader; a function, as the registry imports the schema's types.
    loaders: Callable[[], Mapping[str, type[Any]]]


@dataclass(frozen=True)
class Picked:
    """A value looked up in a list the resolver reads (and so discloses) whole: `column` of the
    row of `listed`'s page whose id is this row's `key`; null, and nothing read, when `key`
    is null."""

    listed: Listed
    key: str
    column: str


@dataclass(frozen=True)
class FirstOf:
    """The first node of a list (e.g. the newest blood group), or null."""

    listed: Listed


@dataclass(frozen=True)
class Referenced:
    """A shared row (a care unit, a provider, a code) whose `key` is the row's `column`: no
    policy, no audit, as the reference loaders read them."""

    table: Table
    column: str
    key: str = "id"


@dataclass(frozen=True)
class Owned:
    """Another row of the same patient, by the id in `column`, as a RowByKeyLoader reads it:
    under the policy's predicate (null if hidden), disclosed as `loader.disclose`."""

    loader: type[Any]
    column: str


@dataclass(frozen=True)
class Embedded:
    """An object made of the row's own columns (`attribute -> column`), null unless
    `present`."""

    columns: Mapping[str, str]
    present: RowExpression


@dataclass(frozen=True)
class Computed:
    """A scalar computed from the row in SQL (the same rule as its resolver)."""

    value: RowExpression


@dataclass(frozen=True)
class Decided:
    """A value computed in Python for the patient before the statement runs (e.g. what the
    policy withholds, from its decision); its objects' fields are plain attributes."""

    value: Callable[[Context, uuid.UUID], Awaitable[Any]]


Declaration = (
    Listed | Interleaved | Picked | FirstOf | Referenced | Owned | Embedded | Computed | Decided
)


def planned(declaration: Declaration) -> dict[str, Any]:
    """The strawberry field metadata that declares how the planner reads the field."""
    return {PLAN: declaration}


def declaration_of(metadata: Mapping[str, Any] | None) -> Declaration | None:
    return None if not metadata else metadata.get(PLAN)
