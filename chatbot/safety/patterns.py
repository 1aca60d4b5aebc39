"""Rule-based risk detection that runs on every message.

It does not rest on the intent classifier: the messages that matter most are
often indirect, misspelt or buried in a long message, which is where a
classifier is least sure. Patterns live in knowledge/safety/risk_patterns.yaml.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

from chatbot.config import load_settings

# The order in which categories shape the answer when several match.
CATEGORY_ORDER = ("medical_emergency", "overdose", "suicide", "self_harm", "abuse")
MAX_CHARS = 20_000  # risk can hide anywhere; beyond this we check the start and the end


@dataclass(frozen=True)
class RiskAssessment:
    categories: tuple[str, ...]  # empty when no risk was seen

    @property
    def at_risk(self) -> bool:
        return bool(self.categories)


class RiskDetector:
    def __init__(self, rewrite: dict[str, str], idioms: list[str], categories: dict[str, list[str]]):
        words = sorted(rewrite, key=len, reverse=True)
        self._rewrite = {w: rewrite[w] or "" for w in words}
        self._rewrite_re = re.compile(r"(?<![\w'])(" + "|".join(re.escape(w) for w in words) + r")(?![\w'])")
        self._idioms = [re.compile(p) for p in idioms]
        self._categories = {name: [re.compile(p) for p in patterns] for name, patterns in categories.items()}
        unknown = set(self._categories) - set(CATEGORY_ORDER)
        if unknown:
            raise ValueError(f"risk_patterns.yaml: unknown categories {sorted(unknown)}")

    def normalise(self, text: str) -> str:
        text = unicodedata.normalize("NFKC", text or "").lower()
        text = text.replace("\u2019", "'").replace("\u2018", "'")
        text = re.sub(r"[^\w\s']", " ", text)
        text = re.sub(r"\s+", " ", text).strip()
        text = self._rewrite_re.sub(lambda m: self._rewrite[m.group(1)], text)
        text = text.replace("'", "")
        return re.sub(r"\s+", " ", text).strip()

    def assess(self, text: str) -> RiskAssessment:
        if not text:
            return RiskAssessment(())
        if len(text) > MAX_CHARS:
            text = text[: MAX_CHARS // 2] + " \n " + text[-MAX_CHARS // 2 :]
        normal = self.normalise(text)
        for idiom in self._idioms:
            normal = idiom.sub(" ", normal)
        found = [
            name for name in CATEGORY_ORDER if any(p.search(normal) for p in self._categories.get(name, ()))
        ]
        return RiskAssessment(tuple(found))


@lru_cache(maxsize=4)
def load_detector(path: Path | None = None) -> RiskDetector:
    path = path or load_settings().knowledge_dir / "safety" / "risk_patterns.yaml"
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    return RiskDetector(data.get("rewrite", {}), data.get("idioms", []), data["categories"])


def assess_risk(text: str) -> RiskAssessment:
    return load_detector().assess(text)
