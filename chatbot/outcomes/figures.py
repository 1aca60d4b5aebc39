"""What the database says for a period and area: raw counts, before any suppression.

Nothing here leaves the outcomes package unsuppressed: report.py turns these counts into
published figures. Referral, consent and status figures come from the referral tables;
everything else from outcome_events. Only ids, statuses and dates are read: never a
reference, name, contact detail or shared fact.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections import Counter, defaultdict
from collections.abc import Collection
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.orm import Session

from chatbot.outcomes import models as om
from chatbot.referrals import models as rm

# The stages a referral moves forward through, in order (the others end it).
PROGRESSION = (rm.SUBMITTED, rm.DELIVERED, rm.ACKNOWLEDGED, rm.CONTACTED, rm.SUPPORT_STARTED)
FIRST_CONTACT = (rm.CONTACTED, rm.SUPPORT_STARTED)


@dataclass(frozen=True)
class Scope:
    date_from: dt.date
    date_to: dt.date  # inclusive
    area_id: str | None = None
    # With an area: the services that cover it (referrals carry no area of their own).
    service_ids: frozenset[str] | None = None

    def start(self) -> dt.datetime:
        return dt.datetime.combine(self.date_from, dt.time(), tzinfo=dt.timezone.utc)

    def end(self) -> dt.datetime:
        """The first moment after the period (the end date is included)."""
        return dt.datetime.combine(self.date_to + dt.timedelta(days=1), dt.time(), tzinfo=dt.timezone.utc)


@dataclass
class Figures:
    started_by_channel: Counter = field(default_factory=Counter)
    started_by_source: Counter = field(default_factory=Counter)  # None: no share link
    triage_by_role: Counter = field(default_factory=Counter)
    recommended_by_service: Counter = field(default_factory=Counter)
    crisis: int = 0
    referrals_by_service_status: Counter = field(default_factory=Counter)  # (service, status)
    referrals_by_service_day: Counter = field(default_factory=Counter)  # (service, date)
    furthest_stage: Counter = field(default_factory=Counter)  # stage -> referrals
    consent: Counter = field(default_factory=Counter)  # (service, given|refused|withdrawn)
    days_to_first_contact: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))


def _events(session: Session, scope: Scope, kind: str, *columns: sa.Column) -> list[tuple]:
    query = sa.select(*columns, sa.func.count()).where(
        om.OutcomeEventRow.kind == kind,
        om.OutcomeEventRow.occurred_on >= scope.date_from,
        om.OutcomeEventRow.occurred_on <= scope.date_to,
    )
    if scope.area_id is not None:
        query = query.where(om.OutcomeEventRow.area_id == scope.area_id)
    return session.execute(query.group_by(*columns)).all() if columns else session.execute(query).all()


def _in_area(column: sa.Column, service_ids: Collection[str] | None):  # noqa: ANN202
    return sa.true() if service_ids is None else column.in_(sorted(service_ids))


def read_figures(session: Session, scope: Scope) -> Figures:
    f = Figures()
    e = om.OutcomeEventRow
    f.started_by_channel.update(dict(_events(session, scope, om.CONVERSATION_STARTED, e.channel)))
    f.started_by_source.update(dict(_events(session, scope, om.CONVERSATION_STARTED, e.source_id)))
    f.triage_by_role.update(dict(_events(session, scope, om.TRIAGE_COMPLETED, e.role)))
    f.recommended_by_service.update(dict(_events(session, scope, om.SERVICE_RECOMMENDED, e.service_id)))
    f.crisis = _events(session, scope, om.CRISIS_INTERRUPTED)[0][0]
    _read_referrals(session, scope, f)
    _read_consent(session, scope, f)
    return f


def _read_referrals(session: Session, scope: Scope, f: Figures) -> None:
    r = rm.ReferralRow
    referrals = session.execute(
        sa.select(r.id, r.service_id, r.status, r.created_at).where(
            r.created_at >= scope.start(),
            r.created_at < scope.end(),
            _in_area(r.service_id, scope.service_ids),
        )
    ).all()
    changes: dict[int, list[tuple[str, dt.datetime]]] = defaultdict(list)
    c = rm.StatusChangeRow
    for chunk in _chunks([row.id for row in referrals], 900):  # SQLite allows ~1000 parameters
        for referral_id, status, changed_at in session.execute(
            sa.select(c.referral_id, c.status, c.changed_at).where(c.referral_id.in_(chunk))
        ):
            changes[referral_id].append((status, changed_at))
    for referral_id, service_id, status, created_at in referrals:
        f.referrals_by_service_status[(service_id, status)] += 1
        f.referrals_by_service_day[(service_id, _utc(created_at).date())] += 1
        history = changes.get(referral_id, [])
        reached = [PROGRESSION.index(s) for s in [status, *(s for s, _ in history)] if s in PROGRESSION]
        f.furthest_stage[PROGRESSION[max(reached, default=0)]] += 1
        contacts = [_utc(at) for s, at in history if s in FIRST_CONTACT]
        if contacts:
            days = (min(contacts) - _utc(created_at)).total_seconds() / 86400
            f.days_to_first_contact[service_id].append(max(days, 0.0))


def _read_consent(session: Session, scope: Scope, f: Figures) -> None:
    c = rm.ConsentRow
    for service_id, decision, withdrawn_at in session.execute(
        sa.select(c.service_id, c.decision, c.withdrawn_at).where(
            c.decided_at >= scope.start(),
            c.decided_at < scope.end(),
            _in_area(c.service_id, scope.service_ids),
        )
    ):
        f.consent[(service_id, decision)] += 1
        if decision == "given" and withdrawn_at is not None:
            f.consent[(service_id, "withdrawn")] += 1


def median_days(values: list[float]) -> float:
    return round(statistics.median(values), 1)


def _utc(moment: dt.datetime) -> dt.datetime:
    # SQLite gives back naive datetimes; we always store UTC.
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.timezone.utc)


def _chunks(items: list, size: int):  # noqa: ANN202
    for i in range(0, len(items), size):
        yield items[i : i + size]
