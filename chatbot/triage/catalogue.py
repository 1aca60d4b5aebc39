"""An in-memory, indexed view of the knowledge for fast triage."""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass

from chatbot.knowledge import vocab
from chatbot.knowledge.loader import Knowledge
from chatbot.knowledge.schema import Area, GpSurgery, Service

# A full UK postcode ("E14 3BQ") or an outward code alone ("N19").
_POSTCODE = re.compile(r"\b([A-Z]{1,2}[0-9][0-9A-Z]?)\s*(?:[0-9][A-Z]{2})?\b")


@dataclass(frozen=True)
class AreaMatch:
    """Where a piece of text places the person.

    `area_id` is None when nothing matched; `candidates` holds more than one id
    when the text is shared by several areas (ask the person which).
    """

    area_id: str | None
    candidates: tuple[str, ...] = ()
    matched: str = ""
    needs_confirmation: bool = False


# The taxonomy tag of a council's front door to employment support (knowledge/services/).
SINGLE_POINT_OF_ACCESS = "single-point-of-access"


class Catalogue:
    def __init__(self, knowledge: Knowledge):
        self.knowledge = knowledge
        self.services: dict[str, Service] = {s.id: s for s in knowledge.services}
        self.areas: dict[str, Area] = {a.id: a for a in knowledge.areas}
        self.gp_surgeries: dict[str, GpSurgery] = {g.id: g for g in knowledge.gp_surgeries}
        self.by_area: dict[str, list[Service]] = defaultdict(list)
        for service in sorted(knowledge.services, key=lambda s: s.id):
            for area_id in service.eligibility.areas:
                self.by_area[area_id].append(service)
        self._terms: dict[str, list[tuple[str, str]]] = defaultdict(list)
        for area in knowledge.areas:
            names = {area.name, area.id.replace("-", " "), *area.aliases, *area.towns}
            for name in names:
                self._terms[_normalise(name)].append((area.id, "name"))
            for district in area.postcode_districts:
                self._terms[district].append((area.id, "postcode"))
            for district in area.partial_postcode_districts:
                self._terms[district].append((area.id, "partial_postcode"))
        # Longest first, so "tower hamlets" wins over a shorter name inside it.
        self._terms_longest_first = sorted(self._terms, key=len, reverse=True)
        self._surgery_terms = {}
        for gp in knowledge.gp_surgeries:
            for name in {gp.name, *gp.aliases}:
                self._surgery_terms[_normalise(name)] = gp.id
        self._surgery_terms_longest_first = sorted(self._surgery_terms, key=len, reverse=True)

    def single_point_of_access(self, area_id: str) -> Service | None:
        """The area's front door for a call-back: tagged so in knowledge/, and taking referrals from us."""
        for service in self.by_area.get(area_id, []):
            if (
                service.is_active
                and SINGLE_POINT_OF_ACCESS in service.taxonomy
                and service.referral.takes_warm_referral
            ):
                return service
        return None

    def resolve_area(self, text: str) -> AreaMatch:
        """Place a borough, county, town or postcode in an area of the catalogue.

        A UK postcode outside every listed area is in England as far as we
        know, so it resolves to the national area.
        """
        normal = _normalise(text)
        if not normal:
            return AreaMatch(None)
        hits = self._terms.get(normal)
        if not hits:
            # Longest known place name inside a longer message ("i live in bow, london").
            lowered = normal.lower()
            for term in self._terms_longest_first:
                if len(term) > 2 and re.search(rf"\b{re.escape(term.lower())}\b", lowered):
                    hits = self._terms[term]
                    normal = term
                    break
        if not hits:
            postcode = _POSTCODE.search(text.upper())
            if postcode:
                district = postcode.group(1)
                hits = self._terms.get(district)
                if not hits:
                    return AreaMatch(vocab.NATIONAL_AREA_ID, matched=district)
                normal = district
        if not hits:
            return AreaMatch(None)
        ids = tuple(sorted({area_id for area_id, _ in hits}))
        if len(ids) > 1:
            return AreaMatch(None, candidates=ids, matched=normal, needs_confirmation=True)
        partial = all(kind == "partial_postcode" for _, kind in hits)
        return AreaMatch(ids[0], candidates=ids, matched=normal, needs_confirmation=partial)

    def resolve_gp_surgery(self, text: str) -> str | None:
        normal = _normalise(text)
        if normal in self._surgery_terms:
            return self._surgery_terms[normal]
        for term in self._surgery_terms_longest_first:
            if re.search(rf"\b{re.escape(term)}\b", normal):
                return self._surgery_terms[term]
        return None


def _normalise(text: str) -> str:
    text = re.sub(r"[^\w\s'-]", " ", text or "").strip()
    if re.fullmatch(r"[A-Za-z]{1,2}[0-9][0-9A-Za-z]?", text):
        return text.upper()
    return " ".join(text.lower().replace("'", "").split())
