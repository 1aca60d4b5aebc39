"""Typed knowledge entries, parsed and validated from plain YAML mappings.

`parse_*` functions never raise on bad data: they record a Problem (file, entry,
field, message) and carry on, so one run reports every mistake at once.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

from . import vocab
from .errors import Problem

ID_PATTERN = re.compile(r"^[a-z0-9]+(?:[-_][a-z0-9]+)*$")
POSTCODE_DISTRICT = re.compile(r"^[A-Z]{1,2}[0-9][0-9A-Z]?$")


@dataclass(frozen=True)
class Source:
    title: str = ""
    url: str = ""
    report: str = ""
    date: dt.date | None = None
    section: str = ""
    checked: dt.date | None = None


@dataclass(frozen=True)
class Locality:
    """A part of an area that some services are limited to ("North Manchester")."""

    id: str
    name: str
    towns: tuple[str, ...] = ()
    postcode_districts: tuple[str, ...] = ()


@dataclass(frozen=True)
class Area:
    id: str
    name: str
    kind: str
    aliases: tuple[str, ...] = ()
    towns: tuple[str, ...] = ()
    postcode_districts: tuple[str, ...] = ()
    partial_postcode_districts: tuple[str, ...] = ()
    sources: tuple[Source, ...] = ()
    nation: str = vocab.NATIONAL_AREA_ID  # a country area is its own nation
    localities: tuple[Locality, ...] = ()

    @property
    def is_nation(self) -> bool:
        return self.kind == "country"


@dataclass(frozen=True)
class GpSurgery:
    id: str
    name: str
    area: str
    aliases: tuple[str, ...] = ()
    sources: tuple[Source, ...] = ()


@dataclass(frozen=True)
class Organization:
    id: str
    name: str
    description: str = ""
    url: str = ""


@dataclass(frozen=True)
class Range:
    more_than: float | None = None
    at_most: float | None = None

    def holds(self, value: float) -> bool:
        above = self.more_than is None or value > self.more_than
        return above and (self.at_most is None or value <= self.at_most)


@dataclass(frozen=True)
class AgeRange:
    min: int | None = None
    max: int | None = None


@dataclass(frozen=True)
class Eligibility:
    """Each field is a constraint; an empty tuple or None means 'no limit'."""

    areas: tuple[str, ...] = ()
    work_statuses: tuple[str, ...] = ()
    weeks_off_sick: Range | None = None
    # For someone out of work, how long since they last worked (WorkWell: "recently out of work").
    weeks_out_of_work: Range | None = None
    condition_categories: tuple[str, ...] = ()
    age: AgeRange | None = None
    gp_surgeries: tuple[str, ...] = ()
    benefits: tuple[str, ...] = ()
    ready_to_work: tuple[str, ...] = ()
    circumstances: tuple[str, ...] = ()
    localities: tuple[str, ...] = ()  # only in these parts of its area (Area.localities)


@dataclass(frozen=True)
class Referral:
    method: str
    how_to: str = ""
    email: str = ""
    webhook_url: str = ""
    response_days: int | None = None
    accepts_from: tuple[str, ...] = ()
    # For a service we refer to: how to get there without us (after a "no" to consent).
    without_us: str = ""

    @property
    def takes_warm_referral(self) -> bool:
        return self.method in ("email", "webhook")

    @property
    def route_without_us(self) -> str:
        return self.without_us or self.how_to


@dataclass(frozen=True)
class Service:
    id: str
    name: str
    organization: str
    status: str
    description: str
    eligibility: Eligibility
    next_step: str
    referral: Referral
    last_verified: dt.date
    sources: tuple[Source, ...]
    partners: tuple[str, ...] = ()
    status_note: str = ""
    replaced_by: tuple[str, ...] = ()
    # The same next step, told to a health professional about the patient.
    next_step_for_professional: str = ""
    taxonomy: tuple[str, ...] = ()
    caveats: tuple[str, ...] = ()
    contact: dict[str, str] = field(default_factory=dict)

    @property
    def is_active(self) -> bool:
        return self.status == "active"

    @property
    def is_national(self) -> bool:
        return any(a in vocab.NATIONS for a in self.eligibility.areas)


@dataclass(frozen=True)
class Answer:
    id: str
    topic: str
    question: str
    text: str
    sources: tuple[Source, ...]
    last_reviewed: dt.date
    review_by: dt.date


class _Reader:
    """Reads one entry's fields, recording a Problem for each bad one."""

    def __init__(self, data: Any, file: str, entry: str, problems: list[Problem]):
        self.file, self.entry, self.problems = file, entry, problems
        if not isinstance(data, dict):
            self.fail("", f"must be a mapping, got {type(data).__name__}")
            data = {}
        self.data = data

    def fail(self, name: str, message: str) -> None:
        self.problems.append(Problem(self.file, self.entry, name, message))

    def unknown_fields(self, allowed: set[str]) -> None:
        for key in sorted(set(self.data) - allowed):
            self.fail(str(key), f"unknown field (allowed: {', '.join(sorted(allowed))})")

    def text(self, name: str, required: bool = True) -> str:
        value = self.data.get(name)
        if value is None or value == "":
            if required:
                self.fail(name, "is required")
            return ""
        if not isinstance(value, str):
            self.fail(name, f"must be text, got {type(value).__name__}")
            return ""
        return " ".join(value.split())

    def ident(self, name: str) -> str:
        value = self.text(name)
        if value and not ID_PATTERN.match(value):
            self.fail(name, f"'{value}' is not an id (lower case, digits, '-' or '_')")
        return value

    def choice(self, name: str, allowed: tuple[str, ...], required: bool = True) -> str:
        value = self.text(name, required)
        if value and value not in allowed:
            self.fail(name, f"'{value}' is not one of: {', '.join(allowed)}")
        return value

    def strings(self, name: str, allowed: tuple[str, ...] | None = None) -> tuple[str, ...]:
        value = self.data.get(name)
        if value is None:
            return ()
        if not isinstance(value, list) or not all(isinstance(v, (str, bool)) for v in value):
            self.fail(name, "must be a list of text")
            return ()
        # YAML reads a bare `yes`/`no` as a boolean; the vocabularies mean the word.
        items = tuple("yes" if v is True else "no" if v is False else v.strip() for v in value)
        if allowed is not None:
            for item in items:
                if item not in allowed:
                    self.fail(name, f"'{item}' is not one of: {', '.join(allowed)}")
        return items

    def date(self, name: str, required: bool = True) -> dt.date | None:
        value = self.data.get(name)
        if value is None:
            if required:
                self.fail(name, "is required (a date, YYYY-MM-DD)")
            return None
        if isinstance(value, dt.date):
            return value
        try:
            return dt.date.fromisoformat(str(value))
        except ValueError:
            self.fail(name, f"'{value}' is not a date (YYYY-MM-DD)")
            return None

    def number(self, name: str, minimum: float = 0) -> float | None:
        value = self.data.get(name)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < minimum:
            self.fail(name, f"must be a number of at least {minimum}")
            return None
        return value

    def sub(self, name: str) -> _Reader | None:
        value = self.data.get(name)
        if value is None:
            return None
        return _Reader(value, self.file, self.entry, self.problems)

    def sources(self, name: str = "source") -> tuple[Source, ...]:
        value = self.data.get(name)
        if value is None:
            self.fail(name, "is required: where do these facts come from?")
            return ()
        items = value if isinstance(value, list) else [value]
        out = []
        for i, item in enumerate(items):
            r = _Reader(item, self.file, self.entry, self.problems)
            r.unknown_fields({"title", "url", "report", "date", "section", "checked"})
            src = Source(
                title=r.text("title", False),
                url=r.text("url", False),
                report=r.text("report", False),
                date=r.date("date", False),
                section=str(r.data.get("section", "") or ""),
                checked=r.date("checked", False),
            )
            if not (src.url or src.report):
                self.fail(f"{name}[{i}]", "needs a 'url' or a 'report'")
            if src.url and not src.url.startswith("https://"):
                self.fail(f"{name}[{i}].url", "must start with https://")
            out.append(src)
        return tuple(out)


