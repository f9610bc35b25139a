"""The classifier seen from the rest of Switchboard: classify a new ticket, record what it said,
and train / activate model versions. The ML itself is pure and lives in classifier.pipeline.

Intake (tickets.flows.submit_ticket) uses three functions:
1. `classify(subject, description)` BEFORE the transaction: CPU work, no lock held meanwhile;
   never raises (a broken or missing model means triage, not a 500).
2. `ticket_fields(classification)`: the category columns, passed into the ticket's INSERT so
   classification costs no UPDATE.
3. `apply_prediction(ticket=..., prediction=..., timeline=...)` inside the transaction: sets
   any of those fields not already set (none on intake) and buffers the `categorized` or
   `triage` event, written with the flow's other events in one INSERT."""

from __future__ import annotations

import hashlib
import io
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from classifier import registry
from classifier.models import ModelVersion, TrainingExample
from tickets.models import Category, Ticket, TicketEvent
from tickets.services import Timeline

if TYPE_CHECKING:
    from classifier.pipeline import Prediction, TextClassifier, TrainResult

log = logging.getLogger(__name__)

Kind = TicketEvent.Kind
HOLDOUT_MIN = 20  # fewer hold-out examples than this compare nothing: all data is trained on
# Only humans' labels teach the model: learning from its own guesses would entrench its errors.
CONFIRMED_SOURCES = (Ticket.CategorySource.AGENT, Ticket.CategorySource.IMPORT)


def model_text(subject: str, description: str) -> str:
    """What the model reads, in training and in prediction alike."""
    return f"{subject}\n{description}"


# --- Classification (the request path) ----------------------------------------------------


@dataclass(frozen=True)
class Classification:
    """What the active model said about one ticket. `category` is set only at or above the
    version's threshold (and only for an active category); `top` holds its 3 best guesses."""

    label: str | None
    confidence: float
    top: tuple[tuple[str, float], ...]
    model_version: str
    threshold: float
    category: Category | None = field(default=None, compare=False)
    auto_route: bool = True  # False: the version routes nothing (see ModelVersion.auto_route)


def classify(subject: str, description: str) -> Classification | None:
    """Classify a ticket's text with the active model; None when there is no usable model.
    No DB writes; at most two small reads every CLASSIFIER_REFRESH_SECONDS (registry)."""
    try:
        active = registry.get_active()
        if active is None:
            return None
        # Clip before the model: its cost grows with the text, the category is in the start.
        text = model_text(str(subject or ""), str(description or ""))[
            : settings.CLASSIFIER_MAX_CHARS
        ]
        prediction = active.model.predict_one(text)
    except Exception:  # a failing model must not fail intake: the ticket goes to triage
        log.exception("classifier: prediction failed, sending the ticket to triage")
        return None
    return _decide(prediction, active)


def _decide(prediction: Prediction, active: registry.ActiveModel) -> Classification:
    best = prediction.top[0][0] if prediction.top else prediction.label
    category = None
    if best is not None and active.auto_route and prediction.confidence >= active.threshold:
        category = active.categories.get(best)
    return Classification(
        label=category.slug if category else None,
        confidence=float(prediction.confidence),
        top=tuple((str(slug), float(p)) for slug, p in prediction.top[:3]),
        model_version=active.tag,
        threshold=active.threshold,
        category=category,
        auto_route=active.auto_route,
    )


def ticket_fields(classification: Classification | None) -> dict[str, Any]:
    """The ticket columns a classification decides (no model: triage, nothing else)."""
    if classification is None:
        return {"needs_triage": True}
    category = classification.category
    return {
        "category": category,
        "category_source": Ticket.CategorySource.MODEL if category else Ticket.CategorySource.NONE,
        "category_confidence": round(classification.confidence, 4),
        "classifier_version": classification.model_version,
        "category_guesses": [[slug, round(p, 4)] for slug, p in classification.top],
        "needs_triage": category is None,
    }


