"""Stage targets of an SLA policy: parsing and validation of the JSON the admin edits. Pure (no
Django), so the policy form, the data migration and the clock snapshot share one definition.

A policy's `stages` is a JSON list; each entry:

    {"name": "first_response", "target_seconds": 7200, "warn_at": 0.8,
     "start_on": ["created"], "stop_on": ["first_response", "resolved", "closed"],
     "pause_on": [], "resume_on": []}

Conditions are *event names* (see EVENTS): the subject's lifecycle calls
`sla.services.apply_events(...)` with them and every clock whose stage lists it stops
(met), pauses or resumes, then stages listing it in `start_on` start a clock (a new *cycle* if an
earlier one has stopped). A stage whose stop event is also a start event repeats: the incident
status-update cadence (`start_on: [detected, status_update]`, `stop_on: [status_update, ...]`)
is a chain of clocks, one per update; a reopened ticket starts a new resolution cycle.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

# Lifecycle events of tickets (tickets.flows) and incidents (incidents app). Unknown names are
# refused so a typo in the admin does not silently create a clock that never stops.
TICKET_EVENTS = (
    "created", "first_response", "pending", "open", "reopened", "resolved", "closed",
)
INCIDENT_EVENTS = (
    "opened", "detected", "classified", "responded", "mitigated", "resolved", "reopened",
    "postmortem_done", "status_update", "closed",
)
EVENTS = frozenset(TICKET_EVENTS + INCIDENT_EVENTS)
_KEYS = {
    "name", "target_seconds", "warn_at", "start_on", "stop_on", "pause_on", "resume_on"
}


@dataclass(frozen=True)
class StageTarget:
    name: str
    target_seconds: int
    warn_at: float | None = 0.8  # fraction of the target; None = no warning level
    start_on: tuple[str, ...] = ("created",)
    stop_on: tuple[str, ...] = ()
    pause_on: tuple[str, ...] = ()
    resume_on: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("start_on", "stop_on", "pause_on", "resume_on"):
            data[key] = list(data[key])
        return data


def parse_stages(raw: object) -> tuple[StageTarget, ...]:
    """Validate a policy's `stages` JSON. Raises ValueError with a message fit for a form."""
    if not isinstance(raw, Sequence) or isinstance(raw, str) or not raw:
        raise ValueError("stages must be a non-empty list of stage objects")
    stages = tuple(_parse_stage(i, item) for i, item in enumerate(raw))
    names = [s.name for s in stages]
    if len(set(names)) != len(names):
        raise ValueError("stage names must be unique within a policy")
    return stages


def _parse_stage(index: int, item: object) -> StageTarget:
    where = f"stage {index + 1}"
    if not isinstance(item, Mapping):
        raise ValueError(f"{where}: must be an object")
    if unknown := set(item) - _KEYS:
        raise ValueError(f"{where}: unknown keys {sorted(unknown)}")
    name = item.get("name")
    if not isinstance(name, str) or not name.isidentifier() or len(name) > 40:
        raise ValueError(f"{where}: 'name' must be an identifier of at most 40 characters")
    target = item.get("target_seconds")
    if not isinstance(target, int) or isinstance(target, bool) or target <= 0:
        raise ValueError(f"{name}: 'target_seconds' must be a positive integer")
    warn = item.get("warn_at", 0.8)
    if warn is not None and (
        not isinstance(warn, int | float) or isinstance(warn, bool) or not 0 < warn < 1
    ):
        raise ValueError(f"{name}: 'warn_at' must be a fraction between 0 and 1, or null")
    lists = {}
    for key in ("start_on", "stop_on", "pause_on", "resume_on"):
        value = item.get(key, ["created"] if key == "start_on" else [])
        if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
            raise ValueError(f"{name}: '{key}' must be a list of event names")
        if unknown_events := set(value) - EVENTS:
            raise ValueError(f"{name}: unknown events in '{key}': {sorted(unknown_events)}")
        lists[key] = tuple(value)
    if not lists["start_on"] or not lists["stop_on"]:
        raise ValueError(f"{name}: a stage needs at least one start and one stop event")
    if set(lists["pause_on"]) and not lists["resume_on"]:
        raise ValueError(f"{name}: a stage that pauses needs 'resume_on' events")
    return StageTarget(
        name=name,
        target_seconds=target,
        warn_at=float(warn) if warn is not None else None,
        **lists,
    )
