"""Classifier test fixtures: the shipped sample, a model trained on it once per session (the
artifact bytes are reused by ModelVersionFactory), and a registry that checks the active
version on every call and forgets it between tests."""

from __future__ import annotations

import csv
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.management import call_command

from classifier.registry import registry

SAMPLE = Path(settings.BASE_DIR) / "classifier" / "data" / "it_tickets_sample.csv"


@pytest.fixture(autouse=True)
def _fresh_registry(settings: Any) -> Any:
    settings.CLASSIFIER_REFRESH_SECONDS = 0
    registry.reset()
    yield
    registry.reset()


@pytest.fixture(scope="session")
def sample_rows() -> list[tuple[str, str]]:
    with SAMPLE.open(newline="", encoding="utf-8") as fh:
        return [(row["text"], row["label"]) for row in csv.DictReader(fh)]


HISTORY_ROWS = 400  # the sample is shuffled: its first 400 rows keep every category (>= 20 each)


@pytest.fixture
def history(db: None, tmp_path: Path, sample_rows: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The first HISTORY_ROWS sample rows, imported as labelled history (small: fast training)."""
    rows = sample_rows[:HISTORY_ROWS]
    path = tmp_path / "history.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["text", "label"])
        writer.writerows(rows)
    call_command(
        "import_tickets", str(path), "--text-columns", "text", "--label-column", "label",
        stdout=StringIO(),
    )
    return rows


@pytest.fixture
def categories(db: None) -> dict[str, Any]:
    """The sample's 8 categories (slug -> Category)."""
    from tests.classifier.factories import sample_categories

    return sample_categories()


def activate_in_admin(client: Any, version: Any) -> Any:
    """A manager's "Activate the selected version" admin action on one version."""
    return client.post(
        "/admin/classifier/modelversion/",
        {"action": "activate", "_selected_action": [version.pk], "index": 0},
        follow=True,
    )
