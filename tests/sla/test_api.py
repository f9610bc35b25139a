"""SLA visibility: clocks on the ticket detail (staff only, one query whatever their number) and
the managers' breach report as JSON and CSV."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.sla.conftest import T0, later, submit, sweep
from tests.sla.factories import ClockFactory

pytestmark = pytest.mark.django_db
BREACHES = "/api/v1/sla/breaches/"


def test_staff_see_each_clock_with_state_due_and_time_left(api, alice, agnes, frozen):
    ticket = submit(alice)
    frozen.move_to(later(minutes=30))

    body = api(agnes).get(f"/api/v1/tickets/{ticket.pk}/").json()

    sla = {c["stage"]: c for c in body["sla"]}
    assert sla["first_response"]["state"] == "running"
    assert sla["first_response"]["due_at"].startswith("2026-03-02T11:00:00")
    assert sla["first_response"]["time_left_seconds"] == 90 * 60
    assert sla["resolution"]["time_left_seconds"] == 23 * 3600 + 30 * 60


def test_customers_do_not_see_internal_sla_targets(api, alice, frozen):
    ticket = submit(alice)

    assert api(alice).get(f"/api/v1/tickets/{ticket.pk}/").json()["sla"] == []


def test_the_detail_costs_the_same_queries_with_more_clocks(api, alice, agnes, frozen):
    ticket = submit(alice)
    client = api(agnes)
    client.get(f"/api/v1/tickets/{ticket.pk}/")
    with CaptureQueriesContext(connection) as two:
        client.get(f"/api/v1/tickets/{ticket.pk}/")
    for cycle in range(2, 6):
        ClockFactory(ticket=ticket, stage="resolution", cycle=cycle)
    with CaptureQueriesContext(connection) as six:
        body = client.get(f"/api/v1/tickets/{ticket.pk}/").json()

    assert len(body["sla"]) == 6
    assert len(six.captured_queries) == len(two.captured_queries)


@pytest.fixture
def breached(alice, frozen):
    ticket = submit(alice, priority="urgent")  # first response 15 min
    sweep(later(minutes=16))
    return ticket


def test_managers_get_the_breach_report(api, max_manager, breached):
    body = api(max_manager).get(BREACHES).json()

    assert body["count"] == 1
    row = body["results"][0]
    assert row["reference"] == breached.reference and row["stage"] == "first_response"
    assert row["subject"] == "ticket" and row["policy"] == "Tickets: urgent"
    assert row["breached_at"].startswith("2026-03-02T09:15:00")


@pytest.mark.parametrize("who", ["agnes", "alice", "ian"])
def test_only_managers_may_read_it(api, breached, who, request):
    assert api(request.getfixturevalue(who)).get(BREACHES).status_code == 403


def test_it_filters_breaches(api, max_manager, breached):
    client = api(max_manager)

    assert client.get(BREACHES, {"stage": "resolution"}).json()["count"] == 0
    assert client.get(BREACHES, {"since": (T0 + timedelta(hours=1)).isoformat()}).json()[
        "count"
    ] == 0
    assert client.get(BREACHES, {"subject": "ticket", "open": "true"}).json()["count"] == 1
    assert client.get(BREACHES, {"since": "yesterday"}).status_code == 400


@pytest.mark.parametrize("url", [BREACHES + "?format=csv", "/api/v1/sla/breaches.csv"])
def test_it_exports_csv(api, max_manager, breached, url):
    resp = api(max_manager).get(url)

    assert resp.status_code == 200
    assert resp["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(b"".join(resp.streaming_content).decode())))
    assert len(rows) == 1 and rows[0]["reference"] == breached.reference


def test_csv_is_for_managers_only(api, agnes, breached):
    assert api(agnes).get("/api/v1/sla/breaches.csv").status_code == 403
