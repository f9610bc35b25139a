from __future__ import annotations

from datetime import UTC, datetime, timedelta

import factory

from sla.models import SlaClock, WebhookEndpoint
from tests.tickets.factories import TicketFactory


class ClockFactory(factory.django.DjangoModelFactory):
    """A running 1-hour clock on a new ticket, due an hour after started_at, warning at 48 min,
    second level 30 min after the deadline."""

    class Meta:
        model = SlaClock

    ticket = factory.SubFactory(TicketFactory)
    stage = "first_response"
    policy_name = "test"
    target_seconds = 3600
    snapshot = factory.LazyFunction(
        lambda: {"warn_at": 0.8, "calendar": None, "escalate_after_seconds": 1800,
                 "stop_on": ["first_response", "resolved", "closed"], "pause_on": [],
                 "resume_on": []}
    )
    started_at = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    warn_at = factory.LazyAttribute(lambda c: c.started_at + timedelta(seconds=2880))
    due_at = factory.LazyAttribute(lambda c: c.started_at + timedelta(seconds=c.target_seconds))
    next_check_at = factory.LazyAttribute(lambda c: c.warn_at or c.due_at)


class WebhookEndpointFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = WebhookEndpoint

    name = factory.Sequence(lambda n: f"hook {n}")
    url = "http://127.0.0.1:9/never"
    secret = "s3cret"  # noqa: S105 - test fixture
