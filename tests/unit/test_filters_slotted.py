"""A list's filter whose values a plan takes per run (resolvers/filters.py, `slotted`): the
statement derived for a filter's values is the statement of that filter written plainly."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import DateTime, String, Uuid, column, select, table

from app.sqlplan import PlanError, compile_plan
from resolvers.filters import RowFilter, like_pattern, slot_values, slotted

T = table(
    "t",
    column("id", Uuid()),
    column("status", String()),
    column("atc_code", String()),
    column("care_unit_id", Uuid()),
    column("care_provider_id", Uuid()),
    column("event_time", DateTime(timezone=True)),
    column("updated_at", DateTime(timezone=True)),
)


def strings(statuses: set[str], prefixes: set[str]) -> RowFilter:
    return RowFilter(
        values=(("status", frozenset(statuses)),),
        prefixes=(("atc_code", frozenset(prefixes)),),
    )


def test_the_statement_of_written_in_strings_is_the_plain_one() -> None:
    first = strings({"aktiv", "utsatt"}, {"B01", "M0_5"})
    made = slotted(first, "f")
    template = compile_plan(
        select(T.c.id).where(*made.filter.conditions(T)), names=made.bound, written=made.written
    )
    assert made.bound == () and template.written == tuple(sorted(made.written))
    for f in (first, strings({"ersatt", "it's"}, {"N02", "C%"})):
        assert f.shape() == first.shape()
        bound, written = slot_values(f, "f")
        assert bound == {}
        derived = template.written_in(written)
        plain = compile_plan(select(T.c.id).where(*f.conditions(T)))
        assert (derived.sql, derived.constants) == (plain.sql, plain.constants)
    assert "'it''s'" in derived.sql and "LIKE 'C/%%' ESCAPE '/'" in derived.sql


def test_ids_hsa_ids_and_times_are_bound() -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    ids = {uuid.uuid4(), uuid.uuid4()}
    f = RowFilter(
        start=start,
        care_unit_ids=frozenset(ids),
        care_provider_hsa_ids=frozenset({"SE-B", "SE-A"}),
        changed_since=start,
    )
    made = slotted(f, "f")
    plan = compile_plan(select(T.c.id).where(*made.filter.conditions(T)), names=made.bound)
    assert made.written == () and plan.written == ()
    assert sorted(made.bound) == [
        "f_care_provider_hsa_ids",
        "f_care_unit_ids",
        "f_changed_since",
        "f_start",
    ]
    bound, written = slot_values(f, "f")
    assert written == {} and bound["f_care_unit_ids"] == sorted(ids)
    parameters = plan.parameters(bound)
    assert parameters.count(start) == 2
    assert sorted(ids) in parameters and ["SE-A", "SE-B"] in parameters
    assert "SE-A" not in plan.sql


@pytest.mark.parametrize(
    "other",
    [
        strings({"aktiv"}, {"B01"}),  # one prefix fewer
        RowFilter(care_unit_hsa_ids=frozenset({"SE-A"})),  # no statuses, no prefixes
        RowFilter(),  # no filter at all
    ],
)
def test_another_shape_is_told_apart(other: RowFilter) -> None:
    assert other.shape() != strings({"aktiv", "utsatt"}, {"B01", "M05"}).shape()


def test_a_prefix_pattern_escapes_like_s_own_characters() -> None:
    assert like_pattern("B0_1%/") == "B0/_1/%//%"


def test_a_slotted_filter_compiled_without_its_written_names_is_refused() -> None:
    """Left unnamed, a written-in list would compile to `IN (NULL) AND (1 != 1)`: no rows."""
    made = slotted(strings({"aktiv"}, {"B01"}), "f")
    statement = select(T.c.id).where(*made.filter.conditions(T))
    with pytest.raises(PlanError):
        compile_plan(statement)
    with pytest.raises(PlanError):
        compile_plan(statement, written=made.written[:1])
