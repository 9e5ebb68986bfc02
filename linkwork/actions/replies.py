"""Each service's replies from the closed loop (issue 20 point 9): referrals sent to it,
the share accepted and the median days to acceptance, for the app's service detail pane.

One path with the counts: the figures are the rows of ``linkwork report timeliness --by
service`` (``linkwork.actions.reports.make_report``, disclosure control always on, audited
once as a report view; a data lead's login reads the published extract), so a figure
hidden in the report is hidden here too and nothing here can be set against the report to
work a hidden one out. The app asks once per visit to Find a service, not per service.
"""

from __future__ import annotations

from typing import Any

from linkwork.errors import NotFound
from linkwork.workspace import Workspace


def service_replies(ws: Workspace) -> dict[str, dict[str, Any]]:
    """Service name -> ``made`` (referrals sent), ``accepted``, ``share_accepted`` and
    ``median_days`` (days from sending to acceptance), each None where disclosure control
    hides it. Empty when no referral was ever sent."""
    from linkwork.actions.reports import ReportSpec, make_report

    try:
        result = make_report(ws, ReportSpec("timeliness", "service"), fmt="json")
    except NotFound:
        return {}
    content = result.content if isinstance(result.content, dict) else {}
    out: dict[str, dict[str, Any]] = {}
    for row in content.get("rows", []):
        name = row.get("service")
        if not name:
            continue  # the total
        out[str(name)] = {
            "made": row.get("made"),
            "accepted": row.get("accepted"),
            "share_accepted": row.get("accepted_rate"),
            "median_days": row.get("days_to_accept_median"),
        }
    return out


def replies_text(stats: dict[str, Any] | None) -> str:
    """The pane's line, in words ("*" where a figure is hidden to protect small numbers)."""
    if stats is None:
        return "Replies: no referrals sent to this service yet."

    def shown(value: Any, fmt: str = "{}") -> str:
        return "*" if value is None else fmt.format(value)

    share = stats.get("share_accepted")
    median = stats.get("median_days")
    return (
        f"Replies: {shown(stats.get('made'))} referrals sent, "
        f"{'*' if share is None else f'{share * 100:.0f}%'} accepted, median "
        f"{'* (fewer than 20 accepted)' if median is None else f'{median} days'} to accept "
        "(* hidden to protect small numbers)."
    )
