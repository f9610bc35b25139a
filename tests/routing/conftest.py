"""Routing tests submit tickets through the real intake flow. The classifier is stubbed to
"predict" a chosen category, so routing sees what intake gives it whatever model is trained."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from tickets import flows
from tickets.models import Ticket


@pytest.fixture
def intake(monkeypatch: pytest.MonkeyPatch) -> Any:
    """submit(category=None, priority="normal", customer=...) -> Ticket via flows.submit_ticket,
    with the classifier's answer replaced by `category` (None = no category: triage)."""
    chosen: dict[str, Any] = {"category": None}

    def fields(_guess: Any) -> dict[str, Any]:
        category = chosen["category"]
        return {"category": category, "needs_triage": category is None}

    stub = SimpleNamespace(
        classify=lambda subject, description: None,
        ticket_fields=fields,
        apply_prediction=lambda **kwargs: None,
    )
    monkeypatch.setattr(flows, "classifier", stub)

    def submit(*, customer: Any, category: Any = None, priority: str = "normal") -> Ticket:
        chosen["category"] = category
        return flows.submit_ticket(
            customer=customer, subject="VPN drops", description="every hour", priority=priority
        )

    return submit
