"""The status wording in knowledge/referrals/status.yaml, and the call-back team per area."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import sys

import pytest
import yaml

from chatbot.config import PROJECT_ROOT
from chatbot.referrals.models import REFERRAL_STATUSES
from chatbot.referrals.status_wording import read_status_wording, readable_day

STATUS_FILE = PROJECT_ROOT / "knowledge" / "referrals" / "status.yaml"
WHEN = dt.datetime(2026, 11, 24, 15, 0, tzinfo=dt.timezone.utc)


@pytest.fixture(scope="module")
def wording():
    return read_status_wording(STATUS_FILE)


@pytest.mark.parametrize("status", REFERRAL_STATUSES)
def test_every_status_is_said_with_the_service_and_no_placeholder_left(wording, status):
    text = wording.describe(status, "HW-7K3MQ-9PXA1", "iWork", WHEN, "self", "Call them on 0000.")
    assert "iWork" in text or "HW-7K3MQ-9PXA1" in text
    assert "{" not in text and "}" not in text


def test_dates_are_plain_days():
    assert readable_day(WHEN) == "Tuesday 24 November"


def test_a_professional_hears_about_the_patient(wording):
    text = wording.describe("contacted", "HW-7K3MQ-9PXA1", "iWork", WHEN, "patient", "")
    assert text == "iWork told us they spoke to the patient on Tuesday 24 November."


def test_overdue_is_honest_and_gives_the_way_forward(wording):
    text = wording.overdue("iWork", 10, "self", "Ring 0000.")
    assert "within 10 working days" in text and "Ring 0000." in text and "call you back" in text


def _copy_with(tmp_path, change):
    data = yaml.safe_load(STATUS_FILE.read_text())
    change(data)
    path = tmp_path / "status.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_a_missing_status_fails_validation(tmp_path):
    path = _copy_with(tmp_path, lambda d: d["statuses"].pop("declined"))
    with pytest.raises(ValueError, match="declined"):
        read_status_wording(path)


def test_a_misspelt_placeholder_fails_validation(tmp_path):
    path = _copy_with(tmp_path, lambda d: d["statuses"].update(delivered="{servise} has it"))
    with pytest.raises(ValueError, match="delivered"):
        read_status_wording(path)


def test_kb_validate_fails_on_bad_status_wording(tmp_path):
    knowledge = tmp_path / "knowledge"
    shutil.copytree(PROJECT_ROOT / "knowledge", knowledge)
    (knowledge / "referrals" / "status.yaml").write_text("version: 1\nstatuses: {}\n")
    result = subprocess.run(
        [sys.executable, "-m", "chatbot", "kb", "validate"],
        env={**os.environ, "KNOWLEDGE_DIR": str(knowledge)},
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
    )
    assert result.returncode == 1
    assert "status.yaml" in result.stderr


@pytest.mark.parametrize(
    ("area_id", "team"),
    [("islington", "islington-iwork"), ("tower-hamlets", "tower-hamlets-work-path"), ("manchester", None),
     ("nottinghamshire", None), ("england", None)],
)  # fmt: skip
def test_each_area_has_its_call_back_team_or_none(catalogue, area_id, team):
    found = catalogue.single_point_of_access(area_id)
    assert (found.id if found else None) == team