def apply_prediction(
    *, ticket: Ticket, prediction: Classification | None, timeline: Timeline
) -> None:
    """Record a classification on a ticket: its fields (only those that differ, so on intake,
    where the INSERT already carried them, this writes nothing) and a `categorized` event
    (confident) or a `triage` event (unsure, with the top 3 guesses), buffered in `timeline`.
    Without a model (None) the ticket is only flagged for triage, with no event.
    Must run inside the caller's transaction; does not take locks."""
    changed = []
    for name, value in ticket_fields(prediction).items():
        current = ticket.category_id if name == "category" else getattr(ticket, name)
        wanted = value.pk if name == "category" and value is not None else value
        if current != wanted:
            setattr(ticket, name, value)
            changed.append(name)
    if changed and ticket.pk is not None:
        ticket.save(update_fields=changed)

    if prediction is None:
        return  # no model said anything: the triage flag is the whole story
    if prediction.category is not None:
        timeline.add(
            Kind.CATEGORIZED, None, old=None, new=prediction.category.slug, source="model",
            confidence=round(prediction.confidence, 4), model_version=prediction.model_version,
        )
    else:
        # A version whose validation could not support the target precision routes nothing.
        reason = "low_confidence" if prediction.auto_route else "auto_routing_off"
        timeline.add(
            Kind.TRIAGE, None, reason=reason,
            confidence=round(prediction.confidence, 4), threshold=round(prediction.threshold, 4),
            guesses=[[slug, round(p, 4)] for slug, p in prediction.top],
            model_version=prediction.model_version,
        )


# --- Training data ------------------------------------------------------------------------


def labelled_examples() -> tuple[list[str], list[str]]:
    """Texts and category slugs to train on: imported history plus tickets whose category a
    human set (agent or import), in active categories only. Read-only."""
    texts: list[str] = []
    labels: list[str] = []
    imported = TrainingExample.objects.filter(category__is_active=True).values_list(
        "text", "category__slug"
    )
    for text, slug in imported.iterator(chunk_size=5000):
        texts.append(text)
        labels.append(slug)
    confirmed = Ticket.objects.filter(
        category_source__in=CONFIRMED_SOURCES, category__is_active=True
    ).values_list("subject", "description", "category__slug")
    for subject, description, slug in confirmed.iterator(chunk_size=5000):
        texts.append(model_text(subject, description))
        labels.append(slug)
    return texts, labels


def confirmed_labels_since(since: Any) -> int:
    """Categories agents set or changed by hand after `since` (one COUNT on the timeline).
    Clearing a category is not a label, so it does not count."""
    qs = TicketEvent.objects.filter(
        kind=Kind.CATEGORIZED, data__source=Ticket.CategorySource.AGENT
    ).exclude(data__new=None)  # JSON null: the category was cleared
    if since is not None:
        qs = qs.filter(created_at__gt=since)
    return qs.count()


# --- Training and activation (commands and tasks only, never a request) ---------------------


SELECTION_KEYS = ("chosen", "objective", "cv_macro_f1", "cv_accuracy", "stopped_by_budget")


class NotEnoughData(Exception):
    """Too few labelled examples (or labels) to train a model worth having."""


@dataclass
class TrainOutcome:
    version: ModelVersion
    activated: bool
    reason: str
    train_seconds: float

    def summary(self) -> dict[str, Any]:
        v = self.version
        keys = ("accuracy", "macro_f1", "weighted_f1", "top3_accuracy", "coverage", "precision")
        return {
            "version": v.tag,
            "id": v.pk,
            "activated": self.activated,
            "reason": self.reason,
            "n_samples": v.n_samples,
            "n_train": v.n_train,
            "n_validation": v.n_validation,
            "labels": v.labels,
            "threshold": round(v.threshold, 4),
            "auto_route": v.auto_route,
            "train_seconds": round(self.train_seconds, 2),
            "selection": {k: v.selection.get(k) for k in SELECTION_KEYS},
            "validation": {k: _round(v.metrics.get(k)) for k in keys},
            "holdout": {k: _round(v.metrics.get("holdout", {}).get(k)) for k in (*keys, "n")},
        }


def in_holdout(text: str) -> bool:
    """Whether a labelled text belongs to the comparison hold-out: decided by its content hash,
    so an example stays in (or out) across every retraining, and no version trained by this
    service has ever seen a hold-out example. Old and new versions are compared on it."""
    bucket = int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "big") % 1000
    return bucket < settings.CLASSIFIER_HOLDOUT_PERCENT * 10


