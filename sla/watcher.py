"""The SLA watcher's pass: find clocks whose next escalation level is due, record it exactly once,
apply its effects and hand notifications to django-q2. Run in a loop by `manage.py sla_watch`.

Exactly once, however many watchers run and whatever crashes (RELIABILITY R1-R3):
- Level-triggered: a pass asks "which clocks have next_check_at <= now?"; next_check_at is the
  due time of the first level not yet recorded, so work a dead watcher did not commit is simply
  found again by the next pass (of any watcher).
- One short transaction per batch of ~100 clocks claims them with FOR UPDATE SKIP LOCKED (a
  concurrent watcher takes other rows, never the same ones), then writes in that same
  transaction: the clock's new level and next_check_at, the Escalation rows, the ticket's
  priority change and timeline events, the notification outbox rows and the django-q2 task
  (ORM broker on the same connection: it commits or rolls back with the rest). Either all of a
  batch's effects exist or none do.
- Escalation has UNIQUE (clock, level): even a bug in the above cannot record a level twice;
  the batch would fail and roll back instead.
Notifications are at least once (django-q2 redelivers; sla.notifications leases and retries),
with a stable idempotency key per (clock, level) for receivers to drop repeats.

Poison rows (healthchecks `sendalerts`): if a batch raises, its clocks are retried one per
transaction; one that still raises has next_check_at pushed forward SLA_POISON_DELAY_SECONDS
and is logged, so a bad row delays only itself.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone
from django_q.tasks import async_task

from routing import services as routing
from sla.models import Escalation, Notification, SlaClock, WebhookEndpoint
from sla.notifications import build_notifications, requeue_due
from tickets import services as ticket_services
from tickets.models import Ticket, TicketEvent
from tickets.roles import MANAGER

log = logging.getLogger(__name__)
Level = SlaClock.Level
# Keyed by plain values: levels and priorities are read back as int and str, not as choices.
KIND: dict[int, str] = {
    Level.WARNING: Escalation.Kind.WARNING,
    Level.BREACH: Escalation.Kind.BREACH,
    Level.ESCALATION: Escalation.Kind.ESCALATION,
}
PRIORITY_UP: dict[str, str] = {
    Ticket.Priority.LOW: Ticket.Priority.NORMAL,
    Ticket.Priority.NORMAL: Ticket.Priority.HIGH,
    Ticket.Priority.HIGH: Ticket.Priority.URGENT,
}


@dataclass
class PassResult:
    claimed: int = 0
    escalations: int = 0
    deferred: int = 0
    poisoned: int = 0
    requeued: int = 0


@dataclass
class _Batch:
    """What one batch writes, collected in memory and inserted with one statement per table."""

    now: datetime
    escalations: list[Escalation] = field(default_factory=list)
    events: list[TicketEvent] = field(default_factory=list)
    managers: list[str] | None = None
    endpoints: list[WebhookEndpoint] | None = None
    bumped: set[int] = field(default_factory=set)


def run_pass(*, now: datetime | None = None, batch_size: int = 100) -> PassResult:
    """One watcher pass at `now`: escalate every due clock (in batches), then re-enqueue
    notifications whose task was lost or whose retry is due. Safe to run concurrently."""
    now = now or timezone.now()
    result = PassResult()
    skip: set[int] = set()  # deferred (ticket row busy) or poisoned in this pass
    while True:
        try:
            claimed, escalated, deferred = escalate_batch(now=now, batch_size=batch_size, skip=skip)
        except Exception:
            log.exception("SLA batch failed; retrying its clocks one by one")
            claimed, escalated, deferred = _isolate(now=now, batch_size=batch_size, skip=skip)
            result.poisoned += len(deferred)
        else:
            result.deferred += len(deferred)
        skip |= deferred
        result.claimed += claimed
        result.escalations += escalated
        if claimed < batch_size:
            break
    result.requeued = requeue_due(now=now)
    return result


def _due(now: datetime, skip: Iterable[int]) -> Any:
    qs = SlaClock.objects.filter(next_check_at__lte=now)
    if skip:
        qs = qs.exclude(pk__in=list(skip))
    return qs.order_by("next_check_at")  # served by the partial index sla_clock_next_check


def escalate_batch(
    *, now: datetime, batch_size: int = 100, skip: Iterable[int] = (), only: int | None = None
) -> tuple[int, int, set[int]]:
    """Claim up to `batch_size` due clocks and escalate them, in one transaction. Returns
    (clocks claimed, escalations recorded, ids deferred because their ticket row was locked by
    a request: they are picked up again by the next pass)."""
    with transaction.atomic():
        qs = _due(now, skip)
        if only is not None:
            qs = qs.filter(pk=only)
        clocks = list(qs.select_for_update(skip_locked=True, of=("self",))[:batch_size])
        if not clocks:
            return 0, 0, set()
        # Ticket rows only with SKIP LOCKED: a flow holding the ticket lock may be waiting for
        # one of our clock locks, so waiting here could deadlock. Skip it for this pass.
        ticket_ids = {c.ticket_id for c in clocks if c.ticket_id}
        tickets = {
            t.pk: t
            for t in Ticket.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("assignee")
            .filter(pk__in=ticket_ids)
        } if ticket_ids else {}
        batch = _Batch(now=now)
        deferred, changed = set(), []
        for clock in clocks:
            if clock.ticket_id and clock.ticket_id not in tickets:
                deferred.add(clock.pk)
                continue
            clock.ticket = tickets.get(clock.ticket_id) if clock.ticket_id else None
            _advance(clock, batch)
            changed.append(clock)
        SlaClock.objects.bulk_update(changed, ["level", "state", "breached_at", "next_check_at"])
        Escalation.objects.bulk_create(batch.escalations)
        TicketEvent.objects.bulk_create(batch.events)
        notifications = build_notifications(
            batch.escalations,
            managers=lambda: _managers(batch),
            endpoints=lambda: _endpoints(batch),
        )
        _enqueue(Notification.objects.bulk_create(notifications))
        return len(clocks), len(batch.escalations), deferred


def _enqueue(notifications: list[Notification]) -> None:
    """Hand the batch's notifications to django-q2: one task per batch, enqueued through the ORM
    broker inside this transaction (it exists iff the escalations do)."""
    if notifications:
        async_task(
            "sla.tasks.send_notifications",
            [n.pk for n in notifications],
            task_name="sla-notify",
            group="sla",
        )


def _advance(clock: SlaClock, batch: _Batch) -> None:
    """Record every level that is due (an already-late clock may pass warning, breach and the
    second level at once), then schedule the next check.
    A paused clock is only here when a priority change moved its deadline before its pause
    (sla.services.retarget_ticket_clocks): its breach is recorded, the next level waits for
    the resume (resume_clock reschedules it)."""
    reached: list[tuple[int, datetime]] = []
    highest = Level.BREACH if clock.paused_at is not None else Level.ESCALATION
    while (step := clock.next_step()) is not None and step[0] <= highest and step[1] <= batch.now:
        clock.level = step[0]
        reached.append(step)
    if clock.level >= Level.BREACH and clock.state == SlaClock.State.RUNNING:
        clock.state, clock.breached_at = SlaClock.State.BREACHED, clock.due_at
    step = clock.next_step()
    clock.next_check_at = step[1] if step and step[0] <= highest else None
    top = reached[-1][0] if reached else None
    for level, at in reached:
        escalation = Escalation(
            clock=clock,
            level=level,
            kind=KIND[level],
            step_at=at,
            created_at=timezone.now(),
        )
        # A warning overtaken by its own breach in the same pass is recorded (the chain stays
        # complete) but not sent: nobody needs "due soon" next to "overdue".
        if level == Level.WARNING and top is not None and top > Level.WARNING:
            escalation.actions["superseded"] = True
        elif clock.ticket is not None:
            _apply_ticket_effects(clock, clock.ticket, escalation, batch)
        batch.escalations.append(escalation)


def _apply_ticket_effects(
    clock: SlaClock, ticket: Ticket, escalation: Escalation, batch: _Batch
) -> None:
    data = {"stage": clock.stage, "cycle": clock.cycle, "level": escalation.level,
            "due_at": clock.due_at.isoformat() if clock.due_at else None}
    timeline = ticket_services.Timeline(ticket)
    if escalation.level == Level.WARNING:
        timeline.add(TicketEvent.Kind.SLA_WARNING, None, **data)
        escalation.actions["notify"] = "assignee"
    elif escalation.level == Level.BREACH:
        timeline.add(TicketEvent.Kind.SLA_BREACHED, None, **data)
        actions: dict[str, Any] = {"notify": "managers"}
        # One priority step per ticket per batch, even when two of its clocks breach together.
        if ticket.pk not in batch.bumped and (higher := PRIORITY_UP.get(ticket.priority)):
            old = ticket.priority
            timeline.events += ticket_services.change_priority(
                ticket=ticket, priority=higher, actor=None, reason=f"SLA {clock.stage} breached"
            ).events
            batch.bumped.add(ticket.pk)
            actions["priority"] = [old, higher]
        timeline.add(TicketEvent.Kind.ESCALATED, None, **data, **actions)
        escalation.actions.update(actions)
    else:
        actions = _reassign(ticket, clock)
        timeline.add(TicketEvent.Kind.ESCALATED, None, **data, **actions)
        escalation.actions.update(actions)
    batch.events += timeline.events


def _reassign(ticket: Ticket, clock: SlaClock) -> dict[str, Any]:
    """Second level: hand the ticket to an agent of a higher tier through routing; when nobody
    of that tier has room, page the on-call manager."""
    old = ticket.assignee_id
    # Runs in this transaction (it joins it), with the ticket row we hold locked: the
    # reassignment commits iff this escalation does. It returns the agent now responsible, or
    # None when nobody of that tier has room (then only the on-call page remains).
    agent = routing.escalate_assignment(
        ticket=ticket, min_tier=settings.SLA_ESCALATION_MIN_TIER,
        reason=f"SLA {clock.stage} overdue",
    )
    new = getattr(agent, "user_id", None) if agent is not None else None
    if new is None:
        return {"notify": "oncall", "reassigned": False}
    ticket.assignee_id = new
    return {"notify": "assignee" if new != old else "oncall", "reassigned": new != old,
            "from": old, "to": new}


def _managers(batch: _Batch) -> list[str]:
    if batch.managers is None:
        batch.managers = sorted(
            get_user_model()
            .objects.filter(groups__name=MANAGER, is_active=True)
            .exclude(email="")
            .values_list("email", flat=True)
        )
    return batch.managers


def _endpoints(batch: _Batch) -> list[WebhookEndpoint]:
    if batch.endpoints is None:
        batch.endpoints = list(WebhookEndpoint.objects.filter(is_active=True))
    return batch.endpoints


def _isolate(*, now: datetime, batch_size: int, skip: set[int]) -> tuple[int, int, set[int]]:
    """After a failed batch: escalate its clocks one per transaction; push each one that still
    fails forward and log it. Returns (claimed, escalated, poisoned ids)."""
    ids = list(_due(now, skip).values_list("pk", flat=True)[:batch_size])
    claimed = escalated = 0
    poisoned: set[int] = set()
    for pk in ids:
        try:
            c, e, deferred = escalate_batch(now=now, only=pk)
            claimed, escalated = claimed + c, escalated + e
            poisoned |= deferred  # busy ticket: not poison, but skip it for this pass
        except Exception:
            log.exception("SLA clock %s failed to escalate; retrying it later", pk)
            delay = timedelta(seconds=settings.SLA_POISON_DELAY_SECONDS)
            SlaClock.objects.filter(pk=pk).update(next_check_at=now + delay)
            claimed += 1
            poisoned.add(pk)
    return claimed, escalated, poisoned
