"""Read and validate the knowledge/ directory into one immutable Knowledge object."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import yaml

from . import vocab
from .errors import KnowledgeError, Problem
from .schema import (
    Answer,
    Area,
    GpSurgery,
    Organization,
    Service,
    parse_answer,
    parse_area,
    parse_gp_surgery,
    parse_organization,
    parse_service,
)

T = TypeVar("T")
# libyaml's loader is about ten times faster when PyYAML was built with it.
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True)
class Knowledge:
    areas: tuple[Area, ...]
    gp_surgeries: tuple[GpSurgery, ...]
    organizations: tuple[Organization, ...]
    services: tuple[Service, ...]
    answers: tuple[Answer, ...]
    checksum: str
    # kind -> id -> the entry as written (JSON-safe), for storing in the database.
    documents: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict, compare=False)

    def service(self, service_id: str) -> Service | None:
        return next((s for s in self.services if s.id == service_id), None)


def _read_yaml(path: Path, key: str, root: Path, problems: list[Problem]) -> list[Any]:
    name = str(path.relative_to(root))
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_YAML_LOADER)
    except (yaml.YAMLError, UnicodeDecodeError) as error:
        problems.append(Problem(name, "", "", f"is not valid YAML: {error}"))
        return []
    if not isinstance(data, dict) or not isinstance(data.get(key), list):
        problems.append(Problem(name, "", key, f"the file must be a mapping with a '{key}' list"))
        return []
    return [(name, item) for item in data[key]]


def _parse_all(
    items: Iterable[tuple[str, Any]],
    parse: Callable[[Any, str, list[Problem]], T],
    problems: list[Problem],
    documents: dict[str, dict[str, Any]],
) -> tuple[T, ...]:
    parsed = []
    seen: dict[str, str] = {}
    for file, item in items:
        entry = parse(item, file, problems)
        entry_id = getattr(entry, "id", "")
        if entry_id in seen:
            problems.append(Problem(file, entry_id, "id", f"duplicate id (also in {seen[entry_id]})"))
        seen[entry_id] = file
        parsed.append(entry)
        documents[entry_id] = json.loads(json.dumps(item, default=str))
    return tuple(sorted(parsed, key=lambda e: getattr(e, "id", "")))


def _files(root: Path, pattern: str) -> list[Path]:
    return sorted(root.glob(pattern))


def _checksum(root: Path, paths: list[Path]) -> str:
    digest = hashlib.sha256()
    for path in paths:
        digest.update(str(path.relative_to(root)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def read_knowledge(root: Path) -> Knowledge:
    """Parse and cross-check every file; raise KnowledgeError listing every problem."""
    root = Path(root)
    if not root.is_dir():
        raise KnowledgeError([Problem(str(root), "", "", "knowledge directory not found")])
    problems: list[Problem] = []
    layout = {
        "areas": ([root / "areas.yaml"], parse_area),
        "gp_surgeries": ([root / "gp_surgeries.yaml"], parse_gp_surgery),
        "organizations": ([root / "organizations.yaml"], parse_organization),
        "services": (_files(root, "services/*.yaml"), parse_service),
        "answers": (_files(root, "answers/*.yaml"), parse_answer),
    }
    parsed: dict[str, tuple] = {}
    documents: dict[str, dict[str, dict[str, Any]]] = {}
    all_paths: list[Path] = []
    for key, (paths, parse) in layout.items():
        items: list[tuple[str, Any]] = []
        for path in paths:
            if not path.is_file():
                problems.append(Problem(str(path.relative_to(root)), "", "", "file is missing"))
                continue
            all_paths.append(path)
            items.extend(_read_yaml(path, key, root, problems))
        documents[key] = {}
        parsed[key] = _parse_all(items, parse, problems, documents[key])
    knowledge = Knowledge(**parsed, checksum=_checksum(root, all_paths), documents=documents)
    problems.extend(_cross_check(knowledge))
    if problems:
        raise KnowledgeError(problems)
    return knowledge


def _cross_check(k: Knowledge) -> list[Problem]:
    """References between entries must point at entries that exist."""
    problems = []
    area_ids = {a.id for a in k.areas}
    surgery_ids = {s.id for s in k.gp_surgeries}
    org_ids = {o.id for o in k.organizations}
    service_ids = {s.id for s in k.services}
    if vocab.NATIONAL_AREA_ID not in area_ids:
        problems.append(
            Problem("areas.yaml", "", "", f"the national area '{vocab.NATIONAL_AREA_ID}' is missing")
        )
    for s in k.gp_surgeries:
        if s.area not in area_ids:
            problems.append(Problem("gp_surgeries.yaml", s.id, "area", f"unknown area '{s.area}'"))
    owner: dict[str, str] = {}
    for a in k.areas:
        for d in a.postcode_districts:
            if d in owner:
                problems.append(
                    Problem(
                        "areas.yaml",
                        a.id,
                        "postcode_districts",
                        f"{d} is also wholly in '{owner[d]}': list it as partial in both",
                    )
                )
            owner[d] = a.id
    locality_ids = {loc.id for a in k.areas for loc in a.localities}
    for s in k.services:
        where = f"services ({s.id})"
        for field_name, refs, known in (
            ("eligibility.localities", s.eligibility.localities, locality_ids),
            ("eligibility.areas", s.eligibility.areas, area_ids),
            ("eligibility.gp_surgeries", s.eligibility.gp_surgeries, surgery_ids),
            ("organization", (s.organization,), org_ids),
            ("partners", s.partners, org_ids),
            ("replaced_by", s.replaced_by, service_ids),
        ):
            for ref in refs:
                if ref and ref not in known:
                    problems.append(Problem(where, s.id, field_name, f"unknown id '{ref}'"))
        if not s.is_active and s.referral.takes_warm_referral:
            problems.append(
                Problem(where, s.id, "referral.method", f"a {s.status} service must not take referrals")
            )
    return problems


def knowledge_from_documents(documents: dict[str, dict[str, dict[str, Any]]], checksum: str) -> Knowledge:
    """Rebuild Knowledge from stored documents with the same parsers (see store.py)."""
    problems: list[Problem] = []
    parsers = {
        "areas": parse_area,
        "gp_surgeries": parse_gp_surgery,
        "organizations": parse_organization,
        "services": parse_service,
        "answers": parse_answer,
    }
    parsed = {}
    for key, parse in parsers.items():
        items = [("database", doc) for doc in documents.get(key, {}).values()]
        parsed[key] = _parse_all(items, parse, problems, {})
    if problems:
        raise KnowledgeError(problems)
    return Knowledge(**parsed, checksum=checksum, documents=documents)
