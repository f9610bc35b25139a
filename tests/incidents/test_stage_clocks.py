"""Incident stage clocks on the SLA engine, with controlled time: detect 5 min (started ->
detected), classify 15 min, respond 30 min and resolve 4 h from detection, post-mortem 24 h
from resolution, a public update every 30 min while open. Each level is escalated once, a
breach lands on the timeline, SEV1 pages on-call at once."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail

from incidents import flows, postmortem
from sla.models import Escalation, Notification, SlaClock, SlaPolicy
from sla.tasks import send_notifications
from tests.incidents.conftest import escalations, kinds, stage
from tests.incidents.factories import open_incident
from tests.sla.conftest import T0, later, sweep

pytestmark = pytest.mark.django_db
State = SlaClock.State


def deliver_all():
    send_notifications(list(Notification.objects.order_by("pk").values_list("pk", flat=True)))


def test_an_incident_gets_every_stage_clock_with_the_briefs_targets(frozen):
    incident = open_incident(started_at=T0 - timedelta(minutes=3))

    clocks = {c.stage: c for c in SlaClock.objects.filter(incident_id=incident.pk)}
    assert {name: c.target_seconds for name, c in clocks.items()} == {
        "detect": 300, "classify": 900, "respond": 1800, "resolve": 14400,
        "status_update": 1800,
    }
    # Detected 3 min after it started: the detect stage is met at detection.
    assert clocks["detect"].state == State.MET and clocks["detect"].stopped_at == T0
    assert clocks["classify"].due_at == later(minutes=15)
    assert clocks["respond"].due_at == later(minutes=30)
    assert clocks["resolve"].due_at == later(hours=4)
    assert clocks["status_update"].due_at == later(minutes=30)


def test_detection_that_took_too_long_is_a_missed_stage_on_the_timeline_not_a_page(frozen):
    incident = open_incident(started_at=T0 - timedelta(minutes=7))

    detect = stage(incident, "detect")
    assert detect.state == State.BREACHED and detect.breached_at == later(minutes=-2)
    assert "stage_missed" in kinds(incident)
    sweep(later(seconds=1))
    assert not Escalation.objects.filter(clock=detect).exists()  # the stage is over


@pytest.mark.parametrize(("offset", "breached"), [(-1, False), (0, True), (1, True)])
def test_the_classify_stage_breaches_at_15_minutes(frozen, offset, breached):
    incident = open_incident()

    sweep(later(minutes=15, seconds=offset))

    assert Escalation.objects.filter(clock=stage(incident, "classify"), level=2).exists() is (
        breached
    )


def test_each_level_escalates_once_however_often_the_watcher_passes(max_manager, frozen):
    incident = open_incident(severity="sev3")  # second level 15 min after a breach
    for minutes in (12, 12, 15, 15, 16, 29, 30, 30, 31):
        sweep(later(minutes=minutes))

    assert [lvl for s, lvl in escalations(incident) if s == "classify"] == [1, 2, 3]
    assert kinds(incident).count("sla_breached") == 3  # classify, respond, status update


def test_classifying_in_time_meets_the_stage_and_nothing_escalates(agnes, frozen):
    incident = open_incident()
    frozen.move_to(later(minutes=10))
    flows.classify(incident=incident, actor=agnes, severity="sev2")
    sweep(later(minutes=16))

    assert stage(incident, "classify").state == State.MET
    assert not Escalation.objects.filter(clock=stage(incident, "classify")).exists()


def test_acknowledging_meets_the_respond_stage_and_names_a_commander(agnes, frozen):
    incident = open_incident()
    frozen.move_to(later(minutes=20))
    flows.acknowledge(incident=incident, actor=agnes)

    incident.refresh_from_db()
    assert incident.status == "acknowledged" and incident.commander == agnes
    assert incident.acknowledged_at == later(minutes=20)
    assert stage(incident, "respond").state == State.MET


def test_the_resolve_stage_breaches_after_4_hours(frozen):
    incident = open_incident()
    sweep(later(hours=4, seconds=-1))
    assert not Escalation.objects.filter(clock=stage(incident, "resolve"), level=2).exists()
    sweep(later(hours=4))
    assert Escalation.objects.filter(clock=stage(incident, "resolve"), level=2).exists()


def test_the_postmortem_is_due_24_hours_after_resolution_and_publishing_meets_it(agnes, frozen):
    incident = open_incident()
    frozen.move_to(later(hours=1))
    flows.resolve(incident=incident, actor=agnes)
    pm = stage(incident, "postmortem")
    assert pm.started_at == later(hours=1) and pm.due_at == later(hours=25)
    # The stages that were running stop at resolution.
    assert stage(incident, "resolve").state == State.MET

    frozen.move_to(later(hours=20))
    postmortem.save_postmortem(incident=incident, author=agnes,
                               fields={"summary": "Bad deploy", "root_cause": "A typo"})
    postmortem.publish_postmortem(incident=incident, actor=agnes)

    assert stage(incident, "postmortem").state == State.MET
    sweep(later(hours=26))
    assert not Escalation.objects.filter(clock__stage="postmortem").exists()


def test_an_unpublished_postmortem_breaches_at_24_hours(agnes, frozen):
    incident = open_incident()
    frozen.move_to(later(hours=1))
    flows.resolve(incident=incident, actor=agnes)
    sweep(later(hours=25))
    assert ("postmortem", 2) in escalations(incident)


def test_public_updates_keep_the_cadence_internal_ones_do_not(agnes, frozen):
    incident = open_incident()
    frozen.move_to(later(minutes=20))
    flows.post_update(incident=incident, author=agnes, body="Investigating.", public=True)
    frozen.move_to(later(minutes=45))
    flows.post_update(incident=incident, author=agnes, body="DB failover?", public=False)
    sweep(later(minutes=49, seconds=59))
    assert not Escalation.objects.filter(clock__stage="status_update").exists()

    sweep(later(minutes=50))  # 30 min after the last *public* update

    updates = SlaClock.objects.filter(incident_id=incident.pk, stage="status_update")
    assert [(c.cycle, c.state) for c in updates.order_by("cycle")] == [
        (1, State.MET), (2, State.BREACHED)]
    assert ("status_update", 2) in escalations(incident)


def test_a_warning_goes_to_the_commander_a_breach_to_commander_and_managers(
    agnes, max_manager, frozen
):
    incident = open_incident(severity="sev3")
    flows.set_commander(incident=incident, actor=max_manager, commander=agnes)
    sweep(later(minutes=12))  # classify warning (80 % of 15 min)
    deliver_all()
    assert [m.to for m in mail.outbox] == [[agnes.email]]

    mail.outbox.clear()
    sweep(later(minutes=15))
    deliver_all()
    assert sorted(m.to for m in mail.outbox) == [[agnes.email], [max_manager.email]]


def test_a_sev1_breach_pages_on_call_at_once(agnes, max_manager, frozen, settings):
    settings.SLA_ONCALL_EMAILS = ["oncall@example.com"]
    incident = open_incident(severity="sev1")
    sweep(later(minutes=15))
    deliver_all()

    breach = Escalation.objects.get(clock=stage(incident, "classify"), level=2)
    assert "on-call" in breach.actions["notify"]
    breach_mail = [m for m in mail.outbox if "breached" in m.subject]
    assert ["oncall@example.com"] in [m.to for m in breach_mail]
    # ... and the second level comes 5 min after the breach for SEV1, not 15.
    assert stage(incident, "classify").next_check_at == later(minutes=20)


def test_targets_per_severity_are_policy_data(frozen):
    policy = SlaPolicy.objects.get(name="Incidents: SEV4")
    policy.stages = [dict(s, target_seconds=3600) if s["name"] == "classify" else s
                     for s in policy.stages]
    policy.save()
    from sla import policies

    policies.invalidate()
    slow = open_incident(severity="sev4")
    fast = open_incident(severity="sev2")

    assert stage(slow, "classify").target_seconds == 3600
    assert stage(fast, "classify").target_seconds == 900


def test_a_new_severity_retargets_the_running_clocks(agnes, frozen):
    incident = open_incident(severity="sev4")
    policy = SlaPolicy.objects.get(name="Incidents: SEV1")
    policy.stages = [dict(s, target_seconds=600) if s["name"] == "resolve" else s
                     for s in policy.stages]
    policy.save()
    from sla import policies

    policies.invalidate()
    frozen.move_to(later(minutes=5))
    flows.classify(incident=incident, actor=agnes, severity="sev1")

    assert stage(incident, "resolve").due_at == later(minutes=10)
    assert stage(incident, "resolve").policy_name == "Incidents: SEV1"


def test_reopening_starts_a_new_resolve_cycle_and_pauses_the_postmortem(agnes, frozen):
    incident = open_incident()
    frozen.move_to(later(hours=1))
    flows.resolve(incident=incident, actor=agnes)
    frozen.move_to(later(hours=3))
    flows.reopen(incident=incident, actor=agnes, reason="errors are back")

    incident.refresh_from_db()
    assert incident.status == "triggered" and incident.resolved_at is None
    resolve = stage(incident, "resolve")
    assert resolve.cycle == 2 and resolve.due_at == later(hours=7)
    assert stage(incident, "postmortem").state == State.PAUSED

    frozen.move_to(later(hours=4))
    flows.resolve(incident=incident, actor=agnes)
    pm = stage(incident, "postmortem")
    # 24 h minus the 2 h that ran before the reopen.
    assert pm.state == State.RUNNING and pm.due_at == later(hours=26)


def test_clocks_from_an_integrations_timestamps_start_overdue(max_manager, frozen):
    incident = open_incident(detected_at=T0 - timedelta(minutes=20), now=T0)

    sweep(T0)

    assert ("classify", 2) in escalations(incident)
    assert stage(incident, "respond").due_at == later(minutes=10)
