"""GET /api/v1/agents/, PATCH /api/v1/agents/me/ and the routing explanation on a ticket."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from routing.models import AgentProfile
from tests.routing.factories import SkillFactory, category_for, make_agent
from tests.tickets.factories import TicketFactory
from tickets import flows

URL = "/api/v1/agents/"


@pytest.fixture
def agnes_profile(agnes):
    profile = AgentProfile.objects.create(user=agnes, capacity=3, tier=2, team="blue")
    profile.skills.create(skill=SkillFactory(slug="network"), level=4)
    return profile


@pytest.mark.django_db
def test_it_lists_agents_with_live_load_to_staff(api, agnes, agnes_profile, max_manager):
    ticket = TicketFactory(category=category_for("network"))
    flows.edit_ticket(
        ticket=ticket, actor=max_manager, priority="normal", category=ticket.category,
        status=None, reply="", internal=False, assignee=agnes,
    )

    body = api(agnes).get(URL).json()

    assert body == [
        {
            "id": agnes_profile.pk, "username": "agnes", "availability": "offline",
            "capacity": 3, "load": 1, "tier": 2, "team": "blue",
            "skills": [{"skill": "network", "level": 4}],
            "last_assigned_at": body[0]["last_assigned_at"],
        }
    ]
    assert body[0]["last_assigned_at"] is not None


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["alice", "ian"])
def test_it_refuses_the_agent_list_to_non_staff(api, who, request):
    assert api(request.getfixturevalue(who)).get(URL).status_code == 403


@pytest.mark.django_db
def test_it_lists_agents_in_a_fixed_number_of_queries(api, agnes):
    for i in range(5):
        make_agent(f"a{i}", {"network": 3, "printing": 2})
    client = api(agnes)
    client.get(URL)

    with CaptureQueriesContext(connection) as ctx:
        assert len(client.get(URL).json()) == 5

    # 1 token + user + role, 2 profiles + users, 3 skills + skill rows
    assert len(ctx.captured_queries) == 3


@pytest.mark.django_db
def test_it_lets_an_agent_set_their_own_availability(api, agnes, agnes_profile):
    resp = api(agnes).patch(URL + "me/", {"availability": "available"}, format="json")

    assert resp.status_code == 200, resp.content
    assert resp.json()["availability"] == "available"
    agnes_profile.refresh_from_db()
    assert agnes_profile.availability == "available"


@pytest.mark.django_db
def test_it_offers_no_way_to_change_someone_elses_profile(api, agnes, agnes_profile):
    other = make_agent("other", availability="away")
    client = api(agnes)

    by_id = client.patch(f"{URL}{other.pk}/", {"availability": "offline"}, format="json")
    smuggled = client.patch(
        URL + "me/", {"availability": "away", "capacity": 99, "user": other.user_id},
        format="json",
    )

    assert by_id.status_code in (404, 405)
    assert smuggled.status_code == 400
    other.refresh_from_db()
    agnes_profile.refresh_from_db()
    assert other.availability == "away" and agnes_profile.capacity == 3


@pytest.mark.django_db
def test_it_rejects_bad_availability_values(api, agnes, agnes_profile):
    client = api(agnes)
    assert client.patch(URL + "me/", {"availability": "asleep"}, format="json").status_code == 400
    assert client.patch(URL + "me/", {"availability": 1}, format="json").status_code == 400


@pytest.mark.django_db
def test_it_answers_404_for_staff_without_a_profile(api, max_manager):
    resp = api(max_manager).patch(URL + "me/", {"availability": "away"}, format="json")
    assert resp.status_code == 404


@pytest.mark.django_db
def test_it_refuses_customers_setting_availability(api, alice):
    assert api(alice).patch(URL + "me/", {"availability": "away"}, format="json").status_code == 403


@pytest.mark.django_db
def test_it_explains_routing_on_the_ticket_to_staff_only(api, alice, agnes):
    make_agent("routed", {"network": 3})
    ticket = TicketFactory(customer=alice)
    flows.edit_ticket(
        ticket=ticket, actor=agnes, priority="normal", category=category_for("network"),
        status=None, reply="", internal=False,
    )

    staff = api(agnes).get(f"/api/v1/tickets/{ticket.pk}/").json()
    customer = api(alice).get(f"/api/v1/tickets/{ticket.pk}/").json()

    assert staff["assignee"] == customer["assignee"] == "routed"
    assert staff["routing"]["agent"] == "routed"
    assert staff["routing"]["rule"] == "only eligible agent"
    assert staff["routing"]["candidates"][0]["username"] == "routed"
    assert customer["routing"] is None
    customer_events = {e["kind"]: e["data"] for e in customer["timeline"]}
    assert customer_events.get("assigned") == {}  # that it happened, not why
    assert "queued" not in customer_events
