"""Shorthands for the listings most lists use."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from sqlalchemy import ColumnElement, Table

from resolvers.listing import Listing
from resolvers.pagination import SortKey

NEWEST_FIRST = ("event_time", "id")


def by_patient(
    table: Table,
    type_name: str,
    *partition: str,
    where: Callable[[Table], Sequence[ColumnElement[bool]]] | None = None,
) -> Listing:
    """A clinical list of one patient (optionally narrowed by `partition`), newest first."""
    return Listing(
        table, ("patient_id", *partition), SortKey(type_name, NEWEST_FIRST), type_name, where
    )


def across_patients(
    table: Table,
    type_name: str,
    link: str,
    where: Callable[[Table], Sequence[ColumnElement[bool]]] | None = None,
) -> Listing:
    """A clinical list keyed by `link` (a unit, a practitioner) spanning patients."""
    return Listing(table, (link,), SortKey(type_name, NEWEST_FIRST), type_name, where)
