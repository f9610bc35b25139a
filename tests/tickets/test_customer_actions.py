"""Customers confirm or close their ticket and rate it once over REST; others' tickets are 404,
staff get 403."""

from __future__ import annotations

import pytest

from tests.tickets.factories import TicketFactory
from tickets.models import Rating, Ticket


@pytest.fixture
def resolved(alice):
    return TicketFactory(customer=alice, status=Ticket.Status.RESOLVED)


@pytest.mark.django_db
def test_it_lets_the_customer_confirm_a_resolution(api, alice, resolved):
    resp = api(alice).post(f"/api/v1/tickets/{resolved.pk}/confirm/")

    assert resp.status_code == 200 and resp.json()["status"] == "closed"
    event = resolved.events.get(kind="status_changed")
    assert event.data["reason"] == "resolution confirmed by the customer"


@pytest.mark.django_db
def test_it_refuses_to_confirm_a_ticket_that_is_not_resolved(api, alice):
    ticket = TicketFactory(customer=alice, status=Ticket.Status.OPEN)

    resp = api(alice).post(f"/api/v1/tickets/{ticket.pk}/confirm/")

    assert resp.status_code == 409


@pytest.mark.django_db
def test_it_lets_the_customer_close_an_open_ticket(api, alice):
    ticket = TicketFactory(customer=alice)

    resp = api(alice).post(f"/api/v1/tickets/{ticket.pk}/close/")

    assert resp.status_code == 200 and resp.json()["status"] == "closed"
    assert api(alice).post(f"/api/v1/tickets/{ticket.pk}/close/").status_code == 409


@pytest.mark.django_db
def test_it_takes_one_rating_per_resolved_ticket(api, alice, resolved):
    url = f"/api/v1/tickets/{resolved.pk}/rating/"

    first = api(alice).post(url, {"score": 5, "comment": "Quick and kind"}, format="json")
    again = api(alice).post(url, {"score": 1}, format="json")

    assert first.status_code == 201 and first.json()["score"] == 5
    assert again.status_code == 409
    assert api(alice).get(url).json()["comment"] == "Quick and kind"
    assert Rating.objects.get(ticket=resolved).score == 5
    assert resolved.events.filter(kind="rated").count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize("score", [0, 6, "5", 4.5, True, None])
def test_it_refuses_scores_that_are_not_integers_from_1_to_5(api, alice, resolved, score):
    resp = api(alice).post(f"/api/v1/tickets/{resolved.pk}/rating/", {"score": score},
                           format="json")

    assert resp.status_code == 400 and "score" in resp.json()


@pytest.mark.django_db
def test_it_refuses_rating_an_open_ticket(api, alice):
    ticket = TicketFactory(customer=alice)

    resp = api(alice).post(f"/api/v1/tickets/{ticket.pk}/rating/", {"score": 4}, format="json")

    assert resp.status_code == 409


@pytest.mark.django_db
def test_it_hides_other_customers_tickets_and_keeps_staff_out(api, bob, agnes, resolved):
    for path in ("confirm/", "close/"):
        assert api(bob).post(f"/api/v1/tickets/{resolved.pk}/{path}").status_code == 404
        assert api(agnes).post(f"/api/v1/tickets/{resolved.pk}/{path}").status_code == 403
    rating = f"/api/v1/tickets/{resolved.pk}/rating/"
    assert api(bob).post(rating, {"score": 1}, format="json").status_code == 404
    assert api(None).post(rating, {"score": 1}, format="json").status_code == 401
