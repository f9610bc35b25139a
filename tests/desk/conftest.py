"""Workspace tests: tickets go through the real intake flow (classified by a stub that "predicts"
the chosen category, so routing and SLA clocks are real), at a frozen time."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from tests.routing.factories import category_for, make_agent

# The SLA tests' start instant, policy-cache reset (autouse) and frozen clock, the same here.
from tests.sla.conftest import T0, _fresh_policy_cache, frozen  # noqa: F401
from tickets import flows
from tickets.models import Ticket


@pytest.fixture
def submit(monkeypatch: pytest.MonkeyPatch) -> Any:
    """submit(customer, category=None, priority="normal", subject=...) -> Ticket."""
    chosen: dict[str, Any] = {"category": None}

    def fields(_guess: Any) -> dict[str, Any]:
        category = chosen["category"]
        return {"category": category, "needs_triage": category is None}

    monkeypatch.setattr(flows, "classifier", SimpleNamespace(
        classify=lambda subject, description: None, ticket_fields=fields,
        apply_prediction=lambda **kwargs: None,
    ))

    def _submit(customer: Any, *, category: Any = None, priority: str = "normal",
                subject: str = "VPN drops every hour") -> Ticket:
        chosen["category"] = category
        return flows.submit_ticket(customer=customer, subject=subject,
                                   description="Since Monday, on the office wifi.",
                                   priority=priority)

    return _submit


@pytest.fixture
def network(db: None) -> Any:
    return category_for("network")


@pytest.fixture
def agent_profile(agnes: Any, network: Any) -> Any:
    """agnes as an away agent (nothing is handed to her automatically) with the network skill."""
    from routing.models import AgentProfile, AgentSkill
    from tests.routing.factories import SkillFactory

    profile = AgentProfile.objects.create(user=agnes, capacity=5, tier=2, availability="away",
                                          team="Network")
    AgentSkill.objects.create(agent=profile, skill=SkillFactory(slug="network"), level=3)
    return profile


__all__ = ["T0", "make_agent"]
