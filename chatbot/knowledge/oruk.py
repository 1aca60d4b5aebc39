"""Convert an Open Referral UK (HSDS 3.0 UK profile) JSON export into knowledge entries.

`import_oruk` writes the services to `services/oruk-<export stem>.yaml` and adds any
organisation it does not know to `organizations.yaml`. It then validates the whole
knowledge directory; if anything is wrong it puts every file back exactly as it was
and raises OrukImportError, so a bad import changes nothing.

The export may be a JSON array of services, one service object, or an ORUK API page
(a mapping with a `contents` list).
"""

from __future__ import annotations

import datetime as dt
import html
import json
import re
from pathlib import Path
from typing import Any

import yaml

from .errors import KnowledgeError
from .loader import read_knowledge

STATUS_MAP = {
    "active": "active",
    "inactive": "ended",
    "defunct": "ended",
    "temporarily closed": "planned",
}

_TAG = re.compile(r"<[^>]+>")


class OrukImportError(Exception):
    """The export cannot be imported; knowledge/ was left unchanged."""


def slugify(value: Any) -> str:
    """Lower case, letters and digits, runs of anything else become one dash."""
    return re.sub(r"[^a-z0-9]+", "-", str(value).lower()).strip("-")


def _clean(value: Any) -> str:
    """Plain text: no HTML tags or entities, whitespace collapsed."""
    if value is None:
        return ""
    text = html.unescape(_TAG.sub(" ", str(value)))
    return " ".join(text.split())


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    if isinstance(value, list):
        return value
    return [] if value is None else [value]


# --- reading the export -----------------------------------------------------------


def _read_export(export_path: Path) -> list[dict[str, Any]]:
    try:
        text = export_path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise OrukImportError(f"{export_path}: file not found") from None
    except (OSError, UnicodeDecodeError) as error:
        raise OrukImportError(f"{export_path}: cannot read the file: {error}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise OrukImportError(
            f"{export_path.name} is not valid JSON (line {error.lineno}, column {error.colno}: "
            f"{error.msg}). Export the services from the ORUK feed as JSON and try again."
        ) from None
    if isinstance(data, dict) and isinstance(data.get("contents"), list):
        services = data["contents"]
    elif isinstance(data, dict) and isinstance(data.get("content"), list):
        services = data["content"]
    elif isinstance(data, dict):
        services = [data]
    elif isinstance(data, list):
        services = data
    else:
        raise OrukImportError(
            f"{export_path.name}: expected a list of services, one service, or an ORUK page "
            f"with a 'contents' list; got {type(data).__name__}"
        )
    if not services:
        raise OrukImportError(f"{export_path.name} holds no services")
    for i, service in enumerate(services):
        if not isinstance(service, dict):
            raise OrukImportError(
                f"{export_path.name}: service #{i + 1} must be a JSON object, got {type(service).__name__}"
            )
    return services


def _label(service: dict[str, Any], index: int) -> str:
    name = _clean(service.get("name"))
    ident = _clean(service.get("id"))
    if ident and name:
        return f"service '{name}' (id {ident})"
    if ident or name:
        return f"service '{ident or name}'"
    return f"service #{index + 1}"


def _require(service: dict[str, Any], field: str, label: str) -> str:
    value = _clean(service.get(field))
    if not value:
        raise OrukImportError(f"{label}: the '{field}' field is missing or empty")
    return value


# --- areas and organisations -------------------------------------------------------


def _area_index(knowledge_dir: Path) -> dict[str, str]:
    """Lower-case area id, name, alias or town -> area id."""
    path = knowledge_dir / "areas.yaml"
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as error:
        raise OrukImportError(f"cannot read {path}: {error}") from None
    index: dict[str, str] = {}
    for area in _list(_mapping(data).get("areas")):
        area = _mapping(area)
        area_id = str(area.get("id") or "")
        if not area_id:
            continue
        names = [area_id, area.get("name"), *_list(area.get("aliases")), *_list(area.get("towns"))]
        for name in names:
            key = " ".join(str(name or "").lower().split())
            if key:
                index.setdefault(key, area_id)
    return index


