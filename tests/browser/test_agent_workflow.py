"""An agent's morning in a real browser: log in, see the queue ordered by time to breach, take
the next ticket, reply, and see the first-response badge turn green; a second agent's "take
next" at the same moment gets another ticket."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from routing.models import AgentProfile, AgentSkill
from tests.browser.conftest import log_in
from tests.routing.factories import SkillFactory, category_for
from tests.tickets.factories import UserFactory
from tickets import flows
from tickets.models import Ticket
from tickets.roles import AGENT

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _agent(username: str) -> Any:
    from django.contrib.auth.models import Group

    user = UserFactory(username=username, is_staff=True)
    user.groups.add(Group.objects.get(name=AGENT))
    profile = AgentProfile.objects.create(user=user, capacity=5, tier=2, availability="away")
    AgentSkill.objects.create(agent=profile, skill=SkillFactory(slug="network"), level=3)
    return user


@pytest.fixture
def queued(roles: None, monkeypatch: pytest.MonkeyPatch) -> list[Ticket]:
    """Three categorized tickets nobody has taken (every agent is away), due at different
    times: urgent (15 min), normal (2 h), low (8 h)."""
    network = category_for("network")
    monkeypatch.setattr(flows, "classifier", SimpleNamespace(
        classify=lambda s, d: None,
        ticket_fields=lambda g: {"category": network, "needs_triage": False},
        apply_prediction=lambda **kw: None,
    ))
    customer = UserFactory(username="carol")
    return [
        flows.submit_ticket(customer=customer, subject=f"{p} VPN trouble",
                            description="It drops every hour.", priority=p)
        for p in ("low", "urgent", "normal")
    ]


def _references(page: Any) -> list[str]:
    return page.locator("tr.desk-row").evaluate_all(
        "rows => rows.map(r => r.dataset.reference)")


def test_an_agent_takes_the_next_ticket_replies_and_sees_the_badge_turn_green(new_page, queued):
    agent = _agent("agnes")
    low, urgent, normal = queued
    page = new_page()

    log_in(page, "agnes")

    assert page.url.endswith("/admin/queue/")
    assert page.locator("#availability-switch").is_visible()
    assert _references(page) == [urgent.reference, normal.reference, low.reference]
    page.click("#take-next")
    page.wait_for_url(f"**/admin/tickets/ticket/{urgent.pk}/change/")
    badge = page.locator('.desk-summary [data-stage="first_response"]')
    assert badge.get_attribute("data-tone") in ("ok", "risk")
    assert "left" in badge.inner_text()
    page.fill("textarea[name=reply]", "Hello Carol, we are on it: restart the VPN client please.")
    page.click("input[name=_save]")
    page.wait_for_load_state()

    badge = page.locator('.desk-summary [data-stage="first_response"]')
    assert badge.get_attribute("data-tone") == "met"
    assert "met" in badge.inner_text()
    assert badge.evaluate("b => getComputedStyle(b).backgroundColor") == "rgb(46, 125, 50)"
    assert "restart the VPN client" in page.locator(".desk-conversation").inner_text()
    urgent.refresh_from_db()
    assert urgent.assignee == agent and urgent.first_response_at is not None


def test_two_agents_taking_next_at_the_same_moment_get_different_tickets(new_page, queued):
    _agent("agnes")
    _agent("bruno")
    first, second = new_page(), new_page()
    log_in(first, "agnes")
    log_in(second, "bruno")

    # Both clicks go out before either page has its answer.
    first.locator("#take-next").click(no_wait_after=True)
    second.locator("#take-next").click(no_wait_after=True)
    first.wait_for_url("**/admin/tickets/ticket/*/change/")
    second.wait_for_url("**/admin/tickets/ticket/*/change/")

    assert first.url != second.url
    taken = Ticket.objects.filter(assignee__isnull=False)
    assert {t.assignee.username for t in taken} == {"agnes", "bruno"}
    assert taken.count() == 2
