from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.tickets.factories import CommentFactory, TicketFactory
from tickets.models import Ticket

URL = "/api/v1/tickets/"


@pytest.mark.django_db
def test_it_paginates_newest_first(api, alice):
    TicketFactory.create_batch(30, customer=alice)

    first = api(alice).get(URL).json()
    second = api(alice).get(URL, {"page": 2}).json()

    assert first["count"] == 30
    assert len(first["results"]) == 25 and len(second["results"]) == 5
    ids = [t["id"] for t in first["results"] + second["results"]]
    assert ids == sorted(ids, reverse=True)


@pytest.mark.django_db
def test_it_caps_the_page_size_at_100(api, agnes):
    TicketFactory.create_batch(101)

    resp = api(agnes).get(URL, {"page_size": 100_000})

    assert resp.status_code == 200
    body = resp.json()
    assert (body["count"], len(body["results"])) == (101, 100)
    assert body["next"] is not None


@pytest.mark.django_db
def test_it_filters_by_status(api, agnes):
    TicketFactory(status=Ticket.Status.OPEN)
    TicketFactory(status=Ticket.Status.NEW)

    resp = api(agnes).get(URL, {"status": "open"})

    assert [t["status"] for t in resp.json()["results"]] == ["open"]


@pytest.mark.django_db
def test_it_rejects_an_unknown_status_filter(api, agnes):
    resp = api(agnes).get(URL, {"status": "nonsense"})

    assert resp.status_code == 400
    assert "status" in resp.json()


@pytest.mark.django_db
def test_it_lists_in_constant_queries(api, agnes):
    client = api(agnes)
    TicketFactory.create_batch(2)
    with CaptureQueriesContext(connection) as few:
        client.get(URL)
    TicketFactory.create_batch(20)
    with CaptureQueriesContext(connection) as many:
        client.get(URL)

    assert len(many) == len(few)


@pytest.mark.django_db
def test_it_shows_a_ticket_in_constant_queries(api, agnes):
    client = api(agnes)
    ticket = TicketFactory()
    CommentFactory(ticket=ticket)
    with CaptureQueriesContext(connection) as few:
        client.get(f"{URL}{ticket.pk}/")
    CommentFactory.create_batch(10, ticket=ticket)
    with CaptureQueriesContext(connection) as many:
        client.get(f"{URL}{ticket.pk}/")

    assert len(many) == len(few)
