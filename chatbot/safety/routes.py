"""The urgent-help answer, worded for the level, the kind of risk, who is telling us and where.

Everything said comes from knowledge/safety/routes.yaml (reviewed, each number
with its official source and the date it was checked). A reply is at most two
messages: the lead and the routes for the person's nation, then either the check
question or the offer to carry on. Several categories share one list, most
urgent first, each route once.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

from chatbot.config import load_settings
from chatbot.safety.patterns import CATEGORIES

OFFER_CONTINUE = "I'm still here. When you feel ready, we can carry on, or you can come back at any time."
CLEARED = "Thank you for telling me. If that changes, help is there day or night: {routes}."
PROFESSIONAL_ROLE = "patient"  # the user_role slot when a professional asks about a patient


@dataclass(frozen=True)
class CrisisReply:
    messages: tuple[str, ...]


class Routes:
    def __init__(self, data: dict):
        self._routes = data["routes"]
        self._categories = data["categories"]
        self._default_nation = data.get("default_nation", "england")
        self._help_now = data.get("help_now", ["emergency_999", "samaritans"])

    def reply(
        self, level: str, categories: list[str], about: str, role: str | None, nation: str | None
    ) -> CrisisReply:
        nation = nation or self._default_nation
        ordered = [c for c in CATEGORIES if c in categories and c != "someone_else"] or ["suicide_self_harm"]
        if role == PROFESSIONAL_ROLE:
            entries = [self._professional(level, ordered)]
        else:
            person = "other" if about == "other" or role == "helper" else "self"
            entries = [self._entry(c, level, person) for c in ordered]
        lead = entries[0].get("lead", "")
        route_ids = [r for e in entries for r in e.get("routes", []) + e.get("then_routes", [])]
        if level == "check":  # beside the question, 999 always comes first: the danger may be now
            route_ids = ["emergency_999", *route_ids]
        routes = self._lines(route_ids, nation)
        body = lead + ("\n\n" + "\n".join(f"- {line}" for line in routes) if routes else "")
        if level == "check":
            question = next((e["question"] for e in entries if e.get("question")), "Are you safe right now?")
            return CrisisReply((body, question))
        return CrisisReply((body, OFFER_CONTINUE))

    def cleared(self, nation: str | None) -> str:
        lines = self._lines(["samaritans", "emergency_999"], nation or self._default_nation)
        return CLEARED.format(routes="; ".join(line.rstrip(".") for line in lines))

    def help_now(self, nation: str | None) -> list[str]:
        """The lines for a page the person keeps: help in a crisis later, for their nation."""
        return self._lines(self._help_now, nation or self._default_nation)

    def _entry(self, category: str, level: str, person: str) -> dict:
        by_level = self._categories[category].get(level) or self._categories[category]["urgent"]
        return by_level.get(person) or next(iter(by_level.values()))

    def _professional(self, level: str, ordered: list[str]) -> dict:
        by_level = self._categories["professional"].get(level) or self._categories["professional"]["urgent"]
        kind = "child" if "child_at_risk" in ordered else "abuse" if ordered[0] == "abuse" else "patient"
        entry = dict(by_level.get(kind) or by_level["patient"])
        if ordered[0] in ("overdose", "medical_emergency"):
            # The patient's own emergency wording first: 999 or A&E now is the same for everyone.
            own = self._entry(ordered[0], "urgent", "other")
            entry = {**entry, "lead": own["lead"], "routes": own["routes"] + entry.get("routes", [])}
        return entry

    def _lines(self, route_ids: list[str], nation: str) -> list[str]:
        lines: list[str] = []
        for route_id in dict.fromkeys(route_ids):
            route = self._routes[route_id]
            if nation in route.get("nations", [nation]) and route["text"] not in lines:
                lines.append(route["text"])
        return lines


def nation_of(area_id: str | None) -> str | None:
    """The nation of an area of knowledge/areas.yaml (a nation is an area too), if known."""
    if not area_id:
        return None
    from chatbot.knowledge.runtime import current_catalogue  # the catalogue is loaded lazily

    return current_catalogue().nation_of(area_id) or "england"


@lru_cache(maxsize=1)
def load_routes(path: Path | None = None) -> Routes:
    path = path or load_settings().knowledge_dir / "safety" / "routes.yaml"
    return Routes(yaml.safe_load(Path(path).read_text(encoding="utf-8")))