@dataclass
class _Trained:
    version: ModelVersion
    model: TextClassifier
    holdout: tuple[list[str], list[str]]  # empty when there was too little data to spare
    seconds: float


def train_version(
    *,
    notes: str = "",
    min_examples: int | None = None,
    objective: str | None = None,
    budget_seconds: float | None = None,
) -> _Trained:
    """Train on the labelled data in the database (minus the comparison hold-out) and store a
    new, inactive ModelVersion. CPU-heavy (seconds to a minute): commands and tasks only."""
    from classifier import pipeline

    # Labels confirmed while this trains are not in it: "new since trained_at" must count them.
    trained_at = timezone.now()
    texts, labels = labelled_examples()
    minimum = min_examples if min_examples is not None else settings.CLASSIFIER_MIN_EXAMPLES
    if len(texts) < minimum or len(set(labels)) < 2:
        raise NotEnoughData(
            f"{len(texts)} labelled examples in {len(set(labels))} categories; "
            f"need at least {minimum} in 2 or more"
        )
    held = [in_holdout(t) for t in texts]
    hold_x = [t for t, h in zip(texts, held, strict=True) if h]
    hold_y = [y for y, h in zip(labels, held, strict=True) if h]
    fit_y = [y for y, h in zip(labels, held, strict=True) if not h]
    if len(hold_x) < HOLDOUT_MIN or len(set(fit_y)) < 2:
        hold_x, hold_y = [], []  # too little data to spare: train on all of it
    fit_x = [t for t, h in zip(texts, held, strict=True) if not (h and hold_x)]
    fit_y = [y for y, h in zip(labels, held, strict=True) if not (h and hold_x)]

    started = time.perf_counter()
    result: TrainResult = pipeline.train(
        fit_x,
        fit_y,
        target_precision=settings.CLASSIFIER_TARGET_PRECISION,
        objective=objective or settings.CLASSIFIER_OBJECTIVE,
        budget_seconds=budget_seconds or settings.CLASSIFIER_TRAIN_BUDGET_SECONDS,
        random_state=0,
    )
    seconds = time.perf_counter() - started
    metrics = {**_plain(result.metrics), "confusion": _plain(result.confusion)}
    if hold_x:
        scored = pipeline.evaluate(result.model, hold_x, hold_y, threshold=result.threshold)
        metrics["holdout"] = {**_plain(scored), "n": len(hold_x)}
    artifact = result.model.to_bytes()
    version = ModelVersion.objects.create(
        trained_at=trained_at,
        n_samples=len(texts),
        n_train=result.n_train,
        n_validation=result.n_validation,
        labels=list(result.labels),
        metrics=metrics,
        threshold=float(result.threshold),
        auto_route=result.auto_route,
        selection=_plain(result.selection),
        artifact=artifact,
        sha256=ModelVersion.digest(artifact),
        train_seconds=seconds,
        notes=notes,
    )
    return _Trained(version, result.model, (hold_x, hold_y), seconds)


def not_worse(trained: _Trained, active: ModelVersion | None) -> tuple[bool, str]:
    """The activation rule: the candidate's macro-F1 on the comparison hold-out is no lower
    than the active version's on the same examples (minus CLASSIFIER_ACTIVATION_TOLERANCE).
    With no hold-out (tiny data) the two versions' own validation macro-F1 are compared."""
    from classifier import pipeline

    if active is None:
        return True, "no active version"
    hold_x, hold_y = trained.holdout
    if hold_x:
        try:
            old_model = registry.load_model(active)
        except registry.ArtifactError:
            return True, f"the active {active.tag} cannot be loaded"
        old = pipeline.evaluate(old_model, hold_x, hold_y, threshold=active.threshold)["macro_f1"]
        new = trained.version.metrics["holdout"]["macro_f1"]
        where = f"on {len(hold_x)} held-out examples"
    else:
        new, old = trained.version.metrics.get("macro_f1"), active.metrics.get("macro_f1")
        if new is None or old is None:
            return False, "validation macro_f1 missing"
        where = "on validation"
    ok = new >= old - settings.CLASSIFIER_ACTIVATION_TOLERANCE
    verdict = "not worse than" if ok else "worse than"
    return ok, f"macro_f1 {new:.4f} {verdict} {active.tag}'s {old:.4f} {where}"


