"""Manual (re)assignment by agents and managers, in the flow and in the admin."""

from __future__ import annotations

import pytest

from routing.models import RoutingDecision
from routing.services import OverCapacityError
from tests.routing.factories import category_for, make_agent
from tests.tickets.factories import TicketFactory
from tickets import flows
from tickets.models import TicketEvent


def edit(ticket, actor, **changes):
    fields = {
        "priority": ticket.priority, "category": ticket.category, "status": None, "reply": "",
        "internal": False,
    }
    return flows.edit_ticket(ticket=ticket, actor=actor, **{**fields, **changes})


@pytest.fixture
def ticket(alice):
    return TicketFactory(customer=alice, category=category_for("network"))


@pytest.mark.django_db
def test_it_reassigns_by_hand_and_moves_the_load(ticket, max_manager):
    old = make_agent("old", {"network": 3})
    new = make_agent("new", {"printing": 3})
    edit(ticket, max_manager, assignee=old.user)

    edit(ticket, max_manager, assignee=new.user)

    old.refresh_from_db()
    new.refresh_from_db()
    assert (old.load, new.load) == (0, 1)
    decision = RoutingDecision.objects.filter(ticket=ticket).latest("id")
    assert (decision.trigger, decision.rule, decision.actor) == (
        "manual", "manual assignment", max_manager
    )
    assert TicketEvent.objects.filter(ticket=ticket, kind="assigned").count() == 2


@pytest.mark.django_db
def test_it_refuses_over_capacity_without_confirmation(ticket, max_manager):
    full = make_agent("full", {"network": 3}, capacity=1, load=1)

    with pytest.raises(OverCapacityError, match=r"at capacity \(1/1\)"):
        edit(ticket, max_manager, assignee=full.user, priority="high")

    ticket.refresh_from_db()
    full.refresh_from_db()
    assert ticket.assignee is None and ticket.priority == "normal"  # nothing saved
    assert full.load == 1
    assert not RoutingDecision.objects.filter(ticket=ticket).exists()


@pytest.mark.django_db
def test_it_assigns_over_capacity_when_confirmed_and_records_it(ticket, max_manager):
    full = make_agent("full", {"network": 3}, capacity=1, load=1)

    edit(ticket, max_manager, assignee=full.user, over_capacity_ok=True)

    full.refresh_from_db()
    assert (full.load, full.overbooked) == (2, 1)  # the CHECK constraint allows exactly this
    decision = RoutingDecision.objects.get(ticket=ticket)
    assert decision.over_capacity and "over capacity" in decision.rule
    # Closing gives the allowance back, never below zero.
    flows.update_status(ticket=ticket, status="closed", actor=max_manager)
    full.refresh_from_db()
    assert (full.load, full.overbooked) == (1, 0)


@pytest.mark.django_db
def test_it_unassigns_back_to_the_queue(ticket, max_manager):
    agent = make_agent("a", {"network": 3})
    edit(ticket, max_manager, assignee=agent.user)

    edit(ticket, max_manager, assignee=None)

    ticket.refresh_from_db()
    agent.refresh_from_db()
    assert ticket.assignee is None and agent.load == 0
    assert RoutingDecision.objects.filter(ticket=ticket).latest("id").outcome == "unassigned"


def admin_post(client, ticket, **extra):
    data = {
        "priority": ticket.priority, "category": ticket.category_id or "", "new_status": "",
        "reply": "", "reply_internal": "", "comments-TOTAL_FORMS": "0",
        "comments-INITIAL_FORMS": "0", "events-TOTAL_FORMS": "0", "events-INITIAL_FORMS": "0",
        **extra,
    }
    return client.post(f"/admin/tickets/ticket/{ticket.pk}/change/", data)


@pytest.mark.django_db
def test_it_asks_a_manager_for_confirmation_in_the_admin(client, ticket, max_manager):
    full = make_agent("full", {"network": 3}, capacity=1, load=1)
    client.force_login(max_manager)

    refused = admin_post(client, ticket, assignee=full.user_id)
    confirmed = admin_post(client, ticket, assignee=full.user_id, assign_over_capacity="on")

    assert refused.status_code == 200 and "tick to assign anyway" in refused.content.decode()
    assert confirmed.status_code == 302
    ticket.refresh_from_db()
    assert ticket.assignee_id == full.user_id
    decision = RoutingDecision.objects.get(ticket=ticket)
    assert decision.actor == max_manager and decision.over_capacity


@pytest.mark.django_db
def test_an_agent_cannot_assign_over_capacity_even_when_ticking(client, ticket, agnes):
    full = make_agent("full", {"network": 3}, capacity=1, load=1)
    client.force_login(agnes)

    form = client.get(f"/admin/tickets/ticket/{ticket.pk}/change/").content.decode()
    ticked = admin_post(client, ticket, assignee=full.user_id, assign_over_capacity="on")

    assert 'name="assign_over_capacity"' not in form
    assert ticked.status_code == 200
    assert "only a manager can assign over capacity" in ticked.content.decode()
    ticket.refresh_from_db()
    full.refresh_from_db()
    assert ticket.assignee_id is None and full.load == 1
    assert not RoutingDecision.objects.filter(ticket=ticket).exists()


@pytest.mark.django_db
def test_an_agent_still_assigns_within_capacity_in_the_admin(client, ticket, agnes):
    roomy = make_agent("roomy", {"network": 3}, capacity=2, load=1)
    client.force_login(agnes)

    assert admin_post(client, ticket, assignee=roomy.user_id).status_code == 302
    ticket.refresh_from_db()
    assert ticket.assignee_id == roomy.user_id


@pytest.mark.django_db
def test_it_shows_the_routing_explanation_in_the_admin(client, ticket, agnes):
    agent = make_agent("shown", {"network": 3})
    edit(ticket, agnes, assignee=agent.user)
    client.force_login(agnes)

    page = client.get(f"/admin/tickets/ticket/{ticket.pk}/change/").content.decode()

    assert "shown: assigned by agnes" in page
