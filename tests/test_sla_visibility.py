"""One rule for SLA data in the admin and the API: lists across tickets (clocks, breaches,
escalations) are for managers; agents see a ticket's clocks on that ticket only."""

from __future__ import annotations

import pytest

from tests.sla.factories import ClockFactory
from tests.tickets.factories import TicketFactory

LISTS = [
    "/admin/sla/slaclock/",
    "/admin/sla/breach/",
    "/admin/sla/escalation/",
]


@pytest.fixture
def clocked_ticket(alice):
    ticket = TicketFactory(customer=alice)
    ClockFactory(ticket=ticket)
    return ticket


@pytest.mark.django_db
@pytest.mark.parametrize("page", LISTS)
def test_agents_do_not_get_the_sla_lists_in_the_admin(client, agnes, max_manager, page):
    client.force_login(agnes)
    assert client.get(page).status_code == 403
    client.force_login(max_manager)
    assert client.get(page).status_code == 200


@pytest.mark.django_db
def test_agents_do_not_get_the_breach_report_over_the_api(api, agnes, max_manager):
    assert api(agnes).get("/api/v1/sla/breaches/").status_code == 403
    assert api(agnes).get("/api/v1/sla/breaches.csv").status_code == 403
    assert api(max_manager).get("/api/v1/sla/breaches/").status_code == 200


@pytest.mark.django_db
def test_agents_see_a_tickets_clocks_on_the_ticket(api, client, agnes, clocked_ticket):
    detail = api(agnes).get(f"/api/v1/tickets/{clocked_ticket.pk}/").json()
    client.force_login(agnes)
    page = client.get(f"/admin/tickets/ticket/{clocked_ticket.pk}/change/").content.decode()

    assert len(detail["sla"]) == 1
    assert 'class="desk-clocks"' in page and 'data-stage="first_response"' in page
