"""The managers' SLA report: every figure is a database aggregate (COUNT ... FILTER, AVG,
PERCENTILE_DISC on PostgreSQL) over the period's rows; Python only arranges the grouped results.

Definitions (also in README "Managers' reports"):
- A clock counts in the period its outcome was decided in: a breached clock on the day it
  breached (whether or not it was met later), a met clock on the day it was met. Running
  clocks not yet due are not counted. Compliance = met / (met + breached).
- First response time: created -> first public staff reply, for first replies given in the
  period; resolution time: created -> resolved, for tickets resolved in the period. Median and
  p90 are nearest-rank (PERCENTILE_DISC), the same on every database.
- Escalations: the levels the SLA watcher recorded in the period (warning, breach, second
  level), by kind.
- Incidents: opened (detected) in the period by severity; MTTA = detected -> acknowledged for
  those acknowledged in the period, MTTR = detected -> resolved for those resolved in it (mean
  and median); their stage clocks' compliance (detect, classify, respond, resolve, post-mortem,
  status updates) like the tickets'.
- KPIs: first-contact resolution = tickets resolved in the period after exactly one public
  agent reply / tickets resolved in the period; first response within 2 h = share of the
  period's first replies given within 2 h of creation; CSAT = mean of the ratings customers gave
  in the period (1-5); reopen rate = tickets reopened in the period / tickets resolved in it
  (from the timeline's status changes)."""

from __future__ import annotations

import math
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection, connections
from django.db.models import (
    Aggregate,
    Avg,
    Case,
    Count,
    DurationField,
    ExpressionWrapper,
    F,
    Q,
    QuerySet,
    When,
)
from django.db.models.functions import TruncDate

from incidents.models import Incident
from sla.models import Escalation, SlaClock
from tickets.models import Category, Comment, Rating, Ticket, TicketEvent

MET, BREACHED = SlaClock.State.MET, SlaClock.State.BREACHED
# What each breakdown groups by (a ticket's current values).
GROUPS: dict[str, str | None] = {
    "stage": None,
    "category": "ticket__category__name",
    "team": "ticket__assignee__agent_profile__team",
    "agent": "ticket__assignee__username",
    "priority": "ticket__priority",
}
UNSET = {"category": "(no category)", "team": "(no team)", "agent": "(unassigned)"}
DEFAULT_TARGETS = {"fcr": 0.85, "first_response_2h": 0.95, "csat": 4.8, "reopen_rate": 0.05}


@dataclass(frozen=True)
class Period:
    """[first, last] whole days in `tz`, i.e. [start, end) as instants."""

    first: date
    last: date
    tz: ZoneInfo

    @property
    def start(self) -> datetime:
        return datetime.combine(self.first, time(0), self.tz)

    @property
    def end(self) -> datetime:
        return datetime.combine(self.last + timedelta(days=1), time(0), self.tz)

    @property
    def days(self) -> list[date]:
        return [self.first + timedelta(days=i) for i in range((self.last - self.first).days + 1)]

    def within(self, field_name: str) -> Q:
        return Q(**{f"{field_name}__gte": self.start, f"{field_name}__lt": self.end})


def default_period(today: date, tz: ZoneInfo, days: int = 7) -> Period:
    return Period(today - timedelta(days=days - 1), today, tz)


@dataclass
class Row:
    group: str
    stage: str
    total: int
    met: int
    breached: int

    @property
    def compliance(self) -> float | None:
        return self.met / self.total if self.total else None

    def as_dict(self) -> dict[str, Any]:
        return {"group": self.group, "stage": self.stage, "total": self.total, "met": self.met,
                "breached": self.breached, "compliance": _round(self.compliance)}


@dataclass
class Kpi:
    key: str
    label: str
    value: float | None
    target: float
    higher_is_better: bool
    unit: str  # "%" or "/5"
    basis: int  # how many tickets or ratings it is computed from

    @property
    def met(self) -> bool | None:
        if self.value is None:
            return None
        return self.value >= self.target if self.higher_is_better else self.value <= self.target

    def as_dict(self) -> dict[str, Any]:
        return {"key": self.key, "name": self.label, "value": _round(self.value),
                "target": self.target, "met": self.met, "basis": self.basis}


