"""A database outage answers 503 + Retry-After on every path, not only in DRF's views: here the
admin, whose session the middleware loads from the database (tests/faults has the same with a
real PostgreSQL going down under a real server)."""

from __future__ import annotations

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.db import OperationalError


@pytest.fixture
def database_down(monkeypatch):
    def load(self):
        raise OperationalError("connection refused")

    monkeypatch.setattr(SessionStore, "load", load)


@pytest.mark.django_db
def test_the_admin_answers_503_with_retry_after_when_the_session_cannot_be_read(
    client, database_down
):
    client.raise_request_exception = False  # answer as in production, not re-raise
    client.cookies["sessionid"] = "x" * 32

    response = client.get("/admin/")

    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert response["Content-Type"].startswith("text/plain")


@pytest.mark.django_db
def test_other_server_errors_stay_500(client, monkeypatch):
    def load(self):
        raise RuntimeError("a bug, not an outage")

    monkeypatch.setattr(SessionStore, "load", load)
    client.raise_request_exception = False
    client.cookies["sessionid"] = "x" * 32

    response = client.get("/admin/")

    assert response.status_code == 500
    assert "Retry-After" not in response
