"""A realistic 30-day history for the demo, laid down by the real flows at past instants
(time-machine moves the clock; nothing is back-dated by hand), with the SLA watcher passing
between actions: tickets are created, classified, routed, answered, sometimes late, put on
hold, reopened, escalated, resolved, confirmed and rated, so every queue badge, report section,
chart and KPI has data at first sight.

Mail during the replay goes to Django's in-memory backend with django-q2 in sync mode: the
customer notices and SLA alerts of the past are delivered there (and logged as sent), not
printed by the demo's worker at start-up."""

from __future__ import annotations

import contextlib
import heapq
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial

import time_machine
from django.contrib.auth.models import User
from django.db import connection
from django.test.utils import override_settings
from django.utils import timezone
from django_q.conf import Conf
from django_q.conf import logger as qlog

from desk.demo.incidents import schedule_incidents
from desk.demo.texts import (
    FOLLOW_UPS,
    NOTES,
    RATING_COMMENTS,
    REOPENS,
    SECOND_REPLIES,
    TICKETS,
)
from routing import agents as agent_services
from routing.models import AgentProfile
from routing.services import RoutingError
from sla.watcher import run_pass
from tickets import flows
from tickets.models import Category, Ticket
from tickets.services import TicketStateError

notices = logging.getLogger("tickets.tasks")
PRIORITIES = ["low"] * 2 + ["normal"] * 6 + ["high"] * 2 + ["urgent"]
# Agents answer between 07:00 and 20:00 UTC; the policies are 24x7, so the night waits.
WORK_START, WORK_END = 7, 20


@dataclass(order=True)
class _Action:
    at: datetime
    seq: int
    run: Callable[[], object] = field(compare=False)


@dataclass
class Replay:
    customers: list[User]
    agents: list[User]
    categories: dict[str, Category]
    now: datetime
    rng: random.Random
    queue: list[_Action] = field(default_factory=list)
    seq: int = 0
    last_pass: datetime | None = None
    shift_end: datetime | None = None  # after it, nobody picks up unassigned tickets
    submitted: list[tuple[datetime, Ticket]] = field(default_factory=list)
    stats: dict[str, int] = field(default_factory=dict)

    def at(self, when: datetime, run: Callable[[], object]) -> None:
        if when < self.now:  # the future has not happened yet: those tickets stay open
            self.seq += 1
            heapq.heappush(self.queue, _Action(when, self.seq, run))

    def count(self, what: str) -> None:
        self.stats[what] = self.stats.get(what, 0) + 1

    def working(self, when: datetime) -> datetime:
        """The next instant an agent is at work (WORK_START-WORK_END UTC, every day)."""
        if when.hour < WORK_START:
            return when.replace(hour=WORK_START, minute=self.rng.randint(0, 40))
        if when.hour >= WORK_END:
            nxt = when + timedelta(days=1)
            return nxt.replace(hour=WORK_START, minute=self.rng.randint(0, 40))
        return when

    def minutes(self, median: float, spread: float = 0.9) -> timedelta:
        return timedelta(minutes=max(1.0, self.rng.lognormvariate(0, spread) * median))


