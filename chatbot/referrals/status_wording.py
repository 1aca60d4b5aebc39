"""How a referral's status is said in chat, from knowledge/referrals/status.yaml."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

from chatbot.config import load_settings
from chatbot.referrals.models import REFERRAL_STATUSES

TEXT_FIELDS = ("overdue", "call_back_button", "ask_reference", "not_found", "try_again")


@dataclass(frozen=True)
class StatusWording:
    version: str
    statuses: dict[str, str]
    texts: dict[str, str]

    def describe(
        self, status: str, reference: str, service: str, changed_at: dt.datetime, role: str, how_to: str
    ) -> str:
        return self.statuses[status].format(
            reference=reference, service=service, date=readable_day(changed_at), how_to=how_to, **_who(role)
        )

    def overdue(self, service: str, days: int, role: str, how_to: str) -> str:
        return self.texts["overdue"].format(service=service, days=days, how_to=how_to, **_who(role))


def _who(role: str) -> dict[str, str]:
    if role == "patient":
        return {"you": "the patient", "your": "the patient's"}
    return {"you": "you", "your": "your"}


def readable_day(value: dt.datetime) -> str:
    """ "Tuesday 24 November": plain, and no time zone to explain."""
    return f"{value:%A} {value.day} {value:%B}"


def read_status_wording(path: Path) -> StatusWording:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    statuses = {str(k): str(v) for k, v in data["statuses"].items()}
    missing = set(REFERRAL_STATUSES) - set(statuses)
    if missing:
        raise ValueError(f"{path.name}: no wording for status {', '.join(sorted(missing))}")
    wording = StatusWording(
        version=str(data["version"]), statuses=statuses, texts={k: str(data[k]) for k in TEXT_FIELDS}
    )
    _check_placeholders(wording)
    return wording


def _check_placeholders(wording: StatusWording) -> None:
    """A misspelt {placeholder} fails here, at validation, not in someone's conversation."""
    sample = dict(reference="HW-7K3MQ-9PXA1", service="S", date="D", how_to="H", days=5, **_who("self"))
    for name, text in [*wording.statuses.items(), *wording.texts.items()]:
        try:
            text.format(**sample)
        except (KeyError, IndexError, ValueError) as error:
            raise ValueError(f"status.yaml: {name} has a placeholder that is not known: {error}") from None


@lru_cache(maxsize=1)
def current_status_wording() -> StatusWording:
    return read_status_wording(load_settings().knowledge_dir / "referrals" / "status.yaml")
