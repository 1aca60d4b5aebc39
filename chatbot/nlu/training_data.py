"""Read Rasa NLU training examples as plain text, for checks and benchmarks."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

_ENTITY_MARKUP = re.compile(r"\[([^\]]+)\](?:\([^)]*\)|\{[^}]*\})")


def plain_examples(nlu_path: Path, exclude_intents: tuple[str, ...] = ()) -> list[tuple[str, str]]:
    """(intent, text) for every example of a file, or of every .yml file in a folder, markup removed."""
    nlu_path = Path(nlu_path)
    files = sorted(nlu_path.glob("*.yml")) if nlu_path.is_dir() else [nlu_path]
    blocks = [b for f in files for b in yaml.safe_load(f.read_text(encoding="utf-8")).get("nlu", [])]
    examples = []
    for block in blocks:
        intent = block.get("intent")
        if intent is None or intent in exclude_intents:
            continue
        for line in block["examples"].splitlines():
            text = _ENTITY_MARKUP.sub(r"\1", line.strip().removeprefix("-").strip())
            if text:
                examples.append((intent, text))
    return examples
