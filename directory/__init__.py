"""The local service directory: Open Referral UK import, the service model, and matching."""
