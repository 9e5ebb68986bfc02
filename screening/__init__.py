"""The person's record: screening, needs, consent, referrals, exchange and counts."""
