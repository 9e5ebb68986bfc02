"""Consent and referrals: refer with consent, move a referral on, record its outcome, list and show."""

from __future__ import annotations
