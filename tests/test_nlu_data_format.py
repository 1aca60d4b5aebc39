"""Every NLU example is a list item: Rasa silently skips a line without "- " (only a warning)."""

from __future__ import annotations

import pytest
import yaml

from chatbot.config import PROJECT_ROOT

NLU_FILES = sorted((PROJECT_ROOT / "data" / "nlu").glob("*.yml"))


@pytest.mark.parametrize("path", NLU_FILES, ids=lambda p: p.name)
def test_every_example_line_is_a_list_item(path):
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    skipped = [
        (item.get("intent"), line.strip())
        for item in data.get("nlu", [])
        for line in (item.get("examples") or "").splitlines()
        if line.strip() and not line.lstrip().startswith("- ")
    ]
    assert skipped == []
