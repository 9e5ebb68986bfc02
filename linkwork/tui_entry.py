"""Start the Textual app from the CLI (kept apart so plain commands never import Textual)."""

from __future__ import annotations

from linkwork.cli.common import AppContext


def run_app(context: AppContext) -> None:
    from tui.app import LinkworkApp

    LinkworkApp(context.settings).run()
