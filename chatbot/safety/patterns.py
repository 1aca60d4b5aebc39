"""The risk engine's floor: reviewed patterns that always raise the level.

Patterns live in knowledge/safety/risk_patterns.yaml, written by people and
reviewed: `categories` are signs of danger now (level urgent), `check` are
indirect signs met with the direct check question. They run over normalised text
(chatbot/safety/normalise.py), after everyday idioms ("my back is killing me")
are taken out. No other layer can lower what they find, except the narrow
past-and-resolved check for medical emergencies (chatbot/safety/engine.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# The engine's categories, in the order they shape the answer when several match.
CATEGORIES = ("medical_emergency", "overdose", "suicide_self_harm", "abuse", "child_at_risk", "someone_else")
# The YAML keeps suicide and self-harm apart (they are reviewed apart); both answer the same way.
YAML_CATEGORY = {"suicide": "suicide_self_harm", "self_harm": "suicide_self_harm"}


@dataclass(frozen=True)
class PatternFinding:
    urgent: tuple[str, ...]  # categories with a sign of danger now
    check: tuple[str, ...]  # categories with an indirect sign only


class RiskPatterns:
    def __init__(
        self,
        idioms: list[str],
        urgent: dict[str, list[str]],
        check: dict[str, list[str]],
        denials: list[str] = (),
    ):
        # One alternation each: a message is scanned once, not once per idiom.
        self._idioms = [re.compile("|".join(f"(?:{p})" for p in idioms))] if idioms else []
        self._denials = [re.compile("|".join(f"(?:{p})" for p in denials))] if denials else []
        self._urgent = self._compile(urgent)
        self._check = self._compile(check)

    @staticmethod
    def _compile(groups: dict[str, list[str]]) -> dict[str, list[re.Pattern]]:
        compiled: dict[str, list[re.Pattern]] = {}
        for name, patterns in groups.items():
            category = YAML_CATEGORY.get(name, name)
            if category not in CATEGORIES:
                raise ValueError(f"risk_patterns.yaml: unknown category {name!r}")
            compiled.setdefault(category, []).extend(re.compile(p) for p in patterns)
        return compiled

    def without_idioms(self, normal: str) -> str:
        for idiom in self._idioms:
            normal = idiom.sub(" ", normal)
        return normal

    def finds_any(self, normal: str, categories: frozenset[str]) -> set[str]:
        """Which of `categories` any pattern (urgent or check) finds: the engine's per-sentence look."""
        return {
            c for c in categories
            if any(p.search(normal) for p in (*self._urgent.get(c, ()), *self._check.get(c, ())))
        }  # fmt: skip

    def find(self, normal: str) -> PatternFinding:
        """Categories found in already normalised text, idioms already taken out.

        A sign found only inside an explicit denial ("not self harming", "denies suicidal
        thoughts") is not dropped: it gives the check question instead of the urgent list.
        """
        undenied = normal
        for denial in self._denials:
            undenied = denial.sub(" ", undenied)
        urgent = tuple(c for c in CATEGORIES if any(p.search(undenied) for p in self._urgent.get(c, ())))
        denied = tuple(
            c for c in CATEGORIES
            if c not in urgent and undenied != normal and any(p.search(normal) for p in self._urgent.get(c, ()))  # noqa: E501
        )  # fmt: skip
        check = tuple(
            c for c in CATEGORIES
            if c not in urgent and (c in denied or any(p.search(normal) for p in self._check.get(c, ())))
        )  # fmt: skip
        return PatternFinding(urgent, check)
