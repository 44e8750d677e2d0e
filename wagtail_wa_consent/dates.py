"""Calendar arithmetic shared by the request deadlines and the retention rules."""

from __future__ import annotations

import calendar
from datetime import datetime


def add_months(moment: datetime, months: int) -> datetime:
    """The same day ``months`` calendar months later (earlier when negative), or that month's
    last day when it has no such day (31 January + 1 month = 28 or 29 February)."""
    index = moment.year * 12 + moment.month - 1 + months
    year, month = divmod(index, 12)
    day = min(moment.day, calendar.monthrange(year, month + 1)[1])
    return moment.replace(year=year, month=month + 1, day=day)
