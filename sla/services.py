"""Clock lifecycle: start, stop (met), pause and resume, driven by the subject's lifecycle events.

Like tickets.services, these run inside the caller's transaction (no atomic of their own, so the
intake request pays no SAVEPOINT) and take `now` so tests and integrations control time; the
watcher's escalations are in sla.watcher.

Locks: the ticket flows lock the ticket row first, then these functions lock the ticket's open
clocks (SELECT ... FOR UPDATE). The watcher locks clocks first but takes ticket rows only with
SKIP LOCKED, so the two orders never wait on each other in a cycle (no deadlock).

Ticket.sla_due_at is kept equal to the earliest due_at of the ticket's active clocks (running
or breached, not paused, not stopped) after every change, for the routing queue's ORDER BY.

A priority change re-targets the ticket's open clocks (sla.retarget): they take the new
policy's targets as if they had run under it from their start."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

from django.db.models import Max
from django.utils import timezone

from sla.calendar import BusinessCalendar, add_business_time, business_time_between
from sla.models import SlaClock, SlaPolicy
from sla.policies import CachedPolicy, policy_for
from sla.targets import StageTarget
from tickets.models import Ticket
from tickets.services import Timeline
from tickets.sql import bulk_set

State = SlaClock.State


def new_clock(
    policy: CachedPolicy,
    stage: StageTarget,
    *,
    started_at: datetime,
    ticket: Ticket | None = None,
    incident_id: int | None = None,
    cycle: int = 1,
) -> SlaClock:
    """An unsaved running clock with the policy's targets copied in (the snapshot)."""
    calendar = policy.business_calendar
    target = timedelta(seconds=stage.target_seconds)
    clock = SlaClock(
        ticket=ticket,
        incident_id=incident_id,
        stage=stage.name,
        cycle=cycle,
        policy_id=policy.id,
        policy_name=policy.name,
        target_seconds=stage.target_seconds,
        snapshot={
            "warn_at": stage.warn_at,
            "calendar": policy.calendar,
            "escalate_after_seconds": policy.escalate_after_seconds,
            "stop_on": list(stage.stop_on),
            "pause_on": list(stage.pause_on),
            "resume_on": list(stage.resume_on),
        },
        state=State.RUNNING,
        started_at=started_at,
        due_at=add_business_time(started_at, target, calendar),
        warn_at=(
            add_business_time(started_at, target * stage.warn_at, calendar)
            if stage.warn_at
            else None
        ),
    )
    reschedule(clock)
    return clock


def plan_ticket_clocks(
    *, priority: str, category_id: int | None, started_at: datetime
) -> list[SlaClock]:
    """The unsaved clocks a new ticket gets: the stages of its policy that start on "created"
    (first response and resolution by default). No query (policies are cached per process).
    Planned before the ticket INSERT so that it carries sla_due_at (earliest_due) itself."""
    policy = policy_for(kind=SlaPolicy.Kind.TICKET, priority=priority, category_id=category_id)
    if policy is None:
        return []
    return [
        new_clock(policy, stage, started_at=started_at)
        for stage in policy.stages
        if "created" in stage.start_on
    ]


def earliest_due(clocks: Iterable[SlaClock]) -> datetime | None:
    dues = [c.due_at for c in clocks if c.is_active and c.due_at is not None]
    return min(dues) if dues else None


def start_ticket_clocks(
    *,
    ticket: Ticket,
    timeline: Timeline,
    started_at: datetime | None = None,
    planned: list[SlaClock] | None = None,
) -> list[SlaClock]:
    """Start the ticket's clocks: `planned` ones (plan_ticket_clocks, the intake path) or else
    those of its policy counting from `started_at` (an integration's timestamp; default the
    ticket's creation), so a clock may start already overdue: the next watcher pass breaches it.

    Cost on the intake path: one INSERT for all clocks; Ticket.sla_due_at is only written when
    the ticket does not already carry it (the intake puts it in the ticket INSERT). Nothing is
    added to `timeline`: the clocks themselves are the record, shown on the ticket. Not
    idempotent: call once per new ticket."""
    if planned is None:
        planned = plan_ticket_clocks(
            priority=ticket.priority,
            category_id=ticket.category_id,
            started_at=started_at or ticket.created_at,
        )
    for clock in planned:
        clock.ticket = ticket
    if planned:
        SlaClock.objects.bulk_create(planned)
    sync_ticket_due(ticket, planned)
    return planned


