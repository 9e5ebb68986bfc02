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


def __getattr__(name: str) -> str:
    """``__version__``, read from the installed package's metadata when first asked for
    (importlib.metadata costs every command tens of milliseconds at start-up)."""
    if name != "__version__":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib.metadata import PackageNotFoundError, version

    try:
        found = version("linkwork")
    except PackageNotFoundError:  # running from a source tree without install
        found = "0.0.0"
    globals()["__version__"] = found
    return found
