"""Managers edit SLA policies with real form fields (durations, percentages, event checkboxes,
opening hours, holidays), validated, instead of raw JSON."""

from __future__ import annotations

import pytest

from sla.forms import format_duration, parse_duration
from sla.models import SlaPolicy

URL = "/admin/sla/slapolicy/"


def post_data(**changes):
    data = {
        "name": "VIP tickets", "kind": "ticket", "priority": "high", "category": "",
        "is_active": "on", "escalate_after": "30m",
        "stage0_name": "first_response", "stage0_target": "30m", "stage0_warn_at": "75",
        "stage0_start_on": ["created"], "stage0_stop_on": ["first_response", "resolved"],
        "stage1_name": "resolution", "stage1_target": "1d 2h", "stage1_warn_at": "",
        "stage1_start_on": ["created", "reopened"], "stage1_stop_on": ["resolved", "closed"],
        "stage1_pause_on": ["pending"], "stage1_resume_on": ["open"],
        "business_hours": "on", "tz": "Europe/Berlin",
        "hours_mon": "09:00-12:00, 13:00-17:00", "hours_fri": "09:00-15:00",
        "holidays": "2026-12-25\n2026-12-26",
    }
    data.update(changes)
    return data


def test_it_reads_and_writes_durations():
    assert parse_duration("1h 30m") == 5400 and parse_duration("2d") == 172800
    assert parse_duration("900") == 900
    assert format_duration(5400) == "1h 30m" and format_duration(None) == ""


@pytest.mark.django_db
def test_it_shows_the_seeded_policy_as_fields_not_json(client, max_manager):
    client.force_login(max_manager)
    policy = SlaPolicy.objects.get(name="Tickets: normal")

    html = client.get(f"{URL}{policy.pk}/change/").content.decode()

    assert 'name="stage0_target" value="2h"' in html
    assert 'name="stage1_target" value="1d"' in html
    assert 'name="stage0_warn_at" value="80"' in html
    assert 'name="stages"' not in html and 'name="calendar"' not in html


@pytest.mark.django_db
def test_it_saves_stages_and_a_business_calendar_from_the_fields(client, max_manager):
    SlaPolicy.objects.filter(kind="ticket", priority="high").update(is_active=False)
    client.force_login(max_manager)

    resp = client.post(f"{URL}add/", post_data())

    assert resp.status_code == 302, resp.content.decode()[:3000]
    policy = SlaPolicy.objects.get(name="VIP tickets")
    assert [(s.name, s.target_seconds, s.warn_at) for s in policy.stage_targets()] == [
        ("first_response", 1800, 0.75), ("resolution", 93600, None)]
    assert policy.stage_targets()[1].pause_on == ("pending",)
    assert policy.escalate_after_seconds == 1800
    assert policy.calendar == {
        "tz": "Europe/Berlin",
        "weekly": {"mon": [["09:00", "12:00"], ["13:00", "17:00"]], "fri": [["09:00", "15:00"]]},
        "holidays": ["2026-12-25", "2026-12-26"],
    }


@pytest.mark.django_db
@pytest.mark.parametrize(("changes", "message"), [
    ({"stage0_target": "soon"}, "Write a duration"),
    ({"stage0_warn_at": "120"}, "less than or equal to 99"),
    ({"hours_mon": "9 to 5"}, "Write hours like"),
    ({"holidays": "Christmas"}, "is not a date"),
    ({"stage1_resume_on": []}, "needs &#x27;resume_on&#x27; events"),
    ({"hours_mon": "", "hours_fri": ""}, "no working time"),
])
def test_it_refuses_bad_input_next_to_the_field(client, max_manager, changes, message):
    client.force_login(max_manager)

    resp = client.post(f"{URL}add/", post_data(**changes))

    assert resp.status_code == 200
    assert message in resp.content.decode()
    assert not SlaPolicy.objects.filter(name="VIP tickets").exists()
