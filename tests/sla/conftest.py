"""SLA test helpers: a fixed start time, tickets submitted through the real intake flow, and a
watcher pass at a chosen instant (the services take `now`; time_machine moves everything else)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine

from sla import policies
from sla.models import SlaClock, SlaPolicy
from sla.watcher import PassResult, run_pass
from tickets import flows
from tickets.models import Ticket

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday
# Business hours in a timezone with daylight saving time.
BERLIN_9_TO_5 = {
    "tz": "Europe/Berlin",
    "weekly": {d: [["09:00", "17:00"]] for d in ("mon", "tue", "wed", "thu", "fri")},
    "holidays": [],
}


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _fresh_policy_cache() -> Iterator[None]:
    # Each test sees its own policies at once, not a copy cached by an earlier test.
    policies.invalidate()
    yield
    policies.invalidate()


@pytest.fixture
def frozen() -> Iterator[Any]:
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


def submit(customer: Any, priority: str = "normal", **kw: Any) -> Ticket:
    return flows.submit_ticket(
        customer=customer, subject="Printer on fire", description="Smoke.", priority=priority,
        **kw,
    )


def clocks(ticket: Ticket) -> dict[str, SlaClock]:
    """The ticket's latest clock per stage."""
    return {c.stage: c for c in SlaClock.objects.filter(ticket=ticket).order_by("cycle")}


def sweep(at: datetime) -> PassResult:
    with time_machine.travel(at, tick=False):
        return run_pass(now=at)


def later(**kw: float) -> datetime:
    return T0 + timedelta(**kw)


def make_policy(**overrides: Any) -> SlaPolicy:
    """Replace the active ticket policy for `priority` (default normal) with a custom one."""
    priority = overrides.setdefault("priority", "normal")
    SlaPolicy.objects.filter(kind="ticket", priority=priority).update(is_active=False)
    fields = {
        "name": f"custom {priority}",
        "kind": "ticket",
        "stages": [
            {"name": "first_response", "target_seconds": 3600, "warn_at": 0.8,
             "stop_on": ["first_response", "resolved", "closed"]},
            {"name": "resolution", "target_seconds": 8 * 3600, "warn_at": 0.5,
             "start_on": ["created", "reopened"], "stop_on": ["resolved", "closed"],
             "pause_on": ["pending"], "resume_on": ["open"]},
        ],
        "escalate_after_seconds": 1800,
        **overrides,
    }
    policy = SlaPolicy.objects.create(**fields)
    policies.invalidate()
    return policy
