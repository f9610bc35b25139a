"""The per-process registry: loads the active version lazily, checks its hash, picks up a
newly activated version without a restart, and costs no query between checks."""

from __future__ import annotations

import pytest

from classifier import services
from classifier.models import ModelVersion
from classifier.registry import ArtifactError, get_active, load_model, registry
from tests.classifier.factories import ModelVersionFactory


@pytest.mark.django_db
def test_it_has_no_model_until_one_is_active(categories):
    ModelVersionFactory(is_active=False)

    assert get_active() is None


@pytest.mark.django_db
def test_it_loads_the_active_version_with_its_categories(categories):
    version = ModelVersionFactory(is_active=True)

    active = get_active()

    assert active is not None and active.version_id == version.pk and active.tag == version.tag
    assert set(active.categories) == set(version.labels)


@pytest.mark.django_db
def test_it_picks_up_a_newly_activated_version(categories, settings):
    first = ModelVersionFactory(is_active=True)
    assert get_active().version_id == first.pk
    second = ModelVersionFactory()

    services.activate(second)

    assert get_active().version_id == second.pk
    assert ModelVersion.objects.get(is_active=True) == second


@pytest.mark.django_db
def test_it_sees_another_process_activation_within_the_refresh_interval(
    categories, settings, django_assert_num_queries
):
    settings.CLASSIFIER_REFRESH_SECONDS = 3600
    first = ModelVersionFactory(is_active=True)
    second = ModelVersionFactory()
    assert get_active().version_id == first.pk
    # Another process activates: a queryset update sends no signal to this one.
    ModelVersion.objects.filter(pk=first.pk).update(is_active=False)
    ModelVersion.objects.filter(pk=second.pk).update(is_active=True)

    with django_assert_num_queries(0):  # between checks the request path pays nothing
        assert get_active().version_id == first.pk
    settings.CLASSIFIER_REFRESH_SECONDS = 0  # the interval has passed
    assert get_active().version_id == second.pk


@pytest.mark.django_db
def test_it_refuses_a_tampered_artifact(categories):
    version = ModelVersionFactory(is_active=True)
    tampered = bytearray(version.artifact)
    tampered[len(tampered) // 2] ^= 0xFF
    ModelVersion.objects.filter(pk=version.pk).update(artifact=bytes(tampered))
    version.refresh_from_db()

    with pytest.raises(ArtifactError, match="sha256"):
        load_model(version)
    assert get_active() is None  # tickets go to triage instead
    assert services.classify("printer", "jammed") is None


@pytest.mark.django_db
def test_it_refuses_garbage_even_with_a_matching_hash(categories):
    garbage = b"not a model at all"
    version = ModelVersionFactory(artifact=garbage, sha256=ModelVersion.digest(garbage))

    with pytest.raises(ArtifactError, match="unreadable"):
        load_model(version)


@pytest.mark.django_db
def test_it_allows_only_one_active_version(categories):
    from django.db import IntegrityError, transaction

    ModelVersionFactory(is_active=True)
    with pytest.raises(IntegrityError), transaction.atomic():
        ModelVersionFactory(is_active=True)


@pytest.mark.django_db
def test_reset_forgets_the_model_and_the_next_call_loads_it_again(
    categories, settings, django_assert_num_queries
):
    settings.CLASSIFIER_REFRESH_SECONDS = 3600
    version = ModelVersionFactory(is_active=True)
    loaded = get_active()
    assert loaded is not None
    with django_assert_num_queries(0):  # cached: no reload within the interval
        assert get_active() is loaded

    registry.reset()

    with django_assert_num_queries(3):  # which version, its row with the artifact, categories
        reloaded = get_active()
    assert reloaded is not loaded and reloaded.version_id == version.pk
