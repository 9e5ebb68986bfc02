"""Coded needs: add by code or lay words, confirm or reject a screening's suggestions, list, resolve."""

from __future__ import annotations
