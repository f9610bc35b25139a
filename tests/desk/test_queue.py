"""The agents' queue: their own and the takeable tickets, earliest breach first, with a badge per
SLA clock, filters, and a fixed number of queries per page."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.desk.conftest import T0
from tickets import flows

QUEUE = "/admin/queue/"


def rows(resp) -> list[str]:
    html = resp.content.decode()
    return [part.split('"', 1)[0] for part in html.split('data-reference="')[1:]]


@pytest.mark.django_db
def test_it_lands_an_agent_on_the_queue_after_login(client, agnes):
    client.force_login(agnes)

    resp = client.get("/admin/")

    assert resp.status_code == 302 and resp["Location"] == QUEUE


@pytest.mark.django_db
def test_it_lands_a_manager_on_the_sla_report_and_keeps_the_index_reachable(client, max_manager):
    client.force_login(max_manager)

    assert client.get("/admin/")["Location"] == "/admin/reports/sla/"
    assert client.get("/admin/?index=1").status_code == 200


@pytest.mark.django_db
def test_it_orders_the_queue_by_time_to_breach(client, agnes, alice, submit, network, frozen):
    low = submit(alice, category=network, priority="low", subject="low one")  # 8 h first response
    urgent = submit(alice, category=network, priority="urgent", subject="urgent one")  # 15 min
    normal = submit(alice, category=network, priority="normal", subject="normal one")  # 2 h
    client.force_login(agnes)

    resp = client.get(QUEUE)

    assert rows(resp) == [urgent.reference, normal.reference, low.reference]


@pytest.mark.django_db
def test_it_shows_each_clock_as_a_badge_on_track_at_risk_or_breached(
    client, agnes, alice, submit, network, frozen
):
    submit(alice, category=network, priority="normal")  # first response due in 2 h
    client.force_login(agnes)

    on_track = client.get(QUEUE).content.decode()
    frozen.move_to(T0 + timedelta(minutes=100))  # past 80 % of 2 h
    at_risk = client.get(QUEUE).content.decode()
    frozen.move_to(T0 + timedelta(minutes=132))
    breached = client.get(QUEUE).content.decode()

    assert "First response &middot; 2 h left" in on_track and 'data-tone="ok"' in on_track
    assert "First response &middot; 20 min left" in at_risk and 'data-tone="risk"' in at_risk
    assert "First response &middot; overdue by 12 min" in breached
    assert 'data-tone="breached"' in breached


@pytest.mark.django_db
def test_it_shows_mine_and_unassigned_but_not_other_agents_tickets(
    client, agnes, alice, submit, network, agent_profile, frozen
):
    from tests.routing.factories import make_agent

    mine = submit(alice, category=network)
    flows.assign_to(ticket=mine, user=agnes, actor=agnes)
    unassigned = submit(alice, category=network)
    someone = make_agent("someone", {"network": 3})
    theirs = submit(alice, category=network)  # routed to the available agent
    client.force_login(agnes)

    default = rows(client.get(QUEUE))
    only_mine = rows(client.get(QUEUE, {"scope": "mine"}))
    everything = rows(client.get(QUEUE, {"scope": "all"}))

    theirs.refresh_from_db()
    assert theirs.assignee == someone.user
    assert set(default) == {mine.reference, unassigned.reference}
    assert only_mine == [mine.reference]
    assert set(everything) == {mine.reference, unassigned.reference, theirs.reference}


@pytest.mark.django_db
def test_it_filters_triage_breached_priority_category_and_team(
    client, agnes, alice, submit, network, agent_profile, frozen
):
    triage = submit(alice, category=None, subject="what is this")
    old = submit(alice, category=network, priority="urgent")
    flows.assign_to(ticket=old, user=agnes, actor=agnes)
    frozen.move_to(T0 + timedelta(minutes=20))  # urgent's 15 min first response is overdue
    fresh = submit(alice, category=network, priority="low")
    client.force_login(agnes)

    assert rows(client.get(QUEUE, {"scope": "triage"})) == [triage.reference]
    assert rows(client.get(QUEUE, {"scope": "breached"})) == [old.reference]
    assert rows(client.get(QUEUE, {"priority": "low"})) == [fresh.reference]
    assert set(rows(client.get(QUEUE, {"category": "cat-network"}))) == {
        old.reference, fresh.reference}
    assert rows(client.get(QUEUE, {"team": "Network"})) == [old.reference]


@pytest.mark.django_db
def test_it_renders_a_page_in_the_same_number_of_queries_for_3_or_30_tickets(
    client, agnes, alice, submit, network, agent_profile, frozen
):
    client.force_login(agnes)
    for _ in range(3):
        submit(alice, category=network)
    with CaptureQueriesContext(connection) as few:
        assert client.get(QUEUE).status_code == 200
    for _ in range(27):
        submit(alice, category=network)
    with CaptureQueriesContext(connection) as many:
        assert len(rows(client.get(QUEUE))) == 30

    assert len(few) == len(many)
    assert len(many) <= 12, [q["sql"][:120] for q in many.captured_queries]


@pytest.mark.django_db
def test_it_switches_availability_from_the_header(client, agnes, agent_profile):
    client.force_login(agnes)
    page = client.get(QUEUE).content.decode()

    resp = client.post("/admin/availability/", {"availability": "available", "next": QUEUE})

    assert 'id="availability-switch"' in page and 'value="offline"' in page
    assert resp.status_code == 302 and resp["Location"] == QUEUE
    agent_profile.refresh_from_db()
    assert agent_profile.availability == "available"


@pytest.mark.django_db
def test_it_keeps_customers_out_of_the_queue(client, alice):
    client.force_login(alice)

    assert client.get(QUEUE).status_code == 302  # to the admin login
