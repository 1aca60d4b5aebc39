"""Free text about how long someone has been off, turned into weeks."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chatbot.nlu.durations import find_durations

TODAY = dt.date(2026, 11, 24)  # a Tuesday


def weeks(text: str, today: dt.date = TODAY) -> list[float]:
    return [d.weeks for d in find_durations(text, today)]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("six weeks", 6.0),
        ("a fortnight", 2.0),
        ("2 months", 8.7),
        ("3 days", 0.4),
        ("6wks", 6.0),
        ("a couple of weeks", 2.0),
        ("a year and a half", 78.0),
        ("two and a half months", 10.8),
        ("about 8 weeks", 8.0),
        ("since March", 38.3),  # 1 March 2026 to 24 November 2026
        ("since early march", 37.7),
        ("since last october", 7.7),  # 1 October
        ("since the 3rd of may", 29.3),
        ("since just after Christmas", 47.4),  # 27 December 2025
        ("since boxing day", 47.6),
        ("since 12/10", 6.1),
    ],
)
def test_duration_in_weeks(text, expected):
    assert weeks(text) == [expected]


def test_a_month_later_in_the_year_means_last_year():
    # In January, "since March" is ten months back, not a date in the future.
    assert weeks("since March", dt.date(2027, 1, 10)) == [45.0]


@pytest.mark.parametrize(
    "text", ["I work 3 days a week", "how much sick pay do i get a week", "back in 5", "hello"]
)
def test_rates_and_other_numbers_are_not_durations(text):
    assert weeks(text) == []


def test_span_covers_the_words_that_say_it():
    text = "been signed off since early march, i'm in islington"
    (found,) = find_durations(text, TODAY)
    assert text[found.start : found.end] == "since early march"


@given(st.text(max_size=300))
def test_any_text_gives_sane_durations(text):
    for d in find_durations(text, TODAY):
        assert 0 <= d.weeks and 0 <= d.start < d.end <= len(text)
