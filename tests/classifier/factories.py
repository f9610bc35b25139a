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


@cache
def sample_model() -> Any:
    """pipeline.train on the shipped sample (labels = category slugs), once per test session."""
    from classifier import pipeline

    with SAMPLE.open(newline="", encoding="utf-8") as fh:
        rows = [(row["text"], slugify(row["label"])) for row in csv.DictReader(fh)]
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
    threshold = factory.LazyFunction(lambda: float(sample_model().threshold))
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
