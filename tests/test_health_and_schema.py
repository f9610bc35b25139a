from __future__ import annotations

import pytest
from django.core.management import call_command
from rest_framework.authtoken.models import Token

from tickets.roles import STAFF_ROLES


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


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["customer", "agent", "manager", "integration"])
def test_it_creates_an_api_user_and_prints_the_token_last(role, capsys):
    call_command("create_api_user", f"u-{role}", "--role", role)
    call_command("create_api_user", f"u-{role}", "--role", role)  # reuse, same token

    lines = capsys.readouterr().out.strip().splitlines()
    token = Token.objects.get(user__username=f"u-{role}")
    assert lines[-1] == token.key and lines[1] == token.key
    assert token.user.groups.get().name == role
    assert token.user.is_staff == (role in STAFF_ROLES)
