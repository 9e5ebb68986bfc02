"""When a service's details are too old to trust: one rule for the search, the CLI and
the app (the results list, the detail pane and ``directory show`` agree on every day).
A service is stale when it was last verified before the same day ``stale_months`` months
ago (the last day of that month when it is shorter); never verified is not stale
(nothing says when), and is shown as unknown. ``months_ago`` counts whole months by the
same rule, for saying how old a date is."""

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


def months_ago(earlier: date, today: date) -> int:
    """Whole months from ``earlier`` to ``today`` by the same rule: the most ``n`` with
    ``months_before(today, n)`` on or after ``earlier`` (0 when ``earlier`` is later), so a
    service is stale exactly when it is ``stale_months`` or more months old and not
    verified on the cut-off day itself."""
    n = (today.year - earlier.year) * 12 + today.month - earlier.month
    if n > 0 and months_before(today, n) < earlier:
        n -= 1
    return max(n, 0)
