"""'Is X still running?': a named service's status, with what replaced it if it closed.

Closed and planned services are never mentioned unasked (chatbot/triage/recommend.py keeps
them out of the cards); a person who names one gets its status once, plainly.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .catalogue import Catalogue

# Words of a service's name too common to name it alone.
_COMMON = frozenset({"service", "services", "the", "and", "of", "for", "in", "at", "pilot", "work", "nhs"})


@dataclass(frozen=True)
class StatusAnswer:
    response: str  # a response of domain.yml
    values: dict


def named_service_ids(text: str, catalogue: Catalogue) -> list[str]:
    """Services whose whole name (brackets aside) appears in the text, longest name first."""
    said = " " + " ".join(re.sub(r"[^\w\s]", " ", (text or "").lower()).split()) + " "
    found = []
    for service in sorted(catalogue.services.values(), key=lambda s: -len(s.name)):
        name = " ".join(re.sub(r"\([^)]*\)|[^\w\s]", " ", service.name.lower()).split())
        if set(name.split()) <= _COMMON:
            continue
        if f" {name} " in said and not any(name in catalogue.services[f].name.lower() for f in found):
            found.append(service.id)
    return found or _named_by_who_runs_it(said, catalogue)


def _named_by_who_runs_it(said: str, catalogue: Catalogue) -> list[str]:
    """"the Remploy thing": a service named by the organisation that runs it, where that
    organisation runs only one service here (Remploy ran the Working Better pilot)."""
    found = []
    for org in catalogue.knowledge.organizations:
        name = " ".join(re.sub(r"\([^)]*\)|[^\w\s]", " ", org.name.lower()).split())
        runs = [s.id for s in catalogue.services.values() if s.organization == org.id]
        if len(runs) == 1 and set(name.split()) - _COMMON and f" {name} " in said:
            found.append(runs[0])
    return found


def service_status(text: str, catalogue: Catalogue) -> StatusAnswer:
    ids = named_service_ids(text, catalogue)
    if not ids:
        return StatusAnswer("utter_which_service", {})
    service = catalogue.services[ids[0]]
    note = (service.status_note or "").strip()
    if service.status == "ended":
        instead = [catalogue.services[r].name for r in service.replaced_by if r in catalogue.services]
        replaced = f" Instead, ask about {' or '.join(instead)}." if instead else ""
        return StatusAnswer("utter_service_ended", {"name": service.name, "status_note": note + replaced})
    if service.status == "planned":
        return StatusAnswer("utter_service_planned", {"name": service.name, "status_note": note})
    return StatusAnswer(
        "utter_service_running",
        {"name": service.name, "last_verified": service.last_verified.strftime("%-d %B %Y")},
    )
