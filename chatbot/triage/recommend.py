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

MAX_MATCHES = 3


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

    def as_payload(self) -> dict:
        """The shape channels render and tests read (see README)."""
        return {
            "service_id": self.service_id,
            "name": self.name,
            "reasons": list(self.reasons),
            "next_step": self.next_step,
            "last_verified": self.last_verified.isoformat(),
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
    local_ids = [area_id] if area_id and area_id != vocab.NATIONAL_AREA_ID else []
    scored: list[tuple[int, int, str, Match]] = []
    unavailable: list[Unavailable] = []
    could_ask: set[str] = set()
    could_ask_national: set[str] = set()
    seen: set[str] = set()
    for scope, area in [(0, a) for a in local_ids] + [(1, vocab.NATIONAL_AREA_ID)]:
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
                next_step=(service.next_step_for_professional or service.next_step)
                if profile.role == "patient"
                else service.next_step,
                last_verified=service.last_verified,
                caveats=service.caveats,
                is_local=scope == 0,
                takes_warm_referral=service.referral.takes_warm_referral,
            )
            # Local first; then the more specific fit (more criteria met); then id.
            scored.append((scope, -fit.criteria, service.id, match))
    scored.sort(key=lambda item: item[:3])
    matches = tuple(m for *_, m in scored[:limit])
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

    def need(known: bool, ok: bool, fact: str, reason: Callable[[], str]) -> None:
        if not known:
            fit.missing.add(fact)
        elif not ok:
            fit.failed = True
        else:
            fit.criteria += 1
            fit.reasons.append(reason())

    if area == vocab.NATIONAL_AREA_ID:
        fit.reasons.append(reasons.say("national", role))
    else:
        fit.criteria += 1
        fit.reasons.append(reasons.say("area", role, area=catalogue.areas[area].name))
    if e.work_statuses:
        need(
            p.work_status is not None,
            p.work_status in e.work_statuses,
            "work_status",
            lambda: reasons.say(f"work_status.{p.work_status}", role),
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
    if e.condition_categories:
        need(
            p.condition_category is not None,
            p.condition_category in e.condition_categories,
            "condition_category",
            lambda: reasons.say(
                "condition", role, condition=reasons.label("condition", p.condition_category)
            ),
        )
    if e.age is not None:
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
        held = sorted(p.benefits & set(e.benefits))
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
        # Circumstances are only known when the person told us; absence is "not known".
        need(bool(held), bool(held), "circumstances", lambda: reasons.say(f"circumstance.{held[0]}", role))
    return fit


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)
