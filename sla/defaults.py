"""The seeded SLA policies (data migration 0002 and the post_migrate safety net in apps.py).

Ticket targets per priority, all 24x7 by default (a policy's calendar can switch to business
hours in the admin):

    priority  first response  resolution  second level after breach
    urgent    15 min          4 h         15 min
    high      1 h             8 h         30 min
    normal    2 h             24 h        1 h
    low       8 h             72 h        4 h

The first-response clock stops at the first public staff reply (or resolution); the resolution
clock pauses while the ticket is pending on the customer and restarts as a new cycle when a
resolved ticket is reopened. Warnings at 80 % of each target.

Incidents, one policy per severity (SEV1-SEV4) plus "Incidents" for any other: detect 5 min
from when the problem started (integration-supplied), classify 15 min and respond 30 min from
detection, resolve 4 h (from detection, or from a reopen), post-mortem 24 h after resolution,
and a status update at least every 30 min while open (a repeating stage). A breach goes on to
the on-call page 5 / 10 / 15 / 30 min later for SEV1 / 2 / 3 / 4.

Changing this module does not change existing databases: add a data migration for that."""

from __future__ import annotations

from typing import Any

MIN, HOUR = 60, 3600

_TICKET_TARGETS = {  # priority: (first response, resolution, escalate after breach)
    "urgent": (15 * MIN, 4 * HOUR, 15 * MIN),
    "high": (1 * HOUR, 8 * HOUR, 30 * MIN),
    "normal": (2 * HOUR, 24 * HOUR, 1 * HOUR),
    "low": (8 * HOUR, 72 * HOUR, 4 * HOUR),
}


def ticket_stages(first_response: int, resolution: int) -> list[dict[str, Any]]:
    return [
        {
            "name": "first_response",
            "target_seconds": first_response,
            "warn_at": 0.8,
            "start_on": ["created"],
            "stop_on": ["first_response", "resolved", "closed"],
        },
        {
            "name": "resolution",
            "target_seconds": resolution,
            "warn_at": 0.8,
            "start_on": ["created", "reopened"],
            "stop_on": ["resolved", "closed"],
            "pause_on": ["pending"],
            "resume_on": ["open"],
        },
    ]


INCIDENT_STAGES: list[dict[str, Any]] = [
    {"name": "detect", "target_seconds": 5 * MIN, "start_on": ["opened"],
     "stop_on": ["detected", "resolved", "closed"]},
    {"name": "classify", "target_seconds": 15 * MIN, "start_on": ["detected"],
     "stop_on": ["classified", "resolved", "closed"]},
    {"name": "respond", "target_seconds": 30 * MIN, "start_on": ["detected"],
     "stop_on": ["responded", "resolved", "closed"]},
    {"name": "resolve", "target_seconds": 4 * HOUR, "start_on": ["detected", "reopened"],
     "stop_on": ["resolved", "closed"]},
    # Counted from the (last) resolution; a reopened incident's post-mortem waits for it.
    {"name": "postmortem", "target_seconds": 24 * HOUR, "start_on": ["resolved"],
     "stop_on": ["postmortem_done", "closed"], "pause_on": ["reopened"],
     "resume_on": ["resolved"]},
    {"name": "status_update", "target_seconds": 30 * MIN, "warn_at": None,
     "start_on": ["detected", "status_update", "reopened"],
     "stop_on": ["status_update", "resolved", "closed"]},
]
# Stage targets are the same for every severity by default (the brief's numbers); what differs
# is how soon a breach goes on to the on-call page (the second level): SEV1 pages soonest.
INCIDENT_ESCALATE_AFTER = {"sev1": 5 * MIN, "sev2": 10 * MIN, "sev3": 15 * MIN,
                           "sev4": 30 * MIN}


def default_policies() -> list[dict[str, Any]]:
    policies = [
        {
            "name": f"Tickets: {priority}",
            "kind": "ticket",
            "priority": priority,
            "stages": ticket_stages(first, resolution),
            "escalate_after_seconds": after,
        }
        for priority, (first, resolution, after) in _TICKET_TARGETS.items()
    ]
    policies += incident_policies()
    return policies


def incident_policies() -> list[dict[str, Any]]:
    """One per severity, and "Incidents" for any other severity value (a fallback)."""
    policies = [
        {"name": f"Incidents: {severity.upper()}", "kind": "incident", "priority": severity,
         "stages": INCIDENT_STAGES, "escalate_after_seconds": after}
        for severity, after in INCIDENT_ESCALATE_AFTER.items()
    ]
    policies.append({"name": "Incidents", "kind": "incident", "priority": "",
                     "stages": INCIDENT_STAGES, "escalate_after_seconds": 15 * MIN})
    return policies


def seed_default_policies(policy_model: Any, using: str = "default") -> int:
    """Create the defaults if there is no policy at all (idempotent). Takes the model class so
    the data migration can pass its historical model. Returns the number created."""
    manager = policy_model.objects.using(using)
    if manager.exists():
        return 0
    manager.bulk_create([policy_model(**p) for p in default_policies()])
    return len(default_policies())
