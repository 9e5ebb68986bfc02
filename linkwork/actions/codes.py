"""Need codes: search the catalogue in lay words, show a code."""

from __future__ import annotations
