"""Demo incidents for seed_demo, one per stage of an incident's life, timed so that a newcomer
sees the stage clocks move: one is about to breach its classify stage when the demo starts.
Idempotent: nothing is added once demo incidents exist. Through the real flows, with past
instants, so clocks and timelines are what they would have been."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from django.utils import timezone

from incidents import flows, linking, postmortem
from incidents.models import Incident
from tickets.models import Ticket


def seed_incidents(*, staff: Sequence[Any], manager: Any) -> int:
    """Four incidents (demo dedup keys "demo:*"); returns how many were created."""
    if Incident.objects.filter(dedup_key__startswith="demo:").exists():
        return 0
    now = timezone.now()
    lead, second = staff[0], staff[1 % len(staff)]

    def opened(key: str, minutes_ago: float, **fields: Any) -> Incident:
        at = now - timedelta(minutes=minutes_ago)
        incident, _ = flows.open_incident(dedup_key=f"demo:{key}", now=at, detected_at=at,
                                          opened_by=None, **fields)
        return incident

    # 1. Just detected by monitoring, nobody on it yet: classify breaches ~2 min into the demo.
    opened("checkout", 13, title="Checkout returns HTTP 500 for 30% of orders", severity="sev1",
           source=Incident.Source.ALERTMANAGER, service="checkout",
           started_at=now - timedelta(minutes=16),
           description="CheckoutErrorRate firing on web-1 and web-2.",
           runbook_url="https://runbooks.example.org/checkout-5xx")

    # 2. Being worked on: acknowledged, classified, customers told, tickets linked.
    login = opened("login", 50, title="Login page slow (p95 above 8 s)", severity="sev2",
                   source=Incident.Source.STAFF, service="identity")
    at = now - timedelta(minutes=44)
    flows.acknowledge(incident=login, actor=lead, now=at)
    flows.classify(incident=login, actor=lead, severity="sev2", service="identity", now=at)
    flows.post_update(incident=login, author=lead, now=now - timedelta(minutes=24),
                      body="We are seeing slow logins and are failing over the session store.")
    linking.link_tickets(incident=login, actor=lead, now=at,
                         tickets=list(Ticket.objects.order_by("-created_at")[:3]))

    # 3. Resolved three hours ago; the post-mortem is a draft, due in 21 hours.
    mail = opened("mail", 240, title="Outgoing e-mail delayed by up to 40 min", severity="sev3",
                  source=Incident.Source.API, service="mail")
    flows.acknowledge(incident=mail, actor=second, now=now - timedelta(minutes=230))
    flows.classify(incident=mail, actor=second, now=now - timedelta(minutes=228))
    flows.resolve(incident=mail, actor=second, now=now - timedelta(minutes=180),
                  note="queue drained after the relay was restarted")
    postmortem.save_postmortem(incident=mail, author=second, now=now - timedelta(minutes=60),
                               fields={"summary": "The outgoing mail relay stalled."})

    # 4. Over and reviewed: the post-mortem is published.
    vpn = opened("vpn", 30 * 60, title="VPN gateway rejected new connections", severity="sev2",
                 source=Incident.Source.SURGE, service="vpn")
    day = now - timedelta(hours=30)
    flows.acknowledge(incident=vpn, actor=lead, now=day + timedelta(minutes=6))
    flows.classify(incident=vpn, actor=lead, now=day + timedelta(minutes=8))
    flows.resolve(incident=vpn, actor=lead, now=day + timedelta(hours=2))
    postmortem.save_postmortem(
        incident=vpn, author=manager, now=day + timedelta(hours=20),
        fields={"summary": "New VPN sessions failed for two hours.",
                "root_cause": "The gateway's client certificate expired.",
                "trigger": "Certificate expiry at 03:00.",
                "resolution": "Certificate renewed and gateway restarted.",
                "lessons": "Certificates need expiry alerts."},
        actions=[postmortem.ActionItemInput("Alert 14 days before certificate expiry",
                                            owner=lead)],
    )
    postmortem.publish_postmortem(incident=vpn, actor=manager, now=day + timedelta(hours=21))
    return 4
