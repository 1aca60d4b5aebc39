"""The parts a warm referral is built from: contact checks, encryption, references."""

from __future__ import annotations

import os
import stat

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chatbot.referrals.contact import check_best_time, check_email, check_name, check_uk_phone
from chatbot.referrals.crypto import KEY_ENV, ContactCipher, load_key
from chatbot.referrals.reference import new_reference, normalise_reference


@pytest.mark.parametrize(
    "typed, stored",
    [
        ("07911 123456", "+447911123456"),
        ("+44 7911 123456", "+447911123456"),
        ("020 7946 0018", "+442079460018"),
        ("(0161) 496 0000", "+441614960000"),
    ],
)
def test_real_uk_numbers_are_kept_in_one_form(typed, stored):
    assert check_uk_phone(typed).value == stored


@pytest.mark.parametrize(
    "typed", ["", "12345", "07700", "+1 202 555 0143", "call me", "0770090012345678", "😀"]
)
def test_other_numbers_get_a_kind_message(typed):
    checked = check_uk_phone(typed)
    assert not checked.ok and "UK phone number" in checked.problem


def test_emails_are_checked_without_looking_them_up():
    assert check_email(" Sam.Smith@Example.org ").value == "Sam.Smith@example.org"
    for wrong in ["", "sam", "sam@", "@example.org", "sam@@example.org", "<script>@x.org"]:
        assert not check_email(wrong).ok


def test_names_are_tidied_and_odd_ones_refused():
    assert check_name("  Sam   Smith ").value == "Sam Smith"
    assert check_name("Zoë O'Neill-Ng").ok
    for wrong in ["", "   ", "12345", "<b>Sam</b>", "x" * 81]:
        assert not check_name(wrong).ok


def test_best_time_is_one_of_the_choices():
    assert check_best_time("Morning").value == "morning"
    assert not check_best_time("3am").ok


def test_contact_details_round_trip_and_are_unreadable_at_rest(tmp_path, monkeypatch):
    monkeypatch.delenv(KEY_ENV, raising=False)
    cipher = ContactCipher(load_key(tmp_path))
    token = cipher.encrypt("07700 900123")
    assert b"07700" not in token
    assert cipher.decrypt(token) == "07700 900123"


def test_the_generated_key_is_for_its_owner_only_and_kept(tmp_path, monkeypatch):
    monkeypatch.delenv(KEY_ENV, raising=False)
    first = load_key(tmp_path)
    mode = stat.S_IMODE(os.stat(tmp_path / "referral.key").st_mode)
    assert mode == 0o600
    assert load_key(tmp_path) == first


def test_a_wrong_key_says_what_to_check(tmp_path, monkeypatch):
    monkeypatch.delenv(KEY_ENV, raising=False)
    token = ContactCipher(load_key(tmp_path)).encrypt("secret")
    monkeypatch.setenv(KEY_ENV, "0" * 43 + "=")
    with pytest.raises(ValueError, match=KEY_ENV):
        ContactCipher(load_key(tmp_path)).decrypt(token)


def test_references_are_unique_and_read_back_however_typed():
    references = {new_reference() for _ in range(2000)}
    assert len(references) == 2000
    reference = next(iter(references))
    typed = reference.lower().replace("-", " ")
    assert normalise_reference(typed) == reference


@given(st.text(max_size=40))
def test_any_text_is_a_valid_reference_or_none(text):
    result = normalise_reference(text)
    assert result is None or normalise_reference(result) == result
