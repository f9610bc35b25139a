from __future__ import annotations

import pytest


@pytest.mark.django_db
def test_it_reports_the_database_healthy(client):
    resp = client.get("/healthz")

    assert resp.status_code == 200
    assert resp.json()["checks"]["database"] == "ok"


@pytest.mark.django_db
def test_it_serves_an_openapi_schema_with_the_ticket_endpoints(api, alice):
    resp = api(alice).get("/api/v1/schema/", HTTP_ACCEPT="application/json")

    assert resp.status_code == 200
    schema = resp.json()
    assert schema["openapi"].startswith("3.")
    assert {"/api/v1/tickets/", "/api/v1/tickets/{id}/", "/api/v1/tickets/{id}/comments/"} <= set(
        schema["paths"]
    )


@pytest.mark.django_db
def test_it_serves_interactive_docs(api, alice):
    resp = api(alice).get("/api/v1/docs/")

    assert resp.status_code == 200
    assert b"swagger" in resp.content.lower()