def ticket_events(
    *, ticket: Ticket, old_status: str, was_answered: bool
) -> list[str]:
    """The SLA events a ticket change means (see sla.targets.TICKET_EVENTS)."""
    events = []
    if not was_answered and ticket.first_response_at is not None:
        events.append("first_response")
    if ticket.status != old_status:
        if old_status == Ticket.Status.RESOLVED and ticket.status == Ticket.Status.OPEN:
            events.append("reopened")
        events.append(str(ticket.status))  # pending, open, resolved, closed
    return events


def on_ticket_change(
    *,
    ticket: Ticket,
    old_status: str,
    was_answered: bool,
    now: datetime | None = None,
) -> list[SlaClock]:
    """Apply what a reply or status change means to the ticket's clocks (called by tickets.flows
    with the ticket row locked). No query at all when the change means nothing to SLA."""
    events = ticket_events(ticket=ticket, old_status=old_status, was_answered=was_answered)
    if not events:
        return []
    return apply_events(ticket=ticket, events=events, now=now)


def apply_events(
    *,
    events: Sequence[str],
    ticket: Ticket | None = None,
    incident_id: int | None = None,
    severity: str = "",
    now: datetime | None = None,
) -> list[SlaClock]:
    """Stop, pause, resume and start the subject's clocks for each event, in order, at `now`
    (default: the current time; integrations may pass when it really happened).

    1. Lock the subject's open clocks (FOR UPDATE; the caller holds a transaction).
    2. For each event: clocks listing it in stop_on stop (met, or breached if overdue), in
       pause_on pause, in resume_on resume; then stages of the current policy listing it in
       start_on start a new clock (next cycle) unless one is already open.
    3. One UPDATE for the changed clocks, one INSERT for new ones, then Ticket.sla_due_at.
    Idempotent per event: a stopped clock does not stop again, an open stage does not restart.
    Returns the clocks changed or created."""
    now = now or timezone.now()
    subject: dict[str, object] = (
        {"ticket": ticket} if ticket is not None else {"incident_id": incident_id}
    )
    open_clocks = list(
        SlaClock.objects.select_for_update().filter(**subject, stopped_at__isnull=True)
    )
    changed: dict[int, SlaClock] = {}
    created: list[SlaClock] = []
    for event in events:
        for clock in _react(event, [*open_clocks, *created], now):
            if clock.pk:
                changed[clock.pk] = clock
        created += _starting(event, subject, [*open_clocks, *created], severity, ticket, now)
    bulk_set(list(changed.values()), MUTABLE_FIELDS)
    if created:
        SlaClock.objects.bulk_create(created)
    if ticket is not None:
        sync_ticket_due(ticket, [*open_clocks, *created])
    return [*changed.values(), *created]


def start_incident_clocks(
    *, incident_id: int, severity: str, started_at: datetime, detected_at: datetime
) -> list[SlaClock]:
    """A new incident's clocks: the events "opened" at `started_at` (when the problem began)
    and "detected" at `detected_at`, applied in memory and inserted at once (one statement, no
    lock: nothing of a new incident exists yet). Timestamps in the past start clocks already
    overdue: the next watcher pass escalates them. With the default policy the detect clock is
    stopped at detection (met, or breached when detection took longer than its target: a breach
    of a stage already over, which goes to the report but pages nobody)."""
    subject: dict[str, object] = {"incident_id": incident_id}
    clocks: list[SlaClock] = []
    for event, at in (("opened", started_at), ("detected", detected_at)):
        _react(event, clocks, at)
        clocks += _starting(event, subject, clocks, severity, None, at, cycles={})
    SlaClock.objects.bulk_create(clocks)
    return clocks


def _react(event: str, clocks: Iterable[SlaClock], at: datetime) -> list[SlaClock]:
    """Stop, pause or resume the open clocks that list `event`; returns those changed."""
    changed = []
    for clock in clocks:
        if clock.stopped_at is not None:
            continue
        snap = clock.snapshot
        if event in snap.get("stop_on", ()):
            stop_clock(clock, at)
        elif event in snap.get("pause_on", ()) and clock.paused_at is None:
            pause_clock(clock, at)
        elif event in snap.get("resume_on", ()) and clock.paused_at is not None:
            resume_clock(clock, at)
        else:
            continue
        changed.append(clock)
    return changed


MUTABLE_FIELDS = [
    "state", "warn_at", "due_at", "next_check_at", "paused_at", "paused_seconds",
    "remaining_seconds", "breached_at", "stopped_at",
]


