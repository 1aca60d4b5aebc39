"""Warm referrals: contact details, consent, storage and delivery (issue 5)."""