def _upper_districts(reader: _Reader, name: str) -> tuple[str, ...]:
    districts = tuple(d.upper().replace(" ", "") for d in reader.strings(name))
    for d in districts:
        if not POSTCODE_DISTRICT.match(d):
            reader.fail(name, f"'{d}' is not a postcode district such as N19 or EC1V")
    return districts


def parse_area(data: Any, file: str, problems: list[Problem]) -> Area:
    r = _Reader(data, file, str(getattr(data, "get", lambda _: "")("id") or "?"), problems)
    r.unknown_fields(
        {
            "id",
            "name",
            "kind",
            "aliases",
            "towns",
            "postcode_districts",
            "partial_postcode_districts",
            "source",
            "nation",
            "localities",
        }
    )
    ident = r.ident("id")
    kind = r.choice("kind", vocab.AREA_KINDS)
    nation = ident if kind == "country" else r.choice("nation", vocab.NATIONS, required=False)
    nation = nation or vocab.NATIONAL_AREA_ID
    return Area(
        nation=nation,
        id=ident,
        name=r.text("name"),
        kind=kind,
        aliases=tuple(a.lower() for a in r.strings("aliases")),
        towns=r.strings("towns"),
        postcode_districts=_upper_districts(r, "postcode_districts"),
        partial_postcode_districts=_upper_districts(r, "partial_postcode_districts"),
        sources=r.sources(),
        localities=tuple(_parse_locality(item, r) for item in r.data.get("localities") or ()),
    )