def _service_area_names(service: dict[str, Any]) -> list[str]:
    names = []
    for item in _list(service.get("service_areas")):
        if isinstance(item, str):
            names.append(item)
            continue
        item = _mapping(item)
        for key in ("service_area", "name", "extent_name"):
            if isinstance(item.get(key), str) and item[key].strip():
                names.append(item[key])
                break
    return [_clean(n) for n in names if _clean(n)]


def _areas_for(service: dict[str, Any], label: str, index: dict[str, str], fallback: str | None) -> list[str]:
    names = _service_area_names(service)
    areas: list[str] = []
    for name in names:
        area_id = index.get(name.lower())
        if area_id and area_id not in areas:
            areas.append(area_id)
    if areas:
        return areas
    if fallback:
        return [fallback]
    named = ", ".join(f"'{n}'" for n in names) if names else "no service area"
    raise OrukImportError(
        f"{label} has no known area (the export gives {named}). Add the place to "
        f"knowledge/areas.yaml, or pass --area <area id> to use one area for such services."
    )


def _organizations(knowledge_dir: Path) -> tuple[Path, bytes, list[dict[str, Any]]]:
    path = knowledge_dir / "organizations.yaml"
    try:
        original = path.read_bytes()
        data = yaml.safe_load(original.decode("utf-8")) or {}
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        raise OrukImportError(f"cannot read {path}: {error}") from None
    orgs = _mapping(data).get("organizations")
    if not isinstance(orgs, list):
        raise OrukImportError(f"{path} must be a mapping with an 'organizations' list")
    return path, original, orgs


def _organization_id(
    service: dict[str, Any],
    label: str,
    known: list[dict[str, Any]],
    new: list[dict[str, Any]],
) -> tuple[str, str]:
    """The organizations.yaml id for the service's organisation, adding it to `new` if unknown."""
    org = _mapping(service.get("organization"))
    name = _clean(org.get("name"))
    if not name:
        raise OrukImportError(
            f"{label}: the 'organization' field is missing or has no 'name'; "
            "every service needs the organisation that runs it"
        )
    wanted = slugify(name)
    for entry in [*known, *new]:
        entry = _mapping(entry)
        entry_name = " ".join(str(entry.get("name") or "").lower().split())
        if entry.get("id") == wanted or entry_name == name.lower():
            return str(entry["id"]), str(entry.get("name") or name)
    taken = {str(_mapping(e).get("id")) for e in [*known, *new]}
    org_id = wanted
    if not org_id or org_id in taken:
        org_id = f"oruk-{slugify(org.get('id') or name)}"
    if org_id in taken:
        raise OrukImportError(f"{label}: organisation '{name}' would get the id '{org_id}', which is taken")
    entry: dict[str, Any] = {"id": org_id, "name": name}
    if description := _clean(org.get("description")):
        entry["description"] = description
    if url := _clean(org.get("url") or org.get("website")):
        entry["url"] = url
    new.append(entry)
    return org_id, name


# --- one service -------------------------------------------------------------------


def _ages(service: dict[str, Any]) -> dict[str, int]:
    lows, highs = [], []
    holders = [service, *[_mapping(e) for e in _list(service.get("eligibilitys"))]]
    for holder in holders:
        for key, out in (("minimum_age", lows), ("maximum_age", highs)):
            value = holder.get(key)
            if value is None or value == "" or isinstance(value, bool):
                continue
            try:
                out.append(int(float(value)))
            except (TypeError, ValueError):
                continue
    age: dict[str, int] = {}
    if lows:
        age["min"] = min(lows)
    if highs:
        age["max"] = max(highs)
    return age


def _eligibility_notes(service: dict[str, Any]) -> list[str]:
    notes = []
    texts = [service.get("eligibility_description")]
    for item in _list(service.get("eligibilitys")):
        item = _mapping(item)
        texts.append(item.get("eligibility") or item.get("description"))
    for text in texts:
        text = _clean(text)
        if text and text not in notes:
            notes.append(text)
    return [f"Who it is for, as the provider says: {n}" for n in notes]


def _phone(service: dict[str, Any]) -> str:
    holders = [service, *[_mapping(c) for c in _list(service.get("contacts"))]]
    for holder in holders:
        for phone in _list(holder.get("phones")):
            number = _clean(_mapping(phone).get("number") if isinstance(phone, dict) else phone)
            if number:
                return number
    return ""


