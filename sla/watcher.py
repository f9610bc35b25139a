"""The SLA watcher's pass: find clocks whose next escalation level is due, record it exactly once,
apply its effects and hand notifications to django-q2. Run in a loop by `manage.py sla_watch`.

Exactly once, however many watchers run and whatever crashes (RELIABILITY R1-R3):
- Level-triggered: a pass asks "which clocks have next_check_at <= now?"; next_check_at is the
  due time of the first level not yet recorded, so work a dead watcher did not commit is simply
  found again by the next pass (of any watcher).
- One short transaction per batch of ~100 clocks claims them with FOR UPDATE SKIP LOCKED (a
  concurrent watcher takes other rows, never the same ones), then writes in that same
  transaction: the clock's new level and next_check_at, the Escalation rows, the effects on
  the subjects (done by the handler each subject's app registered in sla.effects: a ticket's
  priority bump and reassignment, an incident's timeline), the notification outbox rows and
  the django-q2 task (ORM broker on the same connection: it commits or rolls back with the
  rest). Either all of a batch's effects exist or none do.
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
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django_q.tasks import async_task

from sla import reporting
from sla.effects import Audience, Reached, handler_for
from sla.models import Escalation, Notification, SlaClock, WebhookEndpoint
from sla.notifications import build_notifications, requeue_due
from tickets.sql import bulk_set

log = logging.getLogger(__name__)
Level = SlaClock.Level
# Keyed by plain values: levels are read back as int, not as choices.
KIND: dict[int, str] = {
    Level.WARNING: Escalation.Kind.WARNING,
    Level.BREACH: Escalation.Kind.BREACH,
    Level.ESCALATION: Escalation.Kind.ESCALATION,
}


@dataclass
class PassResult:
    claimed: int = 0
    escalations: int = 0
    deferred: int = 0
    poisoned: int = 0
    requeued: int = 0


def run_pass(
    *, now: datetime | None = None, batch_size: int = 100,
    progress: Callable[[PassResult], None] | None = None,
) -> PassResult:
    """One watcher pass at `now`: escalate every due clock (in batches), then re-enqueue
    notifications whose task was lost or whose retry is due. Safe to run concurrently.
    `progress(result so far)` is called after each committed batch (the watcher command beats
    its heartbeat there, so a long backlog does not look like a dead watcher)."""
    now = now or timezone.now()
    result = PassResult()
    skip: set[int] = set()  # deferred (subject row busy) or poisoned in this pass
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
        if progress is not None:
            progress(result)
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
    (clocks claimed, escalations recorded, ids deferred because their subject's row was locked
    by a request: they are picked up again by the next pass)."""
    with transaction.atomic():
        qs = _due(now, skip)
        if only is not None:
            qs = qs.filter(pk=only)
        clocks = list(qs.select_for_update(skip_locked=True, of=("self",))[:batch_size])
        if not clocks:
            return 0, 0, set()
        subjects = _lock_subjects(clocks)
        deferred: set[int] = set()
        changed: list[SlaClock] = []
        escalations: list[Escalation] = []
        reached: dict[str, list[Reached]] = defaultdict(list)
        for clock in clocks:
            kind, locked = clock.subject_kind, subjects[clock.subject_kind]
            if locked is not None and clock.subject_id not in locked:
                deferred.add(clock.pk)
                continue
            subject = locked[clock.subject_id] if locked is not None else None
            changed.append(clock)
            for escalation in _advance(clock, now):
                escalations.append(escalation)
                if not escalation.actions.get("superseded"):
                    reached[kind].append(Reached(clock, escalation, subject))
        # The clocks first: a handler's effects may re-read and move the subject's other clocks
        # (a ticket's priority bump re-targets them), which must see these levels.
        bulk_set(changed, ["level", "state", "breached_at", "next_check_at"])
        audience, endpoints = Audience(), _Endpoints()
        summaries: dict[int, dict[str, Any]] = {}
        for kind, items in reached.items():
            handler = handler_for(kind)
            # Without a handler, or for a subject that no longer exists: recorded and notified
            # (to the managers), nothing to act on.
            present = [item for item in items if item.subject is not None]
            if handler is None or not present:
                continue
            handler.apply(present, now=now, audience=audience)
            for item in present:
                summaries[id(item)] = handler.describe(item.subject)
        Escalation.objects.bulk_create(escalations)
        items = [item for kind_items in reached.values() for item in kind_items]
        notifications = build_notifications(
            items,
            describe=lambda item: summaries.get(id(item)) or _bare(item.clock),
            audience=audience,
            endpoints=endpoints,
        )
        _enqueue(Notification.objects.bulk_create(notifications))
        reporting.batch_recorded(escalations, items, summaries)  # metrics + logs, on commit
        return len(clocks), len(escalations), deferred


