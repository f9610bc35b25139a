"""Incidents in the demo's 30-day history (desk.demo.history schedules them): opened by
monitoring or staff, acknowledged, classified, updated, linked to the tickets customers sent
meanwhile, mitigated, resolved, with published post-mortems, so the report's incident figures
have a month behind them. The live ones (being worked, about to breach) are incidents.demo's."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING, Any

from django.utils import timezone
from django_q.conf import Conf

from incidents import flows, linking, postmortem
from incidents.models import Incident
from incidents.services import IncidentStateError
from tickets import incident_relay

if TYPE_CHECKING:
    from desk.demo.history import Replay

STORIES: list[dict[str, Any]] = [
    {"title": "VPN gateway drops connections", "service": "vpn", "severity": "sev2",
     "source": Incident.Source.ALERTMANAGER, "category": "Access",
     "updates": ["Gateway 2 restarts every few minutes; traffic moved to gateway 1.",
                 "Gateway 2 replaced; watching for another hour."],
     "root_cause": "A firmware bug restarted the gateway under load.",
     "minutes": (6, 25, 95)},
    {"title": "Payroll portal returns errors", "service": "hr-portal", "severity": "sev3",
     "source": Incident.Source.STAFF, "category": "HR Support",
     "updates": ["The portal's database ran out of connections; restarted the pool."],
     "root_cause": "A reporting job held every database connection.",
     "minutes": (18, 40, 150)},
    {"title": "Mail delivery delayed", "service": "mail", "severity": "sev2",
     "source": Incident.Source.ALERTMANAGER, "category": "Storage",
     "updates": ["Outgoing queue at 40k messages; adding a relay.",
                 "Queue drained; delays back to normal."],
     "root_cause": "The outbound relay's disk filled with bounce logs.",
     "minutes": (3, 45, 240)},
    {"title": "Single sign-on outage", "service": "sso", "severity": "sev1",
     "source": Incident.Source.ALERTMANAGER, "category": "Access",
     "updates": ["Nobody can log in; identity provider certificate expired.",
                 "New certificate deployed; logins work again."],
     "root_cause": "An expiring certificate was not on the renewal list.",
     "minutes": (2, 20, 55)},
]


def schedule_incidents(replay: Replay, start: datetime, days: int) -> None:
    """Spread the stories over the period (all over by now)."""
    for i, story in enumerate(STORIES):
        when = start + timedelta(days=days * (i + 0.5) / len(STORIES), hours=10 + i)
        replay.at(when, partial(_open, replay, story, when))


def _open(replay: Replay, story: dict[str, Any], when: datetime) -> None:
    staff = replay.agents[0]
    incident, _ = flows.open_incident(
        title=story["title"], severity=story["severity"], source=story["source"],
        opened_by=None if story["source"] == Incident.Source.ALERTMANAGER else staff,
        service=story["service"], detected_at=when - timedelta(minutes=1), now=when,
        category=replay.categories.get(story["category"]),
        description=f"{story['service']} is failing for many people.",
    )
    replay.count("incidents")
    ack, mitigate_after, resolve_after = story["minutes"]
    commander = replay.rng.choice(replay.agents)
    replay.at(when + timedelta(minutes=ack), lambda: _acknowledge(incident, commander))
    for n, body in enumerate(story["updates"]):
        at = when + timedelta(minutes=ack + 5 + n * 25)
        replay.at(at, partial(_update, incident, commander, body, replay))
    if mitigate_after:
        replay.at(when + timedelta(minutes=mitigate_after),
                  lambda: _call(flows.mitigate, incident=incident, actor=commander))
    if resolve_after:
        done = when + timedelta(minutes=resolve_after)
        replay.at(done, lambda: _resolve(incident, commander))
        replay.at(done + timedelta(hours=20), lambda: _postmortem(incident, commander, story))


def _call(fn: Any, **kwargs: Any) -> None:
    with contextlib.suppress(IncidentStateError):
        fn(**kwargs)


def _acknowledge(incident: Incident, commander: Any) -> None:
    _call(flows.acknowledge, incident=incident, actor=commander)
    _call(flows.classify, incident=incident, actor=commander)


@contextlib.contextmanager
def _queued() -> Iterator[None]:
    """The incident flows enqueue their ticket tasks inside their transaction: queue them (the
    replay runs django-q2 in sync mode otherwise), and the caller runs them right after the
    commit, at the same past instant. The worker later finds them queued and runs them again,
    which they are built for (at least once: nothing is done twice)."""
    old, Conf.SYNC = Conf.SYNC, False
    try:
        yield
    finally:
        Conf.SYNC = old


def _update(incident: Incident, author: Any, body: str, replay: Replay) -> None:
    """A public update, after linking the tickets customers sent about it in the last hour;
    relayed to those tickets as a reply."""
    since = timezone.now() - timedelta(hours=1)
    recent = [t for at, t in replay.submitted if at >= since][-3:]
    if recent:
        linking.link_tickets(incident=incident, tickets=recent, actor=author)
    with _queued():
        update = flows.post_update(incident=incident, author=author, body=body, public=True)
    incident_relay.relay_update(update.pk)


def _resolve(incident: Incident, commander: Any) -> None:
    with _queued():
        _call(flows.resolve, incident=incident, actor=commander, resolve_tickets=True,
              note="Fixed.")
    incident_relay.resolve_linked(incident.pk, commander.pk)


def _postmortem(incident: Incident, author: Any, story: dict[str, Any]) -> None:
    postmortem.save_postmortem(incident=incident, author=author, fields={
        "summary": f"{story['title']} for a while; see the timeline.",
        "root_cause": story["root_cause"],
        "resolution": story["updates"][-1],
        "lessons": "Alert earlier, and add the check to the runbook.",
    })
    _call(postmortem.publish_postmortem, incident=incident, actor=author)
