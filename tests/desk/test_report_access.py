"""Who sees the SLA report (managers only), its JSON API and schema, its CSV, its page's chart,
and a query count that does not grow with the data."""

from __future__ import annotations

import csv
import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.desk.report_fixture import at, build_world
from tests.sla.factories import ClockFactory
from tests.tickets.factories import TicketFactory

PAGE = "/admin/reports/sla/"
API = "/api/v1/reports/sla/"
PERIOD = {"from": "2026-03-02", "to": "2026-03-03"}


@pytest.fixture
def world(db):
    return build_world()


@pytest.mark.django_db
def test_it_serves_the_report_json_to_managers_only(api, max_manager, agnes, alice, ian, world):
    resp = api(max_manager).get(API, {**PERIOD, "group_by": "team"})

    assert resp.status_code == 200
    body = resp.json()
    assert body["from"] == "2026-03-02" and body["group_by"] == "team"
    assert {"group": "Blue", "stage": "resolution", "total": 2, "met": 2, "breached": 0,
            "compliance": 1.0} in body["rows"]
    assert body["first_response"] == {"count": 2, "median_seconds": 1800, "p90_seconds": 10800}
    assert body["escalations"] == {"warning": 2, "breach": 3, "escalation": 1}
    assert {k["key"]: k["value"] for k in body["kpis"]}["csat"] == 4.0
    for someone in (agnes, alice, ian):
        assert api(someone).get(API, PERIOD).status_code == 403
    assert api(None).get(API, PERIOD).status_code == 401


@pytest.mark.django_db
@pytest.mark.parametrize("params,field", [
    ({"from": "March"}, "from"), ({"to": "2026-02-30"}, "to"),
    ({"from": "2026-03-05", "to": "2026-03-01"}, "to"), ({"group_by": "colour"}, "group_by"),
])
def test_it_names_the_bad_parameter(api, max_manager, params, field):
    resp = api(max_manager).get(API, params)

    assert resp.status_code == 400 and field in resp.json()


@pytest.mark.django_db
def test_it_is_in_the_openapi_schema(api, max_manager):
    schema = api(max_manager).get("/api/v1/schema/", HTTP_ACCEPT="application/json").json()

    operation = schema["paths"]["/api/v1/reports/sla/"]["get"]
    assert {p["name"] for p in operation["parameters"]} >= {"from", "to", "group_by"}
    assert "/api/v1/tickets/{id}/rating/" in schema["paths"]


@pytest.mark.django_db
def test_it_shows_managers_the_page_with_chart_kpis_and_breached_tickets(
    client, max_manager, world
):
    client.force_login(max_manager)

    html = client.get(PAGE, PERIOD).content.decode()

    assert 'id="trend-chart"' in html and html.count('class="bar"') == 2
    assert 'data-kpi="fcr"' in html and "target &ge; 85 %" in html
    assert f'/admin/tickets/ticket/{world["t3"].pk}/change/' in html
    assert "Blue" in html and "rita" in html and "Hardware" in html


@pytest.mark.django_db
def test_it_refuses_the_page_and_csv_to_agents(client, agnes, world):
    client.force_login(agnes)

    assert client.get(PAGE).status_code == 403
    assert client.get("/admin/reports/sla.csv").status_code == 403


@pytest.mark.django_db
def test_it_downloads_the_same_rows_as_csv(client, max_manager, world):
    client.force_login(max_manager)

    resp = client.get("/admin/reports/sla.csv", PERIOD)

    assert resp["Content-Disposition"] == (
        'attachment; filename="sla-report-2026-03-02-2026-03-03.csv"')
    rows = list(csv.reader(io.StringIO(resp.content.decode())))
    assert rows[0][:3] == ["group_by", "group", "stage"]
    assert ["agent", "sam", "first_response", "1", "0", "1", "0.0"] in rows


@pytest.mark.django_db
def test_it_renders_the_page_in_a_fixed_number_of_queries(client, max_manager, world):
    client.force_login(max_manager)
    with CaptureQueriesContext(connection) as small:
        client.get(PAGE, PERIOD)
    for n in range(3):  # more rows of the same shape
        t = TicketFactory(category=world["t1"].category, priority="high")
        ClockFactory(ticket=t, state="breached", breached_at=at(2, 10 + n), next_check_at=None)
    with CaptureQueriesContext(connection) as large:
        client.get(PAGE, PERIOD)

    assert len(large) == len(small)
    # 4 for the session, user, role and profile; one aggregate per figure; SQLite reads the
    # median and p90 as two more ranked queries each (PostgreSQL: PERCENTILE_DISC, one query)
    # for the four duration figures (first response, resolution, MTTA, MTTR).
    assert len(large) <= 34, [q["sql"][:100] for q in large.captured_queries]


@pytest.mark.django_db
def test_it_serves_a_root_page_with_the_way_in(client):
    html = client.get("/").content.decode()

    assert "/admin/queue/" in html and "/api/v1/docs/" in html
