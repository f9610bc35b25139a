"""Test-wide settings and the personas most tests talk about (healthchecks' alice/bob/charlie):
alice and bob are customers, agnes is an agent, max is a manager, ian is an integration."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.core.cache import cache
from rest_framework.test import APIClient

from incidents import surge
from tests.tickets.factories import UserFactory
from tickets.api.authentication import issue_token
from tickets.roles import AGENT, CUSTOMER, INTEGRATION, MANAGER, sync_roles


@pytest.fixture(scope="session", autouse=True)
def _plain_http_live_servers() -> None:
    # Live test servers (session-scoped, started before any per-test setting) speak plain
    # HTTP; production settings redirect to HTTPS.
    from django.conf import settings as django_settings

    django_settings.SECURE_SSL_REDIRECT = False


@pytest.fixture(autouse=True)
def _test_settings(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.SECURE_SSL_REDIRECT = False  # the test client speaks plain HTTP
    cache.clear()  # throttle counters must not leak from one test into the next
    surge.forget_cache()  # nor open surge incidents of a rolled-back test


@pytest.fixture
def roles(db: None) -> None:
    sync_roles()


def _user(username: str, role: str, **extra: Any) -> Any:
    user = UserFactory(username=username, is_staff=role in (AGENT, MANAGER), **extra)
    user.groups.add(Group.objects.get(name=role))
    return user


@pytest.fixture
def alice(roles: None) -> Any:
    return _user("alice", CUSTOMER)


@pytest.fixture
def bob(roles: None) -> Any:
    return _user("bob", CUSTOMER)


@pytest.fixture
def agnes(roles: None) -> Any:
    return _user("agnes", AGENT)


@pytest.fixture
def max_manager(roles: None) -> Any:
    return _user("max", MANAGER)


@pytest.fixture
def ian(roles: None) -> Any:
    return _user("ian", INTEGRATION)


def api_token(user: Any) -> str:
    """A new API token for the user, as `Authorization: Token <it>` sends it (only its digest
    is stored, so each call issues one)."""
    _, token = issue_token(user)
    return token


def api_client_for(user: Any | None) -> APIClient:
    """An HTTP client authenticated the way real clients are: with the user's API token."""
    client = APIClient()
    if user is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Token {api_token(user)}")
    return client


@pytest.fixture
def api() -> Any:
    return api_client_for