@dataclass
class Report:
    period: Period
    by_stage: list[Row]
    breakdowns: dict[str, list[Row]]
    first_response: dict[str, Any]
    resolution: dict[str, Any]
    escalations: dict[str, int]
    daily: list[dict[str, Any]]
    kpis: list[Kpi]
    incidents: dict[str, Any] = field(default_factory=dict)
    breached: list[SlaClock] = field(default_factory=list)


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def decided_clocks(period: Period) -> QuerySet[SlaClock]:
    """Clocks whose outcome fell in the period (breach served by sla_clock_breached)."""
    return SlaClock.objects.filter(
        Q(state=BREACHED) & period.within("breached_at")
        | Q(state=MET) & period.within("stopped_at")
    )


def compliance_rows(period: Period, group_by: str, subject: str = "ticket") -> list[Row]:
    """One GROUP BY: per stage (and per value of `group_by`) the clocks of `subject` (ticket or
    incident) decided in the period."""
    column = GROUPS[group_by]
    qs = decided_clocks(period).filter(
        ticket__isnull=subject != "ticket", incident_id__isnull=subject != "incident")
    keys = ["stage"] if column is None else ["stage", column]
    grouped = (
        qs.values(*keys)
        .annotate(total=Count("id"), met=Count("id", filter=Q(state=MET)),
                  breached=Count("id", filter=Q(state=BREACHED)))
        .order_by(*keys)
    )
    unset = UNSET.get(group_by, "-")
    return [
        Row(group=str(r[column]) if column and r[column] not in (None, "") else
            (unset if column else r["stage"]),
            stage=r["stage"], total=r["total"], met=r["met"], breached=r["breached"])
        for r in grouped
    ]


def ticket_breakdowns(period: Period) -> dict[str, list[Row]]:
    """Every ticket breakdown (stage, category, team, agent, priority) from ONE GROUP BY over
    the period's clocks on (stage, category, priority, assignee, team): its rows (at most
    stages x categories x priorities x agents, a few thousand) are the finest counts, and each
    breakdown sums them by one key. One scan of the clocks instead of one per breakdown."""
    # Grouped by the ticket's own columns (ids): no join beyond the ticket; the few names are
    # looked up afterwards.
    fine: list[dict[str, Any]] = [dict(r) for r in (
        decided_clocks(period).filter(ticket__isnull=False)
        .values("stage", "ticket__category_id", "ticket__priority", "ticket__assignee_id")
        .annotate(total=Count("id"), met=Count("id", filter=Q(state=MET)),
                  breached=Count("id", filter=Q(state=BREACHED)))
        .order_by()
    )]
    categories = dict(Category.objects.filter(
        pk__in={r["ticket__category_id"] for r in fine}).values_list("pk", "name"))
    agents = {pk: (name, team) for pk, name, team in get_user_model().objects.filter(
        pk__in={r["ticket__assignee_id"] for r in fine}).values_list(
            "pk", "username", "agent_profile__team")}
    for r in fine:
        name, team = agents.get(r["ticket__assignee_id"], (None, None))
        r.update({"category": categories.get(r["ticket__category_id"]), "agent": name,
                  "team": team, "priority": r["ticket__priority"]})
    out: dict[str, list[Row]] = {}
    for group_by in GROUPS:
        unset = UNSET.get(group_by, "-")
        sums: dict[tuple[str, str], list[int]] = {}
        for r in fine:
            value = r["stage"] if group_by == "stage" else r[group_by]
            key = (r["stage"], str(value) if value not in (None, "") else unset)
            acc = sums.setdefault(key, [0, 0, 0])
            acc[0] += r["total"]
            acc[1] += r["met"]
            acc[2] += r["breached"]
        out[group_by] = [Row(group=g, stage=s, total=t, met=m, breached=b)
                         for (s, g), (t, m, b) in sorted(sums.items())]
    return out


class PercentileDisc(Aggregate):
    """PostgreSQL's nearest-rank percentile (an ordered-set aggregate)."""

    function = "PERCENTILE_DISC"
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = DurationField()

    def __init__(self, expression: Any, fraction: float) -> None:
        super().__init__(expression)
        self.extra["fraction"] = repr(float(fraction))  # a constant of ours, never user input


