"""Model versions (read-only, with metrics and a confusion summary; an "activate" action) and
the imported training examples."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from classifier import services
from classifier.models import ModelVersion, TrainingExample
from classifier.registry import ArtifactError


def confusion_summary(confusion: dict[str, Any], top: int = 8) -> dict[str, Any]:
    """Per-class precision/recall/support and the largest off-diagonal cells of a confusion
    matrix given as {"labels": [...], "matrix": [[...]]} (rows true, columns predicted)."""
    labels, matrix = confusion.get("labels") or [], confusion.get("matrix") or []
    per_class, confusions = [], []
    for i, label in enumerate(labels):
        row_total = sum(matrix[i]) if i < len(matrix) else 0
        col_total = sum(r[i] for r in matrix if i < len(r))
        hit = matrix[i][i] if i < len(matrix) and i < len(matrix[i]) else 0
        per_class.append({
            "label": label,
            "precision": hit / col_total if col_total else None,
            "recall": hit / row_total if row_total else None,
            "support": row_total,
        })
        for j, count in enumerate(matrix[i] if i < len(matrix) else []):
            if j != i and count and j < len(labels):
                confusions.append({"true": label, "predicted": labels[j], "count": count})
    confusions.sort(key=lambda c: -c["count"])
    return {"per_class": per_class, "top_confusions": confusions[:top]}


def _value(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4f}"
    if isinstance(value, dict):  # the hold-out's metrics
        return ", ".join(f"{k} {_value(v)}" for k, v in value.items())
    return str(value)


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


@admin.register(ModelVersion)
class ModelVersionAdmin(admin.ModelAdmin):
    list_display = [
        "tag", "trained_at", "is_active", "n_samples", "label_count", "macro_f1",
        "coverage", "precision", "routing",
    ]
    list_filter = ["is_active"]
    ordering = ["-trained_at", "-id"]
    show_full_result_count = False
    actions = ["activate"]
    fields = [
        ("tag", "is_active", "activated_at"),
        ("trained_at", "train_seconds"),
        ("n_samples", "n_train", "n_validation"),
        ("threshold", "routing", "sha256", "artifact_pruned_at"),
        "labels",
        "selection_table",
        "metrics_table",
        "per_class_table",
        "confusions_table",
        "notes",
    ]
    readonly_fields = [
        "tag", "is_active", "activated_at", "trained_at", "train_seconds", "n_samples",
        "n_train", "n_validation", "threshold", "routing", "sha256", "artifact_pruned_at",
        "labels", "selection_table", "metrics_table",
        "per_class_table", "confusions_table", "notes",
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet[ModelVersion]:
        # The artifact is megabytes: never read it to render a page.
        return super().get_queryset(request).defer("artifact")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # versions come from train_classifier / the retrain task

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # a ticket's classifier_version must stay explainable

    @admin.display(description="labels")
    def label_count(self, obj: ModelVersion) -> int:
        return len(obj.labels)

    @admin.display(description="macro-F1")
    def macro_f1(self, obj: ModelVersion) -> str:
        value = obj.metrics.get("macro_f1")
        return "-" if value is None else f"{value:.3f}"

    @admin.display(description="coverage")
    def coverage(self, obj: ModelVersion) -> str:
        return _pct(obj.metrics.get("coverage"))

    @admin.display(description="precision at threshold")
    def precision(self, obj: ModelVersion) -> str:
        return _pct(obj.metrics.get("precision"))

    @admin.display(description="auto-routing")
    def routing(self, obj: ModelVersion) -> str:
        if obj.auto_route:
            return f"at confidence >= {obj.threshold:.3f}"
        target = obj.metrics.get("target_precision", 0.95)
        return (
            f"off: validation cannot support {target:.0%} precision at any threshold "
            "(too few or too uncertain labels); every ticket goes to triage"
        )

    @admin.display(description="settings chosen by cross-validation")
    def selection_table(self, obj: ModelVersion) -> SafeString:
        sel = obj.selection or {}
        if not sel:
            return format_html("{}", "not recorded (trained before the model search)")
        chosen = sel.get("chosen") or {}
        head = format_html(
            "<p>objective {} on {} training rows, {}-fold CV: chose C={}, class weights {}, "
            "blocks {} (CV macro-F1 {}, accuracy {}){}</p>",
            sel.get("objective"), sel.get("cv_rows"), sel.get("cv_folds"), chosen.get("C"),
            "balanced" if chosen.get("balanced") else "off", ", ".join(chosen.get("blocks", [])),
            _value(sel.get("cv_macro_f1")), _value(sel.get("cv_accuracy")),
            "; stopped early at the training budget" if sel.get("stopped_by_budget") else "",
        )
        body = format_html_join(
            "", "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>"
            "<td>{}</td></tr>",
            (
                (
                    c.get("C"), "balanced" if c.get("balanced") else "off",
                    ", ".join(c.get("blocks", [])), _value(c.get("macro_f1")),
                    _value(c.get("accuracy")), c.get("seconds"),
                    "chosen" if c.get("chosen") else "",
                )
                for c in sel.get("candidates", [])
            ),
        )
        return format_html(
            "{}<table><tr><th>C</th><th>class weights</th><th>blocks</th><th>CV macro-F1</th>"
            "<th>CV accuracy</th><th>seconds</th><th></th></tr>{}</table>",
            head, body,
        )

    @admin.display(description="validation metrics")
    def metrics_table(self, obj: ModelVersion) -> SafeString:
        rows = [(k, v) for k, v in obj.metrics.items() if k != "confusion"]
        body = format_html_join(
            "", "<tr><th>{}</th><td>{}</td></tr>", ((k, _value(v)) for k, v in rows)
        )
        return format_html("<table>{}</table>", body)

    @admin.display(description="per category (validation)")
    def per_class_table(self, obj: ModelVersion) -> SafeString:
        summary = confusion_summary(obj.metrics.get("confusion") or {})
        body = format_html_join(
            "", "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (c["label"], _pct(c["precision"]), _pct(c["recall"]), c["support"])
                for c in summary["per_class"]
            ),
        )
        return format_html(
            "<table><tr><th>category</th><th>precision</th><th>recall</th><th>support</th>"
            "</tr>{}</table>",
            body,
        )

    @admin.display(description="top confusions (validation)")
    def confusions_table(self, obj: ModelVersion) -> SafeString:
        summary = confusion_summary(obj.metrics.get("confusion") or {})
        if not summary["top_confusions"]:
            return format_html("{}", "none")
        body = format_html_join(
            "", "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
            ((c["true"], c["predicted"], c["count"]) for c in summary["top_confusions"]),
        )
        return format_html(
            "<table><tr><th>true category</th><th>predicted as</th><th>tickets</th></tr>"
            "{}</table>",
            body,
        )

    @admin.action(description="Activate the selected version", permissions=["change"])
    def activate(self, request: HttpRequest, queryset: QuerySet[ModelVersion]) -> None:
        if queryset.count() != 1:
            self.message_user(request, "Select exactly one version.", messages.ERROR)
            return
        version = ModelVersion.objects.get(pk=queryset.get().pk)  # with its artifact
        try:
            services.load_version(version)  # refuse a tampered or unreadable artifact
        except ArtifactError as exc:
            self.message_user(request, str(exc), messages.ERROR)
            return
        services.activate(version)
        self.message_user(request, f"{version.tag} is now active.", messages.SUCCESS)


@admin.register(TrainingExample)
class TrainingExampleAdmin(admin.ModelAdmin):
    list_display = ["id", "category", "short_text", "source", "created_at"]
    list_filter = ["category", "source"]
    search_fields = ["text"]
    list_select_related = ["category"]
    show_full_result_count = False
    readonly_fields = ["text", "category", "priority", "source", "content_hash", "created_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # examples come from import_tickets

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="text")
    def short_text(self, obj: TrainingExample) -> str:
        return obj.text[:100]
