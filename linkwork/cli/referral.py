"""``linkwork referral``: one sub-app shared by the record commands (list, show, status) in
``linkwork.cli.record`` and the exchange commands (export, receive, open, update-export) in
``linkwork.cli.exchange``; each registers its own commands on ``app``."""

from __future__ import annotations

import typer

app = typer.Typer(
    help="Referrals: list, show, update status, export and receive.", no_args_is_help=True
)