def activate(version: ModelVersion) -> None:
    """Make `version` the one active model. Locks the active row, so two activations queue;
    the partial unique constraint makes two active versions impossible either way. Every
    process picks it up within CLASSIFIER_REFRESH_SECONDS (see classifier.registry)."""
    with transaction.atomic():
        list(ModelVersion.objects.select_for_update().filter(is_active=True).only("pk"))
        ModelVersion.objects.filter(is_active=True).exclude(pk=version.pk).update(is_active=False)
        version.is_active, version.activated_at = True, timezone.now()
        version.save(update_fields=["is_active", "activated_at"])
    registry.registry.invalidate()


def train_and_activate(
    *,
    policy: str = "if_not_worse",
    notes: str = "",
    min_examples: int | None = None,
    objective: str | None = None,
    budget_seconds: float | None = None,
) -> TrainOutcome:
    """Train a new version on the database's labelled data and activate it according to
    `policy`: "if_not_worse" (the default rule, see not_worse), "always" or "never".
    Raises NotEnoughData. Not idempotent: every call stores a new version."""
    trained = train_version(
        notes=notes, min_examples=min_examples, objective=objective, budget_seconds=budget_seconds
    )
    version = trained.version
    if policy == "always":
        ok, reason = True, "activation forced"
    elif policy == "never":
        ok, reason = False, "activation not requested"
    else:
        ok, reason = not_worse(trained, ModelVersion.objects.filter(is_active=True).first())
    if ok:
        activate(version)
    prune_artifacts()
    log.info("classifier: trained %s (%s)%s", version.tag, reason, ", activated" if ok else "")
    return TrainOutcome(version=version, activated=ok, reason=reason, train_seconds=trained.seconds)


def prune_artifacts(keep: int | None = None) -> int:
    """Drop the artifacts of versions older than the newest `keep` (CLASSIFIER_KEEP_ARTIFACTS),
    never the active one's: each is megabytes and retraining can run daily. The rows stay
    (tickets name their version; metrics remain comparable); such a version can no longer be
    activated. Returns how many artifacts were dropped."""
    keep = settings.CLASSIFIER_KEEP_ARTIFACTS if keep is None else keep
    newest = list(ModelVersion.objects.values_list("pk", flat=True)[: max(keep, 0)])
    return (
        ModelVersion.objects.filter(is_active=False, artifact_pruned_at__isnull=True)
        .exclude(pk__in=newest)
        .update(artifact=b"", artifact_pruned_at=timezone.now())
    )


def load_version(version: ModelVersion) -> TextClassifier:
    """A stored version's model, hash-checked (registry.ArtifactError otherwise)."""
    return registry.load_model(version)


def _round(value: Any) -> Any:
    return round(value, 4) if isinstance(value, float) else value


def _plain(value: Any) -> Any:
    """JSON-safe copy of metrics (numpy scalars and tuples become floats and lists)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if hasattr(value, "item"):
        return value.item()
    return value


def ensure_demo_model(sample: Path | None = None) -> TrainOutcome | None:
    """For seed_demo, idempotent: import the shipped samples (classifier/data: the CC0 English
    one and a small Spanish/German one) as labelled history (re-runs add nothing) and, unless a
    version is already active, train one and activate it. Returns the outcome, or None when an
    active version already existed."""
    from django.core.management import call_command

    data = Path(settings.BASE_DIR) / "classifier" / "data"
    path = sample or data / "it_tickets_sample.csv"
    for csv_path in (path, data / "multilingual_sample.csv"):
        call_command(
            "import_tickets", str(csv_path), "--text-columns", "text", "--label-column", "label",
            stdout=io.StringIO(),
        )
    if ModelVersion.objects.filter(is_active=True).exists():
        return None
    return train_and_activate(policy="always", notes=f"demo: trained on {path.name}")