def _starting(
    event: str,
    subject: dict[str, object],
    clocks: Iterable[SlaClock],
    severity: str,
    ticket: Ticket | None,
    now: datetime,
    cycles: dict[str, int] | None = None,
) -> list[SlaClock]:
    """New clocks for the stages starting on `event` that have none open; `cycles` is the last
    cycle per stage when the caller knows it (a new subject has none), else it is read."""
    if ticket is not None:
        policy = policy_for(
            kind=SlaPolicy.Kind.TICKET, priority=ticket.priority, category_id=ticket.category_id
        )
    else:
        policy = policy_for(kind=SlaPolicy.Kind.INCIDENT, priority=severity, category_id=None)
    if policy is None:
        return []
    stages = [s for s in policy.stages if event in s.start_on]
    open_stages = {c.stage for c in clocks if c.stopped_at is None}
    stages = [s for s in stages if s.name not in open_stages]
    if not stages:
        return []
    if cycles is None:
        cycles = dict(
            SlaClock.objects.filter(**subject, stage__in=[s.name for s in stages])
            .values("stage")
            .annotate(last=Max("cycle"))
            .values_list("stage", "last")
        )
    done = {c.stage: c.cycle for c in clocks}  # stopped in memory, not yet saved
    return [
        new_clock(
            policy,
            stage,
            started_at=now,
            ticket=ticket,
            incident_id=subject.get("incident_id"),  # type: ignore[arg-type]  # an int or None
            cycle=max(cycles.get(stage.name, 0), done.get(stage.name, 0)) + 1,
        )
        for stage in stages
    ]


def stop_clock(clock: SlaClock, at: datetime) -> None:
    """Met if stopped before its deadline, else breached (the watcher may not have seen it
    yet: the breach is recorded on the clock, escalations belong to the watcher)."""
    if clock.paused_at is not None:
        clock.paused_seconds += whole_seconds(at - clock.paused_at)
        clock.paused_at = None
        if clock.state == State.PAUSED:
            overdue = (clock.remaining_seconds or 0) <= 0
            clock.state = State.BREACHED if overdue else State.MET
            clock.breached_at = clock.breached_at or (at if overdue else None)
    elif clock.state == State.RUNNING:
        assert clock.due_at is not None
        if at < clock.due_at:
            clock.state = State.MET
        else:
            clock.state, clock.breached_at = State.BREACHED, clock.due_at
    clock.stopped_at = at
    clock.next_check_at = None


def pause_clock(clock: SlaClock, at: datetime) -> None:
    """Running: keep the business time left and clear due_at (out of the watcher's index).
    Breached: stop escalating further while paused; the breach itself stands."""
    if clock.state == State.RUNNING:
        assert clock.due_at is not None
        left = business_time_between(at, clock.due_at, clock.calendar())
        clock.remaining_seconds = whole_seconds(left)
        clock.due_at = None
        clock.state = State.PAUSED
    clock.paused_at = at
    clock.next_check_at = None


def resume_clock(clock: SlaClock, at: datetime) -> None:
    """The deadline moves by the paused span, counted in business time when the policy has a
    calendar: due = at + remaining (business time). A breached clock resumes its chain where it
    was: a second level that fell due during the pause fires at the next pass."""
    assert clock.paused_at is not None
    clock.paused_seconds += whole_seconds(at - clock.paused_at)
    clock.paused_at = None
    if clock.state == State.PAUSED:
        calendar = clock.calendar()
        remaining = timedelta(seconds=clock.remaining_seconds or 0)
        clock.due_at = add_business_time(at, remaining, calendar)
        clock.warn_at = _resumed_warning(clock, at, remaining, calendar)
        clock.remaining_seconds = None
        clock.state = State.RUNNING
    reschedule(clock)


def _resumed_warning(
    clock: SlaClock, at: datetime, remaining: timedelta, calendar: BusinessCalendar | None
) -> datetime | None:
    fraction = clock.snapshot.get("warn_at")
    if not fraction or clock.level >= SlaClock.Level.WARNING:
        return clock.warn_at
    # The warning sits target * (1 - fraction) of business time before the deadline.
    before_due = timedelta(seconds=clock.target_seconds * (1 - fraction))
    return add_business_time(at, max(remaining - before_due, timedelta(0)), calendar)


def reschedule(clock: SlaClock) -> None:
    step = clock.next_step() if clock.is_active else None
    clock.next_check_at = step[1] if step else None


def whole_seconds(delta: timedelta) -> int:
    return max(0, round(delta.total_seconds()))


def sync_ticket_due(ticket: Ticket, clocks: Iterable[SlaClock]) -> None:
    """Set Ticket.sla_due_at to the earliest due_at of the active clocks given (all of the
    ticket's open clocks), writing only when it changed."""
    due = earliest_due(clocks)
    if due != ticket.sla_due_at:
        Ticket.objects.filter(pk=ticket.pk).update(sla_due_at=due)
        ticket.sla_due_at = due
