"""API tokens: issued by create_api_user (printed once, on the last line), stored only as a
digest, expiring and revocable; read in one query per request."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from knox.models import AuthToken
from rest_framework.test import APIClient

from tickets.roles import STAFF_ROLES

URL = "/api/v1/tickets/"


def client_with(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


def create_api_user(capsys, name: str, role: str = "customer") -> str:
    call_command("create_api_user", name, "--role", role)
    return capsys.readouterr().out.strip().splitlines()[-1]


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["customer", "agent", "manager", "integration"])
def test_it_creates_an_api_user_and_prints_a_working_token_last(role, capsys):
    token = create_api_user(capsys, f"u-{role}", role)

    row = AuthToken.objects.get(user__username=f"u-{role}")
    assert row.user.groups.get().name == role
    assert row.user.is_staff == (role in STAFF_ROLES)
    expected = 403 if role == "integration" else 200  # integrations have no ticket access
    assert client_with(token).get(URL).status_code == expected


@pytest.mark.django_db
def test_it_stores_a_digest_not_the_token(capsys):
    token = create_api_user(capsys, "carol")

    row = AuthToken.objects.get()
    assert len(token) == 64 and token not in row.digest and row.token_key == token[:15]
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {AuthToken._meta.db_table}")  # noqa: S608
        assert token not in repr(cursor.fetchall())


@pytest.mark.django_db
def test_a_second_run_issues_a_new_token_and_keeps_the_first(capsys):
    first = create_api_user(capsys, "carol")
    second = create_api_user(capsys, "carol")

    assert first != second
    assert client_with(first).get(URL).status_code == 200
    assert client_with(second).get(URL).status_code == 200


@pytest.mark.django_db
def test_it_expires_tokens_after_the_ttl(capsys, settings):
    token = create_api_user(capsys, "carol")
    expiry = AuthToken.objects.get().expiry
    assert expiry is not None
    assert timedelta(days=89) < expiry - timezone.now() <= settings.REST_KNOX["TOKEN_TTL"]

    with time_machine.travel(expiry - timedelta(seconds=1), tick=False):
        assert client_with(token).get(URL).status_code == 200
    with time_machine.travel(expiry + timedelta(seconds=1), tick=False):
        resp = client_with(token).get(URL)
        assert resp.status_code == 401 and resp.json() == {"detail": "Token expired."}

        from tickets.api.authentication import purge_expired_tokens

        assert purge_expired_tokens() == 1
    assert not AuthToken.objects.exists()


@pytest.mark.django_db
def test_it_revokes_every_token_of_a_user(capsys):
    tokens = [create_api_user(capsys, "carol") for _ in range(2)]
    other = create_api_user(capsys, "dave")

    call_command("revoke_api_tokens", "carol")

    assert [client_with(t).get(URL).status_code for t in tokens] == [401, 401]
    assert client_with(other).get(URL).status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize(
    "header",
    [
        "Token " + "0" * 64,  # well-formed, unknown
        "Token not-a-real-token",
        "Token " + "A" * 64,  # not hex
        "Token ",
        "Token a b",
    ],
)
def test_it_refuses_bad_tokens_with_401(header):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)

    assert client.get(URL).status_code == 401


@pytest.mark.django_db
def test_it_refuses_a_token_with_the_right_key_but_a_wrong_digest(capsys):
    token = create_api_user(capsys, "carol")
    forged = token[:15] + ("0" if token[15] != "0" else "1") + token[16:]

    assert client_with(forged).get(URL).status_code == 401


@pytest.mark.django_db
def test_it_authenticates_in_one_query(capsys):
    client = client_with(create_api_user(capsys, "carol", "agent"))
    client.get("/api/v1/agents/")  # warm per-process caches

    with CaptureQueriesContext(connection) as ctx:
        assert client.get("/api/v1/agents/").status_code == 200

    token_queries = [q for q in ctx.captured_queries if AuthToken._meta.db_table in q["sql"]]
    assert len(token_queries) == 1
    assert "auth_group" in token_queries[0]["sql"]  # the role rides along
