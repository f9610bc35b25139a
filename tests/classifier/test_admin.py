"""The admin: model versions with metrics and a confusion summary, activation, and the
triage queue showing the model's top 3 guesses."""

from __future__ import annotations

import pytest

from classifier.admin import confusion_summary
from classifier.models import ModelVersion
from tests.classifier.conftest import activate_in_admin
from tests.classifier.factories import ModelVersionFactory
from tests.tickets.factories import TicketFactory


def test_confusion_summary_gives_per_class_rates_and_top_confusions():
    summary = confusion_summary(
        {"labels": ["a", "b", "c"], "matrix": [[8, 2, 0], [1, 9, 0], [0, 5, 0]]}
    )

    a, b, c = summary["per_class"]
    assert (a["precision"], a["recall"], a["support"]) == (8 / 9, 0.8, 10)
    assert (b["precision"], b["recall"]) == (9 / 16, 0.9)
    assert (c["precision"], c["recall"]) == (None, 0.0)
    assert summary["top_confusions"][0] == {"true": "c", "predicted": "b", "count": 5}
    assert len(summary["top_confusions"]) == 3


@pytest.mark.django_db
def test_managers_see_versions_with_metrics_and_confusions(client, max_manager, categories):
    version = ModelVersionFactory(is_active=True)
    client.force_login(max_manager)

    listing = client.get("/admin/classifier/modelversion/")
    detail = client.get(f"/admin/classifier/modelversion/{version.pk}/change/")

    assert listing.status_code == 200 and version.tag in listing.content.decode()
    page = detail.content.decode()
    assert detail.status_code == 200
    assert "macro_f1" in page and "Top confusions" in page and "hardware" in page


@pytest.mark.django_db
def test_managers_see_the_chosen_settings_and_whether_it_routes(client, max_manager, categories):
    routing = ModelVersionFactory(is_active=True)
    cold = ModelVersionFactory(auto_route=False, threshold=2.0)
    client.force_login(max_manager)

    page = client.get(f"/admin/classifier/modelversion/{routing.pk}/change/").content.decode()
    cold_page = client.get(f"/admin/classifier/modelversion/{cold.pk}/change/").content.decode()

    chosen = routing.selection["chosen"]
    assert "Settings chosen by cross-validation" in page
    assert f"chose C={chosen['C']}" in page and ", ".join(chosen["blocks"]) in page
    assert f"CV macro-F1 {routing.selection['cv_macro_f1']:.4f}" in page
    assert f"at confidence &gt;= {routing.threshold:.3f}" in page
    assert "off: validation cannot support 95% precision" in cold_page


@pytest.mark.django_db
def test_the_activate_action_switches_versions(client, max_manager, categories):
    old = ModelVersionFactory(is_active=True)
    new = ModelVersionFactory()
    client.force_login(max_manager)

    resp = activate_in_admin(client, new)

    assert f"{new.tag} is now active.".lower() in resp.content.decode().lower()
    assert ModelVersion.objects.get(is_active=True) == new
    old.refresh_from_db()
    assert not old.is_active


@pytest.mark.django_db
def test_the_activate_action_refuses_a_tampered_artifact(client, max_manager, categories):
    active = ModelVersionFactory(is_active=True)
    bad = ModelVersionFactory(artifact=b"tampered", sha256="0" * 64)
    client.force_login(max_manager)

    resp = activate_in_admin(client, bad)

    assert "does not match its sha256" in resp.content.decode()
    assert ModelVersion.objects.get(is_active=True) == active


@pytest.mark.django_db
def test_agents_see_the_triage_queue_with_guesses(client, agnes, alice):
    unsure = TicketFactory(
        customer=alice, subject="weird one", needs_triage=True,
        category_guesses=[["access", 0.41], ["hardware", 0.33], ["storage", 0.1]],
    )
    TicketFactory(customer=alice, subject="clear one")
    client.force_login(agnes)

    resp = client.get("/admin/tickets/ticket/", {"queue": "triage"})

    page = resp.content.decode()
    assert resp.status_code == 200
    assert unsure.reference in page and "clear one" not in page
    assert "access 41% · hardware 33% · storage 10%" in page
