"""What the conversation has shown lately: the risk engine's memory.

After a worrying message, the next few are read more carefully ("goodbye" after
"I've been saving my tablets" is urgent), and a check question waits for its
answer. The memory is built from the risk the NLU attached to earlier user
messages (`parse_data["risk"]`: a level and categories, never text), so it
survives restarts and needs nothing stored beside the conversation.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

MEMORY_TURNS = 4  # user messages after a signal that are read with lower thresholds
MEMORY_SECONDS = 30 * 60  # and no longer than this
LEVELS = ("none", "check", "urgent")
TRACE_KEY = "risk_trace"  # in parse_data: what the next message is read with (classifier.trace)


@dataclass(frozen=True)
class RecentSignals:
    level: str  # the highest level within the window: none, check or urgent
    categories: tuple[str, ...]  # of the most recent signal
    pending_check: bool  # the last message was met with the check question, not yet answered
    last_urgent: bool = False  # the last message got the urgent routes
    last_repeated: bool = False  # ...or the check question, and that was already a repeat
    previous: tuple[float, ...] = ()  # the last message's classifier trace (numbers, never text)

    @classmethod
    def none(cls) -> RecentSignals:
        return cls("none", (), False)

    @property
    def active(self) -> bool:
        return self.level != "none"

    def after(self, assessment: Any) -> RecentSignals:
        """The memory once `assessment` (a chatbot.safety.Assessment) has been answered."""
        if assessment.level == "none":
            return RecentSignals(self.level, self.categories, False, previous=assessment.trace)
        return RecentSignals(
            _higher(self.level, assessment.level), assessment.categories, assessment.level == "check",
            assessment.level == "urgent", "repeat" in assessment.layers, assessment.trace,
        )  # fmt: skip

    @classmethod
    def from_risks(
        cls, risks_newest_first: Iterable[dict[str, Any] | None], previous: tuple[float, ...] = ()
    ) -> RecentSignals:
        """From the `risk` of recent user messages, newest first (None where a message had none),
        and the newest one's classifier trace."""
        level, categories, pending = "none", (), False
        last_urgent = last_repeated = False
        for turn, risk in enumerate(risks_newest_first):
            if turn >= MEMORY_TURNS:
                break
            if not risk or risk.get("level") not in ("check", "urgent"):
                continue
            if not categories:
                categories = tuple(risk.get("categories") or ())
                pending = turn == 0 and risk["level"] == "check"
            if turn == 0:
                last_urgent, last_repeated = risk["level"] == "urgent", bool(risk.get("repeat"))
            level = _higher(level, risk["level"])
        return cls(level, categories, pending, last_urgent, last_repeated, previous)

    @classmethod
    def from_tracker(cls, tracker: Any, now: float | None = None) -> RecentSignals:
        """From a Rasa DialogueStateTracker's recent user messages."""
        if tracker is None:
            return cls.none()
        now = time.time() if now is None else now
        risks: list[dict[str, Any] | None] = []
        previous: tuple[float, ...] = ()
        for event in reversed(tracker.events):
            kind = getattr(event, "type_name", None)
            if kind in ("restart", "session_started"):
                break  # a new start forgets what came before it
            if kind != "user":
                continue
            if now - (event.timestamp or now) > MEMORY_SECONDS or len(risks) >= MEMORY_TURNS:
                break
            parse_data = event.parse_data or {}
            if not risks:
                previous = tuple(float(v) for v in parse_data.get(TRACE_KEY) or ())
            risks.append(parse_data.get("risk"))
        return cls.from_risks(risks, previous)


def _higher(a: str, b: str) -> str:
    return a if LEVELS.index(a) >= LEVELS.index(b) else b
