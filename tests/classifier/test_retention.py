"""Old model versions' artifacts (megabytes each) are dropped after CLASSIFIER_KEEP_ARTIFACTS
newer ones; the active one never is, and the rows stay for audit."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from classifier import services
from classifier.models import ModelVersion
from tests.classifier.conftest import activate_in_admin
from tests.classifier.factories import ModelVersionFactory


def versions_trained_days_ago(*days: int, active_day: int | None = None) -> list[ModelVersion]:
    now = timezone.now()
    return [
        ModelVersionFactory(trained_at=now - timedelta(days=d), is_active=d == active_day)
        for d in days
    ]


@pytest.mark.django_db
def test_it_keeps_the_newest_artifacts_and_the_active_one(categories):
    oldest, active, older, newer, newest = versions_trained_days_ago(
        5, 4, 3, 2, 1, active_day=4
    )

    assert services.prune_artifacts(keep=2) == 2

    kept = ModelVersion.objects.filter(artifact_pruned_at__isnull=True)
    assert set(kept) == {active, newer, newest}
    for version in (oldest, older):
        version.refresh_from_db()
        assert bytes(version.artifact) == b""
        assert version.metrics["macro_f1"] > 0 and version.sha256  # the audit trail stays
    assert services.prune_artifacts(keep=2) == 0  # nothing left to drop
    services.load_version(ModelVersion.objects.get(pk=active.pk))  # still loads


@pytest.mark.django_db
def test_retraining_prunes_what_is_beyond_the_setting(history, settings):
    settings.CLASSIFIER_KEEP_ARTIFACTS = 1
    old, older = versions_trained_days_ago(2, 3)

    outcome = services.train_and_activate()

    assert outcome.activated
    pruned = set(ModelVersion.objects.filter(artifact_pruned_at__isnull=False))
    assert pruned == {old, older}


@pytest.mark.django_db
def test_a_version_without_its_artifact_cannot_be_activated(client, max_manager, categories):
    active, dropped = versions_trained_days_ago(1, 2, active_day=1)
    services.prune_artifacts(keep=1)
    client.force_login(max_manager)

    resp = activate_in_admin(client, dropped)

    assert "artifact was dropped" in resp.content.decode()
    assert ModelVersion.objects.get(is_active=True) == active
