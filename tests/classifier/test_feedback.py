"""Agents' categories are confirmed labels: they land on the timeline, count towards the
next training, and the retrain tasks activate a new version only if it is not worse."""

from __future__ import annotations

import pytest

from classifier import services, tasks
from classifier.models import ModelVersion
from tests.classifier.conftest import HISTORY_ROWS
from tests.classifier.factories import ModelVersionFactory
from tests.tickets.factories import TicketFactory
from tickets.models import Category, Ticket, TicketEvent


@pytest.fixture
def triaged(alice, history):
    return [
        TicketFactory(customer=alice, subject=f"dock {n}", description="usb hub dead",
                      needs_triage=True)
        for n in range(3)
    ]


def bulk_set_category(client, tickets, category):
    return client.post(
        "/admin/tickets/ticket/",
        {"action": "set_category", "_selected_action": [t.pk for t in tickets],
         "category": category.pk, "index": 0},
    )


@pytest.mark.django_db
def test_the_bulk_action_records_confirmed_labels(client, agnes, triaged):
    hardware = Category.objects.get(slug="hardware")
    client.force_login(agnes)

    resp = bulk_set_category(client, triaged, hardware)

    assert resp.status_code == 302
    for ticket in triaged:
        ticket.refresh_from_db()
        assert (ticket.category, ticket.category_source, ticket.needs_triage) == (
            hardware, Ticket.CategorySource.AGENT, False
        )
        event = ticket.events.get(kind=TicketEvent.Kind.CATEGORIZED)
        assert event.actor == agnes and event.data["source"] == "agent"
    assert services.confirmed_labels_since(None) == 3
    texts, _ = services.labelled_examples()
    assert "dock 0\nusb hub dead" in texts


@pytest.mark.django_db
def test_the_bulk_action_needs_a_category(client, agnes, triaged):
    client.force_login(agnes)

    resp = client.post(
        "/admin/tickets/ticket/",
        {"action": "set_category", "_selected_action": [triaged[0].pk], "index": 0},
        follow=True,
    )

    assert "Choose a category" in resp.content.decode()
    triaged[0].refresh_from_db()
    assert triaged[0].category is None


@pytest.mark.django_db
def test_a_single_edit_is_a_confirmed_label_too(client, agnes, triaged):
    storage = Category.objects.get(slug="storage")
    client.force_login(agnes)

    client.post(
        f"/admin/tickets/ticket/{triaged[0].pk}/change/",
        {"priority": "normal", "category": storage.pk, "new_status": "", "reply": "",
         "comments-TOTAL_FORMS": "0", "comments-INITIAL_FORMS": "0",
         "events-TOTAL_FORMS": "0", "events-INITIAL_FORMS": "0"},
    )

    assert services.confirmed_labels_since(None) == 1


@pytest.mark.django_db
def test_clearing_a_category_is_not_a_label(agnes, triaged):
    from django.db import transaction

    from tickets import services as ticket_services

    ticket, storage = triaged[0], Category.objects.get(slug="storage")
    with transaction.atomic():
        for category in (storage, None):
            ticket_services.set_category(
                ticket=ticket, category=category, actor=agnes, source=Ticket.CategorySource.AGENT
            ).flush()

    assert services.confirmed_labels_since(None) == 1


@pytest.mark.django_db
def test_retrain_waits_for_enough_new_labels(client, agnes, triaged, settings):
    settings.CLASSIFIER_RETRAIN_AFTER_LABELS = 4
    client.force_login(agnes)
    bulk_set_category(client, triaged, Category.objects.get(slug="hardware"))

    assert tasks.retrain_if_due() is None
    assert not ModelVersion.objects.exists()


@pytest.mark.django_db
def test_retrain_after_enough_labels_activates_a_version_not_worse(
    client, agnes, triaged, settings
):
    settings.CLASSIFIER_RETRAIN_AFTER_LABELS = 3
    client.force_login(agnes)
    bulk_set_category(client, triaged, Category.objects.get(slug="hardware"))

    summary = tasks.retrain_if_due()

    version = ModelVersion.objects.get()
    assert summary["activated"] and version.is_active and version.n_samples == HISTORY_ROWS + 3
    assert "3 new confirmed labels" in version.notes
    assert tasks.retrain_if_due() is None  # counted from the version just trained


@pytest.mark.django_db
def test_retrain_keeps_a_better_active_version(client, agnes, triaged, settings):
    settings.CLASSIFIER_RETRAIN_AFTER_LABELS = 3
    ModelVersionFactory(is_active=True)  # has seen the held-out examples: better there
    client.force_login(agnes)
    bulk_set_category(client, triaged, Category.objects.get(slug="hardware"))

    summary = tasks.retrain_if_due()

    assert summary is not None and not summary["activated"]
    assert ModelVersion.objects.filter(is_active=True).count() == 1
    assert ModelVersion.objects.get(is_active=True).pk != summary["id"]


@pytest.mark.django_db
def test_nightly_retrain_skips_when_nothing_is_new(history):
    assert tasks.retrain_nightly()["activated"]  # first run: history was imported

    assert tasks.retrain_nightly() is None
    assert ModelVersion.objects.count() == 1


@pytest.mark.django_db
def test_retrain_without_data_does_nothing(settings):
    settings.CLASSIFIER_RETRAIN_AFTER_LABELS = 0

    assert tasks.retrain_if_due() is None
    assert tasks.retrain_nightly() is None


@pytest.mark.django_db
def test_the_retrain_schedules_exist_after_migrate():
    from django_q.models import Schedule

    names = set(Schedule.objects.values_list("name", flat=True))
    assert {"classifier.retrain_if_due", "classifier.retrain_nightly"} <= names
