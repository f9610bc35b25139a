"""A small hand-computed world for the report tests (expected numbers in test_report_numbers):
period 2026-03-02 .. 2026-03-03 (UTC).

ticket  category  priority  assignee(team)  created      first reply   resolved     replies
T1      Network   high      rita (Blue)     03-02 08:00  03-02 08:30   03-02 12:00  1
T2      Network   normal    sam (Red)       03-02 09:00  03-02 12:00   03-03 10:00  2
T3      Hardware  urgent    -               03-03 10:00  -             -            0
T4      Hardware  low       rita (Blue)     03-01 12:00  03-01 13:00   03-03 11:00  1 (*)
T5      Hardware  normal    sam (Red)       03-05 09:00  (outside the period)
(*) resolved 03-02 15:00, reopened 03-03 09:00, resolved again 03-03 11:00."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from routing.models import AgentProfile
from sla.models import Escalation, SlaClock
from tests.sla.factories import ClockFactory
from tests.tickets.factories import CategoryFactory, TicketFactory, UserFactory
from tickets.models import Comment, Rating, TicketEvent


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=UTC)


def _clock(ticket: Any, stage: str, *, start: datetime, due: datetime, state: str,
           stopped: datetime | None = None, breached: datetime | None = None) -> SlaClock:
    return ClockFactory(ticket=ticket, stage=stage, started_at=start, due_at=due, state=state,
                        stopped_at=stopped, breached_at=breached, next_check_at=None)


def build_world() -> dict[str, Any]:
    network = CategoryFactory(slug="network", name="Network")
    hardware = CategoryFactory(slug="hardware", name="Hardware")
    rita = UserFactory(username="rita", is_staff=True)
    sam = UserFactory(username="sam", is_staff=True)
    AgentProfile.objects.create(user=rita, team="Blue")
    AgentProfile.objects.create(user=sam, team="Red")
    carol = UserFactory(username="carol")

    def ticket(category: Any, priority: str, assignee: Any, created: datetime,
               first: datetime | None, resolved: datetime | None, replies: list[Any]) -> Any:
        t = TicketFactory(customer=carol, category=category, priority=priority,
                          assignee=assignee, created_at=created, first_response_at=first,
                          resolved_at=resolved, status="resolved" if resolved else "open")
        for n, (author, when) in enumerate(replies):
            Comment.objects.create(ticket=t, author=author, body=f"reply {n}", created_at=when)
        return t

    t1 = ticket(network, "high", rita, at(2, 8), at(2, 8, 30), at(2, 12),
                [(rita, at(2, 8, 30)), (carol, at(2, 9)), (rita, at(2, 9, 5))][:1])
    Comment.objects.create(ticket=t1, author=carol, body="thanks", created_at=at(2, 9))
    Comment.objects.create(ticket=t1, author=rita, body="note", internal=True, created_at=at(2, 9))
    t2 = ticket(network, "normal", sam, at(2, 9), at(2, 12), at(3, 10),
                [(sam, at(2, 12)), (sam, at(3, 9, 30))])
    t3 = ticket(hardware, "urgent", None, at(3, 10), None, None, [])
    t4 = ticket(hardware, "low", rita, at(1, 12), at(1, 13), at(3, 11), [(rita, at(1, 13))])
    t5 = ticket(hardware, "normal", sam, at(5, 9), at(5, 9, 10), None, [(sam, at(5, 9, 10))])

    _clock(t1, "first_response", start=at(2, 8), due=at(2, 9), state="met", stopped=at(2, 8, 30))
    _clock(t1, "resolution", start=at(2, 8), due=at(2, 16), state="met", stopped=at(2, 12))
    fr2 = _clock(t2, "first_response", start=at(2, 9), due=at(2, 11), state="breached",
                 stopped=at(2, 12), breached=at(2, 11))
    res2 = _clock(t2, "resolution", start=at(2, 9), due=at(3, 9), state="breached",
                  stopped=at(3, 10), breached=at(3, 9))
    fr3 = _clock(t3, "first_response", start=at(3, 10), due=at(3, 10, 15), state="breached",
                 breached=at(3, 10, 15))
    _clock(t3, "resolution", start=at(3, 10), due=at(3, 14), state="running")
    _clock(t4, "first_response", start=at(1, 12), due=at(1, 20), state="met", stopped=at(1, 13))
    _clock(t4, "resolution", start=at(1, 12), due=at(4, 12), state="met", stopped=at(2, 15))
    _clock(t5, "first_response", start=at(5, 9), due=at(5, 11), state="breached",
           breached=at(5, 11))

    for clock, kind, level, when in [
        (fr2, "warning", 1, at(2, 10, 36)), (fr2, "breach", 2, at(2, 11)),
        (res2, "breach", 2, at(3, 9)),
        (fr3, "warning", 1, at(3, 10, 12)), (fr3, "breach", 2, at(3, 10, 15)),
        (fr3, "escalation", 3, at(3, 10, 30)),
    ]:
        Escalation.objects.create(clock=clock, kind=kind, level=level, step_at=when,
                                  created_at=when)

    def status(t: Any, old: str, new: str, when: datetime) -> None:
        TicketEvent.objects.create(ticket=t, kind="status_changed", created_at=when,
                                   data={"old": old, "new": new, "reason": ""})

    status(t1, "open", "resolved", at(2, 12))
    status(t2, "open", "resolved", at(3, 10))
    status(t4, "open", "resolved", at(2, 15))
    status(t4, "resolved", "open", at(3, 9))
    status(t4, "open", "resolved", at(3, 11))
    Rating.objects.create(ticket=t1, customer=carol, score=5, created_at=at(2, 13))
    Rating.objects.create(ticket=t2, customer=carol, score=3, created_at=at(3, 11))
    Rating.objects.create(ticket=t4, customer=carol, score=1, created_at=at(5, 8))
    return {"t1": t1, "t2": t2, "t3": t3, "t4": t4, "t5": t5}


def build_incidents() -> dict[str, Any]:
    """Two incidents in the period, one outside, opened and moved through the real flows.

    I1 sev2 detected 03-02 10:00, acknowledged 10:20 (20 min), resolved 12:00 (2 h)
    I2 sev1 detected 03-03 08:00, acknowledged 08:04 (4 min), resolved 09:00 (1 h)
    I3 sev3 detected 03-06 08:00 (outside)"""
    from incidents import flows
    from incidents.models import Incident

    responder = UserFactory(username="ines", is_staff=True)

    def incident(title: str, severity: str, detected: datetime, ack: datetime | None,
                 resolved: datetime | None) -> Incident:
        opened, _ = flows.open_incident(title=title, severity=severity, source="api",
                                        opened_by=None, detected_at=detected, now=detected)
        if ack:
            flows.acknowledge(incident=opened, actor=responder, now=ack)
        if resolved:
            flows.resolve(incident=opened, actor=responder, now=resolved)
        opened.refresh_from_db()
        return opened

    return {
        "i1": incident("Checkout 500s", "sev2", at(2, 10), at(2, 10, 20), at(2, 12)),
        "i2": incident("Login down", "sev1", at(3, 8), at(3, 8, 4), at(3, 9)),
        "i3": incident("Slow search", "sev3", at(6, 8), None, None),
    }
