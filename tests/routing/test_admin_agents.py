"""Agent profiles in the admin: agents change only their own availability, managers shape the
team; saves go through routing.services (the load counter is never written from a form)."""

from __future__ import annotations

import pytest

from routing.models import AgentProfile
from tests.routing.factories import category_for, make_agent
from tests.tickets.factories import TicketFactory
from tickets.models import Ticket

URL = "/admin/routing/agentprofile/"


def form(profile: AgentProfile, **changes):
    data = {
        "capacity": profile.capacity, "tier": profile.tier, "team": profile.team,
        "availability": profile.availability, "time_zone": profile.time_zone,
        "skills-TOTAL_FORMS": "0", "skills-INITIAL_FORMS": "0",
        **changes,
    }
    return data


@pytest.mark.django_db
def test_it_lets_an_agent_toggle_only_their_own_availability(client, agnes):
    mine = AgentProfile.objects.create(user=agnes, availability="offline")
    other = make_agent("other", availability="away")
    client.force_login(agnes)

    own = client.post(f"{URL}{mine.pk}/change/", form(mine, availability="available", capacity=99))
    foreign = client.post(f"{URL}{other.pk}/change/", form(other, availability="offline"))

    assert own.status_code == 302
    mine.refresh_from_db()
    other.refresh_from_db()
    assert (mine.availability, mine.capacity) == ("available", 10)  # capacity is read-only
    assert foreign.status_code == 403 and other.availability == "away"


@pytest.mark.django_db
def test_it_lets_an_agent_use_the_availability_actions_on_themselves_only(client, agnes):
    mine = AgentProfile.objects.create(user=agnes, availability="offline")
    other = make_agent("other", availability="offline")
    client.force_login(agnes)

    client.post(URL, {"action": "make_available", "_selected_action": [other.pk]})

    mine.refresh_from_db()
    other.refresh_from_db()
    assert (mine.availability, other.availability) == ("available", "offline")


@pytest.mark.django_db
def test_it_lets_a_manager_lower_capacity_below_load_without_losing_tickets(
    client, max_manager
):
    network = category_for("network")
    agent = make_agent("busy", {"network": 3}, capacity=3)
    for _ in range(3):
        TicketFactory(category=network)
    from routing.services import dispatch_all

    dispatch_all()
    client.force_login(max_manager)

    resp = client.post(f"{URL}{agent.pk}/change/", form(agent, capacity=1, tier=2))

    assert resp.status_code == 302, resp.content.decode()[:1500]
    agent.refresh_from_db()
    assert (agent.capacity, agent.tier, agent.load, agent.overbooked) == (1, 2, 3, 2)
    assert Ticket.objects.filter(assignee=agent.user).count() == 3


@pytest.mark.django_db
def test_it_hands_out_queued_tickets_when_a_manager_adds_a_skill(client, max_manager):
    from tests.routing.factories import SkillFactory

    ticket = TicketFactory(category=category_for("network"))
    skill = SkillFactory(slug="network")
    agent = make_agent("learner")
    client.force_login(max_manager)

    resp = client.post(
        f"{URL}{agent.pk}/change/",
        form(agent, **{
            "skills-TOTAL_FORMS": "1", "skills-0-skill": skill.pk, "skills-0-level": "3",
        }),
    )

    assert resp.status_code == 302, resp.content.decode()[:1500]
    ticket.refresh_from_db()
    assert ticket.assignee_id == agent.user_id
