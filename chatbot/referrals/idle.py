"""Details typed into a referral are not read back to whoever comes to the screen later.

On a shared reception PC, or to anyone holding a session id, a referral left half
done would read the name and number back. After a pause longer than these, the
details are cleared and asked for again; a professional's pause is shorter (they
move on to the next patient).
"""

from __future__ import annotations

IDLE_SECONDS = {"patient": 5 * 60}  # user_role "patient": a professional asking about a patient
DEFAULT_IDLE_SECONDS = 15 * 60
# What a person types into a referral: cleared after a pause, on withdrawal, with the form.
DETAIL_SLOTS = (
    "contact_name",
    "contact_route",
    "contact_phone",
    "contact_email",
    "best_time",
    "referral_confirmed",
)


def details_gone_stale(previous_message_at: float | None, this_message_at: float, role: str | None) -> bool:
    """True when the pause between the person's last two messages is too long to read details back."""
    if previous_message_at is None:
        return False
    return this_message_at - previous_message_at > IDLE_SECONDS.get(role or "", DEFAULT_IDLE_SECONDS)
