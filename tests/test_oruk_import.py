"""Importing an Open Referral UK JSON export into a copy of knowledge/."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from chatbot.knowledge.loader import read_knowledge
from chatbot.knowledge.oruk import OrukImportError, import_oruk

PROJECT = Path(__file__).resolve().parent.parent
FIXTURE = Path(__file__).resolve().parent / "fixtures" / "oruk_export.json"

ISLINGTON_ID = "oruk-3f2b8c1e-7a4d-4e2b-9c61-0d5a7e21b4a9"
DEFUNCT_ID = "oruk-7d0e4b52-1f3c-4a8e-b2d9-6c5f1e3a8b70"
TOWER_HAMLETS_ID = "oruk-th-social-prescribing-0042"


@pytest.fixture
def kb(tmp_path: Path) -> Path:
    copy = tmp_path / "knowledge"
    shutil.copytree(PROJECT / "knowledge", copy)
    return copy


def _hashes(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def _export(tmp_path: Path, services: object, name: str = "export.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(services), encoding="utf-8")
    return path


def _service(**overrides: object) -> dict:
    service = {
        "id": "somewhere-else-01",
        "name": "Somewhere Else Work Club",
        "description": "A weekly club where you can get help looking for work.",
        "status": "active",
        "organization": {"id": "org-9", "name": "Somewhere Else Trust"},
        "service_areas": [{"service_area": "Atlantis"}],
    }
    service.update(overrides)
    return service


def test_import_adds_the_three_services_and_knowledge_still_validates(kb: Path) -> None:
    written = import_oruk(FIXTURE, kb)

    services_file = kb / "services" / "oruk-oruk-export.yaml"
    assert services_file in written
    knowledge = read_knowledge(kb)
    islington = knowledge.service(ISLINGTON_ID)
    defunct = knowledge.service(DEFUNCT_ID)
    tower = knowledge.service(TOWER_HAMLETS_ID)
    assert islington and defunct and tower

    assert islington.status == "active"
    assert islington.eligibility.areas == ("islington",)
    assert (islington.eligibility.age.min, islington.eligibility.age.max) == (18, 64)
    assert islington.contact == {
        "url": "https://workwell-islington.example/",
        "phone": "020 7946 0321",
        "email": "hello@workwell-islington.example",
    }
    assert islington.referral.method == "self_referral"
    assert "020 7946 0321" in islington.referral.how_to
    assert islington.next_step.startswith("Contact Holloway Community Health Partnership")
    assert islington.taxonomy == ("employment-support", "mental-health")
    assert islington.sources[0].url == "https://workwell-islington.example/"
    assert islington.last_verified == dt.date(2026, 10, 14)
    assert "<p>" not in islington.description and "&amp;" not in islington.description

    # "London Borough of Islington" is an alias in areas.yaml.
    assert defunct.eligibility.areas == ("islington",)
    assert tower.status == "active"
    assert tower.eligibility.areas == ("tower-hamlets",)
    assert tower.eligibility.age.min == 16 and tower.eligibility.age.max is None
    assert tower.last_verified == dt.date(2026, 9, 30)


def test_defunct_service_is_imported_as_ended(kb: Path) -> None:
    import_oruk(FIXTURE, kb)

    defunct = read_knowledge(kb).service(DEFUNCT_ID)
    assert defunct is not None
    assert defunct.status == "ended"
    assert "defunct" in defunct.status_note
    assert not defunct.referral.takes_warm_referral
    # Its url is http://, so the source names the export file instead.
    assert defunct.sources[0].report == "oruk_export.json"
    assert defunct.sources[0].url == ""
    assert defunct.last_verified == dt.date(2025, 3, 2)


def test_new_organisations_are_appended_and_known_ones_reused(kb: Path) -> None:
    before = (kb / "organizations.yaml").read_text(encoding="utf-8")

    import_oruk(FIXTURE, kb)

    after = (kb / "organizations.yaml").read_text(encoding="utf-8")
    assert after.startswith(before.rstrip("\n"))  # comments and entries kept as written
    knowledge = read_knowledge(kb)
    org_ids = [o.id for o in knowledge.organizations]
    assert "holloway-community-health-partnership" in org_ids
    assert "bow-and-poplar-connect" in org_ids
    assert org_ids.count("shaw-trust") == 1
    assert knowledge.service(DEFUNCT_ID).organization == "shaw-trust"


def test_temporarily_closed_service_is_imported_as_planned(kb: Path, tmp_path: Path) -> None:
    export = _export(
        tmp_path,
        _service(status="temporarily closed", service_areas=[{"name": "Manchester"}]),
    )

    import_oruk(export, kb)

    service = read_knowledge(kb).service("oruk-somewhere-else-01")
    assert service.status == "planned"
    assert service.eligibility.areas == ("manchester",)


def test_single_service_object_is_accepted(kb: Path, tmp_path: Path) -> None:
    export = _export(tmp_path, _service(service_areas=[{"service_area": "TOWER HAMLETS"}]))

    import_oruk(export, kb)

    assert read_knowledge(kb).service("oruk-somewhere-else-01").eligibility.areas == ("tower-hamlets",)


def test_unknown_area_without_area_argument_is_refused_and_changes_nothing(kb: Path, tmp_path: Path) -> None:
    export = _export(tmp_path, [_service()])
    before = _hashes(kb)

    with pytest.raises(OrukImportError) as error:
        import_oruk(export, kb)

    message = str(error.value)
    assert "Somewhere Else Work Club" in message
    assert "Atlantis" in message
    assert "--area" in message
    assert _hashes(kb) == before


def test_unknown_area_uses_the_area_argument(kb: Path, tmp_path: Path) -> None:
    export = _export(tmp_path, [_service()])

    import_oruk(export, kb, area="nottinghamshire")

    service = read_knowledge(kb).service("oruk-somewhere-else-01")
    assert service.eligibility.areas == ("nottinghamshire",)


def test_area_argument_that_is_not_an_area_id_is_refused(kb: Path, tmp_path: Path) -> None:
    export = _export(tmp_path, [_service()])
    before = _hashes(kb)

    with pytest.raises(OrukImportError, match="--area 'atlantis'"):
        import_oruk(export, kb, area="atlantis")
    assert _hashes(kb) == before


def test_invalid_json_is_refused_with_a_clear_error(kb: Path, tmp_path: Path) -> None:
    export = tmp_path / "broken.json"
    export.write_text('{"contents": [ {"id": "x", ', encoding="utf-8")
    before = _hashes(kb)

    with pytest.raises(OrukImportError, match=r"broken\.json is not valid JSON \(line 1"):
        import_oruk(export, kb)
    assert _hashes(kb) == before


@pytest.mark.parametrize("field", ["id", "name"])
def test_service_missing_id_or_name_is_refused_naming_the_field(kb: Path, tmp_path: Path, field: str) -> None:
    service = _service(service_areas=[{"service_area": "Islington"}])
    del service[field]
    export = _export(tmp_path, {"contents": [service]})
    before = _hashes(kb)

    with pytest.raises(OrukImportError) as error:
        import_oruk(export, kb)

    assert f"'{field}' field is missing" in str(error.value)
    assert ("somewhere-else-01" if field == "name" else "Somewhere Else Work Club") in str(error.value)
    assert _hashes(kb) == before


def test_import_that_would_not_validate_is_rolled_back(kb: Path, tmp_path: Path) -> None:
    import_oruk(FIXTURE, kb)
    before = _hashes(kb)
    # Same service id again, from an export with another name, with a new organisation:
    # the loader rejects the duplicate id, so neither file may stay changed.
    clash = _service(
        id="TH-Social-Prescribing-0042",
        service_areas=[{"service_area": "Tower Hamlets"}],
        organization={"id": "org-new", "name": "A Brand New Organisation"},
    )
    export = _export(tmp_path, {"contents": [clash]}, name="second.json")

    with pytest.raises(OrukImportError, match="duplicate id"):
        import_oruk(export, kb)

    assert _hashes(kb) == before
    assert not (kb / "services" / "oruk-second.yaml").exists()


def test_cli_import_then_list_shows_the_new_services(kb: Path) -> None:
    env = {**os.environ, "KNOWLEDGE_DIR": str(kb)}

    imported = subprocess.run(
        [sys.executable, "-m", "chatbot", "kb", "import-oruk", str(FIXTURE)],
        cwd=PROJECT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert imported.returncode == 0, imported.stderr
    assert "oruk-oruk-export.yaml" in imported.stdout

    listed = subprocess.run(
        [sys.executable, "-m", "chatbot", "kb", "list", "--json"],
        cwd=PROJECT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert listed.returncode == 0, listed.stderr
    by_id = {s["id"]: s for s in json.loads(listed.stdout)}
    assert by_id[ISLINGTON_ID]["status"] == "active"
    assert by_id[DEFUNCT_ID]["status"] == "ended"
    assert by_id[TOWER_HAMLETS_ID]["areas"] == ["tower-hamlets"]


def test_cli_refuses_unknown_area_and_exits_non_zero(kb: Path, tmp_path: Path) -> None:
    export = _export(tmp_path, [_service()])
    before = _hashes(kb)

    result = subprocess.run(
        [sys.executable, "-m", "chatbot", "kb", "import-oruk", str(export)],
        cwd=PROJECT,
        env={**os.environ, "KNOWLEDGE_DIR": str(kb)},
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode != 0
    assert "--area" in result.stderr
    assert _hashes(kb) == before
