"""The day counter of a coordinated discharge (lag 2017:612 om samverkan vid utskrivning).

Days are calendar days in Swedish time. The counter starts the day the hospital says the
patient is utskrivningsklar and runs until the discharge (or today). After the days agreed in
the region's and municipalities' agreement (three calendar days when none is made, 5 kap. 2 §
as we read it: [M], check before billing on it) the municipality pays for the hospital days:
such a patient is overdue.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

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
