"""The day counter of a coordinated discharge (lag 2017:612 om samverkan vid utskrivning).

Days are calendar days in Swedish time. The counter starts the day the hospital says the
patient is utskrivningsklar and runs until the discharge (or today). After the days agreed in
the region's and municipalities' agreement (three calendar days when none is made, 5 kap. 2 §
as we read it: [M], check before billing on it) the municipality pays for the hospital days:
such a patient is overdue.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Date, FromClause, Text, case, cast, func, literal, null

SWEDEN = ZoneInfo("Europe/Stockholm")
# Days after utskrivningsklar before the municipality pays, when no agreement says otherwise.
AGREED_DAYS = 3


def swedish_day(moment: datetime) -> date:
    return moment.astimezone(SWEDEN).date()


def days_since_ready(
    ready_at: datetime | None, discharged_at: datetime | None, today: date
) -> int | None:
    """Whole calendar days from utskrivningsklar to the discharge (or today); None before."""
    if ready_at is None:
        return None
    end = swedish_day(discharged_at) if discharged_at is not None else today
    return max(0, (end - swedish_day(ready_at)).days)


def is_overdue(days: int | None, agreed_days: int = AGREED_DAYS) -> bool:
    """Past the agreed days: the municipality pays for each further hospital day."""
    return days is not None and days > agreed_days


def today_in_sweden(now: datetime) -> date:
    return swedish_day(now)


# The same rules in SQL, for the query planner (resolvers/planner/): a plan is cached, so
# "today" is the transaction's own `now()` in Swedish time, as `today_in_sweden` reads it.


def _sql_swedish_day(moment: ColumnElement[Any]) -> ColumnElement[Any]:
    return cast(func.timezone(literal(str(SWEDEN)), moment), Date)


def sql_days_since_ready(row: FromClause) -> ColumnElement[Any]:
    """`days_since_ready` of a discharge_plan row."""
    end = func.coalesce(_sql_swedish_day(row.c.discharged_at), _sql_swedish_day(func.now()))
    days = func.greatest(0, end - _sql_swedish_day(row.c.ready_at))
    return case((row.c.ready_at.is_(None), null()), else_=days)


def sql_overdue(row: FromClause, agreed_days: int = AGREED_DAYS) -> ColumnElement[Any]:
    """DischargePlan.overdue of a discharge_plan row (ready, not discharged, past the days)."""
    return func.coalesce(
        row.c.discharged_at.is_(None)
        & (cast(row.c.status, Text) == "ready")
        & (sql_days_since_ready(row) > agreed_days),
        False,
    )
