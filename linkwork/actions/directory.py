"""The service directory: import feeds, load the sample, search, show, list."""

from __future__ import annotations
