"""Read Rasa NLU training examples as plain text, for checks and benchmarks."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

_ENTITY_MARKUP = re.compile(r"\[([^\]]+)\]\([^)]*\)")


def plain_examples(nlu_path: Path, exclude_intents: tuple[str, ...] = ()) -> list[tuple[str, str]]:
    """(intent, text) for every example, with entity markup removed."""
    data = yaml.safe_load(Path(nlu_path).read_text(encoding="utf-8"))
    examples = []
    for block in data.get("nlu", []):
        intent = block.get("intent")
        if intent is None or intent in exclude_intents:
            continue
        for line in block["examples"].splitlines():
            text = _ENTITY_MARKUP.sub(r"\1", line.strip().removeprefix("-").strip())
            if text:
                examples.append((intent, text))
    return examples
