"""classifier_eval: trains on one file, evaluates on another, touches no database."""

from __future__ import annotations

import csv
import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

KEYS = {
    "accuracy", "macro_f1", "weighted_f1", "top3_accuracy", "threshold", "coverage",
    "precision", "train_seconds", "predict_ms_p50", "predict_ms_p99",
}


def write(path, rows):
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["subject", "body", "category"])
        for text, label in rows:
            subject, _, body = text.partition(" ")
            writer.writerow([subject, body, label])
    return path


def test_it_prints_the_metrics_as_json_on_its_last_line(tmp_path, sample_rows):
    # No django_db mark: any database access at all would fail this test.
    train = write(tmp_path / "a.csv", sample_rows[:900])
    test = write(tmp_path / "b.csv", [*sample_rows[900:], ("", "Hardware")])  # 1 unusable row
    out = StringIO()

    call_command(
        "classifier_eval", "--train", str(train), "--test", str(test),
        "--text-columns", "subject,body", "--label-column", "category",
        stdout=out, stderr=StringIO(),
    )

    result = json.loads(out.getvalue().strip().splitlines()[-1])
    assert set(result) >= KEYS
    assert result["n_train"] == 900 and result["n_test"] == 300
    assert 0.5 < result["accuracy"] <= 1 and 0 <= result["coverage"] <= 1
    assert result["train_seconds"] > 0 and result["predict_ms_p99"] >= result["predict_ms_p50"]
    # What a deployment stores per model version and holds in every process.
    assert result["artifact_bytes"] > 100_000 and 1 < result["model_memory_mb"] < 500
    # The settings the search chose, beside the metrics they produced.
    selection = result["selection"]
    assert {"C", "balanced", "blocks"} <= set(selection["chosen"])
    assert selection["objective"] == "macro_f1" and selection["cv_rows"] > 0
    chosen = [c for c in selection["candidates"] if c["chosen"]]
    assert len(chosen) == 1 and chosen[0]["macro_f1"] == selection["cv_macro_f1"]
    assert isinstance(result["auto_route"], bool)


def test_it_names_a_missing_column(tmp_path, sample_rows):
    train = write(tmp_path / "a.csv", sample_rows[:50])

    with pytest.raises(CommandError, match="text"):
        call_command(
            "classifier_eval", "--train", str(train), "--test", str(train),
            "--text-columns", "text", "--label-column", "category", stderr=StringIO(),
        )
