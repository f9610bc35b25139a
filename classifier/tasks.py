"""django-q2 tasks: retraining from agents' feedback. Both are safe to run twice (at-least-once
delivery): a second run finds nothing new since the version the first one stored."""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings

from classifier import services
from classifier.models import ModelVersion, TrainingExample

log = logging.getLogger(__name__)


def _last_trained_at() -> Any:
    latest = ModelVersion.objects.order_by("-trained_at").values_list("trained_at", flat=True)
    return latest.first()


def retrain_if_due(**_: Any) -> dict[str, Any] | None:
    """Train (and activate if not worse) once CLASSIFIER_RETRAIN_AFTER_LABELS categories were
    confirmed by agents since the last trained version, accepted or not (a rejected candidate
    must not trigger a retrain every 15 minutes)."""
    since = _last_trained_at()
    new_labels = services.confirmed_labels_since(since)
    if new_labels < settings.CLASSIFIER_RETRAIN_AFTER_LABELS:
        return None
    return _train(f"retrain: {new_labels} new confirmed labels")


def retrain_nightly(**_: Any) -> dict[str, Any] | None:
    """Train (and activate if not worse) if any labelled data arrived since the last version."""
    since = _last_trained_at()
    new_labels = services.confirmed_labels_since(since)
    imported = TrainingExample.objects.filter(**({"created_at__gt": since} if since else {}))
    if since is not None and new_labels == 0 and not imported.exists():
        return None
    return _train(f"nightly retrain: {new_labels} new confirmed labels")


# The retrain tasks run with a 110 s timeout (classifier/apps.py), below the cluster's 120 s
# retry; the model search gets this much of it (reading the data, the hold-out comparison and
# saving take the rest). train_classifier uses the full CLASSIFIER_TRAIN_BUDGET_SECONDS.
TASK_BUDGET_SECONDS = 80.0


def _train(notes: str) -> dict[str, Any] | None:
    budget = min(TASK_BUDGET_SECONDS, settings.CLASSIFIER_TRAIN_BUDGET_SECONDS)
    try:
        outcome = services.train_and_activate(notes=notes, budget_seconds=budget)
    except services.NotEnoughData as exc:
        log.info("classifier: not retraining: %s", exc)
        return None
    return outcome.summary()
