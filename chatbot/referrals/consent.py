"""The consent wording, from knowledge/referrals/consent.yaml.

A consent record stores `Wording.version`: the reviewed version plus a short
hash of the exact text, so every record names the words the person saw.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

from chatbot.config import load_settings

TEXT_FIELDS = (
    "self",
    "patient",
    "helper_cannot_consent",
    "yes_button_self",
    "no_button_self",
    "yes_button_patient",
    "no_button_patient",
    "ask_again",
    "ask_again_patient",
    "not_theirs_to_give_patient",
    "confirm_own_words_patient",
    "confirm_yes_button_patient",
)


@dataclass(frozen=True)
class Wording:
    version: str
    items: dict[str, dict[str, str]]  # item -> {"self": ..., "patient": ...}
    texts: dict[str, str]

    def data_items(self, facts: dict[str, object], role: str) -> list[str]:
        """The items that will really be shared, in reading order."""
        contact = ["name", "contact", "best_time"]
        shared = [key for key in self.items if key not in contact and facts.get(key) not in (None, "unknown")]
        who = "patient" if role == "patient" else "self"
        return [self.items[key][who] for key in contact + shared]

    def ask(self, service_name: str, facts: dict[str, object], role: str, retention_days: int) -> str:
        template = self.texts["patient" if role == "patient" else "self"]
        items = "\n".join(f"- {line}" for line in self.data_items(facts, role))
        return template.format(service=service_name, items=items, days=retention_days)

    def buttons(self, role: str) -> tuple[str, str]:
        who = "patient" if role == "patient" else "self"
        return self.texts[f"yes_button_{who}"], self.texts[f"no_button_{who}"]

    def ask_again(self, role: str) -> str:
        return self.texts["ask_again_patient" if role == "patient" else "ask_again"]


def read_wording(path: Path) -> Wording:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    texts = {name: str(data[name]) for name in TEXT_FIELDS}
    items = {str(k): {"self": str(v["self"]), "patient": str(v["patient"])} for k, v in data["items"].items()}
    digest = hashlib.sha256(json.dumps([texts, items], sort_keys=True).encode()).hexdigest()[:8]
    return Wording(version=f"{data['version']}+{digest}", items=items, texts=texts)


@lru_cache(maxsize=1)
def current_wording() -> Wording:
    return read_wording(load_settings().knowledge_dir / "referrals" / "consent.yaml")