def _durations(qs: QuerySet[Any], start: str, end: str, *, mean: bool = False
               ) -> dict[str, Any]:
    """count, median and p90 (and the mean) of (end - start) over qs, nearest rank."""
    span = ExpressionWrapper(F(end) - F(start), output_field=DurationField())
    extra = {"mean_seconds": _seconds(qs.aggregate(m=Avg(span))["m"])} if mean else {}
    if connection.vendor == "postgresql":
        got = qs.aggregate(count=Count("pk"), p50=PercentileDisc(span, 0.5),
                           p90=PercentileDisc(span, 0.9))
        count, p50, p90 = got["count"], got["p50"], got["p90"]
    else:  # no ordered-set aggregates: the database sorts, we read the ranks
        count = qs.count()
        ordered = qs.annotate(span=span).order_by("span").values_list("span", flat=True)
        p50, p90 = (ordered[max(0, math.ceil(p * count) - 1)] if count else None
                    for p in (0.5, 0.9))
    return {"count": count, "median_seconds": _seconds(p50), "p90_seconds": _seconds(p90),
            **extra}


def _seconds(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, timedelta):
        return round(value.total_seconds())
    return round(int(value) / 1_000_000)  # SQLite hands durations back as microseconds


def response_times(period: Period) -> tuple[dict[str, Any], dict[str, Any]]:
    first = _durations(Ticket.objects.filter(period.within("first_response_at")),
                       "created_at", "first_response_at")
    resolution = _durations(Ticket.objects.filter(period.within("resolved_at")),
                            "created_at", "resolved_at")
    return first, resolution


def incident_figures(period: Period) -> dict[str, Any]:
    """Opened by severity, MTTA and MTTR (mean, median, p90), stage compliance."""
    opened = dict(
        Incident.objects.filter(period.within("detected_at")).values("severity")
        .annotate(n=Count("pk")).values_list("severity", "n")
    )
    return {
        "opened": {s: opened.get(s, 0) for s in Incident.Severity.values},
        "mtta": _durations(Incident.objects.filter(period.within("acknowledged_at")),
                           "detected_at", "acknowledged_at", mean=True),
        "mttr": _durations(Incident.objects.filter(period.within("resolved_at")),
                           "detected_at", "resolved_at", mean=True),
        "stages": compliance_rows(period, "stage", subject="incident"),
    }


def escalation_counts(period: Period) -> dict[str, int]:
    counted = dict(
        Escalation.objects.filter(period.within("created_at"))
        .values("kind").annotate(n=Count("id")).values_list("kind", "n")
    )
    return {kind: counted.get(kind, 0) for kind in Escalation.Kind.values}


def daily_trend(period: Period) -> list[dict[str, Any]]:
    """Per day of the period (in its time zone): clocks met and breached, compliance."""
    decided_at = Case(When(state=BREACHED, then=F("breached_at")), default=F("stopped_at"))
    grouped = {
        r["day"]: r
        for r in decided_clocks(period)
        .annotate(day=TruncDate(decided_at, tzinfo=period.tz))
        .values("day")
        .annotate(met=Count("id", filter=Q(state=MET)),
                  breached=Count("id", filter=Q(state=BREACHED)))
        .order_by("day")
    }
    days = []
    for day in period.days:
        r = grouped.get(day, {"met": 0, "breached": 0})
        total = r["met"] + r["breached"]
        days.append({"day": day.isoformat(), "met": r["met"], "breached": r["breached"],
                     "compliance": _round(r["met"] / total) if total else None})
    return days


