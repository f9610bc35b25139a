"""Policies: the seeded defaults, validation of the stage JSON, and the per-process cache that
keeps policy queries off the intake path while still noticing edits."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from sla import policies
from sla.defaults import default_policies
from sla.models import SlaPolicy
from sla.targets import parse_stages

pytestmark = pytest.mark.django_db


def test_it_seeds_ticket_and_incident_defaults():
    names = set(SlaPolicy.objects.values_list("name", flat=True))

    assert {p["name"] for p in default_policies()} <= names
    incident = SlaPolicy.objects.get(name="Incidents")
    targets = {s.name: s.target_seconds for s in incident.stage_targets()}
    assert targets == {"detect": 300, "classify": 900, "respond": 1800, "resolve": 14400,
                       "postmortem": 86400, "status_update": 1800}
    normal = SlaPolicy.objects.get(name="Tickets: normal").stage_targets()
    assert normal[0].name == "first_response" and normal[0].target_seconds == 7200


@pytest.mark.parametrize(("stages", "message"), [
    ([], "non-empty"),
    ([{"name": "x", "target_seconds": 0, "stop_on": ["resolved"]}], "positive"),
    ([{"name": "x", "target_seconds": 5, "stop_on": ["resolvd"]}], "unknown events"),
    ([{"name": "x", "target_seconds": 5, "stop_on": ["resolved"], "warn_at": 1.5}], "fraction"),
    ([{"name": "x", "target_seconds": 5, "stop_on": ["resolved"], "pause_on": ["pending"]}],
     "resume_on"),
    ([{"name": "x", "target_seconds": 5, "stop_on": ["resolved"]}] * 2, "unique"),
])
def test_it_refuses_broken_stage_definitions(stages, message):
    with pytest.raises(ValueError, match=message):
        parse_stages(stages)
    policy = SlaPolicy(name="bad", stages=stages)
    with pytest.raises(ValidationError):
        policy.clean()


def test_it_refuses_a_broken_calendar():
    policy = SlaPolicy.objects.get(name="Tickets: normal")
    policy.calendar = {"tz": "Mars/Olympus", "weekly": {"mon": [["09:00", "17:00"]]}}

    with pytest.raises(ValidationError) as exc:
        policy.clean()
    assert "calendar" in exc.value.message_dict


def test_it_serves_policies_from_the_cache_without_queries(settings):
    settings.SLA_POLICY_CHECK_SECONDS = 3600
    policies.active_policies()

    with CaptureQueriesContext(connection) as ctx:
        policy = policies.policy_for(kind="ticket", priority="high", category_id=None)

    assert policy is not None and policy.name == "Tickets: high"
    assert len(ctx.captured_queries) == 0


def test_it_notices_an_edit_with_one_fingerprint_query(settings):
    settings.SLA_POLICY_CHECK_SECONDS = 0  # check on every call
    policies.active_policies()
    with CaptureQueriesContext(connection) as ctx:
        policies.active_policies()
    assert len(ctx.captured_queries) == 1  # unchanged: fingerprint only, no reload

    SlaPolicy.objects.filter(name="Tickets: high").first().save()  # type: ignore[union-attr]
    SlaPolicy.objects.filter(name="Tickets: low").delete()

    assert policies.policy_for(kind="ticket", priority="low", category_id=None) is None
