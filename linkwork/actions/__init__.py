"""The application layer: one function per user action, called by both front ends.

Each action takes a ``linkwork.workspace.Workspace`` first (settings, database, acting
user, unlocked keys), opens its own transaction, calls the domain core (``codes``,
``directory``, ``screening``), writes the audit row, touches files and the network, and
returns plain results (dataclasses, dicts, lists). It raises ``ValueError`` /
``LookupError`` (``linkwork.errors.NotFound`` for "nothing to show") with a message
written for the user; ``linkwork.errors.problem`` turns those into words and exit codes.

The front ends only parse, call one action and show the result:
- ``linkwork/cli``: each command imports its action module when it runs (so
  ``linkwork --help`` loads no crypto or FHIR library);
- ``tui``: screens call actions from thread workers through ``LinkworkApp.actions``, the
  app's one import boundary (so the first screen paints before SQLAlchemy loads).

A decision made in a front end is a decision the other front end will get wrong: make it
here, once.
"""

from __future__ import annotations

import importlib
from types import ModuleType

AREAS = (
    "audit",
    "careplan",
    "casework",
    "codes",
    "database",
    "diary",
    "directory",
    "exchange",
    "mesh",
    "needs",
    "partners",
    "people",
    "referrals",
    "replies",
    "reports",
    "rows",
    "screening",
    "search",
    "sharing",
    "today",
)


def __getattr__(name: str) -> ModuleType:
    """``linkwork.actions.people`` and the rest, imported on first use: the app's first
    screen loads only the actions it shows (home: ``today``), not the exchange's crypto."""
    if name in AREAS:
        module = importlib.import_module(f"{__name__}.{name}")
        globals()[name] = module
        return module
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
