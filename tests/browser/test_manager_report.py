"""A manager opens the SLA report in a real browser, sees the trend chart and downloads the CSV."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from django.contrib.auth.models import Group

from tests.browser.conftest import log_in
from tests.desk.report_fixture import build_world
from tests.tickets.factories import UserFactory
from tickets.roles import MANAGER

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_manager_sees_the_chart_and_downloads_the_csv(new_page, roles):
    build_world()
    manager = UserFactory(username="maxine", is_staff=True)
    manager.groups.add(Group.objects.get(name=MANAGER))
    page = new_page()

    log_in(page, "maxine")
    assert page.url.endswith("/admin/reports/sla/")
    page.fill("input[name=from]", "2026-03-02")
    page.fill("input[name=to]", "2026-03-03")
    page.click("#period-form button[type=submit]")
    page.wait_for_load_state()

    chart = page.locator("svg#trend-chart")
    assert chart.is_visible()
    assert chart.locator("rect.bar").count() == 2
    assert page.locator('[data-kpi="csat"] .desk-kpi-value').inner_text() == "4.00 / 5"
    with page.expect_download() as info:
        page.click("#csv-link")
    download = info.value
    assert download.suggested_filename == "sla-report-2026-03-02-2026-03-03.csv"
    rows = list(csv.reader(io.StringIO(Path(download.path()).read_text())))
    assert rows[0] == ["group_by", "group", "stage", "total", "met", "breached",
                       "compliance_percent"]
    assert ["stage", "first_response", "first_response", "3", "1", "2", "33.3"] in rows
