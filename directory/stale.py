"""When a service's details are too old to trust: one rule for the search, the CLI and
the app. A service is stale when it was last verified before the same day ``stale_months``
months ago (the last day of that month when it is shorter); never verified is not stale
(nothing says when), and is shown as unknown."""

from __future__ import annotations

import calendar
from datetime import date


def months_before(day: date, months: int) -> date:
    """The same day ``months`` calendar months earlier (clamped to the month's last day)."""
    year, month = divmod(day.year * 12 + day.month - 1 - months, 12)
    month += 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def is_stale(last_verified: date | None, today: date, stale_months: int) -> bool:
    """True when ``last_verified`` is before the cut-off ``stale_months`` before ``today``."""
    return last_verified is not None and last_verified < months_before(today, stale_months)
