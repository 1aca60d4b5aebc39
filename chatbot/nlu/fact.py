"""A fact found in a message: which slot, its value, and where it was said."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Fact:
    entity: str
    value: str
    start: int
    end: int
