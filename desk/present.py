"""How the workspace says things: durations in words, SLA clocks as badges ("overdue by
12 min"), timeline events as sentences. Pure functions of rows already loaded: no queries."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone

STAGE_LABELS = {
    "first_response": "First response",
    "resolution": "Resolution",
    "postmortem": "Post-mortem",
    "status_update": "Status update",
}


def stage_label(stage: str) -> str:
    return STAGE_LABELS.get(stage, stage.replace("_", " ").capitalize())


def duration(delta: timedelta) -> str:
    """12 min, 1 h 5 min, 2 d 3 h; under a minute is "<1 min"."""
    minutes = int(abs(delta.total_seconds()) // 60)
    if minutes < 1:
        return "<1 min"
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h" if hours else f"{days} d"
    if hours:
        return f"{hours} h {mins} min" if mins else f"{hours} h"
    return f"{mins} min"


def local(at: datetime | None) -> str:
    """A time in the active (agent's) time zone, to the minute: "Dec 4, 14:05"."""
    if at is None:
        return "-"
    return timezone.localtime(at).strftime("%b %-d, %H:%M")


@dataclass(frozen=True)
class Badge:
    stage: str
    tone: str  # ok | risk | breached | paused | met | late (met after the deadline)
    text: str
    title: str

    @property
    def label(self) -> str:
        return stage_label(self.stage)


def clock_badge(clock: Any, now: datetime) -> Badge:
    """One SLA clock as a coloured badge: on track, at risk (past its warning), breached,
    paused, or stopped (met / met late)."""
    stage = clock.stage
    due = local(clock.due_at)
    if clock.stopped_at is not None:
        if clock.state == "breached":
            late = clock.stopped_at - (clock.breached_at or clock.stopped_at)
            return Badge(stage, "late", f"missed by {duration(late)}",
                         f"done {local(clock.stopped_at)}, was due {due}")
        margin = (clock.due_at - clock.stopped_at) if clock.due_at else None
        text = f"met, {duration(margin)} to spare" if margin is not None else "met"
        return Badge(stage, "met", text, f"done {local(clock.stopped_at)}")
    if clock.paused_at is not None:
        left = timedelta(seconds=clock.remaining_seconds or 0)
        if clock.state == "breached":
            return Badge(stage, "breached", "breached, paused", f"paused {local(clock.paused_at)}")
        return Badge(stage, "paused", f"paused, {duration(left)} left",
                     f"paused since {local(clock.paused_at)} (pending on the customer)")
    if clock.due_at is None:
        return Badge(stage, "paused", "no deadline", "")
    left = clock.due_at - now
    if clock.state == "breached" or left <= timedelta(0):
        return Badge(stage, "breached", f"overdue by {duration(left)}", f"was due {due}")
    if clock.warn_at is not None and now >= clock.warn_at:
        return Badge(stage, "risk", f"{duration(left)} left", f"at risk: due {due}")
    return Badge(stage, "ok", f"{duration(left)} left", f"on track: due {due}")


def current_badges(clocks: list[Any], now: datetime) -> list[Badge]:
    """The latest cycle of each stage, first response before resolution."""
    latest: dict[str, Any] = {}
    for clock in clocks:
        seen = latest.get(clock.stage)
        if seen is None or clock.cycle > seen.cycle:
            latest[clock.stage] = clock
    order = {"first_response": 0, "resolution": 1}
    return [
        clock_badge(c, now) for c in sorted(latest.values(), key=lambda c: order.get(c.stage, 9))
    ]


def _who(event: Any) -> str:
    return event.actor.get_username() if event.actor_id and event.actor else "Switchboard"


def describe_event(event: Any) -> str:
    """A timeline event as a sentence an agent reads at a glance."""
    d: dict[str, Any] = event.data or {}
    who = _who(event)
    kind = event.kind
    stage = stage_label(d.get("stage", "")) if d.get("stage") else ""
    if kind == "created":
        channel, priority = d.get("channel", "api"), d.get("priority")
        return f"{who} opened the ticket via {channel} ({priority} priority)"
    if kind == "status_changed":
        why = f" ({d['reason']})" if d.get("reason") else ""
        return f"{who} moved it from {d.get('old')} to {d.get('new')}{why}"
    if kind == "commented":
        return f"{who} added an internal note" if d.get("internal") else f"{who} replied"
    if kind == "categorized":
        source = d.get("source") or ""
        by = "the classifier" if source == "model" else who
        return f"{by} set the category to {d.get('new') or 'none'} (was {d.get('old') or 'none'})"
    if kind == "triage":
        return "The classifier was unsure: sent to triage for an agent to categorize"
    if kind == "priority_changed":
        why = f" ({d['reason']})" if d.get("reason") else ""
        return f"{who} changed the priority from {d.get('old')} to {d.get('new')}{why}"
    if kind == "assigned":
        agent = d.get("agent")
        text = d.get("explanation") or ""
        if agent and text.startswith(f"{agent}: "):
            text = text[len(agent) + 2:]  # routing's explanations start with the agent's name
        return f"Assigned to {agent}: {text}" if agent and text else f"Assigned to {agent}"
    if kind == "unassigned":
        return f"Unassigned: {d.get('reason', 'back to the queue')}"
    if kind == "queued":
        return f"Waiting in the queue: {d.get('reason', 'nobody eligible')}"
    if kind == "sla_warning":
        return f"SLA warning: {stage} is due {local(_parse(d.get('due_at')))}"
    if kind == "sla_breached":
        return f"SLA breached: {stage} was due {local(_parse(d.get('due_at')))}"
    if kind == "escalated":
        parts = []
        if d.get("by_hand"):
            parts.append(f"{who} escalated by hand")
        else:
            parts.append(f"Escalated ({stage} overdue)" if stage else "Escalated")
        if d.get("priority"):
            old, new = d["priority"]
            parts.append(f"priority {old} \u2192 {new}")
        if d.get("notify"):
            parts.append(f"notified {d['notify']}")
        if d.get("reassigned"):
            parts.append("reassigned to a higher tier")
        if d.get("reason"):
            parts.append(d["reason"])
        return "; ".join(parts)
    return f"{kind.replace('_', ' ')} by {who}"


def _parse(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(str(value))
    except ValueError:
        return None
