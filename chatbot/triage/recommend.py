"""recommend(profile): the active services that fit, best first, each with its reasons.

One generic matcher reads each service's eligibility data; there is no rule per
service. A criterion about a fact the profile does not hold yet does not match
(we never guess), but is reported in `could_ask` so the conversation can ask.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

from chatbot.knowledge import vocab
from chatbot.knowledge.schema import Service

from .catalogue import Catalogue
from .profile import Profile
from .reasons import Reasons, load_reasons
from .wording import about_them, facts_line, next_step_for

MAX_MATCHES = 3  # local services shown; the best national routes are always shown beside them
MAX_CARDS = 4  # local and national together
# A service tagged so in knowledge/ (Jobcentre Plus) is where anyone can start: shown when
# nothing more specific fits, never in place of a service that fits the person's needs.
FALLBACK_TAG = "fallback"
# A work-status rule naming more statuses than this is met by most people: it does not rank.
SELECTIVE_STATUSES = 3
# People with a job, or looking for one, are of working age: an age rule of "16 or over" is
# met without asking. Students and others are asked.
WORKING_AGE_STATUSES = frozenset({"in_work", "off_sick", "out_of_work", "self_employed"})
WORKING_AGE_MIN = 18


@dataclass(frozen=True)
class Match:
    service_id: str
    name: str
    reasons: tuple[str, ...]
    next_step: str
    last_verified: dt.date
    caveats: tuple[str, ...]
    is_local: bool
    takes_warm_referral: bool
    facts_from: dt.date | None = None  # the oldest report the facts come from (None: checked pages only)

    def as_payload(self, today: dt.date | None = None) -> dict:
        """The shape channels render and tests read (see README)."""
        return {
            "caveats": list(self.caveats),
            "facts_note": facts_line(self, today or dt.date.today()),
            "service_id": self.service_id,
            "name": self.name,
            "reasons": list(self.reasons),
            "next_step": self.next_step,
            "last_verified": self.last_verified.isoformat(),
            "facts_from": self.facts_from.isoformat() if self.facts_from else None,
        }


@dataclass(frozen=True)
class Unavailable:
    """A planned or ended service that would otherwise fit: worth a mention, never an offer."""

    service_id: str
    name: str
    status: str
    status_note: str
    replaced_by: tuple[str, ...]


@dataclass(frozen=True)
class Recommendation:
    matches: tuple[Match, ...]
    local_found: bool  # False: nothing local fits, the matches are national routes
    unavailable: tuple[Unavailable, ...]
    could_ask: tuple[str, ...]  # profile facts that could unlock more local services
    could_ask_national: tuple[str, ...] = ()  # ...and more national ones


def recommend(
    profile: Profile,
    catalogue: Catalogue,
    limit: int = MAX_MATCHES,
    reasons: Reasons | None = None,
) -> Recommendation:
    reasons = reasons or load_reasons()
    area_id = profile.area_id if profile.area_id in catalogue.areas else None
    local_ids = [area_id] if area_id and not catalogue.is_nation(area_id) else []
    # National routes are those of the person's nation; England's until we know where they live.
    nation = catalogue.nation_of(area_id) or vocab.NATIONAL_AREA_ID
    scored: list[tuple[int, bool, int, str, Match]] = []
    unavailable: list[Unavailable] = []
    could_ask: set[str] = set()
    could_ask_national: set[str] = set()
    seen: set[str] = set()
    for scope, area in [(0, a) for a in local_ids] + [(1, nation)]:
        for service in catalogue.by_area.get(area, ()):
            if service.id in seen:
                continue
            seen.add(service.id)
            fit = _assess(service, profile, area, catalogue, reasons)
            if fit.missing and not fit.failed and service.is_active:
                (could_ask if scope == 0 else could_ask_national).update(fit.missing)
            if fit.failed or fit.missing:
                continue
            if not service.is_active:
                unavailable.append(
                    Unavailable(
                        service.id, service.name, service.status, service.status_note, service.replaced_by
                    )
                )
                continue
            match = Match(
                service_id=service.id,
                name=service.name,
                reasons=tuple(fit.reasons),
                next_step=next_step_for(service, profile.role),
                last_verified=service.last_verified,
                caveats=service.caveats
                if profile.role == "self"
                else tuple(about_them(c) for c in service.caveats),
                is_local=scope == 0,
                takes_warm_referral=service.referral.takes_warm_referral,
                facts_from=min((s.date for s in service.sources if s.date), default=None),
            )
            # Local first; a fallback last; then the closer fit (more of the person's needs met).
            fallback = FALLBACK_TAG in service.taxonomy
            scored.append((scope, fallback, -fit.criteria, service.id, match))
    scored.sort(key=lambda item: item[:4])
    local = [m for scope, *_, m in scored if scope == 0][:limit]
    national = [m for scope, fallback, *_, m in scored if scope == 1 and not fallback]
    fallbacks = [m for scope, fallback, *_, m in scored if scope == 1 and fallback]
    # Beside local services, the best national routes (MAX_CARDS in all); with none local, up
    # to `limit` national ones, a fallback only where nothing more specific fills the list.
    room = max(1, MAX_CARDS - len(local))
    national_shown = (national or fallbacks)[:room] if local else (national + fallbacks)[:limit]
    matches = tuple(local + national_shown)
    return Recommendation(
        matches=matches,
        local_found=any(m.is_local for m in matches),
        unavailable=tuple(sorted(unavailable, key=lambda u: u.service_id)),
        could_ask=tuple(sorted(could_ask)),
        could_ask_national=tuple(sorted(could_ask_national)),
    )


@dataclass
class _Fit:
    reasons: list[str] = field(default_factory=list)
    criteria: int = 0
    failed: bool = False
    missing: set[str] = field(default_factory=set)


def _assess(service: Service, p: Profile, area: str, catalogue: Catalogue, reasons: Reasons) -> _Fit:
    """Check every criterion of one service against the profile."""
    e = service.eligibility
    role = p.role if p.role in ("self", "patient", "helper") else "self"
    fit = _Fit()

    def need(known: bool, ok: bool, fact: str, reason: Callable[[], str], selective: bool = True) -> None:
        if not known:
            fit.missing.add(fact)
        elif not ok:
            fit.failed = True
        else:
            # A rule most people meet ("anyone not at work") says little about fit.
            fit.criteria += 1 if selective else 0
            fit.reasons.append(reason())

    if catalogue.is_nation(area):
        fit.reasons.append(reasons.say("national", role, nation=catalogue.areas[area].name))
    else:
        fit.criteria += 1
        fit.reasons.append(reasons.say("area", role, area=catalogue.areas[area].name))
    if e.localities and p.locality is not None and p.locality not in e.localities:
        fit.failed = True  # "Didsbury": outside the part of Manchester the pilot serves
    if e.work_statuses:
        need(
            p.work_status is not None,
            p.work_status in e.work_statuses,
            "work_status",
            lambda: reasons.say(f"work_status.{p.work_status}", role),
            selective=len(e.work_statuses) <= SELECTIVE_STATUSES,
        )
    if e.weeks_off_sick is not None:
        w = e.weeks_off_sick
        known = p.weeks_off_sick is not None
        weeks = p.weeks_off_sick or 0
        if w.more_than is not None:
            need(
                known,
                weeks > w.more_than,
                "weeks_off_sick",
                lambda: reasons.say("weeks_off_sick.more_than", role, weeks=_num(w.more_than)),
            )
        if w.at_most is not None:
            need(
                known,
                weeks <= w.at_most,
                "weeks_off_sick",
                lambda: reasons.say("weeks_off_sick.at_most", role, weeks=_num(w.at_most)),
            )
    if e.weeks_out_of_work is not None and p.weeks_out_of_work is not None:
        # A limit on those told, never asked: most people out of work do not say how long.
        fit.failed |= not e.weeks_out_of_work.holds(p.weeks_out_of_work)
    if e.condition_categories:
        if p.condition_category in e.condition_categories:
            fit.criteria += 1  # made for the person's condition: the closest fit of all
        need(
            p.condition_category is not None,
            p.condition_category in e.condition_categories,
            "condition_category",
            lambda: reasons.say(
                "condition", role, condition=reasons.label("condition", p.condition_category)
            ),
        )
    if e.age is not None and p.age is None and _working_age_meets(e.age, p):
        fit.criteria += 1  # of working age, as far as any rule of "16 or over" needs
    elif e.age is not None:
        lo, hi = e.age.min, e.age.max
        ok = p.age is not None and (lo is None or p.age >= lo) and (hi is None or p.age <= hi)
        need(
            p.age is not None,
            ok,
            "age",
            lambda: (
                reasons.say("age", role, min=lo, max=hi, age=p.age)
                if hi is not None
                else reasons.say("age.min_only", role, min=lo)
            ),
        )
    if e.gp_surgeries:
        surgery = catalogue.gp_surgeries.get(p.gp_surgery_id or "")
        need(
            p.gp_surgery_id is not None,
            p.gp_surgery_id in e.gp_surgeries,
            "gp_surgery_id",
            lambda: reasons.say("gp_surgery", role, surgery=surgery.name),
        )
    if e.benefits:
        held = sorted(p.benefits & set(e.benefits), key=list(e.benefits).index)
        need(
            bool(p.benefits),
            bool(held),
            "benefits",
            lambda: reasons.say("benefit", role, benefit=reasons.label("benefit", held[0])),
        )
    if e.ready_to_work:
        need(
            p.ready_to_work is not None,
            p.ready_to_work in e.ready_to_work,
            "ready_to_work",
            lambda: reasons.say(f"ready_to_work.{p.ready_to_work}", role),
        )
    if e.circumstances:
        held = sorted(p.circumstances & set(e.circumstances))
        # Known once the person said one, or answered the question ("none of these").
        need(
            bool(p.circumstances),
            bool(held),
            "circumstances",
            lambda: reasons.say(f"circumstance.{held[0]}", role),
        )
    return fit


def _working_age_meets(age_rule, p: Profile) -> bool:
    return (
        age_rule.max is None
        and (age_rule.min or 0) <= WORKING_AGE_MIN
        and p.work_status in WORKING_AGE_STATUSES
    )


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)