def replay_history(*, customers: list[User], agents: list[User], categories: dict[str, Category],
                   tickets: int, days: int = 30, seed: int = 7) -> dict[str, int]:
    """Replay `tickets` tickets over the last `days` days. Returns counts of what happened."""
    now = timezone.now()
    replay = Replay(customers, agents, categories, now, random.Random(seed))
    for i, user in enumerate(agents):  # two teams, for the report's "by team"
        AgentProfile.objects.filter(user=user, team="").update(
            team="Workplace" if i % 2 == 0 else "Access & Accounts")
    start = now - timedelta(days=days)
    for i in range(tickets):
        day = start + timedelta(days=replay.rng.uniform(0, days))
        hour = replay.rng.choice([8, 9, 9, 10, 10, 11, 13, 14, 14, 15, 16, 17, 19, 22, 3])
        when = day.replace(hour=hour, minute=replay.rng.randint(0, 59))
        if i >= tickets - min(20, tickets // 5):  # the last ones arrive in the last hours
            when = now - timedelta(minutes=replay.rng.randint(5, 10 * 60))
        if when < now:
            replay.at(when, partial(_submit, replay, when))
    schedule_incidents(replay, start, days)
    replay.shift_end = now - timedelta(hours=3)
    replay.at(replay.shift_end, lambda: _end_of_shift(replay))
    old = Conf.SYNC, Conf.SAVE_LIMIT, qlog.level
    # django-q2 tasks (mails, alerts) run in-process, into locmem, without keeping a result
    # row each or logging each one.
    Conf.SYNC, Conf.SAVE_LIMIT = True, -1
    qlog.setLevel(logging.WARNING)
    notices.setLevel(logging.WARNING)
    fast = connection.vendor == "sqlite" and not connection.in_atomic_block
    if fast:  # demo data: no fsync per commit while replaying
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA synchronous=OFF")
    try:
        with override_settings(EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend"):
            while replay.queue:
                action = heapq.heappop(replay.queue)
                with time_machine.travel(action.at, tick=False):
                    _watch(replay, action.at)
                    action.run()
            with time_machine.travel(now, tick=False):
                _watch(replay, now, force=True)
    finally:
        Conf.SYNC, Conf.SAVE_LIMIT = old[0], old[1]
        qlog.setLevel(old[2])
        notices.setLevel(logging.NOTSET)
        if fast:
            with connection.cursor() as cursor:
                cursor.execute("PRAGMA synchronous=NORMAL")
    return replay.stats


def _watch(replay: Replay, at: datetime, force: bool = False) -> None:
    """The SLA watcher's pass, as often as it matters for minute-scale history."""
    if force or replay.last_pass is None or at - replay.last_pass >= timedelta(minutes=5):
        run_pass(now=at)
        replay.last_pass = at


def _end_of_shift(replay: Replay) -> None:
    """Three hours ago the team went away: they still answer their own tickets, but newer
    ones wait in the queue for whoever takes them (the demo's agent1 can "take next")."""
    for user in replay.agents:
        profile = AgentProfile.objects.get(user=user)
        agent_services.set_availability(agent=profile, availability="away", actor=user)


def _submit(replay: Replay, when: datetime) -> None:
    rng = replay.rng
    label = rng.choices(list(TICKETS), weights=[5, 4, 5, 3, 2, 2, 1, 1])[0]
    subject, description, first, closing = rng.choice(TICKETS[label])
    ticket = flows.submit_ticket(
        customer=rng.choice(replay.customers), subject=subject, description=description,
        priority=rng.choice(PRIORITIES),
        channel=rng.choice([Ticket.Channel.API, Ticket.Channel.WEB, Ticket.Channel.EMAIL]),
    )
    replay.count("tickets")
    replay.submitted.append((when, ticket))
    category = replay.categories[label]
    after = when
    if ticket.category_id != category.pk:  # the model was unsure or wrong: an agent fixes it
        after = replay.working(when + replay.minutes(20))
        replay.at(after, lambda: _categorize(replay, ticket, category))
    late = rng.random() < 0.12
    target = {"urgent": 15, "high": 60, "normal": 120, "low": 480}[ticket.priority]
    delay = replay.minutes(target * (1.6 if late else 0.35), 0.5)
    reply_at = replay.working(max(after, when) + delay)
    replay.at(reply_at, lambda: _first_reply(replay, ticket, first, closing, reply_at))


def _categorize(replay: Replay, ticket: Ticket, category: Category) -> None:
    agent = replay.rng.choice(replay.agents)
    flows.recategorize(ticket=Ticket.objects.get(pk=ticket.pk), category=category, actor=agent)
    replay.count("categorized by hand")


def _agent_for(replay: Replay, ticket: Ticket) -> User | None:
    """The assignee, or an agent who assigns it to themselves (within capacity)."""
    ticket.refresh_from_db()
    if not ticket.is_open:
        return None
    if ticket.assignee_id is not None and ticket.assignee in replay.agents:
        return ticket.assignee
    if replay.shift_end is not None and timezone.now() >= replay.shift_end:
        return None  # the team is away: it waits in the queue
    for agent in replay.rng.sample(replay.agents, len(replay.agents)):
        try:
            flows.assign_to(ticket=ticket, user=agent, actor=agent)
            return agent
        except (RoutingError, TicketStateError):
            continue
    return None


def _say(ticket: Ticket, author: User, body: str, *, staff: bool, internal: bool = False) -> bool:
    try:
        flows.reply(ticket=Ticket.objects.get(pk=ticket.pk), author=author, body=body,
                    internal=internal, is_staff=staff)
        return True
    except TicketStateError:
        return False


def _first_reply(replay: Replay, ticket: Ticket, first: str, closing: str,
                 at: datetime) -> None:
    rng = replay.rng
    agent = _agent_for(replay, ticket)
    if agent is None or not _say(ticket, agent, first, staff=True):
        return
    replay.count("answered")
    if rng.random() < 0.15:
        _say(ticket, agent, rng.choice(NOTES), staff=True, internal=True)
    if rng.random() < 0.04:
        flows.escalate_by_hand(ticket=Ticket.objects.get(pk=ticket.pk), actor=agent,
                               reason="customer's deadline")
        replay.count("escalated by hand")
    roll = rng.random()
    if roll >= 0.4 and rng.random() < 0.85:  # solved in one answer: first-contact resolution
        _resolve(replay, ticket, closing, at, reopened=False, say_closing=False)
        return
    last = at
    if roll < 0.15:  # waiting on the customer, who answers later (reopens it)
        flows.update_status(ticket=Ticket.objects.get(pk=ticket.pk), status="pending",
                            actor=agent)
        last = at + replay.minutes(240)
        replay.at(last, lambda: _say(ticket, ticket.customer, rng.choice(FOLLOW_UPS),
                                     staff=False))
    elif roll < 0.40:  # a follow-up question and a second answer: not first-contact resolved
        last = at + replay.minutes(90)
        replay.at(last, lambda: _say(ticket, ticket.customer, rng.choice(FOLLOW_UPS),
                                     staff=False))
    if last != at:
        again = replay.working(last + replay.minutes(45))
        replay.at(again, lambda: _agent_says(replay, ticket, rng.choice(SECOND_REPLIES)))
        last = again
    budget = {"urgent": 240, "high": 480, "normal": 1440, "low": 4320}[ticket.priority]
    resolve_at = replay.working(last + replay.minutes(budget * 0.25, 0.8))
    replay.at(resolve_at, lambda: _resolve(replay, ticket, closing, resolve_at, reopened=False))


def _agent_says(replay: Replay, ticket: Ticket, body: str) -> None:
    agent = _agent_for(replay, ticket)
    if agent is not None:
        _say(ticket, agent, body, staff=True)


def _resolve(replay: Replay, ticket: Ticket, closing: str, at: datetime, *,
             reopened: bool, say_closing: bool = True) -> None:
    rng = replay.rng
    agent = _agent_for(replay, ticket)
    if agent is None:
        return
    if say_closing:
        _say(ticket, agent, closing, staff=True)
    try:
        flows.update_status(ticket=Ticket.objects.get(pk=ticket.pk), status="resolved",
                            actor=agent)
    except TicketStateError:
        return
    replay.count("resolved")
    if not reopened and rng.random() < 0.07:
        back = at + replay.minutes(300)
        replay.at(back, lambda: _say(ticket, ticket.customer, rng.choice(REOPENS), staff=False))
        again = replay.working(back + replay.minutes(120))
        replay.at(again, lambda: _resolve(replay, ticket, "Fixed it for good this time.", again,
                                          reopened=True))
        replay.count("reopened")
        return
    if rng.random() < 0.65:
        score = rng.choices([5, 4, 3, 2, 1], weights=[70, 18, 6, 3, 3])[0]
        replay.at(at + replay.minutes(240), lambda: _rate(replay, ticket, score))
    if rng.random() < 0.4:
        replay.at(at + replay.minutes(600), lambda: _confirm(ticket))


def _rate(replay: Replay, ticket: Ticket, score: int) -> None:
    try:
        flows.rate(ticket=Ticket.objects.get(pk=ticket.pk), customer=ticket.customer,
                   score=score, comment=RATING_COMMENTS[score])
        replay.count("rated")
    except TicketStateError:
        pass


def _confirm(ticket: Ticket) -> None:
    with contextlib.suppress(TicketStateError):  # e.g. reopened meanwhile
        flows.customer_closes(ticket=Ticket.objects.get(pk=ticket.pk), customer=ticket.customer,
                              confirm=True)

