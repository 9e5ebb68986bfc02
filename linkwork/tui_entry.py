"""Start the Textual app from the CLI (kept apart so plain commands never import Textual).

The app paints its first screen at once and opens the database in a worker; on an empty
database it loads the bundled sample directory (``linkwork.sample.load_sample_directory``)
so the README's first command ends with the app open on the sample services.
"""

from __future__ import annotations

from linkwork.cli.common import AppContext


def run_app(context: AppContext, *, autoload_sample: bool = True) -> None:
    from tui.app import LinkworkApp

    LinkworkApp(context.settings, autoload_sample=autoload_sample).run()
