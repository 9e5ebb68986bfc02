"""Tables the record's commands share (needs, referrals, suggestions).

Each takes data its command has already passed through ``linkwork.cli.common.safe``."""

from __future__ import annotations

from typing import Any

from rich.table import Table

from linkwork.cli.common import console


def suggestions_table(screening_id: str, suggestions: list[dict[str, Any]]) -> None:
    if not suggestions:
        console.print("No needs suggested by these answers.")
        return
    table = Table(title=f"Suggested needs (screening {screening_id[:8]})")
    for col in ("code", "need", "domain", "from questions", "state"):
        table.add_column(col)
    for s in suggestions:
        state = s.get("state", "pending")
        if s.get("existing_need_id") and state == "pending":
            state = "pending (already active)"
        if state == "edited":  # what was recorded instead, in words
            state = f"confirmed as {s.get('confirmed_as', '')} {s.get('confirmed_display', '')}"
        table.add_row(s["code"], s["display"], s["domain"], ", ".join(s["questions"]), state)
    console.print(table)


def needs_table(needs: list[dict[str, Any]]) -> None:
    if not needs:
        console.print("No needs recorded.")
        return
    table = Table(title="Needs")
    for col in ("id", "code", "need", "domain", "status", "priority", "recorded", "in their words"):
        table.add_column(col)
    for n in needs:
        table.add_row(
            n["id"][:8],
            n["code"],
            n["display"],
            n["domain"],
            n["status"],
            n["priority"],
            n["recorded_at"][:10],
            n["words"],
        )
    console.print(table)


def referrals_table(referrals: list[dict[str, Any]], title: str = "Referrals") -> None:
    if not referrals:
        return
    table = Table(title=title)
    for col in ("id", "to", "status", "detail", "created", "follow up"):
        table.add_column(col)
    for r in referrals:
        to = r.get("service_name") or (
            f"service {r['service_id']}" if r["service_id"] else r["hub"]
        )
        detail = r["status_reason"] or r["business_status"]
        table.add_row(
            r["id"][:8],
            to,
            r["status"],
            detail,
            r["created_at"][:10],
            r["followup_due"] or "",
        )
    console.print(table)
