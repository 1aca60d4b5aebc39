"""What the conversation knows about the person. Plain data, no Rasa."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Profile:
    """Facts about the person the conversation is about. None means 'not known'."""

    role: str = "self"  # self | patient | helper: who is talking, and so how we phrase
    work_status: str | None = None
    weeks_off_sick: float | None = None
    has_fit_note: bool | None = None
    condition_category: str | None = None
    area_id: str | None = None
    locality: str | None = None  # the part of the area, where a service is limited to one
    gp_surgery_id: str | None = None
    age: int | None = None
    ready_to_work: str | None = None
    benefits: frozenset[str] = field(default_factory=frozenset)
    circumstances: frozenset[str] = field(default_factory=frozenset)

    @property
    def weeks_out_of_work(self) -> float | None:
        """The time said by someone out of work ("unemployed about 2 yrs") is time out of work."""
        return self.weeks_off_sick if self.work_status == "out_of_work" else None
