"""Managers get daily, weekly and monthly SLA digests by e-mail, each linking to the report."""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail
from django_q.models import Schedule

from desk.digests import digest_period, send_digest
from tests.desk.report_fixture import build_world

UTC = ZoneInfo("UTC")


def test_it_reports_the_period_just_ended():
    today = date(2026, 3, 4)

    assert (digest_period("daily", today, UTC).first, digest_period("daily", today, UTC).last) \
        == (date(2026, 3, 3), date(2026, 3, 3))
    weekly = digest_period("weekly", today, UTC)
    assert (weekly.first, weekly.last) == (date(2026, 2, 25), date(2026, 3, 3))
    monthly = digest_period("monthly", today, UTC)
    assert (monthly.first, monthly.last) == (date(2026, 2, 1), date(2026, 2, 28))


@pytest.mark.django_db
def test_it_emails_the_managers_a_summary_with_a_link(max_manager):
    build_world()
    with time_machine.travel("2026-03-04 06:00Z", tick=False):
        sent = send_digest("daily")

    assert sent == 1
    (message,) = mail.outbox
    assert message.to == ["max@example.com"]
    assert message.subject == "[Switchboard] SLA daily digest 2026-03-03: 2 breach(es)"
    assert "first_response: 0% met (0 met, 1 breached)" in message.body
    assert "/admin/reports/sla/?from=2026-03-03&to=2026-03-03" in message.body
    assert "- Customer satisfaction: 3.00 / 5, target 4.8 / 5 (MISSED)" in message.body


@pytest.mark.django_db
def test_it_schedules_the_three_digests():
    from tickets.schedules import sync_schedules

    sync_schedules()

    names = set(Schedule.objects.filter(func="desk.digests.send_digest")
                .values_list("name", "schedule_type"))
    assert names == {("desk.digest_daily", "D"), ("desk.digest_weekly", "W"),
                     ("desk.digest_monthly", "M")}
