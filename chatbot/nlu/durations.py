"""How long someone has been off: free text to weeks, relative to today.

Our own small rules rather than a general date parser: the phrases people use
here are few ("six weeks", "a fortnight", "since March", "since just after
Christmas"), and a general parser guesses wildly on everything else
("back in 5" is not a date). Each rule is tested in tests/test_durations.py.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

WORD_NUMBERS = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
    "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12,
    "thirteen": 13, "fourteen": 14, "fifteen": 15, "sixteen": 16, "eighteen": 18,
    "twenty": 20, "thirty": 30, "couple of": 2, "a couple of": 2, "couple": 2,
    "few": 3, "a few": 3, "several": 4, "half a": 0.5, "half an": 0.5,
}  # fmt: skip
WEEKS_PER_UNIT = {"day": 1 / 7, "week": 1.0, "fortnight": 2.0, "month": 52 / 12, "year": 52.0}
UNIT_SPELLINGS = {
    "day": ["days", "day", "dys"],
    "week": ["weeks", "week", "wks", "wk", "weks", "weeeks"],
    "fortnight": ["fortnights", "fortnight", "fortnite"],
    "month": ["months", "month", "mnths", "mths", "mnth", "mth", "monts", "moths"],
    "year": ["years", "year", "yrs", "yr"],
}
MONTHS = {
    "january": 1, "jan": 1, "february": 2, "feb": 2, "march": 3, "mar": 3, "april": 4, "apr": 4,
    "may": 5, "june": 6, "jun": 6, "july": 7, "jul": 7, "august": 8, "aug": 8,
    "september": 9, "sept": 9, "sep": 9, "october": 10, "oct": 10, "november": 11, "nov": 11,
    "december": 12, "dec": 12,
}  # fmt: skip
# Where in a month "early", "mid" and "late" put the start.
PART_OF_MONTH = {"early": 5, "the start of": 3, "the beginning of": 3, "mid": 15, "the middle of": 15,
                 "late": 25, "the end of": 27}  # fmt: skip

_unit_of = {spelling: unit for unit, spellings in UNIT_SPELLINGS.items() for spelling in spellings}
_number = r"\d+(?:\.\d+)?|" + "|".join(sorted((re.escape(w) for w in WORD_NUMBERS), key=len, reverse=True))
_units = "|".join(sorted(_unit_of, key=len, reverse=True))
_months = "|".join(sorted(MONTHS, key=len, reverse=True))
_parts = "|".join(sorted((re.escape(p) for p in PART_OF_MONTH), key=len, reverse=True))

_AMOUNT = re.compile(
    rf"(?<![\w.])(?:a\s+)?(?P<num>{_number})\s*(?P<half1>and\s+a\s+half\s+)?(?:-\s*)?(?P<unit>{_units})"
    rf"(?P<half2>\s+and\s+a\s+half)?(?!\w)",
    re.IGNORECASE,
)
# "3 days a week" says how often, not how long.
_RATE_AFTER = re.compile(r"\s*(?:a|per|each|every)\s+(?:week|wk|month|day|year)\b", re.IGNORECASE)
_RATE_BEFORE = re.compile(
    r"(?:days?|times?|hours?|hrs|shifts?|once|twice|get|paid|pay|earn|earning|£\d+)\s*$", re.IGNORECASE
)

_SINCE = re.compile(
    rf"\bsince\s+(?:(?:about|around|roughly|approx|approximately|like)\s+)?(?:(?:just\s+)?(?P<rel>after|before)\s+)?(?:(?P<part>{_parts})\s+)?(?:(?:about|around)\s+)?"
    rf"(?:the\s+)?(?:"
    rf"(?P<day1>\d{{1,2}})(?:st|nd|rd|th)?(?:\s+of)?\s+(?P<month1>{_months})\b"
    rf"|(?P<month2>{_months})\s+(?P<day2>\d{{1,2}})(?:st|nd|rd|th)?\b"
    rf"|(?:last\s+)?(?P<month>{_months})\b"
    rf"|(?P<dd>\d{{1,2}})/(?P<mm>\d{{1,2}})(?:/(?P<yy>\d{{2,4}}))?"
    rf"|(?P<feast>christmas|xmas|boxing\s+day|new\s+year|easter|the\s+summer|summer|yesterday)"
    rf"|last\s+(?P<last>week|month|year|monday|tuesday|wednesday|thursday|friday|saturday|sunday)"
    rf")",
    re.IGNORECASE,
)
# Clinical shorthand: "12/52" is 12 weeks, "3/12" three months, "5/7" five days.
_CLINICAL = re.compile(r"(?<![\d/])(?P<n>\d{1,2})/(?P<of>52|12|7)(?![\d/])")
_CLINICAL_WEEKS = {"52": 1.0, "12": 52 / 12, "7": 1 / 7}
_WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]


@dataclass(frozen=True)
class Duration:
    start: int
    end: int
    weeks: float


def find_durations(text: str, today: dt.date) -> list[Duration]:
    """Every duration in the text, as weeks up to today (a week is 7 days)."""
    found: list[Duration] = []
    for m in _SINCE.finditer(text):
        started = _since_date(m, today)
        if started is not None and started <= today:
            found.append(Duration(m.start(), m.end(), round((today - started).days / 7, 1)))
    for m in _CLINICAL.finditer(text):
        if not any(d.start <= m.start() < d.end for d in found):
            found.append(Duration(m.start(), m.end(), round(int(m["n"]) * _CLINICAL_WEEKS[m["of"]], 1)))
    for m in _AMOUNT.finditer(text):
        if (
            _RATE_AFTER.match(text, m.end())
            or _RATE_BEFORE.search(text, 0, m.start())
            or any(d.start <= m.start() < d.end for d in found)
        ):
            continue
        raw = m.group("num").lower()
        amount = float(raw) if raw[0].isdigit() else WORD_NUMBERS[raw]
        if m.group("half1") or m.group("half2"):
            amount += 0.5
        unit = _unit_of[m.group("unit").lower()]
        # The span starts at the number: "a fortnight", but "couple of weeks" without "a".
        found.append(Duration(m.start("num"), m.end(), round(amount * WEEKS_PER_UNIT[unit], 1)))
    return sorted(found, key=lambda d: d.start)


def _since_date(m: re.Match, today: dt.date) -> dt.date | None:
    g = {k: (v.lower() if isinstance(v, str) else v) for k, v in m.groupdict().items()}
    part_day = PART_OF_MONTH.get(re.sub(r"\s+", " ", g["part"])) if g["part"] else None
    if g["month1"] or g["month2"]:
        return _last(today, MONTHS[g["month1"] or g["month2"]], int(g["day1"] or g["day2"]))
    if g["month"]:
        return _last(today, MONTHS[g["month"]], part_day or 1)
    if g["dd"]:
        day, month = int(g["dd"]), int(g["mm"])
        if not (1 <= month <= 12 and 1 <= day <= 31):
            return None
        if g["yy"]:
            year = int(g["yy"]) + (2000 if len(g["yy"]) == 2 else 0)
            return _safe_date(year, month, day)
        return _last(today, month, day)
    if g["feast"]:
        feast = re.sub(r"\s+", " ", g["feast"])
        shift = {"after": 2, "before": -3}.get(g["rel"] or "", 0)
        if feast in ("christmas", "xmas"):
            return _shift(_last(today, 12, 25), shift)
        if feast == "boxing day":
            return _shift(_last(today, 12, 26), shift)
        if feast == "new year":
            return _shift(_last(today, 1, 1), shift)
        if feast == "easter":
            easter = _easter(today.year)
            return _shift(easter if easter <= today else _easter(today.year - 1), shift)
        if feast in ("summer", "the summer"):
            return _last(today, 7, 1)
        return today - dt.timedelta(days=1)  # yesterday
    if g["last"]:
        last = g["last"]
        if last in _WEEKDAYS:
            back = (today.weekday() - _WEEKDAYS.index(last)) % 7 or 7
            return today - dt.timedelta(days=back)
        return today - dt.timedelta(days={"week": 7, "month": 30, "year": 365}[last])
    return None


def _last(today: dt.date, month: int, day: int) -> dt.date | None:
    """The latest date with this month and day that is not after today."""
    this_year = _safe_date(today.year, month, day)
    if this_year is None:
        return None
    return this_year if this_year <= today else _safe_date(today.year - 1, month, day)


def _safe_date(year: int, month: int, day: int) -> dt.date | None:
    try:
        return dt.date(year, month, day)
    except ValueError:
        return None


def _shift(date: dt.date | None, days: int) -> dt.date | None:
    return date + dt.timedelta(days=days) if date else None


def _easter(year: int) -> dt.date:
    """Easter Sunday (the anonymous Gregorian algorithm)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = b // 4, b % 4
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = c // 4, c % 4
    l_ = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * l_) // 114
    month, day = divmod(h + l_ - 7 * m + 114, 31)
    return dt.date(year, month, day + 1)