def _parse_locality(data: Any, area: _Reader) -> Locality:
    r = _Reader(data, area.file, area.entry, area.problems)
    r.unknown_fields({"id", "name", "towns", "postcode_districts"})
    return Locality(
        id=r.ident("id"),
        name=r.text("name"),
        towns=r.strings("towns"),
        postcode_districts=_upper_districts(r, "postcode_districts"),
    )


def parse_gp_surgery(data: Any, file: str, problems: list[Problem]) -> GpSurgery:
    r = _Reader(data, file, _entry_id(data), problems)
    r.unknown_fields({"id", "name", "area", "aliases", "source"})
    return GpSurgery(
        id=r.ident("id"),
        name=r.text("name"),
        area=r.ident("area"),
        aliases=tuple(a.lower() for a in r.strings("aliases")),
        sources=r.sources(),
    )


def parse_organization(data: Any, file: str, problems: list[Problem]) -> Organization:
    r = _Reader(data, file, _entry_id(data), problems)
    r.unknown_fields({"id", "name", "description", "url"})
    return Organization(
        id=r.ident("id"),
        name=r.text("name"),
        description=r.text("description", False),
        url=r.text("url", False),
    )


def _parse_range(r: _Reader | None) -> Range | None:
    if r is None:
        return None
    r.unknown_fields({"more_than", "at_most"})
    return Range(more_than=r.number("more_than"), at_most=r.number("at_most"))


def _parse_eligibility(r: _Reader | None) -> Eligibility:
    if r is None:
        return Eligibility()
    r.unknown_fields(
        {
            "areas",
            "work_statuses",
            "weeks_off_sick",
            "weeks_out_of_work",
            "condition_categories",
            "age",
            "gp_surgeries",
            "benefits",
            "ready_to_work",
            "circumstances",
            "localities",
        }
    )
    weeks, out_of_work = (_parse_range(r.sub(name)) for name in ("weeks_off_sick", "weeks_out_of_work"))
    age = None
    if (a := r.sub("age")) is not None:
        a.unknown_fields({"min", "max"})
        lo, hi = a.number("min"), a.number("max")
        age = AgeRange(min=int(lo) if lo is not None else None, max=int(hi) if hi is not None else None)
    return Eligibility(
        areas=r.strings("areas"),
        work_statuses=r.strings("work_statuses", vocab.WORK_STATUSES),
        weeks_off_sick=weeks,
        weeks_out_of_work=out_of_work,
        condition_categories=r.strings("condition_categories", vocab.CONDITION_CATEGORIES),
        age=age,
        gp_surgeries=r.strings("gp_surgeries"),
        benefits=r.strings("benefits", vocab.BENEFITS),
        ready_to_work=r.strings("ready_to_work", vocab.READY_TO_WORK),
        circumstances=r.strings("circumstances", vocab.CIRCUMSTANCES),
        localities=r.strings("localities"),
    )


