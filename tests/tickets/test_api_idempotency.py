"""A retried POST with the same Idempotency-Key returns the first response, never a second
ticket; the key belongs to its user and lives 24 hours."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.utils import timezone

from tests.conftest import api_client_for
from tickets.models import Ticket

URL = "/api/v1/tickets/"
BODY = {"subject": "Cannot print", "description": "The office printer says offline."}


def post(client, body=BODY, key="key-1"):
    return client.post(URL, body, format="json", HTTP_IDEMPOTENCY_KEY=key)


@pytest.mark.django_db
def test_it_replays_the_first_response_to_a_retry(api, alice):
    client = api(alice)
    first = post(client)
    retry = post(client)

    assert first.status_code == retry.status_code == 201
    assert retry.json() == first.json()
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert Ticket.objects.count() == 1


@pytest.mark.django_db
def test_it_refuses_the_same_key_with_a_different_body(api, alice):
    client = api(alice)
    post(client)
    resp = post(client, {**BODY, "subject": "Cannot scan"})

    assert resp.status_code == 422
    assert Ticket.objects.count() == 1


@pytest.mark.django_db
def test_it_scopes_keys_to_their_user(api, alice, bob):
    mine = post(api(alice))
    theirs = post(api(bob))

    assert theirs.status_code == 201
    assert theirs.json()["id"] != mine.json()["id"]
    assert theirs.json()["customer"] == "bob"


@pytest.mark.django_db
def test_it_does_not_store_failed_validation(api, alice):
    client = api(alice)
    bad = post(client, {"subject": "Cannot print"})
    fixed = post(client)

    assert bad.status_code == 400
    assert fixed.status_code == 201


@pytest.mark.django_db
def test_it_creates_distinct_tickets_for_distinct_keys(api, alice):
    client = api(alice)
    post(client, key="a")
    post(client, key="b")

    assert Ticket.objects.count() == 2


@pytest.mark.django_db
def test_it_forgets_keys_after_24_hours(api, alice):
    client = api(alice)
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        post(client)
        traveller.shift(timedelta(hours=24, seconds=1))
        again = post(client, {**BODY, "subject": "A new problem"})

    assert again.status_code == 201
    assert Ticket.objects.count() == 2


@pytest.mark.django_db
@pytest.mark.parametrize("key", ["", "x" * 256, "has space", "naïve"])
def test_it_rejects_malformed_keys(api, alice, key):
    resp = post(api(alice), key=key)

    assert resp.status_code == 400
    assert "Idempotency-Key" in resp.json()
    assert Ticket.objects.count() == 0


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="needs concurrent writers: SQLite serialises whole transactions",
)
@pytest.mark.django_db(transaction=True)
def test_it_creates_one_ticket_when_retries_race(alice):
    barrier = threading.Barrier(8)
    results: list[tuple[int, int]] = []

    def worker() -> None:
        try:
            client = api_client_for(alice)
            barrier.wait()
            resp = post(client, key="racing")
            results.append((resp.status_code, resp.json()["id"]))
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)

    assert Ticket.objects.count() == 1
    assert {code for code, _ in results} == {201}
    assert {ticket_id for _, ticket_id in results} == {Ticket.objects.get().pk}
    assert len(results) == 8


@pytest.mark.django_db
def test_it_purges_only_expired_keys(api, alice):
    from tickets.api.idempotency import purge_expired
    from tickets.models import IdempotencyRecord

    client = api(alice)
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        post(client, key="old")
        traveller.shift(timedelta(hours=23))
        post(client, key="recent")
        traveller.shift(timedelta(hours=2))
        assert purge_expired() == 1

    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["recent"]


@pytest.mark.django_db
def test_it_keeps_one_schedule_per_job_across_migrates():
    from django_q.models import Schedule

    from tickets.schedules import sync_schedules

    sync_schedules()
    sync_schedules()

    assert Schedule.objects.filter(name="tickets.purge_idempotency_records").count() == 1
