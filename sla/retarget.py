"""Re-targeting: a subject's open clocks take the targets of the policy it now selects, as if
they had run under it from their start. A ticket's priority or category change (tickets.flows,
and the watcher's breach bump in tickets.escalation) and an incident's severity change
(incidents.flows.classify) call this with the subject's row locked; the lock order is the one
sla.services documents (subject, then its clocks)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone

from sla.calendar import add_business_time, business_time_between
from sla.models import SlaClock, SlaPolicy
from sla.policies import CachedPolicy, policy_for
from sla.services import MUTABLE_FIELDS, State, earliest_due, reschedule, whole_seconds
from sla.targets import StageTarget
from tickets.models import Ticket
from tickets.sql import bulk_set


def retarget_ticket_clocks(
    *, ticket: Ticket, reason: str, now: datetime | None = None
) -> list[dict[str, Any]]:
    """Give the ticket's open clocks the targets of the policy its priority and category now
    select, as if they had run under it from their start (tickets.flows.edit_ticket calls this
    after a priority change, with the ticket row locked).

    1. Lock the ticket's open clocks (FOR UPDATE, the same order as apply_events).
    2. Per clock whose stage the new policy has: the working time it has used (on its calendar,
       pauses excluded) stays used. A running clock's deadline and warning move to where the
       new target and its warning fraction run out (sla.calendar, as pause/resume do), and
       next_check_at to the first level not yet recorded: the watcher fires it there, once.
       Levels already recorded stay recorded (a sent warning is not sent again).
    3. A deadline that has already passed makes the clock due: the next watcher pass breaches
       it and records every level that is due, like a clock started late. A paused clock
       keeps its pause: its business time left changes; if none is left, the deadline fell
       before the pause and it is breached there (the watcher records the breach only, the
       next level waits for the resume, as for any breached clock that pauses).
    4. Clocks already breached (recorded, or overdue and about to be) keep their deadline,
       breach and escalations: changing the priority never un-breaches nor re-escalates.
    5. One UPDATE for the changed clocks, then Ticket.sla_due_at.
    Each changed clock's snapshot gains a `retargets` entry (when, why, the policy, target
    and deadline it had). Returns what happened per clock, JSON-ready, for the timeline.
    Idempotent: clocks already on the selected policy's target are left alone."""
    now = now or timezone.now()
    due = ticket.sla_due_at
    records = retarget_tickets([ticket], reasons={ticket.pk: reason}, now=now)[ticket.pk]
    if ticket.sla_due_at != due:  # as sla.services.sync_ticket_due
        Ticket.objects.filter(pk=ticket.pk).update(sla_due_at=ticket.sla_due_at)
    return records


def retarget_tickets(
    tickets: Sequence[Ticket], *, reasons: dict[int, str], now: datetime
) -> dict[int, list[dict[str, Any]]]:
    """retarget_ticket_clocks for many tickets at once (the watcher's breach bumps): one
    SELECT ... FOR UPDATE for all their open clocks and one UPDATE for those that moved, the
    same rules per clock. Sets each ticket's sla_due_at in memory for the caller to save with
    its other changes. Returns what happened per clock, by ticket id."""
    clocks: dict[int, list[SlaClock]] = {t.pk: [] for t in tickets}
    for clock in _locked_open(ticket__in=list(clocks)):
        clocks[clock.ticket_id].append(clock)  # type: ignore[index]  # ticket clocks
    changed: list[SlaClock] = []
    records: dict[int, list[dict[str, Any]]] = {}
    for ticket in tickets:
        policy = policy_for(
            kind=SlaPolicy.Kind.TICKET, priority=ticket.priority, category_id=ticket.category_id
        )
        moved, records[ticket.pk] = _retarget_all(clocks[ticket.pk], policy,
                                                  reason=reasons[ticket.pk], now=now)
        changed += moved
        ticket.sla_due_at = earliest_due(clocks[ticket.pk])
    _save(changed)
    return records


def retarget_incident_clocks(
    *, incident_id: int, severity: str, reason: str, now: datetime | None = None
) -> list[dict[str, Any]]:
    """An incident's severity changed: its open clocks take the targets of that severity's
    policy, by the same rules as retarget_ticket_clocks (the incident row is locked)."""
    now = now or timezone.now()
    policy = policy_for(kind=SlaPolicy.Kind.INCIDENT, priority=severity, category_id=None)
    changed, records = _retarget_all(_locked_open(incident_id=incident_id), policy,
                                     reason=reason, now=now)
    _save(changed)
    return records


def _locked_open(**subject: Any) -> list[SlaClock]:
    """The subjects' open clocks, locked (FOR UPDATE, after the subject row: the lock order of
    sla.services), in a stable order for the timeline's record of what moved."""
    return list(
        SlaClock.objects.select_for_update()
        .filter(**subject, stopped_at__isnull=True)
        .order_by("id")
    )