def _email(service: dict[str, Any]) -> str:
    email = _clean(service.get("email"))
    if email:
        return email
    for contact in _list(service.get("contacts")):
        email = _clean(_mapping(contact).get("email"))
        if email:
            return email
    return ""


def _taxonomy(service: dict[str, Any]) -> list[str]:
    terms = []
    for item in [*_list(service.get("service_taxonomys")), *_list(service.get("attributes"))]:
        item = _mapping(item)
        term = item.get("taxonomy_term") if "taxonomy_term" in item else item.get("taxonomy")
        if isinstance(term, dict):
            term = term.get("term") or term.get("name")
        tag = slugify(term or "")
        if tag and tag not in terms:
            terms.append(tag)
    return terms


def _date(value: Any) -> dt.date | None:
    if isinstance(value, dt.date):
        return value
    text = str(value or "").strip()
    if len(text) < 10:
        return None
    try:
        return dt.date.fromisoformat(text[:10])
    except ValueError:
        return None


def _how_to(url: str, email: str, phone: str, org_name: str) -> str:
    ways = []
    if url:
        ways.append(f"visit {url}")
    if email:
        ways.append(f"email {email}")
    if phone:
        ways.append(f"call {phone}")
    if not ways:
        return f"Ask {org_name} how to join."
    joined = ways[0] if len(ways) == 1 else ", ".join(ways[:-1]) + f" or {ways[-1]}"
    return f"To ask about joining, {joined}."


def _convert(
    service: dict[str, Any],
    index: int,
    *,
    export_name: str,
    area_index: dict[str, str],
    fallback_area: str | None,
    known_orgs: list[dict[str, Any]],
    new_orgs: list[dict[str, Any]],
    today: dt.date,
) -> dict[str, Any]:
    label = _label(service, index)
    raw_id = _require(service, "id", label)
    name = _require(service, "name", label)
    service_id = slugify(raw_id)
    if not service_id:
        raise OrukImportError(f"{label}: the 'id' field has no letters or digits")
    description = _clean(service.get("description"))
    if not description:
        raise OrukImportError(
            f"{label}: the 'description' field is missing or empty; "
            "every service needs a plain-English description"
        )
    raw_status = " ".join(str(service.get("status") or "").lower().replace("_", " ").split())
    if raw_status not in STATUS_MAP:
        raise OrukImportError(
            f"{label}: the 'status' field is '{service.get('status')}', expected one of: "
            + ", ".join(STATUS_MAP)
        )
    status = STATUS_MAP[raw_status]
    org_id, org_name = _organization_id(service, label, known_orgs, new_orgs)

    eligibility: dict[str, Any] = {"areas": _areas_for(service, label, area_index, fallback_area)}
    if age := _ages(service):
        eligibility["age"] = age

    url = _clean(service.get("url"))
    email = _email(service)
    phone = _phone(service)

    if status == "active":
        next_step = f"Contact {org_name} to ask about joining {name}."
        if url:
            next_step += f" You can find out more at {url}."
        referral = {"method": "self_referral", "how_to": _how_to(url, email, phone, org_name)}
    else:
        # As for the hand-written ended services: say it is closed, take no referrals.
        closed = "has closed" if status == "ended" else "is closed for now"
        next_step = f"This service {closed}. Ask {org_name} what else may help."
        referral = {
            "method": "none",
            "how_to": f"This service {closed} and takes no new referrals.",
        }

    entry: dict[str, Any] = {"id": f"oruk-{service_id}", "name": name, "organization": org_id}
    entry["status"] = status
    if raw_status != status:
        entry["status_note"] = f"Marked '{raw_status}' in the Open Referral UK export."
    entry["description"] = description
    if taxonomy := _taxonomy(service):
        entry["taxonomy"] = taxonomy
    entry["eligibility"] = eligibility
    if caveats := _eligibility_notes(service):
        entry["caveats"] = caveats
    entry["next_step"] = next_step
    entry["referral"] = referral
    contact = {k: v for k, v in (("url", url), ("phone", phone), ("email", email)) if v}
    if contact:
        entry["contact"] = contact
    source: dict[str, Any] = {"title": f"Open Referral UK export {export_name}"}
    if url.startswith("https://"):
        source["url"] = url
    else:
        source["report"] = export_name
    entry["source"] = [source]
    entry["last_verified"] = (
        _date(service.get("assured_date")) or _date(service.get("last_modified")) or today
    )
    return entry


