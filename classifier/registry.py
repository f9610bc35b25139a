"""The active model, loaded once per process and swapped when another version is activated.

Staleness bound: a process checks which version is active at most once every
CLASSIFIER_REFRESH_SECONDS (default 30; tests use 0), with one indexed query on the partial
unique index of ModelVersion, plus one for the categories the model predicts. So after an
activation (admin action, train_classifier, the retrain task) every web process and worker
classifies with the new version within that many seconds, without a restart, and the request
path pays those two small queries once per interval instead of per ticket. The process that
activates sees it at once (post_save invalidation).

Loading refuses any artifact whose sha256 differs from the one recorded when the service
wrote it: nothing else is ever deserialized (and the format itself is not pickle). A version
that fails to load is logged and remembered, and tickets go to triage until another version
is activated."""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.conf import settings

from classifier.models import ModelVersion
from tickets.models import Category

if TYPE_CHECKING:
    from classifier.pipeline import TextClassifier

log = logging.getLogger(__name__)


class ArtifactError(Exception):
    """A stored artifact that does not match its recorded hash or cannot be read."""


@dataclass(frozen=True)
class ActiveModel:
    version_id: int
    tag: str
    threshold: float
    model: TextClassifier
    # Active categories among the model's labels, by slug: a prediction costs no query, and a
    # deactivated (or deleted) category is never set on a ticket.
    categories: Mapping[str, Category]
    # False: validation could not support the target precision; nothing is auto-categorized.
    auto_route: bool = True


def load_model(version: ModelVersion) -> TextClassifier:
    """Deserialize a version's artifact after checking its hash (ArtifactError otherwise)."""
    from classifier.pipeline import TextClassifier

    if version.artifact_pruned_at is not None:
        raise ArtifactError(
            f"model version {version.pk}: its artifact was dropped on "
            f"{version.artifact_pruned_at:%Y-%m-%d} (CLASSIFIER_KEEP_ARTIFACTS); train a new one"
        )
    data = bytes(version.artifact)
    if ModelVersion.digest(data) != version.sha256:
        raise ArtifactError(f"model version {version.pk}: artifact does not match its sha256")
    try:
        return TextClassifier.from_bytes(data)
    except Exception as exc:  # ValueError by contract; anything else is just as unusable
        raise ArtifactError(f"model version {version.pk}: unreadable artifact ({exc})") from exc


def _active_categories(labels: list[str]) -> dict[str, Category]:
    return {c.slug: c for c in Category.objects.filter(slug__in=labels, is_active=True)}


class Registry:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._current: ActiveModel | None = None
        self._checked_at = float("-inf")
        self._failed_id: int | None = None  # a version that failed to load: not retried

    def get(self) -> ActiveModel | None:
        """The active model (None: no usable model, tickets go to triage)."""
        refresh = settings.CLASSIFIER_REFRESH_SECONDS
        if time.monotonic() - self._checked_at < refresh:
            return self._current
        with self._lock:  # one thread per process checks; the others keep the current model
            if time.monotonic() - self._checked_at >= refresh:
                self._refresh()
                self._checked_at = time.monotonic()
        return self._current

    def invalidate(self) -> None:
        """Check again on next use (called on ModelVersion / Category saves in this process)."""
        self._checked_at = float("-inf")

    def reset(self) -> None:
        """Forget everything (tests)."""
        with self._lock:
            self._current, self._failed_id = None, None
            self._checked_at = float("-inf")

    def _refresh(self) -> None:
        active_id = (
            ModelVersion.objects.filter(is_active=True).values_list("pk", flat=True).first()
        )
        current = self._current
        if active_id is None:
            self._current = None
        elif current is not None and current.version_id == active_id:
            # Same model: only the category map may have changed (edited in another process).
            categories = _active_categories(list(current.model.labels))
            if categories != current.categories:
                self._current = dataclasses.replace(current, categories=categories)
        elif active_id != self._failed_id:
            self._current = self._load(active_id)

    def _load(self, version_id: int) -> ActiveModel | None:
        version = ModelVersion.objects.filter(pk=version_id).first()
        if version is None:  # deactivated and deleted between the two queries
            return None
        try:
            model = load_model(version)
        except ArtifactError:
            log.exception("classifier: not loading model version %s", version_id)
            self._failed_id = version_id
            return None
        log.info("classifier: loaded model version %s", version.tag)
        return ActiveModel(
            version.pk,
            version.tag,
            version.threshold,
            model,
            _active_categories(version.labels),
            version.auto_route,
        )


registry = Registry()


def get_active() -> ActiveModel | None:
    return registry.get()