def _lock_subjects(clocks: list[SlaClock]) -> dict[str, dict[int, Any] | None]:
    """The claimed clocks' subjects, locked by their handlers with SKIP LOCKED; None for a kind
    no app registered a handler for (nothing to lock, nothing to apply)."""
    ids: dict[str, set[int]] = defaultdict(set)
    for clock in clocks:
        ids[clock.subject_kind].add(clock.subject_id)
    subjects: dict[str, dict[int, Any] | None] = {}
    for kind, kind_ids in ids.items():
        handler = handler_for(kind)
        subjects[kind] = dict(handler.lock(kind_ids)) if handler is not None else None
    return subjects


def _bare(clock: SlaClock) -> dict[str, Any]:
    return {"type": clock.subject_kind, "id": clock.subject_id}


class _Endpoints:
    """The active webhook endpoints, read at most once per batch."""

    def __init__(self) -> None:
        self._endpoints: list[WebhookEndpoint] | None = None

    def __call__(self) -> list[WebhookEndpoint]:
        if self._endpoints is None:
            self._endpoints = list(WebhookEndpoint.objects.filter(is_active=True))
        return self._endpoints


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


def _advance(clock: SlaClock, now: datetime) -> list[Escalation]:
    """Record every level that is due (an already-late clock may pass warning, breach and the
    second level at once), then schedule the next check. Returns the new (unsaved) escalations.
    A paused clock is only here when a priority change moved its deadline before its pause
    (sla.retarget.retarget_ticket_clocks): its breach is recorded, the next level waits for
    the resume (resume_clock reschedules it)."""
    reached: list[tuple[int, datetime]] = []
    highest = Level.BREACH if clock.paused_at is not None else Level.ESCALATION
    while (step := clock.next_step()) is not None and step[0] <= highest and step[1] <= now:
        clock.level = step[0]
        reached.append(step)
    if clock.level >= Level.BREACH and clock.state == SlaClock.State.RUNNING:
        clock.state, clock.breached_at = SlaClock.State.BREACHED, clock.due_at
    step = clock.next_step()
    clock.next_check_at = step[1] if step and step[0] <= highest else None
    top = reached[-1][0] if reached else None
    escalations = []
    for level, at in reached:
        escalation = Escalation(
            clock=clock, level=level, kind=KIND[level], step_at=at, created_at=timezone.now()
        )
        # A warning overtaken by its own breach in the same pass is recorded (the chain stays
        # complete) but not applied nor sent: nobody needs "due soon" next to "overdue".
        if level == Level.WARNING and top is not None and top > Level.WARNING:
            escalation.actions["superseded"] = True
        escalations.append(escalation)
    return escalations


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
            poisoned |= deferred  # busy subject: not poison, but skip it for this pass
        except Exception:
            log.exception("SLA clock %s failed to escalate; retrying it later", pk)
            delay = timedelta(seconds=settings.SLA_POISON_DELAY_SECONDS)
            SlaClock.objects.filter(pk=pk).update(next_check_at=now + delay)
            claimed += 1
            poisoned.add(pk)
    return claimed, escalated, poisoned
