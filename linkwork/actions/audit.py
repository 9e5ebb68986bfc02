"""The audit trail: show events, verify the chain; the synthetic demo data."""

from __future__ import annotations