# --- writing ------------------------------------------------------------------------


def _dump(data: Any) -> str:
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=88)


def _organizations_text(
    original: bytes, existing: list[dict[str, Any]], new: list[dict[str, Any]], export_name: str
) -> str:
    """organizations.yaml with `new` appended, keeping the file's comments and layout.

    The entries are appended as text; if the result does not read back as the old list
    plus the new entries (an unusual layout), the whole file is dumped again instead.
    """
    text = original.decode("utf-8")
    block = "\n".join("  " + line if line else line for line in _dump(new).splitlines())
    appended = (
        text.rstrip("\n")
        + f"\n\n  # --- Imported from Open Referral UK export {export_name} ---\n"
        + block
        + "\n"
    )
    try:
        if yaml.safe_load(appended).get("organizations") == [*existing, *new]:
            return appended
    except (yaml.YAMLError, AttributeError):
        pass
    data = yaml.safe_load(text)
    data["organizations"] = [*existing, *new]
    return _dump(data)


def import_oruk(export_path: Path, knowledge_dir: Path, area: str | None = None) -> list[Path]:
    """Import the services in an ORUK JSON export; return the files written.

    Raises OrukImportError, with knowledge/ unchanged, if the export is unusable or the
    knowledge directory would not validate afterwards.
    """
    export_path, knowledge_dir = Path(export_path), Path(knowledge_dir)
    services = _read_export(export_path)
    area_index = _area_index(knowledge_dir)
    if area is not None and area not in set(area_index.values()):
        raise OrukImportError(
            f"--area '{area}' is not an area id in knowledge/areas.yaml "
            f"(known: {', '.join(sorted(set(area_index.values())))})"
        )
    orgs_path, orgs_original, known_orgs = _organizations(knowledge_dir)
    new_orgs: list[dict[str, Any]] = []
    today = dt.date.today()
    entries = [
        _convert(
            service,
            i,
            export_name=export_path.name,
            area_index=area_index,
            fallback_area=area,
            known_orgs=known_orgs,
            new_orgs=new_orgs,
            today=today,
        )
        for i, service in enumerate(services)
    ]
    seen: set[str] = set()
    for entry in entries:
        if entry["id"] in seen:
            raise OrukImportError(
                f"{export_path.name}: two services have the id '{entry['id']}' once made into knowledge ids"
            )
        seen.add(entry["id"])

    stem = slugify(export_path.stem) or "export"
    services_path = knowledge_dir / "services" / f"oruk-{stem}.yaml"
    services_before = services_path.read_bytes() if services_path.exists() else None
    header = (
        f"# Imported from the Open Referral UK export {export_path.name} on "
        f"{today.isoformat()}.\n# Review every entry before `python -m chatbot kb load`: "
        "the wording is the provider's.\n"
    )
    written: list[Path] = []
    try:
        services_path.parent.mkdir(parents=True, exist_ok=True)
        services_path.write_text(header + _dump({"services": entries}), encoding="utf-8")
        written.append(services_path)
        if new_orgs:
            orgs_path.write_text(
                _organizations_text(orgs_original, known_orgs, new_orgs, export_path.name),
                encoding="utf-8",
            )
            written.append(orgs_path)
        read_knowledge(knowledge_dir)
    except BaseException as error:
        _restore(services_path, services_before, orgs_path, orgs_original)
        if isinstance(error, KnowledgeError):
            raise OrukImportError(
                f"the import from {export_path.name} would make knowledge/ invalid, so "
                f"nothing was changed.\n{error}"
            ) from None
        if isinstance(error, OSError):
            raise OrukImportError(f"cannot write the knowledge files: {error}") from None
        raise
    return written


def _restore(services_path: Path, services_before: bytes | None, orgs_path: Path, orgs_before: bytes) -> None:
    if services_before is None:
        services_path.unlink(missing_ok=True)
    else:
        services_path.write_bytes(services_before)
    if orgs_path.read_bytes() != orgs_before:
        orgs_path.write_bytes(orgs_before)
