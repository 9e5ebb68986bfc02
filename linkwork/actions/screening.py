"""Screening: the questionnaire, answers saved as they are given, completing a screening."""

from __future__ import annotations
