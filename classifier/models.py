"""Training data and trained model versions of the ticket classifier.

Labelled history lives in TrainingExample (imported CSV rows), beside the tickets themselves:
training reads the union of the two (classifier.services.labelled_examples), so an agent's
confirmed category on a real ticket counts without copying it anywhere, and imported history
does not need fake customers or fake tickets."""

from __future__ import annotations

import hashlib

from django.db import models
from django.db.models import Q
from django.utils import timezone

from tickets.models import Category


def content_key(text: str, label: str) -> str:
    """Identity of an imported example: the same text with the same label is one example, so a
    re-run of the same import (or an overlapping file) adds nothing."""
    return hashlib.sha256(f"{label}\x00{text}".encode()).hexdigest()


class TrainingExample(models.Model):
    """One labelled text from imported history: `subject + "\\n" + body`, as the model sees it."""

    text = models.TextField()
    category = models.ForeignKey(Category, on_delete=models.PROTECT, related_name="+")
    priority = models.CharField(max_length=10, blank=True)
    source = models.CharField(max_length=200, blank=True, help_text="File it was imported from.")
    content_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.category_id}: {self.text[:60]}"


class ModelVersion(models.Model):
    """A trained classifier: its artifact (the pipeline's own safe format, never pickle), the
    sha256 it must still have when loaded, and how it did on its validation split."""

    trained_at = models.DateTimeField(default=timezone.now)
    n_samples = models.PositiveIntegerField(help_text="Labelled examples (train + validation).")
    n_train = models.PositiveIntegerField(default=0)
    n_validation = models.PositiveIntegerField(default=0)
    labels = models.JSONField(default=list, help_text="Category slugs the model can predict.")
    # Validation metrics (accuracy, macro_f1, ..., coverage, precision) plus "confusion":
    # {"labels": [...], "matrix": [[...]]} (rows = true label, columns = predicted).
    metrics = models.JSONField(default=dict)
    threshold = models.FloatField(help_text="Confidence at or above which the category is set.")
    auto_route = models.BooleanField(
        default=True,
        help_text="False when validation could not support the target precision at any "
        "threshold: this version categorizes nothing by itself (every ticket goes to triage).",
    )
    # The model search (classifier.search): {"chosen": {"C", "balanced", "blocks"}, "objective",
    # "cv_macro_f1", "cv_accuracy", "cv_rows", "cv_folds", "candidates": [...], ...}.
    selection = models.JSONField(default=dict, blank=True)
    artifact = models.BinaryField()
    sha256 = models.CharField(max_length=64, editable=False)
    is_active = models.BooleanField(default=False)
    activated_at = models.DateTimeField(null=True, blank=True)
    train_seconds = models.FloatField(default=0)
    notes = models.TextField(blank=True)
    # Artifacts are megabytes each; a superseded version's is dropped after
    # CLASSIFIER_KEEP_ARTIFACTS newer ones. Its row (metrics, labels, hash) stays for audit.
    artifact_pruned_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-trained_at", "-id"]
        get_latest_by = "trained_at"
        constraints = [
            # At most one active version. Also the index serving the registry's cheap
            # "which version is active?" check.
            models.UniqueConstraint(
                fields=["is_active"], condition=Q(is_active=True), name="one_active_model_version"
            )
        ]

    def __str__(self) -> str:
        return f"{self.tag}{' (active)' if self.is_active else ''}"

    @property
    def tag(self) -> str:
        """What a ticket stores as its classifier_version: id and hash prefix, for audit."""
        return f"v{self.pk}-{self.sha256[:8]}"

    @staticmethod
    def digest(artifact: bytes) -> str:
        return hashlib.sha256(artifact).hexdigest()
