"""Customers see only their own tickets; another customer's ticket does not exist for them
(404, never 403, so ids cannot be probed)."""

from __future__ import annotations

import pytest

from tests.tickets.factories import CommentFactory, TicketFactory
from tickets.models import Comment

URL = "/api/v1/tickets/"


@pytest.fixture
def bobs_ticket(bob):
    return TicketFactory(customer=bob, subject="Bob's secret printer")


@pytest.mark.django_db
def test_it_lists_only_the_callers_own_tickets(api, alice, bob, bobs_ticket):
    mine = TicketFactory(customer=alice)

    resp = api(alice).get(URL)

    assert resp.status_code == 200
    assert [t["id"] for t in resp.json()["results"]] == [mine.pk]


@pytest.mark.django_db
def test_it_hides_another_customers_ticket_as_not_found(api, alice, bobs_ticket):
    resp = api(alice).get(f"{URL}{bobs_ticket.pk}/")

    assert resp.status_code == 404
    assert "secret" not in resp.content.decode()


@pytest.mark.django_db
def test_it_refuses_comments_on_another_customers_ticket(api, alice, bobs_ticket):
    resp = api(alice).post(f"{URL}{bobs_ticket.pk}/comments/", {"body": "hi"}, format="json")

    assert resp.status_code == 404
    assert not Comment.objects.exists()


@pytest.mark.django_db
def test_it_answers_guessed_ids_like_missing_ones(api, alice, bobs_ticket):
    client = api(alice)
    existing = client.get(f"{URL}{bobs_ticket.pk}/")
    missing = client.get(f"{URL}{bobs_ticket.pk + 1000}/")

    assert existing.status_code == missing.status_code == 404
    assert existing.json() == missing.json()


@pytest.mark.django_db
def test_it_ignores_filters_that_would_reach_other_customers(api, alice, bob, bobs_ticket):
    resp = api(alice).get(URL, {"customer": bob.pk, "status": "new"})

    assert resp.json()["count"] == 0


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["agnes", "max_manager"])
def test_it_shows_staff_every_ticket(api, alice, bobs_ticket, who, request):
    TicketFactory(customer=alice)

    resp = api(request.getfixturevalue(who)).get(URL)

    assert resp.json()["count"] == 2


@pytest.mark.django_db
def test_it_hides_internal_notes_from_the_customer(api, bob, agnes, bobs_ticket):
    CommentFactory(ticket=bobs_ticket, author=agnes, body="customer is VIP", internal=True)
    CommentFactory(ticket=bobs_ticket, author=agnes, body="Restart it please")

    as_customer = api(bob).get(f"{URL}{bobs_ticket.pk}/").json()
    as_agent = api(agnes).get(f"{URL}{bobs_ticket.pk}/").json()

    assert [c["body"] for c in as_customer["comments"]] == ["Restart it please"]
    assert [c["body"] for c in as_agent["comments"]] == ["customer is VIP", "Restart it please"]


@pytest.mark.django_db
def test_it_refuses_integrations_and_anonymous_callers(api, ian, bobs_ticket):
    assert api(ian).get(URL).status_code == 403
    assert api(ian).get(f"{URL}{bobs_ticket.pk}/").status_code == 403
    assert api(None).get(URL).status_code == 401


@pytest.mark.django_db
def test_it_refuses_a_user_without_a_role(api, bobs_ticket):
    from tests.tickets.factories import UserFactory

    assert api(UserFactory()).get(URL).status_code == 403


@pytest.mark.django_db
def test_it_rejects_a_bad_token(api, bobs_ticket):
    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    assert client.get(URL).status_code == 401


@pytest.mark.django_db
def test_it_rejects_the_token_of_a_deactivated_user(api, alice):
    client = api(alice)
    alice.is_active = False
    alice.save()

    assert client.get(URL).status_code == 401
