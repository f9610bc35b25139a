"""manage.py classifier_eval: train on one CSV, evaluate on another, print one JSON object.

Touches no database at all (no model version is stored or activated): it measures the same
pipeline (model search included: the chosen settings and their CV scores are printed under
"selection", beside the metrics) and the same one-ticket prediction path that intake uses, on
files."""

from __future__ import annotations

import csv
import json
import time
import tracemalloc
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from classifier.search import OBJECTIVES

KEYS = (
    "accuracy", "macro_f1", "weighted_f1", "top3_accuracy", "threshold", "coverage",
    "precision", "train_seconds", "predict_ms_p50", "predict_ms_p99",
    # thread CPU time per prediction: on a loaded machine the wall-time tail includes waiting
    # for a core, this does not
    "predict_cpu_ms_p50", "predict_cpu_ms_p99",
)


def read_labelled(path: Path, text_columns: list[str], label_column: str) -> tuple[list, list]:
    """Texts (the text columns joined by newlines, as import_tickets stores them) and labels;
    rows with an empty text or label are left out."""
    texts, labels = [], []
    with path.open(newline="", encoding="utf-8-sig", errors="replace") as fh:
        reader = csv.DictReader(fh)
        missing = [c for c in [*text_columns, label_column] if c not in (reader.fieldnames or [])]
        if missing:
            raise CommandError(f"{path.name}: no column(s) {missing} in {reader.fieldnames}")
        for row in reader:
            text = "\n".join((row.get(c) or "").strip() for c in text_columns).strip()
            label = " ".join((row.get(label_column) or "").split())
            if text and label:
                texts.append(text[: settings.CLASSIFIER_MAX_CHARS])
                labels.append(label)
    return texts, labels


class Command(BaseCommand):
    help = "Train on --train, evaluate on --test; prints one JSON object on its last line."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--train", type=Path, required=True)
        parser.add_argument("--test", type=Path, required=True)
        parser.add_argument("--text-columns", required=True, help="e.g. subject,body")
        parser.add_argument("--label-column", required=True)
        parser.add_argument("--target-precision", type=float, default=None)
        parser.add_argument(
            "--objective", choices=OBJECTIVES, default=None,
            help="What the model search maximises (default: settings.CLASSIFIER_OBJECTIVE).",
        )
        parser.add_argument(
            "--budget", type=float, default=None,
            help="Training budget in seconds (default: settings.CLASSIFIER_TRAIN_BUDGET_SECONDS).",
        )
        parser.add_argument("--limit", type=int, default=None, help="First N training rows.")
        parser.add_argument("--test-limit", type=int, default=None, help="First N test rows.")

    def handle(self, *args: Any, **opts: Any) -> None:
        from classifier import pipeline

        columns = [c.strip() for c in opts["text_columns"].split(",") if c.strip()]
        try:
            train_x, train_y = read_labelled(opts["train"], columns, opts["label_column"])
            test_x, test_y = read_labelled(opts["test"], columns, opts["label_column"])
        except OSError as exc:
            raise CommandError(str(exc)) from exc
        if opts["limit"]:
            train_x, train_y = train_x[: opts["limit"]], train_y[: opts["limit"]]
        if opts["test_limit"]:
            test_x, test_y = test_x[: opts["test_limit"]], test_y[: opts["test_limit"]]
        target = opts["target_precision"] or settings.CLASSIFIER_TARGET_PRECISION
        self.stderr.write(f"training on {len(train_x)} rows, testing on {len(test_x)} rows")

        started = time.perf_counter()
        result = pipeline.train(
            train_x,
            train_y,
            target_precision=target,
            objective=opts["objective"] or settings.CLASSIFIER_OBJECTIVE,
            budget_seconds=opts["budget"] or settings.CLASSIFIER_TRAIN_BUDGET_SECONDS,
            random_state=0,
        )
        train_seconds = time.perf_counter() - started
        # Evaluate the model as every process runs it: loaded back from its stored artifact.
        # Its memory is what each web and worker process holds once the model is loaded.
        artifact = result.model.to_bytes()
        tracemalloc.start()
        model = pipeline.TextClassifier.from_bytes(artifact)
        model_bytes = tracemalloc.get_traced_memory()[0]
        tracemalloc.stop()
        metrics = pipeline.evaluate(model, test_x, test_y, threshold=result.threshold)

        out = {**{k: metrics.get(k) for k in KEYS}, "train_seconds": train_seconds}
        out = {k: round(float(v), 4) if v is not None else None for k, v in out.items()}
        out.update(n_train=len(train_x), n_test=len(test_x), labels=len(set(train_y)))
        out.update(artifact_bytes=len(artifact), model_memory_mb=round(model_bytes / 2**20, 1))
        # The settings the search chose, beside the metrics they produced.
        out.update(auto_route=result.auto_route, selection=result.selection)
        self.stdout.write(json.dumps(out))
