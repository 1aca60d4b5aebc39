"""The question that ends the recommendation turn: the referral offer, or what to do next.

Always one message with its buttons, so the turn is lead-in, cards, question (issue 19). The
details the short cards leave out are one tap away ("More about these services"), and so is
the record summary for a professional.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

MORE = {"title": "More about these services", "payload": "/request_service_details"}
RECORD_SUMMARY = {"title": "Summary for the record", "payload": "/request_summary"}
NO_THANKS = {"title": "No thanks", "payload": "/deny"}
SELF_REFER = "You can contact these services yourself. Is there anything else I can help with?"


@dataclass(frozen=True)
class Offer:
    text: str
    buttons: list[dict[str, str]]


def offer(role: str, referable: Sequence[tuple[str, str]], details_shown: bool = False) -> Offer:
    """`referable`: (service id, name) of the recommended services that take referrals from us."""
    extras = ([] if details_shown else [MORE]) + ([RECORD_SUMMARY] if role == "patient" else [])
    if role == "helper" or not referable:
        # Only the person can agree to a referral; the cards already say how to self-refer.
        return Offer(SELF_REFER, extras)
    names = " or ".join(name for _, name in referable)
    who, them = ("the patient's", "them") if role == "patient" else ("your", "you")
    referred = "the patient" if role == "patient" else "me"
    return Offer(
        f"I can pass {who} details to {names}, so they can contact {them}. Would you like that?",
        [
            {"title": f"Refer {referred} to {name}", "payload": f'/request_referral{{"service_id":"{sid}"}}'}
            for sid, name in referable
        ]
        + [NO_THANKS]
        + extras,
    )
