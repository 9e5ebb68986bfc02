"""Every action module, for a front end that reaches them through one import (the app)."""

from linkwork.actions import (
    audit,
    codes,
    directory,
    exchange,
    needs,
    people,
    referrals,
    reports,
    screening,
    today,
)

__all__ = [
    "audit",
    "codes",
    "directory",
    "exchange",
    "needs",
    "people",
    "referrals",
    "reports",
    "screening",
    "today",
]
