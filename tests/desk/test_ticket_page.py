"""The ticket page: conversation first with the reply box under it, internal notes marked, SLA
clocks in words and in the agent's time zone, routing and timeline in words, the model's
guesses for triage tickets; a bounded number of queries."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from routing.models import AgentProfile
from tests.desk.conftest import T0
from tickets import flows
from tickets.models import Ticket


def page(client, ticket) -> str:
    resp = client.get(f"/admin/tickets/ticket/{ticket.pk}/change/")
    assert resp.status_code == 200
    return resp.content.decode()


def form(ticket: Ticket, **changes):
    return {"priority": ticket.priority, "category": ticket.category_id or "",
            "assignee": ticket.assignee_id or "", "reply": "", "new_status": "", **changes}


@pytest.mark.django_db
def test_it_puts_the_conversation_first_and_the_reply_box_below(
    client, agnes, alice, submit, network, agent_profile, frozen
):
    ticket = submit(alice, category=network, subject="Printer on fire")
    flows.reply(ticket=ticket, author=agnes, body="Step away from it.", internal=False,
                is_staff=True)
    flows.reply(ticket=ticket, author=agnes, body="Customer sounds calm", internal=True,
                is_staff=True)
    client.force_login(agnes)

    html = page(client, ticket)

    description = html.index("Since Monday, on the office wifi.")
    assert description < html.index("Step away from it.") < html.index('name="reply"')
    note = html.index("Customer sounds calm")
    assert html.rfind("desk-note", 0, note) > html.rfind("desk-from-staff", 0, note)


@pytest.mark.django_db
def test_it_says_overdue_by_12_min_in_the_agents_time_zone(
    client, agnes, alice, submit, network, agent_profile, frozen
):
    AgentProfile.objects.filter(pk=agent_profile.pk).update(time_zone="Europe/Berlin")
    ticket = submit(alice, category=network, priority="normal")  # first response due 11:00 UTC
    frozen.move_to(T0 + timedelta(hours=2, minutes=12))
    client.force_login(agnes)

    html = page(client, ticket)

    assert "overdue by 12 min" in html
    assert "Mar 2, 12:00" in html  # 11:00 UTC is noon in Berlin (CET)
    assert "-0h" not in html and "+00:00" not in html


@pytest.mark.django_db
def test_it_turns_the_first_response_badge_green_after_a_reply(
    client, agnes, alice, submit, network, agent_profile, frozen
):
    ticket = submit(alice, category=network)
    client.force_login(agnes)

    resp = client.post(f"/admin/tickets/ticket/{ticket.pk}/change/",
                       form(ticket, reply="On it!", _save="Save"))

    assert resp.status_code == 302 and resp["Location"].endswith(f"/{ticket.pk}/change/")
    html = page(client, ticket)
    assert 'data-stage="first_response" data-tone="met"' in html
    assert "First response &middot; met, 2 h to spare" in html


@pytest.mark.django_db
def test_it_tells_the_routing_and_the_timeline_in_words(
    client, agnes, alice, submit, network, frozen
):
    from tests.routing.factories import make_agent

    make_agent("rita", {"network": 4})
    ticket = submit(alice, category=network)
    client.force_login(agnes)

    html = page(client, ticket)

    assert "Assigned on Mar 2, 09:00 (intake): rita: only eligible agent" in html
    assert "alice opened the ticket via api (normal priority)" in html
    assert "Assigned to rita" in html
    assert '"decision_id"' not in html  # no raw JSON


@pytest.mark.django_db
def test_it_shows_the_models_top_guesses_for_a_triage_ticket(client, agnes, alice, submit, frozen):
    ticket = submit(alice, category=None)
    Ticket.objects.filter(pk=ticket.pk).update(
        category_guesses=[["access", 0.41], ["hardware", 0.33], ["storage", 0.1]])
    client.force_login(agnes)

    html = page(client, ticket)

    assert "The model was unsure; its best guesses: access (41%), hardware (33%), storage (10%)" \
        in html


@pytest.mark.django_db
def test_it_escalates_by_hand_to_a_higher_tier_and_says_so(
    client, agnes, alice, submit, network, frozen
):
    from tests.routing.factories import make_agent

    junior = make_agent("junior", {"network": 3}, tier=1)
    senior = make_agent("senior", {"network": 3}, tier=2)
    AgentProfile.objects.filter(pk=senior.pk).update(availability="away")
    ticket = submit(alice, category=network)
    assert ticket.assignee == junior.user
    AgentProfile.objects.filter(pk=senior.pk).update(availability="available")
    client.force_login(agnes)

    client.post(f"/admin/tickets/{ticket.pk}/act/", {"action": "escalate", "reason": "VIP"})

    ticket.refresh_from_db()
    assert (ticket.priority, ticket.assignee) == ("high", senior.user)
    said = "agnes escalated by hand; priority normal \u2192 high; reassigned to a higher tier; VIP"
    assert said in page(client, ticket)


@pytest.mark.django_db
def test_it_renders_the_ticket_page_in_a_bounded_number_of_queries(
    client, agnes, alice, submit, network, agent_profile, frozen
):
    ticket = submit(alice, category=network)
    client.force_login(agnes)
    with CaptureQueriesContext(connection) as short:
        page(client, ticket)
    for i in range(15):
        flows.reply(ticket=ticket, author=agnes if i % 2 else alice, body=f"message {i}",
                    internal=i % 4 == 1, is_staff=bool(i % 2))
    with CaptureQueriesContext(connection) as long:
        page(client, ticket)

    assert len(long) == len(short)
    assert len(long) <= 16, [q["sql"][:100] for q in long.captured_queries]