def kpis(period: Period) -> list[Kpi]:
    targets = {**DEFAULT_TARGETS, **settings.DESK_KPI_TARGETS}
    # Public replies by anyone but the customer, grouped per ticket resolved in the period.
    single_reply = (
        Comment.objects.filter(period.within("ticket__resolved_at"), internal=False)
        .exclude(author=F("ticket__customer"))
        .values("ticket").annotate(n=Count("pk")).filter(n=1).order_by()
    )
    resolved = {"total": Ticket.objects.filter(period.within("resolved_at")).count(),
                "single": single_reply.count()}
    two_hours = timedelta(hours=2)
    answered = Ticket.objects.filter(period.within("first_response_at")).aggregate(
        total=Count("pk"),
        fast=Count("pk", filter=Q(first_response_at__lte=F("created_at") + two_hours)),
    )
    rated = Rating.objects.filter(period.within("created_at")).aggregate(
        n=Count("pk"), mean=Avg("score"))
    changes = TicketEvent.objects.filter(
        period.within("created_at"), kind=TicketEvent.Kind.STATUS_CHANGED)
    moved = changes.aggregate(  # one scan of the period's status changes
        resolutions=Count("ticket", distinct=True, filter=Q(data__new="resolved")),
        reopens=Count("ticket", distinct=True, filter=Q(data__old="resolved", data__new="open")),
    )
    resolutions, reopens = moved["resolutions"], moved["reopens"]

    def share(part: int, whole: int) -> float | None:
        return part / whole if whole else None

    return [
        Kpi("fcr", "First-contact resolution", share(resolved["single"], resolved["total"]),
            targets["fcr"], True, "%", resolved["total"]),
        Kpi("first_response_2h", "First response within 2 h",
            share(answered["fast"], answered["total"]), targets["first_response_2h"], True, "%",
            answered["total"]),
        Kpi("csat", "Customer satisfaction", rated["mean"], targets["csat"], True, "/5",
            rated["n"]),
        Kpi("reopen_rate", "Reopen rate", share(reopens, resolutions), targets["reopen_rate"],
            False, "%", resolutions),
    ]


def breached_clocks(period: Period, limit: int | None = 200) -> list[SlaClock]:
    qs = (
        SlaClock.objects.filter(period.within("breached_at"), state=BREACHED)
        .select_related("ticket", "ticket__assignee")
        .order_by("-breached_at", "-id")
    )
    return list(qs[:limit] if limit else qs)


def build(period: Period, *, breached_limit: int | None = 200) -> Report:
    parts = run_parts({  # the costliest first: they start before the cheap ones
        "kpis": lambda: kpis(period),
        "breakdowns": lambda: ticket_breakdowns(period),
        "times": lambda: response_times(period),
        "daily": lambda: daily_trend(period),
        "incidents": lambda: incident_figures(period),
        "escalations": lambda: escalation_counts(period),
        "breached": lambda: (breached_clocks(period, breached_limit)
                             if breached_limit != 0 else []),
    })
    breakdowns = parts["breakdowns"]
    first, resolution = parts["times"]
    return Report(
        period=period,
        by_stage=breakdowns.pop("stage"),
        breakdowns=breakdowns,
        first_response=first,
        resolution=resolution,
        escalations=parts["escalations"],
        daily=parts["daily"],
        kpis=parts["kpis"],
        incidents=parts["incidents"],
        breached=parts["breached"],
    )


def run_parts(parts: dict[str, Callable[[], Any]]) -> dict[str, Any]:
    """The report's independent aggregates, each a scan of the period's rows. On PostgreSQL
    they run side by side, DESK_REPORT_WORKERS at a time, each thread on its own connection
    (closed when its part is done), so a report takes about its longest scans instead of their
    sum. Inside a transaction (tests, or a caller's) they run one after the other: another
    connection would not see its uncommitted rows."""
    workers = settings.DESK_REPORT_WORKERS
    if connection.vendor != "postgresql" or connection.in_atomic_block or workers <= 1:
        return {name: part() for name, part in parts.items()}

    def alone(part: Callable[[], Any]) -> Any:
        try:
            return part()
        finally:
            connections.close_all()  # this thread's connection, not the caller's

    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="report") as pool:
        futures = {name: pool.submit(alone, part) for name, part in parts.items()}
        return {name: future.result() for name, future in futures.items()}


def csv_rows(report: Report) -> list[list[Any]]:
    """The report's compliance rows, every breakdown, as CSV lines (header first)."""
    lines: list[list[Any]] = [["group_by", "group", "stage", "total", "met", "breached",
                               "compliance_percent"]]
    for group_by, rows in [("stage", report.by_stage), *report.breakdowns.items(),
                           ("incident_stage", report.incidents.get("stages", []))]:
        for r in rows:
            pct = round(100 * r.compliance, 1) if r.compliance is not None else ""
            lines.append([group_by, r.group, r.stage, r.total, r.met, r.breached, pct])
    return lines
