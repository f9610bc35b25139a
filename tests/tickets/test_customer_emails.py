"""Customers hear back by e-mail on a public staff reply and on resolution (with how to confirm
and rate), through a django-q2 task enqueued after the commit; never for internal notes."""

from __future__ import annotations

import pytest
from django.core import mail
from django_q.conf import Conf

from tests.tickets.factories import TicketFactory
from tickets import flows


@pytest.fixture
def sync_tasks(monkeypatch):
    monkeypatch.setattr(Conf, "SYNC", True)  # django-q2 runs the task in-process


@pytest.mark.django_db
def test_it_emails_the_customer_a_public_reply_after_the_commit(
    alice, agnes, sync_tasks, django_capture_on_commit_callbacks
):
    ticket = TicketFactory(customer=alice, subject="VPN drops")
    with django_capture_on_commit_callbacks(execute=True):
        flows.reply(ticket=ticket, author=agnes, body="Please restart the client.",
                    internal=False, is_staff=True)
        assert mail.outbox == []  # nothing before the commit

    (sent,) = mail.outbox
    assert sent.to == ["alice@example.com"]
    assert sent.subject == f"[{ticket.reference}] Re: VPN drops"
    assert "Please restart the client." in sent.body
    assert f"/api/v1/tickets/{ticket.pk}/comments/" in sent.body


@pytest.mark.django_db
def test_it_never_emails_an_internal_note(alice, agnes, sync_tasks,
                                          django_capture_on_commit_callbacks):
    ticket = TicketFactory(customer=alice)
    with django_capture_on_commit_callbacks(execute=True):
        flows.reply(ticket=ticket, author=agnes, body="VIP, be nice", internal=True,
                    is_staff=True)

    assert mail.outbox == []


@pytest.mark.django_db
def test_it_emails_the_resolution_asking_to_confirm_and_rate(
    alice, agnes, sync_tasks, django_capture_on_commit_callbacks
):
    ticket = TicketFactory(customer=alice, status="open")
    with django_capture_on_commit_callbacks(execute=True):
        flows.update_status(ticket=ticket, status="resolved", actor=agnes)

    (sent,) = mail.outbox
    assert sent.subject.startswith(f"[{ticket.reference}] Resolved")
    assert f"/api/v1/tickets/{ticket.pk}/confirm/" in sent.body
    assert f"/api/v1/tickets/{ticket.pk}/rating/" in sent.body


@pytest.mark.django_db
def test_it_sends_nothing_when_the_change_rolls_back(alice, agnes, sync_tasks):
    from django.db import transaction

    ticket = TicketFactory(customer=alice, status="open")
    with pytest.raises(RuntimeError), transaction.atomic():
        flows.update_status(ticket=ticket, status="resolved", actor=agnes)
        raise RuntimeError("the request failed after the change")

    assert mail.outbox == []