def _parse_referral(r: _Reader | None, service_r: _Reader) -> Referral:
    if r is None:
        service_r.fail("referral", "is required: how does a person get to this service?")
        return Referral(method="none")
    r.unknown_fields(
        {"method", "how_to", "email", "webhook_url", "response_days", "accepts_from", "without_us"}
    )
    days = r.number("response_days", minimum=1)
    referral = Referral(
        method=r.choice("method", vocab.REFERRAL_METHODS),
        how_to=r.text("how_to", False),
        email=r.text("email", False),
        webhook_url=r.text("webhook_url", False),
        response_days=int(days) if days is not None else None,
        accepts_from=r.strings("accepts_from", vocab.REFERRERS),
        without_us=r.text("without_us", False),
    )
    if referral.method == "email" and "@" not in referral.email:
        r.fail("referral.email", "is required when method is email")
    if referral.method == "webhook" and not referral.webhook_url.startswith("https://"):
        r.fail("referral.webhook_url", "is required (https://) when method is webhook")
    if referral.method in ("self_referral", "via_professional") and not referral.how_to:
        r.fail("referral.how_to", f"is required when method is {referral.method}")
    return referral


def parse_service(data: Any, file: str, problems: list[Problem]) -> Service:
    r = _Reader(data, file, _entry_id(data), problems)
    r.unknown_fields(
        {
            "id",
            "name",
            "organization",
            "partners",
            "status",
            "status_note",
            "replaced_by",
            "description",
            "taxonomy",
            "eligibility",
            "caveats",
            "next_step",
            "next_step_for_professional",
            "referral",
            "contact",
            "source",
            "last_verified",
        }
    )
    contact = {}
    if (c := r.sub("contact")) is not None:
        c.unknown_fields({"url", "phone", "email"})
        contact = {k: c.text(k, False) for k in ("url", "phone", "email") if c.data.get(k)}
    service = Service(
        id=r.ident("id"),
        name=r.text("name"),
        organization=r.ident("organization"),
        partners=r.strings("partners"),
        status=r.choice("status", vocab.STATUSES),
        status_note=r.text("status_note", False),
        replaced_by=r.strings("replaced_by"),
        description=r.text("description"),
        taxonomy=r.strings("taxonomy"),
        eligibility=_parse_eligibility(r.sub("eligibility")),
        caveats=r.strings("caveats"),
        next_step=r.text("next_step"),
        next_step_for_professional=r.text("next_step_for_professional", False),
        referral=_parse_referral(r.sub("referral"), r),
        contact=contact,
        sources=r.sources(),
        last_verified=r.date("last_verified") or dt.date.min,
    )
    if not service.eligibility.areas:
        r.fail("eligibility.areas", "is required: list the area ids it serves, or [england]")
    return service


def parse_answer(data: Any, file: str, problems: list[Problem]) -> Answer:
    r = _Reader(data, file, _entry_id(data), problems)
    r.unknown_fields({"id", "topic", "question", "text", "source", "last_reviewed", "review_by"})
    return Answer(
        id=r.ident("id"),
        topic=r.ident("topic"),
        question=r.text("question"),
        text=r.text("text"),
        sources=r.sources(),
        last_reviewed=r.date("last_reviewed") or dt.date.min,
        review_by=r.date("review_by") or dt.date.min,
    )


def _entry_id(data: Any) -> str:
    return str(data.get("id") or "?") if isinstance(data, dict) else "?"
