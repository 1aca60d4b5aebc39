"""An in-memory, indexed view of the knowledge for fast triage."""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, replace

from chatbot.config import load_settings
from chatbot.knowledge.loader import Knowledge
from chatbot.knowledge.places import Places, load_places
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
    council: str = ""  # the council's name, for a place outside every covered area


# A place in an area that is in none of the area's localities (Catalogue.locality_of).
OUTSIDE_LOCALITIES = "elsewhere"

# The taxonomy tag of a council's front door to employment support (knowledge/services/).
SINGLE_POINT_OF_ACCESS = "single-point-of-access"


class Catalogue:
    def __init__(self, knowledge: Knowledge, places: Places | None = None):
        self.knowledge = knowledge
        self.places = places or load_places(load_settings().knowledge_dir)
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
        self._place_names = self.places.names()
        self._place_names_longest_first = sorted(self._place_names, key=len, reverse=True)
        self._surgery_terms = {}
        for gp in knowledge.gp_surgeries:
            for name in {gp.name, *gp.aliases}:
                self._surgery_terms[_normalise(name)] = gp.id
        self._surgery_terms_longest_first = sorted(self._surgery_terms, key=len, reverse=True)

    def nation_of(self, area_id: str | None) -> str | None:
        area = self.areas.get(area_id or "")
        return area.nation if area else None

    def is_nation(self, area_id: str | None) -> bool:
        area = self.areas.get(area_id or "")
        return bool(area and area.is_nation)

    def locality_of(self, area_id: str | None, text: str) -> str | None:
        """Which part of the area `text` places the person in, where services care.

        The id of the area's locality the text names ("Harpurhey", "M9"); OUTSIDE_LOCALITIES
        when it names a place in the area outside all of them ("Didsbury", "M20"); None when
        it does not say (just "Manchester"), so no service is ruled out on a guess.
        """
        area = self.areas.get(area_id or "")
        if area is None or not area.localities:
            return None
        normal = f" {_normalise(text)} "
        districts = {m.group(1) for m in _POSTCODE.finditer(text.upper())}

        def names(places) -> bool:
            return any(f" {_normalise(p)} " in normal for p in places)

        for locality in area.localities:
            if districts & set(locality.postcode_districts) or names(locality.towns):
                return locality.id
        if districts & {*area.postcode_districts, *area.partial_postcode_districts} or names(area.towns):
            return OUTSIDE_LOCALITIES
        return None

    def place_of_council(self, council_id: str) -> AreaMatch:
        """A council of knowledge/places/: its covered area if we have one, else its nation."""
        council = self.places.councils.get(council_id)
        if council is None:
            return AreaMatch(None)
        for candidate in (council.id, council.within):
            if candidate in self.areas and not self.areas[candidate].is_nation:
                return AreaMatch(candidate, (candidate,), matched=council.name)
        return AreaMatch(council.nation, (council.nation,), matched=council.name, council=council.name)

    def place_of_councils(self, council_ids: tuple[str, ...] | list[str], matched: str = "") -> AreaMatch:
        """Councils a name or postcode may mean: one area (and council), or a choice between areas."""
        places = [self.place_of_council(c) for c in council_ids]
        areas = tuple(dict.fromkeys(p.area_id for p in places if p.area_id))
        if len(areas) == 1:
            return replace(places[0], matched=matched or places[0].matched)
        return AreaMatch(None, areas, matched=matched, needs_confirmation=bool(areas))

    def place_of_postcode(self, district: str) -> AreaMatch:
        """An outward code outside every covered area's own list: its council, else its nation."""
        councils = self.places.councils_of_postcode(district)
        if councils:
            return self.place_of_councils(councils, matched=district)
        nations = self.places.nations_of_postcode(district)
        if len(nations) == 1:
            return AreaMatch(nations[0], nations, matched=district)
        return AreaMatch(None, nations, matched=district, needs_confirmation=bool(nations))

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

        Outside the covered areas, any UK council, town or postcode resolves to its
        nation through knowledge/places/, with the council named (`council`).
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
            if postcode and self.places.is_postcode_district(postcode.group(1)):
                district = postcode.group(1)
                hits = self._terms.get(district)
                if not hits:
                    return self.place_of_postcode(district)
                normal = district
        if not hits:
            return self._place_named(normal)
        ids = tuple(sorted({area_id for area_id, _ in hits}))
        if len(ids) > 1:
            return AreaMatch(None, candidates=ids, matched=normal, needs_confirmation=True)
        partial = all(kind == "partial_postcode" for _, kind in hits)
        return AreaMatch(ids[0], candidates=ids, matched=normal, needs_confirmation=partial)

    def _place_named(self, normal: str) -> AreaMatch:
        """A council or town anywhere in the UK, named in the text (longest name first)."""
        lowered = normal.lower()
        ids = self._place_names.get(lowered)
        if ids is None:
            for name in self._place_names_longest_first:
                if (
                    len(name) > 3
                    and name not in self.places.whole_message_only
                    and re.search(rf"\b{re.escape(name)}\b", lowered)
                ):
                    ids = self._place_names[name]
                    break
        if not ids:
            return AreaMatch(None)
        return self.place_of_councils(ids, matched=normal)

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
