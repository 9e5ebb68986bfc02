"""Counts for data leads: disclosure-controlled reports, shown, exported, charted."""

from __future__ import annotations
