"""End to end with the real classifier (no stub): a confidently classified ticket is routed to
an agent holding its category's skill, within the create request."""

from __future__ import annotations

import pytest

from classifier.registry import registry
from routing.models import RoutingDecision
from tests.classifier.factories import ModelVersionFactory, sample_categories
from tests.routing.factories import make_agent
from tickets.models import Ticket

HARDWARE = {"subject": "laptop", "description": "new laptop keyboard broken replace hardware"}


@pytest.fixture(autouse=True)
def _fresh_registry(settings):
    settings.CLASSIFIER_REFRESH_SECONDS = 0
    registry.reset()
    yield
    registry.reset()


@pytest.mark.django_db
def test_it_routes_a_classified_api_ticket_to_a_skilled_agent(api, alice):
    categories = sample_categories()
    ModelVersionFactory(is_active=True, threshold=0.0)
    make_agent("generalist", {c.skill: 2 for c in categories.values()}, capacity=5, load=4)
    make_agent("fresh", {c.skill: 1 for c in categories.values()}, capacity=5)

    resp = api(alice).post("/api/v1/tickets/", HARDWARE, format="json")

    assert resp.status_code == 201, resp.content
    ticket = Ticket.objects.get(pk=resp.json()["id"])
    assert ticket.category is not None and ticket.category_source == "model"
    assert resp.json()["assignee"] == "fresh"  # least loaded relative to capacity
    decision = RoutingDecision.objects.get(ticket=ticket)
    assert decision.skill == ticket.category.skill and decision.trigger == "intake"
