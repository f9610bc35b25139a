"""The hand-rolled create-response renderer must stay identical to the documented serializer."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.tickets.factories import CategoryFactory, TicketFactory, UserFactory
from tickets.api.render import render_ticket
from tickets.api.serializers import TicketSerializer


@pytest.mark.django_db
@pytest.mark.parametrize("filled", [False, True])
def test_it_renders_exactly_like_the_ticket_serializer(filled):
    extra = {}
    if filled:
        stamp = datetime(2026, 3, 29, 1, 30, 15, 123456, tzinfo=UTC)
        extra = dict(
            category=CategoryFactory(), assignee=UserFactory(), first_response_at=stamp,
            resolved_at=stamp, closed_at=stamp, status="closed", priority="urgent",
        )
    ticket = TicketFactory(**extra)

    assert render_ticket(ticket) == dict(TicketSerializer(ticket).data)
    assert set(render_ticket(ticket)) == set(TicketSerializer.Meta.fields)
