from __future__ import annotations

import csv
from functools import cache
from pathlib import Path
from typing import Any

import factory
from django.conf import settings
from django.utils.text import slugify

from classifier.models import ModelVersion, TrainingExample, content_key
from classifier.services import _plain
from tests.tickets.factories import CategoryFactory

SAMPLE = Path(settings.BASE_DIR) / "classifier" / "data" / "it_tickets_sample.csv"


MODEL_ROWS = 1000  # the factory model learns the sample's first 1,000 rows; the rest are unseen


@cache
def sample_model() -> Any:
    """pipeline.train on the shipped sample's first MODEL_ROWS rows (labels = category slugs),
    once per test session; sample rows after those are tickets it has never seen."""
    from classifier import pipeline

    rows = [(text, slugify(label)) for text, label in _sample_rows()[:MODEL_ROWS]]
    return pipeline.train([t for t, _ in rows], [s for _, s in rows], random_state=0)


class TrainingExampleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TrainingExample

    text = factory.Sequence(lambda n: f"printer {n} jams on every page")
    category = factory.SubFactory(CategoryFactory)
    content_hash = factory.LazyAttribute(lambda e: content_key(e.text, e.category.slug))


class ModelVersionFactory(factory.django.DjangoModelFactory):
    """A version holding the sample-trained model, inactive unless is_active=True."""

    class Meta:
        model = ModelVersion

    n_samples = factory.LazyFunction(lambda: sample_model().n_train + sample_model().n_validation)
    n_train = factory.LazyFunction(lambda: sample_model().n_train)
    n_validation = factory.LazyFunction(lambda: sample_model().n_validation)
    labels = factory.LazyFunction(lambda: list(sample_model().labels))
    metrics = factory.LazyFunction(
        lambda: _plain({**sample_model().metrics, "confusion": sample_model().confusion})
    )
    # 1,000 noisy tickets cannot vouch for 95 % precision (pipeline.train turns routing off);
    # the factory's version routes at the best threshold it found, as a bigger team's would.
    threshold = factory.LazyFunction(lambda: float(sample_model().metrics["best_threshold"]))
    auto_route = True
    selection = factory.LazyFunction(lambda: _plain(sample_model().selection))
    artifact = factory.LazyFunction(lambda: sample_model().model.to_bytes())
    sha256 = factory.LazyAttribute(lambda v: ModelVersion.digest(bytes(v.artifact)))


def sample_categories() -> dict[str, Any]:
    """The sample's 8 categories (slug -> Category), as import_tickets creates them."""
    out = {}
    for label in sorted({row[1] for row in _sample_rows()}):
        out[slugify(label)] = CategoryFactory(name=label, slug=slugify(label))
    return out


@cache
def _sample_rows() -> tuple[tuple[str, str], ...]:
    with SAMPLE.open(newline="", encoding="utf-8") as fh:
        return tuple((row["text"], row["label"]) for row in csv.DictReader(fh))
