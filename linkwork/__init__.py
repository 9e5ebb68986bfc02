"""linkwork: the application shell around the domain core.

- ``actions``: one function per user action, the only layer both front ends call.
- ``workspace`` (settings, database, acting user, unlocked keys) and ``errors`` (exceptions
  into words: one translator).
- ``cli``: the Typer command line; ``tui_entry``: starts the Textual app (``tui``).
- ``settings``, ``db`` and ``migrations``, ``models`` (every table, for Alembic).
- ``sample`` (the bundled sample directory) and ``demo`` (synthetic demo records).

The domain lives in the top-level packages ``codes``, ``directory`` and ``screening``,
which never import this package.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("linkwork")
except PackageNotFoundError:  # running from a source tree without install
    __version__ = "0.0.0"
