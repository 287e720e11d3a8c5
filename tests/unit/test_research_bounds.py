"""A15: the times a research request narrows a list by lie on its study's precision, so that a
filter cannot undo the cut of the answer; outside a research request, any time is taken."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from app.access.research import bound, bound_date, time_bounds
from app.errors import BadInput
from app.models.consent import TimePrecision
from resolvers.filters import RowFilter
from schema.connections import since_filter
from schema.inputs import CareEventFilter, PeriodInput, row_filter

NINE = datetime(2024, 3, 5, 9, 0, tzinfo=UTC)
MONTH = datetime(2024, 3, 1, tzinfo=UTC)


def test_outside_research_any_time_is_taken() -> None:
    assert bound(NINE, "x") == NINE
    assert row_filter(CareEventFilter(period=PeriodInput(start=NINE))).start == NINE


def test_a_research_request_takes_only_its_precisions_boundaries() -> None:
    with time_bounds(TimePrecision.MONTH):
        assert bound(MONTH, "x") == MONTH
        assert bound_date(date(2024, 3, 1), "from") == date(2024, 3, 1)
        with pytest.raises(BadInput) as refused:
            row_filter(CareEventFilter(period=PeriodInput(start=NINE)))
        assert refused.value.extensions["field"] == "filter.period.start"
        with pytest.raises(BadInput):
            since_filter(RowFilter(), datetime(2024, 3, 2, tzinfo=UTC))
        with pytest.raises(BadInput):
            bound_date(date(2024, 3, 5), "from")
    with time_bounds(TimePrecision.DAY):
        assert bound(datetime(2024, 3, 5, tzinfo=UTC), "x").day == 5
        with pytest.raises(BadInput):
            bound(NINE, "x")
    with time_bounds(TimePrecision.EXACT):
        assert bound(NINE, "x") == NINE
    assert bound(NINE, "x") == NINE  # the bounds end with the request
