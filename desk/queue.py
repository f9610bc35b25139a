"""The agents' queue: their open tickets and the unassigned ones they could take, earliest SLA
breach first. A page costs a fixed number of queries whatever its size (pinned in
tests/desk/test_queue.py): the tickets with customer, assignee and category in one, their
clocks in one."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.contrib.auth.models import User
from django.db.models import (
    Case,
    F,
    IntegerField,
    Prefetch,
    Q,
    QuerySet,
    Value,
    When,
)

from desk.present import Badge, current_badges, duration
from sla.models import SlaClock
from tickets.models import Ticket

PAGE_SIZE = 50
PRIORITY_RANK = {"urgent": 0, "high": 1, "normal": 2, "low": 3}
SCOPES = {
    "": "Mine + unassigned",
    "mine": "Mine",
    "unassigned": "Unassigned",
    "triage": "Needs triage",
    "at_risk": "At risk",
    "breached": "Breached",
    "all": "All open",
}


@dataclass
class QueueFilters:
    scope: str = ""
    category: str = ""
    priority: str = ""
    team: str = ""
    page: int = 1

    @classmethod
    def from_query(cls, params: Any) -> QueueFilters:
        scope = params.get("scope", "")
        try:
            page = max(1, int(params.get("page", "1")))
        except ValueError:
            page = 1
        return cls(
            scope=scope if scope in SCOPES else "",
            category=params.get("category", ""),
            priority=params.get("priority", "") if params.get("priority") in PRIORITY_RANK else "",
            team=params.get("team", ""),
            page=page,
        )

    def query(self, **changes: Any) -> str:
        """The query string of these filters with some changed (filter links)."""
        from urllib.parse import urlencode

        values = {"scope": self.scope, "category": self.category, "priority": self.priority,
                  "team": self.team, **changes}
        return urlencode({k: v for k, v in values.items() if v not in ("", None, 1)})


@dataclass
class Row:
    ticket: Ticket
    badges: list[Badge]
    age: str
    mine: bool


@dataclass
class QueuePage:
    rows: list[Row]
    has_next: bool
    filters: QueueFilters
    extra: dict[str, Any] = field(default_factory=dict)


def queue_queryset(user: User, filters: QueueFilters, now: datetime) -> QuerySet[Ticket]:
    qs = Ticket.objects.filter(status__in=Ticket.OPEN_STATUSES)
    scope = filters.scope
    if scope == "mine":
        qs = qs.filter(assignee=user)
    elif scope == "unassigned":
        qs = qs.filter(assignee__isnull=True)
    elif scope == "triage":
        qs = qs.filter(needs_triage=True)
    elif scope == "at_risk":
        # A running clock always has a next check (its breach at least): the condition is
        # redundant but makes the subquery (run once, not per ticket) read the small partial
        # index sla_clock_next_check (clocks with work left) instead of every clock.
        at_risk = SlaClock.objects.filter(
            next_check_at__isnull=False, state=SlaClock.State.RUNNING, ticket__isnull=False,
            paused_at__isnull=True, warn_at__lte=now, due_at__gt=now,
        ).values("ticket_id")
        qs = qs.filter(pk__in=at_risk)
    elif scope == "breached":
        # Overdue now: sla_due_at is the earliest deadline of the ticket's counting clocks
        # (running or breached, not paused, not stopped), kept by sla.services.
        qs = qs.filter(sla_due_at__lte=now)
    elif scope != "all":
        qs = qs.filter(Q(assignee=user) | Q(assignee__isnull=True))
    if filters.category:
        qs = qs.filter(category__slug=filters.category)
    if filters.priority:
        qs = qs.filter(priority=filters.priority)
    if filters.team:
        qs = qs.filter(assignee__agent_profile__team=filters.team)
    rank = Case(*[When(priority=p, then=Value(r)) for p, r in PRIORITY_RANK.items()],
                default=Value(9), output_field=IntegerField())
    return qs.alias(priority_rank=rank).order_by(
        F("sla_due_at").asc(nulls_last=True), "priority_rank", "created_at", "pk"
    )


def queue_page(user: User, filters: QueueFilters, now: datetime) -> QueuePage:
    start = (filters.page - 1) * PAGE_SIZE
    tickets = list(
        queue_queryset(user, filters, now)
        .select_related("customer", "assignee", "category")
        .prefetch_related(Prefetch("sla_clocks", queryset=SlaClock.objects.order_by("id")))
        [start:start + PAGE_SIZE + 1]
    )
    rows = [
        Row(
            ticket=t,
            badges=current_badges(list(t.sla_clocks.all()), now),
            age=duration(now - t.created_at),
            mine=t.assignee_id == user.pk,
        )
        for t in tickets[:PAGE_SIZE]
    ]
    return QueuePage(rows=rows, has_next=len(tickets) > PAGE_SIZE, filters=filters)
