"""Reason phrases from knowledge/phrases/reasons.yaml, said for the right listener."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import yaml

from chatbot.config import load_settings


class Reasons:
    def __init__(self, phrases: dict[str, dict[str, str]], labels: dict[str, dict[str, str]]):
        self._phrases = phrases
        self._labels = labels

    def say(self, key: str, role: str, **values: object) -> str:
        """The phrase for `key`, addressed to `role` (self, patient or helper)."""
        try:
            template = self._phrases[key][role]
        except KeyError as missing:
            raise KeyError(f"knowledge/phrases/reasons.yaml has no '{key}' for '{role}'") from missing
        return template.format(**values)

    def label(self, group: str, value: str | None) -> str:
        return self._labels.get(group, {}).get(value or "", value or "")


@lru_cache(maxsize=4)
def load_reasons(path: Path | None = None) -> Reasons:
    path = path or load_settings().knowledge_dir / "phrases" / "reasons.yaml"
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    return Reasons(data["reasons"], data.get("labels", {}))