def _retarget_all(
    open_clocks: list[SlaClock], policy: CachedPolicy | None, *, reason: str, now: datetime
) -> tuple[list[SlaClock], list[dict[str, Any]]]:
    """Move the clocks `policy` has a new target for, in memory (steps 2-4 of
    retarget_ticket_clocks). Returns (the clocks moved, what happened per clock)."""
    stages = {s.name: s for s in policy.stages} if policy is not None else {}
    changed: list[SlaClock] = []
    records: list[dict[str, Any]] = []
    for clock in open_clocks:
        stage = stages.get(clock.stage)
        if policy is None or stage is None:
            continue  # no target for it under the new policy: it keeps the one it has
        if clock.policy_id == policy.id and clock.target_seconds == stage.target_seconds:
            continue
        if _is_breached(clock, now):
            records.append({"stage": clock.stage, "cycle": clock.cycle, "kept": "breached"})
            continue
        records.append(_retarget(clock, policy, stage, reason=reason, now=now))
        changed.append(clock)
    return changed, records


def _save(changed: list[SlaClock]) -> None:
    bulk_set(changed, [*MUTABLE_FIELDS, "policy_id", "policy_name", "target_seconds",
                       "snapshot"])


def _is_breached(clock: SlaClock, now: datetime) -> bool:
    """Breached, or past its deadline (the watcher records it within a pass)."""
    if clock.state == State.BREACHED:
        return True
    if clock.paused_at is not None:
        return (clock.remaining_seconds or 0) <= 0
    return clock.due_at is not None and clock.due_at <= now


def _retarget(
    clock: SlaClock, policy: CachedPolicy, stage: StageTarget, *, reason: str, now: datetime
) -> dict[str, Any]:
    """Move one running or paused clock (not breached) to `stage`'s target and keep a record of
    what it had (see retarget_ticket_clocks)."""
    history = {
        "at": now.isoformat(), "reason": reason, "policy": clock.policy_name,
        "target_seconds": clock.target_seconds, "due_at": _iso(clock.due_at),
        "remaining_seconds": clock.remaining_seconds,
    }
    _move_deadline(clock, policy, stage, now)
    clock.snapshot = {
        **clock.snapshot,
        # The stage's stop/pause/resume events stay as started: a paused clock must still
        # resume on the events it was paused for.
        "warn_at": stage.warn_at,
        "calendar": policy.calendar,
        "escalate_after_seconds": policy.escalate_after_seconds,
        "retargets": [*clock.snapshot.get("retargets", []), history],
    }
    clock.policy_id, clock.policy_name = policy.id, policy.name
    clock.target_seconds = stage.target_seconds
    record = {
        "stage": clock.stage, "cycle": clock.cycle, "policy": policy.name,
        "target_seconds": [history["target_seconds"], clock.target_seconds],
        "due_at": [history["due_at"], _iso(clock.due_at)],
        "state": clock.state,
    }
    if clock.paused_at is not None:
        record["remaining_seconds"] = [history["remaining_seconds"], clock.remaining_seconds]
    return record


def _move_deadline(
    clock: SlaClock, policy: CachedPolicy, stage: StageTarget, now: datetime
) -> None:
    """Deadline, warning and next check of `clock` under `stage`'s target, the working time it
    has used staying used."""
    old_calendar, calendar = clock.calendar(), policy.business_calendar
    target = timedelta(seconds=stage.target_seconds)
    # Working time used so far, and working time spent paused since the start (exact from the
    # clock's own numbers: its deadline or business time left already account for pauses).
    if clock.paused_at is None:
        assert clock.due_at is not None
        counted_to = now
        left = business_time_between(now, clock.due_at, old_calendar)
    else:
        counted_to = clock.paused_at
        left = timedelta(seconds=clock.remaining_seconds or 0)
    used = timedelta(seconds=clock.target_seconds) - left
    paused = business_time_between(clock.started_at, counted_to, old_calendar) - used

    def runs_out(budget: timedelta) -> datetime:
        """When `budget` of working time is used up: still ahead, it is counted from now on
        the new calendar; already behind, from the start on the old one. (Only a pause total
        is stored, not when the pauses were: a past instant assumes they came first, so it is
        never earlier than the true one; exact for a clock that never paused.)"""
        if budget > used:
            return add_business_time(now, budget - used, calendar)
        return add_business_time(clock.started_at, budget + paused, old_calendar)

    if clock.paused_at is not None and target > used:
        # Still paused: only the business time left changes; resume_clock turns it into a
        # deadline and places the warning from the new target (_resumed_warning).
        clock.remaining_seconds = whole_seconds(target - used)
        return
    clock.due_at = runs_out(target)
    if clock.level < SlaClock.Level.WARNING:
        clock.warn_at = runs_out(target * stage.warn_at) if stage.warn_at else None
    if clock.paused_at is None:
        reschedule(clock)
        return
    # The new deadline fell before the pause: a breached clock that paused, except that the
    # watcher still has to record the breach (it stops there while paused, see
    # sla.watcher._advance).
    clock.state, clock.breached_at, clock.remaining_seconds = State.BREACHED, clock.due_at, None
    step = clock.next_step()
    clock.next_check_at = step[1] if step else None


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None
