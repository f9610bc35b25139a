"""Bad input gets a 400 naming the field at fault, and nothing is written."""

from __future__ import annotations

import pytest

from tickets.models import Ticket

URL = "/api/v1/tickets/"
GOOD = {"subject": "Mail bounces", "description": "Every mail to the sales list bounces."}


def post(client, body, **kwargs):
    return client.post(URL, body, format="json", **kwargs)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"description": "no subject"}, "subject"),
        ({"subject": "no description"}, "description"),
        ({**GOOD, "subject": 123}, "subject"),
        ({**GOOD, "description": ["a", "list"]}, "description"),
        ({**GOOD, "subject": ""}, "subject"),
        ({**GOOD, "subject": "x" * 201}, "subject"),
        ({**GOOD, "description": "x" * 10_001}, "description"),
        ({**GOOD, "priority": "asap"}, "priority"),
        ({**GOOD, "priority": 3}, "priority"),
        ({**GOOD, "status": "closed"}, "status"),
        ({**GOOD, "assignee": 1}, "assignee"),
    ],
)
def test_it_names_the_field_at_fault(api, alice, body, field):
    resp = post(api(alice), body)

    assert resp.status_code == 400, resp.content
    assert field in resp.json()
    assert Ticket.objects.count() == 0


@pytest.mark.django_db
def test_it_accepts_the_documented_limits_exactly(api, alice):
    resp = post(api(alice), {"subject": "x" * 200, "description": "y" * 10_000})

    assert resp.status_code == 201


@pytest.mark.django_db
def test_it_rejects_malformed_json(api, alice):
    resp = api(alice).post(URL, '{"subject": "oops",', content_type="application/json")

    assert resp.status_code == 400
    assert "JSON parse error" in resp.json()["detail"]
    assert Ticket.objects.count() == 0


@pytest.mark.django_db
def test_it_rejects_a_json_body_that_is_not_an_object(api, alice):
    resp = api(alice).post(URL, '["subject"]', content_type="application/json")

    assert resp.status_code == 400
    assert Ticket.objects.count() == 0


@pytest.mark.django_db
def test_it_rejects_non_json_content(api, alice):
    resp = api(alice).post(URL, "subject=x", content_type="application/x-www-form-urlencoded")

    assert resp.status_code == 415


@pytest.mark.django_db
def test_it_throttles_a_user_who_posts_too_fast(api, alice, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"user": "3/min"},
    }
    client = api(alice)

    codes = [post(client, GOOD).status_code for _ in range(4)]

    assert codes == [201, 201, 201, 429]
    assert Ticket.objects.count() == 3
