"""Validation names the file, entry and field; a bad load changes nothing."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest
import sqlalchemy as sa
import yaml

from chatbot.config import PROJECT_ROOT
from chatbot.db import create_schema, make_engine, session_scope
from chatbot.knowledge.errors import KnowledgeError
from chatbot.knowledge.loader import read_knowledge
from chatbot.knowledge.models import ServiceRow
from chatbot.knowledge.store import read_knowledge_from_db, save_knowledge

SERVICES_MD_IDS = {
    "islington-ips",
    "islington-get-back-on-track",
    "islington-iwork",
    "islington-mental-health-working",
    "islington-aftercare",
    "islington-community-access-project",
    "islington-peer-mentoring",
    "islington-icope-jobcentre",
    "islington-working-better",
    "islington-future-ambitions",
    "tower-hamlets-work-path",
    "tower-hamlets-social-prescribing",
    "nottinghamshire-help-yourself",
    "nottinghamshire-talking-therapies-employment",
    "nottinghamshire-ips",
    "manchester-fit-for-work-in-work",
    "manchester-fit-for-work-out-of-work",
    "manchester-work-programme-leavers",
    "manchester-health-and-wellbeing-service",
    "manchester-ips",
    "national-work-and-health-programme",
    "national-jobcentre-plus",
    "national-connect-to-work",
    "national-workwell",
    "national-access-to-work",
    "national-nhs-talking-therapies",
}
EXPECTED_STATUS = {
    "islington-peer-mentoring": "planned",
    "islington-icope-jobcentre": "planned",
    "manchester-health-and-wellbeing-service": "planned",
    "islington-working-better": "ended",
    "national-work-and-health-programme": "ended",
    "scotland-fair-start-scotland": "ended",  # no new starts after 31 March 2024 (gov.scot)
}


@pytest.fixture
def knowledge_copy(tmp_path):
    root = tmp_path / "knowledge"
    shutil.copytree(PROJECT_ROOT / "knowledge", root)
    return root


def _edit(path, change):
    data = yaml.safe_load(path.read_text())
    change(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def test_every_catalogue_service_is_present_with_its_status(knowledge):
    ids = {s.id for s in knowledge.services}
    assert SERVICES_MD_IDS <= ids
    for s in knowledge.services:
        assert s.status == EXPECTED_STATUS.get(s.id, "active"), s.id
        assert s.sources and s.last_verified


def test_every_service_and_answer_has_a_source_and_date(knowledge):
    for entry in (*knowledge.services, *knowledge.answers):
        assert entry.sources, entry.id
        assert all(src.url or src.report for src in entry.sources)


def test_an_error_names_the_file_the_entry_and_the_field(knowledge_copy):
    path = knowledge_copy / "services" / "islington.yaml"
    _edit(path, lambda d: d["services"][0]["eligibility"].update(work_statuses=["on_holiday"]))
    with pytest.raises(KnowledgeError) as raised:
        read_knowledge(knowledge_copy)
    problem = raised.value.problems[0]
    assert problem.file == "services/islington.yaml"
    assert problem.entry
    assert problem.field == "work_statuses"
    assert "on_holiday" in problem.message


def test_unknown_references_and_duplicate_ids_are_reported(knowledge_copy):
    path = knowledge_copy / "services" / "national.yaml"

    def change(d):
        d["services"][0]["replaced_by"] = ["no-such-service"]
        d["services"].append(dict(d["services"][1]))

    _edit(path, change)
    with pytest.raises(KnowledgeError) as raised:
        read_knowledge(knowledge_copy)
    messages = " ".join(str(p) for p in raised.value.problems)
    assert "unknown id 'no-such-service'" in messages
    assert "duplicate id" in messages


def test_invalid_yaml_is_reported_not_crashed(knowledge_copy):
    (knowledge_copy / "answers" / "broken.yaml").write_text("answers: [unclosed\n")
    with pytest.raises(KnowledgeError, match="answers/broken.yaml: is not valid YAML"):
        read_knowledge(knowledge_copy)


def test_load_is_idempotent_and_round_trips(tmp_path, knowledge):
    engine = make_engine(f"sqlite:///{tmp_path / 'kb.db'}")
    create_schema(engine)
    for _ in range(2):
        with session_scope(engine) as session:
            save_knowledge(session, knowledge)
    with session_scope(engine) as session:
        assert session.execute(sa.select(sa.func.count()).select_from(ServiceRow)).scalar() == len(
            knowledge.services
        )
        again = read_knowledge_from_db(session)
    assert again.services == knowledge.services
    assert again.areas == knowledge.areas


def test_removed_entries_leave_the_database(tmp_path, knowledge_copy):
    engine = make_engine(f"sqlite:///{tmp_path / 'kb.db'}")
    create_schema(engine)
    with session_scope(engine) as session:
        save_knowledge(session, read_knowledge(knowledge_copy))
    _edit(
        knowledge_copy / "services" / "nottinghamshire.yaml",
        lambda d: d.update(services=[s for s in d["services"] if s["id"] != "nottinghamshire-ips"]),
    )
    with session_scope(engine) as session:
        save_knowledge(session, read_knowledge(knowledge_copy))
    with session_scope(engine) as session:
        assert session.get(ServiceRow, "nottinghamshire-ips") is None
        assert session.get(ServiceRow, "nottinghamshire-help-yourself") is not None


def _cli(*args, env_extra):
    import os

    env = {**os.environ, **env_extra}
    return subprocess.run(
        [sys.executable, "-m", "chatbot", *args],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_bad_file_changes_nothing_in_the_database(tmp_path, knowledge_copy):
    env = {"KNOWLEDGE_DIR": str(knowledge_copy), "DATABASE_URL": f"sqlite:///{tmp_path / 'kb.db'}"}
    assert _cli("kb", "load", env_extra=env).returncode == 0
    _edit(
        knowledge_copy / "services" / "islington.yaml",
        lambda d: (d["services"][0].update(name="Renamed"), d["services"][1].pop("referral")),
    )
    result = _cli("kb", "load", env_extra=env)
    assert result.returncode == 1
    assert "referral" in result.stderr and "Nothing was loaded" in result.stderr
    engine = make_engine(env["DATABASE_URL"])
    with session_scope(engine) as session:
        names = {row.name for row in session.execute(sa.select(ServiceRow)).scalars()}
    assert "Renamed" not in names


def test_cli_list_json_gives_id_name_status_areas():
    import json

    result = _cli("kb", "list", "--json", env_extra={})
    services = json.loads(result.stdout)
    assert {s["id"] for s in services} >= SERVICES_MD_IDS
    for s in services:
        assert {"id", "name", "status", "areas"} <= set(s)


def test_cli_show_and_stale(knowledge_copy):
    result = _cli("kb", "show", "islington-iwork", env_extra={})
    assert '"id": "islington-iwork"' in result.stdout
    missing = _cli("kb", "show", "nope", env_extra={})
    assert missing.returncode == 1 and "kb list" in missing.stderr
    _edit(
        knowledge_copy / "services" / "manchester.yaml",
        lambda d: d["services"][0].update(last_verified="2020-01-01"),
    )
    stale = _cli("kb", "stale", "--older-than", "365", env_extra={"KNOWLEDGE_DIR": str(knowledge_copy)})
    assert stale.returncode == 0
    assert "last verified 2020-01-01" in stale.stdout
    fresh = _cli("kb", "stale", "--older-than", "365", env_extra={})
    assert "Nothing is older" in fresh.stdout


def test_knowledge_loads_into_postgresql(knowledge):
    """The production database: the same code, another URL."""
    engine = make_engine("postgresql://postgres@127.0.0.1:5432/test")
    try:
        with engine.connect():
            pass
    except sa.exc.OperationalError as error:  # pragma: no cover - says what to do
        pytest.fail(f"PostgreSQL at 127.0.0.1:5432 (database test) is needed: {error}")
    from chatbot.db import Base

    Base.metadata.drop_all(engine)
    create_schema(engine)
    with session_scope(engine) as session:
        save_knowledge(session, knowledge)
    with session_scope(engine) as session:
        assert read_knowledge_from_db(session).services == knowledge.services
    Base.metadata.drop_all(engine)
