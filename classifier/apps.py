from __future__ import annotations

from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save


class ClassifierConfig(AppConfig):
    name = "classifier"
    default_auto_field = "django.db.models.BigAutoField"

    role_permissions = {
        "agent": ["view_modelversion"],
        "manager": ["view_modelversion", "change_modelversion", "view_trainingexample"],
    }

    # Synced by name on every migrate (tickets.schedules). The task timeout stays below
    # Q_CLUSTER["retry"] (120 s) so a long training is never handed to a second worker.
    schedules = [
        {
            # Retrain once agents confirmed CLASSIFIER_RETRAIN_AFTER_LABELS new categories.
            "name": "classifier.retrain_if_due",
            "func": "classifier.tasks.retrain_if_due",
            "schedule_type": "I",
            "minutes": 15,
            "kwargs": "q_options={'timeout': 110}",
        },
        {
            # Nightly, if any labelled data arrived since the last version (imports too).
            "name": "classifier.retrain_nightly",
            "func": "classifier.tasks.retrain_nightly",
            "schedule_type": "D",
            "kwargs": "q_options={'timeout': 110}",
        },
    ]

    def ready(self) -> None:
        from classifier.models import ModelVersion
        from tickets.models import Category

        # This process sees an activation or a category edit at once; the others within
        # CLASSIFIER_REFRESH_SECONDS (classifier.registry).
        for model in (ModelVersion, Category):
            uid = f"classifier.invalidate.{model.__name__}"
            post_save.connect(_invalidate, sender=model, dispatch_uid=uid)
            post_delete.connect(_invalidate, sender=model, dispatch_uid=f"{uid}.delete")


def _invalidate(sender: Any, **kwargs: Any) -> None:
    from classifier.registry import registry

    registry.invalidate()
