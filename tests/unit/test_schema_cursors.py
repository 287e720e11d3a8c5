"""Cursors are opaque keyset positions of one list; page sizes have hard limits."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from app.errors import AppError, BadInput
from resolvers.pagination import MAX_PAGE_SIZE, SortKey, page_size
from resolvers.tables import CARE_CONTACT, PATIENT, PLAN_ACTIVITY

NEWEST = SortKey("CareContact", ("event_time", "id"))


def test_a_cursor_round_trips_its_sort_key() -> None:
    key = (datetime(2024, 3, 1, 9, 30, 0, 123456, tzinfo=UTC), uuid.uuid4())
    cursor = NEWEST.encode({"event_time": key[0], "id": key[1]})  # type: ignore[arg-type]
    assert NEWEST.decode(cursor, CARE_CONTACT) == key
    assert str(key[1]) not in cursor  # opaque: base64, not readable keys


def test_cursors_of_other_lists_are_refused() -> None:
    patients = SortKey("Patient", ("family_name", "given_name", "id"), descending=False)
    row = {"family_name": "A", "given_name": "B", "id": uuid.uuid4()}
    cursor = patients.encode(row)  # type: ignore[arg-type]
    assert patients.decode(cursor, PATIENT)[0] == "A"
    with pytest.raises(BadInput):
        NEWEST.decode(cursor, CARE_CONTACT)


@pytest.mark.parametrize("bad", ["", "!!!", "WyJDYXJlQ29udGFjdCIsMV0", "bnVsbA"])
def test_broken_cursors_are_bad_input(bad: str) -> None:
    with pytest.raises(BadInput):
        NEWEST.decode(bad, CARE_CONTACT)


def test_cursor_values_must_have_the_column_type() -> None:
    positions = SortKey("PlanActivity", ("position", "id"), descending=False)
    forged = positions.encode({"position": "1", "id": uuid.uuid4()})  # type: ignore[arg-type]
    with pytest.raises(BadInput):
        positions.decode(forged, PLAN_ACTIVITY)


def test_page_sizes() -> None:
    assert page_size(None) == 20
    assert page_size(0) == 0
    assert page_size(MAX_PAGE_SIZE) == MAX_PAGE_SIZE
    with pytest.raises(AppError) as too_many:
        page_size(MAX_PAGE_SIZE + 1)
    assert too_many.value.code == "PAGE_SIZE_EXCEEDED"
    with pytest.raises(BadInput):
        page_size(-1)
