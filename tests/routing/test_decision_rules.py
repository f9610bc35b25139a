"""Each routing rule, through the real intake flow, with the decision and timeline it leaves."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from routing import rules
from routing.models import AgentProfile, RoutingDecision
from tests.routing.factories import category_for, make_agent
from tickets.models import TicketEvent


def decision_of(ticket) -> RoutingDecision:
    return RoutingDecision.objects.filter(ticket=ticket).latest("id")


@pytest.fixture
def network():
    return category_for("network")


@pytest.mark.django_db
def test_it_assigns_to_the_least_loaded_relative_to_capacity(intake, alice, network):
    make_agent("busy", {"network": 5}, capacity=2, load=1)  # 50 %
    roomy = make_agent("roomy", {"network": 1}, capacity=4, load=1)  # 25 %

    ticket = intake(customer=alice, category=network)

    assert ticket.assignee_id == roomy.user_id and ticket.assigned_at is not None
    decision = decision_of(ticket)
    assert (decision.outcome, decision.rule) == ("assigned", rules.RULE_LOAD)
    assert [c["username"] for c in decision.candidates] == ["roomy", "busy"]
    assert decision.candidates[0] | {"last_assigned_at": None} == {
        "agent_id": roomy.pk, "username": "roomy", "load": 1, "capacity": 4, "level": 1,
        "tier": 1, "last_assigned_at": None,
    }
    roomy.refresh_from_db()
    assert roomy.load == 2 and roomy.last_assigned_at is not None


@pytest.mark.django_db
def test_it_breaks_a_load_tie_by_higher_skill_level(intake, alice, network):
    make_agent("junior", {"network": 2})
    senior = make_agent("senior", {"network": 4})

    ticket = intake(customer=alice, category=network)

    assert ticket.assignee_id == senior.user_id
    assert decision_of(ticket).rule == rules.RULE_LEVEL


@pytest.mark.django_db
def test_it_breaks_a_full_tie_by_who_waited_longest(intake, alice, network):
    make_agent("recent", {"network": 3}, last_assigned_at=datetime(2026, 5, 2, tzinfo=UTC))
    waited = make_agent("waited", {"network": 3}, last_assigned_at=datetime(2026, 5, 1, tzinfo=UTC))

    ticket = intake(customer=alice, category=network)

    assert ticket.assignee_id == waited.user_id
    decision = decision_of(ticket)
    assert decision.rule == rules.RULE_WAITED
    assert "waited" in decision.explanation and "tie: waited longest" in decision.explanation


@pytest.mark.django_db
def test_it_spreads_consecutive_tickets_across_tied_agents(intake, alice, network):
    a, b = make_agent("a", {"network": 3}), make_agent("b", {"network": 3})

    first = intake(customer=alice, category=network)
    second = intake(customer=alice, category=network)

    assert {first.assignee_id, second.assignee_id} == {a.user_id, b.user_id}


@pytest.mark.django_db
def test_it_needs_the_categorys_skill(intake, alice, network):
    make_agent("printers", {"printing": 5})
    network_person = make_agent("net", {"network": 1}, capacity=10, load=9)

    ticket = intake(customer=alice, category=network)

    assert ticket.assignee_id == network_person.user_id


@pytest.mark.django_db
def test_it_gives_urgent_tickets_only_to_tier_2_and_up(intake, alice, network):
    make_agent("tier1", {"network": 5}, tier=1)
    tier2 = make_agent("tier2", {"network": 1}, tier=2, load=1)

    urgent = intake(customer=alice, category=network, priority="urgent")
    normal = intake(customer=alice, category=network, priority="normal")

    assert urgent.assignee_id == tier2.user_id
    assert decision_of(urgent).min_tier == 2
    assert normal.assignee.username == "tier1"


@pytest.mark.django_db
def test_it_reads_the_tier_rule_from_settings(intake, alice, network, settings):
    settings.ROUTING_MIN_TIER_BY_PRIORITY = {"urgent": 3, "high": 2}
    make_agent("tier2", {"network": 5}, tier=2)

    urgent = intake(customer=alice, category=network, priority="urgent")
    high = intake(customer=alice, category=network, priority="high")

    assert urgent.assignee_id is None
    assert "none of tier >= 3" in decision_of(urgent).explanation
    assert high.assignee.username == "tier2"


@pytest.mark.django_db
@pytest.mark.parametrize("availability", ["away", "offline"])
def test_it_skips_agents_who_are_not_available(intake, alice, network, availability):
    make_agent("gone", {"network": 5}, availability=availability)
    here = make_agent("here", {"network": 1})

    ticket = intake(customer=alice, category=network)

    assert ticket.assignee_id == here.user_id


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("setup", "reason"),
    [
        ({}, "no agent has skill 'network'"),
        ({"availability": "away"}, "1 agent(s) have skill 'network'; none is available"),
        ({"load": 2}, "1 agent(s) have skill 'network'; 1 available, all at capacity"),
    ],
)
def test_it_queues_with_the_reason_when_nobody_is_eligible(intake, alice, network, setup, reason):
    if setup:
        make_agent("only", {"network": 3}, **setup)

    ticket = intake(customer=alice, category=network)

    assert ticket.assignee_id is None
    decision = decision_of(ticket)
    assert (decision.outcome, decision.explanation) == ("queued", reason)
    event = ticket.events.get(kind=TicketEvent.Kind.QUEUED)
    assert event.data == {"decision_id": decision.pk, "reason": reason}


@pytest.mark.django_db
def test_it_does_not_route_a_ticket_without_category(intake, alice):
    make_agent("anyone", {"network": 3})

    ticket = intake(customer=alice, category=None)

    assert ticket.assignee_id is None
    assert not RoutingDecision.objects.exists()  # nothing decided: no decision row
    event = ticket.events.get(kind=TicketEvent.Kind.QUEUED)
    assert event.data == {"reason": "not routed: no category yet (triage)"}
    assert AgentProfile.objects.get().load == 0


@pytest.mark.django_db
def test_it_puts_the_decision_on_the_timeline(intake, alice, network):
    make_agent("agnes2", {"network": 3})

    ticket = intake(customer=alice, category=network)

    event = ticket.events.get(kind=TicketEvent.Kind.ASSIGNED)
    decision = decision_of(ticket)
    assert event.data["decision_id"] == decision.pk
    assert event.data["agent"] == "agnes2"
    assert event.data["explanation"] == decision.explanation
    assert decision.explanation.startswith("agnes2: only eligible agent (load 0/2")
