"""The incident page opens with its stage clocks as badges in words, MTTA so far, the latest
status updates and the linked tickets."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine

from incidents import flows, linking
from tests.incidents.factories import open_incident
from tests.sla.conftest import T0
from tests.tickets.factories import TicketFactory


@pytest.mark.django_db
def test_it_shows_stage_badges_updates_and_linked_tickets(client, agnes):
    incident = open_incident(title="Checkout returns 500s", severity="sev1")
    flows.acknowledge(incident=incident, actor=agnes, now=T0 + timedelta(minutes=4))
    flows.post_update(incident=incident, author=agnes, body="Rolling back release 42.",
                      public=True, now=T0 + timedelta(minutes=6))
    ticket = TicketFactory(subject="Cannot pay")
    linking.link_tickets(incident=incident, tickets=[ticket], actor=agnes,
                         now=T0 + timedelta(minutes=7))
    client.force_login(agnes)

    with time_machine.travel(T0 + timedelta(minutes=27), tick=False):
        html = client.get(f"/admin/incidents/incident/{incident.pk}/change/").content.decode()

    assert 'id="incident-summary"' in html
    assert "acknowledged after 4 min" in html
    assert 'data-stage="respond" data-tone="met"' in html
    assert "Classify &middot; overdue by 12 min" in html  # 15 min target from detection
    assert "Rolling back release 42." in html
    assert ticket.reference in html
