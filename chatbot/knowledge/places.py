"""Every UK council, and postcode areas and districts, from knowledge/places/.

The catalogue's own areas (knowledge/areas.yaml) are the places we hold local
services for. This is the rest of the UK: so that "Cardiff", "Stretford" or "G12"
is placed in its council and nation, never taken for England, and gets that
nation's national routes with an honest "no local services here yet".

Geography is reference data, not a deployment's catalogue, so it is read from the
files (cached), not through the knowledge database.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

_DISTRICT = re.compile(r"^(?P<area>[A-Z]{1,2})[0-9]")


@dataclass(frozen=True)
class Council:
    id: str
    name: str
    nation: str
    kind: str
    aliases: tuple[str, ...] = ()
    towns: tuple[str, ...] = ()
    within: str | None = None  # the county a district council lies in


@dataclass(frozen=True)
class Places:
    councils: dict[str, Council]
    area_nations: dict[str, tuple[str, ...]]  # postcode area ("CF") -> nations
    districts: dict[str, tuple[str, ...]]  # outward code ("CF10") -> council ids, most homes first
    whole_message_only: frozenset[str]  # names that are everyday words ("March", "Sale")

    def names(self) -> dict[str, tuple[str, ...]]:
        """Every name, alias and town, lower case, with the councils it names."""
        out: dict[str, set[str]] = {}
        for c in self.councils.values():
            for name in (c.name, *c.aliases, *c.towns):
                out.setdefault(_key(name), set()).add(c.id)
        return {name: tuple(sorted(ids)) for name, ids in out.items() if name}

    def councils_of_postcode(self, district: str) -> tuple[str, ...]:
        return self.districts.get(district.upper(), ())

    def nations_of_postcode(self, district: str) -> tuple[str, ...]:
        """The nations a district lies in: from its councils, else from its postcode area."""
        councils = self.councils_of_postcode(district)
        if councils:
            return tuple(dict.fromkeys(self.councils[c].nation for c in councils if c in self.councils))
        m = _DISTRICT.match(district.upper())
        return self.area_nations.get(m.group("area"), ()) if m else ()

    def is_postcode_district(self, district: str) -> bool:
        m = _DISTRICT.match(district.upper())
        return district.upper() in self.districts or bool(m and m.group("area") in self.area_nations)


def _key(name: str) -> str:
    return " ".join(str(name).lower().replace("'", "").replace("\u2019", "").split())


@lru_cache(maxsize=4)
def load_places(knowledge_dir: Path) -> Places:
    folder = Path(knowledge_dir) / "places"
    councils_data = yaml.safe_load((folder / "councils.yaml").read_text(encoding="utf-8"))
    postcodes = yaml.safe_load((folder / "postcodes.yaml").read_text(encoding="utf-8"))
    councils = {
        c["id"]: Council(
            id=c["id"],
            name=c["name"],
            nation=c["nation"],
            kind=c.get("kind", ""),
            aliases=tuple(c.get("aliases") or ()),
            towns=tuple(c.get("towns") or ()),
            within=c.get("within"),
        )
        for c in councils_data["councils"]
    }
    return Places(
        councils=councils,
        area_nations={k: tuple(v) for k, v in (postcodes.get("areas") or {}).items()},
        districts={k.upper(): tuple(v) for k, v in (postcodes.get("districts") or {}).items()},
        whole_message_only=frozenset(_key(n) for n in councils_data.get("whole_message_only") or ()),
    )
