"""The outcomes report: the figures for a period and area, suppressed, as plain tables.

Every figure a reader sees is in one of the tables below, and every table that shares a
figure with another (a service's referrals appear in three) is suppressed together with
it, so a number hidden in one cannot be read off another. Renderers (render_*.py) only
lay these tables out: they never see a raw count.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy.engine import Engine

from chatbot.db import session_scope
from chatbot.knowledge.loader import Knowledge
from chatbot.knowledge.review import stale_entries
from chatbot.outcomes import suppression as sup
from chatbot.outcomes.figures import PROGRESSION, Figures, Scope, median_days, read_figures
from chatbot.outcomes.models import ROLE_NOT_SAID
from chatbot.outcomes.suppression import Shown, System
from chatbot.referrals import models as rm
from chatbot.sources import CHANNELS, UNKNOWN_CHANNEL, ShareSource

# Facts older than this are due a check (answers carry their own review_by date).
DEFAULT_REVIEW_DAYS = 182
MIN_FOR_MEDIAN = 5  # a median of fewer values would describe a handful of people
WEEKLY_UP_TO_DAYS = 92  # longer periods are shown by month

CHANNEL_LABELS = {
    "web": "Web chat",
    "socketio": "Web chat (socket.io)",
    "telegram": "Telegram",
    "rest": "Other apps (REST)",
    UNKNOWN_CHANNEL: "Not known",
}
ROLE_LABELS = {
    "self": "Themselves",
    "patient": "A patient (a professional asking)",
    "helper": "Someone they help",
    ROLE_NOT_SAID: "Not said",
}
STATUS_LABELS = {
    rm.SUBMITTED: "Waiting to be delivered",
    rm.DELIVERED: "Delivered",
    rm.ACKNOWLEDGED: "Acknowledged",
    rm.CONTACTED: "Contacted",
    rm.SUPPORT_STARTED: "Support started",
    rm.DECLINED: "Declined",
    rm.COULD_NOT_CONTACT: "Could not contact",
    rm.WITHDRAWN: "Withdrawn",
}
STAGE_LABELS = {
    rm.SUBMITTED: "Referred",
    rm.DELIVERED: "Delivered to the service",
    rm.ACKNOWLEDGED: "Acknowledged by the service",
    rm.CONTACTED: "Person contacted",
    rm.SUPPORT_STARTED: "Support started",
}


class ReportError(ValueError):
    """The report cannot be made as asked; the message says what to do."""


@dataclass(frozen=True)
class Table:
    key: str
    title: str
    about: str
    row_header: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str, tuple[Shown, ...]], ...]  # (label, one figure per column)
    total_row: bool = False  # the last row adds up the others
    total_column: bool = False  # the last column adds up the others


@dataclass(frozen=True)
class Report:
    date_from: dt.date
    date_to: dt.date
    area_id: str | None
    area_name: str
    generated_on: dt.date
    tables: tuple[Table, ...]

    def table(self, key: str) -> Table:
        return next(t for t in self.tables if t.key == key)


def build_report(
    engine: Engine,
    knowledge: Knowledge,
    sources: dict[str, ShareSource],
    date_from: dt.date,
    date_to: dt.date,
    area_id: str | None = None,
    today: dt.date | None = None,
    review_days: int = DEFAULT_REVIEW_DAYS,
) -> Report:
    today = today or dt.date.today()
    if date_to < date_from:
        raise ReportError(f"--to {date_to} is before --from {date_from}: give the earlier date first.")
    areas = {a.id: a for a in knowledge.areas}
    if area_id is not None and area_id not in areas:
        raise ReportError(f"unknown area '{area_id}'. Known areas: {', '.join(sorted(areas))}.")
    in_area = None
    if area_id is not None:
        in_area = frozenset(s.id for s in knowledge.services if area_id in s.eligibility.areas)
    scope = Scope(date_from, date_to, area_id, in_area)
    with session_scope(engine) as session:
        figures = read_figures(session, scope)
    names = {s.id: s.name for s in knowledge.services}
    # Every service in scope gets a row, used or not: a row that appears only when a service
    # was used would itself say "at least one".
    listed = sorted(in_area if in_area is not None else names)
    tables = [
        *_conversation_tables(figures, sources),
        _role_table(figures),
        _recommendation_table(figures, names, listed),
        *_referral_tables(figures, names, listed, _periods(date_from, date_to)),
        _crisis_table(figures),
        _stale_table(knowledge, in_area, today, review_days),
    ]
    return Report(
        date_from=date_from,
        date_to=date_to,
        area_id=area_id,
        area_name=areas[area_id].name if area_id else "All areas",
        generated_on=today,
        tables=tuple(tables),
    )


# --- conversations ---------------------------------------------------------------------


def _vertical(
    system: System, name: str, labels: list[tuple[str, str]], counts: dict, total: str
) -> list[tuple[str, object]]:
    """A one-column table (categories down the side, a total at the foot) in a system."""
    sup.add_grid(
        system,
        [[counts.get(key, 0)] for key, _ in labels],
        lambda r, c: (name, labels[r][0]),
        col_total_var=lambda c: (total,),
        cols=1,
    )
    return [(label, (name, key)) for key, label in labels]


def _one_column_table(
    key: str, title: str, about: str, header: str, column: str, rows: list, total_var: object, shown: dict
) -> Table:
    return Table(
        key=key,
        title=title,
        about=about,
        row_header=header,
        columns=(column,),
        rows=(*((label, (shown[var],)) for label, var in rows), ("Total", (shown[total_var],))),
        total_row=True,
    )


def _conversation_tables(f: Figures, sources: dict[str, ShareSource]) -> list[Table]:
    system = System()
    channels = [(c, CHANNEL_LABELS[c]) for c in CHANNELS]
    if f.started_by_channel.get(UNKNOWN_CHANNEL):
        channels.append((UNKNOWN_CHANNEL, CHANNEL_LABELS[UNKNOWN_CHANNEL]))
    source_ids = sorted(k for k in f.started_by_source if k is not None)
    source_labels = [(s, sources[s].name if s in sources else s) for s in source_ids]
    source_labels.append((None, "No share link"))
    by_channel = _vertical(system, "channel", channels, f.started_by_channel, "conversations")
    by_source = _vertical(system, "source", source_labels, f.started_by_source, "conversations")
    shown = sup.suppress(system)
    return [
        _one_column_table(
            "conversations_by_channel",
            "Conversations started, by channel",
            "Each conversation counted once, on the day it started.",
            "Channel",
            "Conversations",
            by_channel,
            ("conversations",),
            shown,
        ),
        _one_column_table(
            "conversations_by_source",
            "Conversations started, by share link",
            "Which organisation's link or QR code the conversation came through.",
            "Share link from",
            "Conversations",
            by_source,
            ("conversations",),
            shown,
        ),
    ]


def _role_table(f: Figures) -> Table:
    system = System()
    rows = _vertical(system, "role", list(ROLE_LABELS.items()), f.triage_by_role, "triaged")
    return _one_column_table(
        "who_for",
        "Who the help was for",
        "Conversations that reached recommendations, by who the person said the help was for.",
        "Help for",
        "Conversations",
        rows,
        ("triaged",),
        sup.suppress(system),
    )


def _recommendation_table(f: Figures, names: dict[str, str], listed: list[str]) -> Table:
    system = System()
    services = sorted(set(listed) | {k for k in f.recommended_by_service if k})
    rows = _vertical(
        system, "recommended", [(s, names.get(s, s)) for s in services], f.recommended_by_service, "recs"
    )
    return _one_column_table(
        "recommendations_by_service",
        "Recommendations, by service",
        "How many times each service was recommended (once per conversation).",
        "Service",
        "Recommendations",
        rows,
        ("recs",),
        sup.suppress(system),
    )


def _crisis_table(f: Figures) -> Table:
    system = System()
    system.add(("crisis",), f.crisis)
    return Table(
        key="crisis",
        title="Crisis interruptions",
        about="Times a conversation stopped to give urgent help. A count only: nothing else is kept.",
        row_header="",
        columns=("Times",),
        rows=(("Crisis interruptions", (sup.suppress(system)[("crisis",)],)),),
    )


# --- referrals -------------------------------------------------------------------------


def _periods(date_from: dt.date, date_to: dt.date) -> list[tuple[dt.date, str]]:
    """Start of each week (short reports) or month, and its label."""
    periods = []
    if (date_to - date_from).days <= WEEKLY_UP_TO_DAYS:
        start = date_from - dt.timedelta(days=date_from.weekday())
        while start <= date_to:
            periods.append((start, f"w/c {start:%-d %b}"))
            start += dt.timedelta(days=7)
    else:
        start = date_from.replace(day=1)
        while start <= date_to:
            periods.append((start, f"{start:%b %Y}"))
            start = (start + dt.timedelta(days=32)).replace(day=1)
    return periods


def _period_of(day: dt.date, periods: list[tuple[dt.date, str]]) -> int:
    return max(i for i, (start, _) in enumerate(periods) if start <= day)


def _referral_tables(
    f: Figures, names: dict[str, str], listed: list[str], periods: list[tuple[dt.date, str]]
) -> list[Table]:
    """Status by service, over time, consent and the funnel: one system, as they share totals."""
    services = sorted(
        set(listed)
        | {s for s, _ in f.referrals_by_service_status}
        | {s for s, _ in f.referrals_by_service_day}
        | {s for s, _ in f.consent}
    )
    system = System()
    statuses = rm.REFERRAL_STATUSES
    by_status = [[f.referrals_by_service_status[(s, k)] for k in statuses] for s in services]
    sup.add_grid(
        system,
        by_status,
        lambda r, c: ("status", services[r], statuses[c]),
        lambda r: ("referrals", services[r]),
        lambda c: ("status_total", statuses[c]),
        ("referrals_total",),
        cols=len(statuses),
    )
    by_period = [[0] * len(periods) for _ in services]
    for (service, day), n in f.referrals_by_service_day.items():
        by_period[services.index(service)][_period_of(day, periods)] += n
    sup.add_grid(
        system,
        by_period,
        lambda r, c: ("period", services[r], c),
        lambda r: ("referrals", services[r]),
        lambda c: ("period_total", c),
        ("referrals_total",),
        cols=len(periods),
    )
    # Consent given and withdrawn are the referrals and the withdrawn referrals, by
    # construction (store.submit, store.withdraw): the same figures, so the same variables.
    consent_cols = ("given", "withdrawn", "refused")
    consent = [[f.consent[(s, d)] for d in consent_cols] for s in services]
    same = {
        "given": lambda r: ("referrals", services[r]),
        "withdrawn": lambda r: ("status", services[r], rm.WITHDRAWN),
    }
    same_total = {"given": ("referrals_total",), "withdrawn": ("status_total", rm.WITHDRAWN)}

    def consent_var(r: int, c: int) -> object:
        col = consent_cols[c]
        shared = same.get(col)
        if shared and system.values.get(shared(r)) == consent[r][c]:
            return shared(r)
        return ("consent", services[r], col)

    def consent_total(c: int) -> object:
        col = consent_cols[c]
        total = sum(row[c] for row in consent)
        if col in same_total and system.values.get(same_total[col]) == total:
            return same_total[col]
        return ("consent_total", col)

    sup.add_grid(system, consent, consent_var, col_total_var=consent_total, cols=len(consent_cols))
    furthest = [[f.furthest_stage[stage]] for stage in PROGRESSION]
    sup.add_grid(
        system,
        furthest,
        lambda r, c: ("furthest", PROGRESSION[r]),
        col_total_var=lambda c: ("referrals_total",),
    )
    # A referral now at a stage has reached it: a reader knows these inequalities too.
    for j in range(len(PROGRESSION)):
        system.at_most(
            [
                *((("status_total", k), 1) for k in PROGRESSION[j:]),
                *((("furthest", k), -1) for k in PROGRESSION[j:]),
            ]
        )
    shown = sup.suppress(system)
    labels = [names.get(s, s) for s in services]
    all_row = "All services"
    status_table = Table(
        key="referrals_by_service_status",
        title="Referrals by service and where they are now",
        about="Referrals and call-back requests made in the period, by their status today.",
        row_header="Service",
        columns=(*(STATUS_LABELS[k] for k in statuses), "Total"),
        rows=(
            *(
                (labels[r], (*(shown[("status", s, k)] for k in statuses), shown[("referrals", s)]))
                for r, s in enumerate(services)
            ),
            (all_row, (*(shown[("status_total", k)] for k in statuses), shown[("referrals_total",)])),
        ),
        total_row=True,
        total_column=True,
    )
    time_table = Table(
        key="referrals_over_time",
        title="Referrals by service over time",
        about="Referrals made in each "
        + ("week" if len(periods) and "w/c" in periods[0][1] else "month")
        + ".",
        row_header="Service",
        columns=(*(label for _, label in periods), "Total"),
        rows=(
            *(
                (
                    labels[r],
                    (*(shown[("period", s, c)] for c in range(len(periods))), shown[("referrals", s)]),
                )
                for r, s in enumerate(services)
            ),
            (
                all_row,
                (*(shown[("period_total", c)] for c in range(len(periods))), shown[("referrals_total",)]),
            ),
        ),
        total_row=True,
        total_column=True,
    )
    consent_table = Table(
        key="consent",
        title="Consent to share details",
        about="Decisions made in the period. 'Withdrawn' counts consents given and later withdrawn.",
        row_header="Service",
        columns=("Given", "Given, then withdrawn", "Refused"),
        rows=(
            *((labels[r], tuple(shown[consent_var(r, c)] for c in range(3))) for r in range(len(services))),
            (all_row, tuple(shown[consent_total(c)] for c in range(3))),
        ),
        total_row=True,
    )
    return [status_table, _funnel_table(shown), time_table, consent_table, _median_table(f, services, labels)]


def _funnel_table(shown: dict) -> Table:
    """How many referrals reached each stage: sums of published figures only."""
    rows = []
    for j, stage in enumerate(PROGRESSION):
        parts = [shown[("furthest", k)] for k in PROGRESSION[j:]]
        if any(p.hidden for p in parts):
            reached = Shown(None, "-")  # a sum with a hidden figure in it is not shown
        else:
            total = int(sum(p.value for p in parts))
            reached = Shown(total, str(total))
        rows.append((STAGE_LABELS[stage], (reached, shown[("furthest", stage)])))
    return Table(
        key="referral_funnel",
        title="The referral funnel",
        about="Referrals made in the period that reached each stage (or a later one; a service may skip "
        "one), and how many went no further so far.",
        row_header="Stage",
        columns=("Reached this stage", "Went no further"),
        rows=tuple(rows),
    )


def _median_table(f: Figures, services: list[str], labels: list[str]) -> Table:
    def median(values: list[float]) -> Shown:
        if len(values) < MIN_FOR_MEDIAN:
            return Shown(None, "-")
        days = median_days(values)
        return Shown(days, f"{days:.1f}")

    everything = [d for s in services for d in f.days_to_first_contact.get(s, [])]
    return Table(
        key="days_to_first_contact",
        title="Median days from referral to first contact",
        about=f"Shown where at least {MIN_FOR_MEDIAN} referrals have had a first contact; '-' otherwise.",
        row_header="Service",
        columns=("Median days",),
        rows=(
            *((labels[r], (median(f.days_to_first_contact.get(s, [])),)) for r, s in enumerate(services)),
            ("All services", (median(everything),)),
        ),
        total_row=True,
    )


# --- knowledge -------------------------------------------------------------------------


def _stale_table(knowledge: Knowledge, in_area: frozenset[str] | None, today: dt.date, days: int) -> Table:
    services = {s.id: s for s in knowledge.services}
    stale = [
        services[e["id"]]
        for e in stale_entries(knowledge, older_than_days=days, today=today)
        if e["kind"] == "service" and (in_area is None or e["id"] in in_area)
    ]
    return Table(
        key="services_past_review",
        title="Services whose facts are past their review date",
        about=f"Facts last checked more than {days} days before {today:%-d %B %Y}: "
        "check them before relying on them.",
        row_header="Service",
        columns=("Last checked", "Days ago"),
        rows=tuple(
            (
                s.name,
                (
                    Shown(None, s.last_verified.isoformat()),
                    Shown((today - s.last_verified).days, str((today - s.last_verified).days)),
                ),
            )
            for s in sorted(stale, key=lambda s: s.last_verified)
        ),
    )
