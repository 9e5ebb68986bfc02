"""Nothing found: the one exception for "there is no such record".

Raised by every lookup of a record by what the user typed (a person, a need, a screening,
a consent, a referral, a service) when there is none; ``linkwork.errors`` (which re-exports
it) words it as exit 1, "nothing found", not exit 2, "bad input", whichever command asked.
It is a ``LookupError``, so code that catches those still does. It lives here, at the bottom
of the domain core (``screening`` and ``codes`` import ``directory``; nothing here imports
them), so every domain package can raise it without importing the application.
"""

from __future__ import annotations


class NotFound(LookupError):
    """Nothing to show: exit 1 with a one-line message (not an error in the input)."""
