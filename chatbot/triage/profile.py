"""What the conversation knows about the person. Plain data, no Rasa."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Profile:
    """Facts about the person the conversation is about. None means 'not known'."""

    role: str = "self"  # self | patient | helper: who is talking, and so how we phrase
    work_status: str | None = None
    weeks_off_sick: float | None = None
    weeks_out_of_work: float | None = None  # said by someone out of work ("unemployed 2 years")
    has_fit_note: bool | None = None
    condition_category: str | None = None
    area_id: str | None = None
    locality: str | None = None  # the part of the area, where a service is limited to one
    gp_surgery_id: str | None = None
    age: int | None = None
    ready_to_work: str | None = None
    benefits: frozenset[str] = field(default_factory=frozenset)
    circumstances: frozenset[str] = field(default_factory=frozenset)
