"""The encrypted exchange: our keys, partners' keys, sending referrals and replies, receiving files."""

from __future__ import annotations
