"""/metrics: who may read it, and that what happens shows up there: intake (tickets, confidence,
routing), the watcher (levels by stage, latency, lag, a dead watcher), notification failures,
incidents by source; and the log lines carry the ticket's reference.

The processes' metrics live in prometheus_client's global registry (no PROMETHEUS_MULTIPROC_DIR
in tests) and accumulate over the session: each test compares before and after."""

from __future__ import annotations

import json
import logging
from datetime import timedelta

import pytest
import time_machine
from django.conf import settings as django_settings
from django.core.management import call_command
from prometheus_client.parser import text_string_to_metric_families
from pythonjsonlogger.json import JsonFormatter

from incidents import flows as incident_flows
from sla.notifications import deliver
from tests.sla.conftest import T0
from tests.sla.factories import ClockFactory, WebhookEndpointFactory

pytestmark = pytest.mark.django_db


def scrape(client, **headers) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = client.get("/metrics", **headers)
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain; version=0.0.4")
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(response.content.decode())
            for s in family.samples}


def value(samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_only_allowed_networks_or_the_token_may_read_it(client, settings):
    settings.METRICS_TOKEN = "s3cret-metrics-token"  # noqa: S105 - test value

    assert client.get("/metrics").status_code == 200  # the test client is 127.0.0.1
    elsewhere = {"REMOTE_ADDR": "203.0.113.9"}
    assert client.get("/metrics", **elsewhere).status_code == 403
    assert client.get("/metrics", **elsewhere, HTTP_AUTHORIZATION="Bearer wrong").status_code == 403
    assert client.get("/metrics", **elsewhere,
                      HTTP_AUTHORIZATION="Bearer s3cret-metrics-token").status_code == 200


def test_an_intake_counts_the_ticket_its_triage_and_routing_and_logs_its_reference(
    client, api, alice, caplog
):
    before = scrape(client)
    with caplog.at_level(logging.INFO, logger="tickets.intake"):
        response = api(alice).post("/api/v1/tickets/", {"subject": "VPN down",
                                                        "description": "since 9"}, format="json")
    after = scrape(client)

    assert response.status_code == 201
    diff = lambda name, **labels: value(after, name, **labels) - value(before, name, **labels)  # noqa: E731
    assert diff("switchboard_tickets_ingested_total", channel="api") == 1
    # Whether a model is active depends on what this process loaded before (the registry
    # caches it): either way the ticket is counted once, with its confidence when there is one.
    outcomes = {o: diff("switchboard_classifications_total", outcome=o)
                for o in ("no_model", "triage", "categorized")}
    assert sum(outcomes.values()) == 1
    assert diff("switchboard_classification_confidence_count") == 1 - outcomes["no_model"]
    # No agents here: a categorized ticket waits in the queue, an uncategorized one is not routed.
    routed = "queued" if response.json()["category"] else "not_routed"
    assert diff("switchboard_routing_outcomes_total", outcome=routed) == 1
    record = next(r for r in caplog.records if r.name == "tickets.intake")
    assert record.ticket == response.json()["reference"]
    # As a log shipper receives it (LOG_FORMAT=json): one JSON object with the reference.
    config = django_settings.LOGGING["formatters"]["json"]
    line = json.loads(JsonFormatter(config["fmt"], rename_fields=config["rename_fields"])
                      .format(record))
    assert line["ticket"] == record.ticket and line["level"] == "INFO"
    assert line["message"].startswith(f"ticket {record.ticket} ingested")


def test_a_watcher_pass_counts_levels_by_stage_with_their_latency_and_heartbeat(
    client, django_capture_on_commit_callbacks, caplog
):
    ClockFactory(started_at=T0 - timedelta(minutes=48))  # warning due at T0
    before = scrape(client)
    with time_machine.travel(T0 + timedelta(seconds=3), tick=False):
        with django_capture_on_commit_callbacks(execute=True), \
                caplog.at_level(logging.INFO, logger="sla.escalation"):
            call_command("sla_watch", "--once", "--name", "m1")
        after = scrape(client)  # the batch reports once committed (the callbacks ran on exit)

    warned = dict(subject="ticket", stage="first_response", level="warning", superseded="false")
    assert (value(after, "switchboard_sla_escalations_total", **warned)
            - value(before, "switchboard_sla_escalations_total", **warned)) == 1
    # Recorded 3 s after it fell due: in the 5 s bucket, not the 2 s one.
    bucket = "switchboard_sla_escalation_latency_seconds_bucket"
    for le, added in (("2.0", 0), ("5.0", 1)):
        assert (value(after, bucket, level="warning", le=le)
                - value(before, bucket, level="warning", le=le)) == added
    lag = "switchboard_sla_watcher_lag_seconds_bucket"
    assert value(after, lag, le="2.0") == value(before, lag, le="2.0")
    assert value(after, lag, le="5.0") - value(before, lag, le="5.0") == 1
    assert value(after, "switchboard_sla_watcher_up") == 1
    assert value(after, "switchboard_sla_watcher_heartbeat_age_seconds") == 0
    record = next(r for r in caplog.records if r.name == "sla.escalation")
    assert record.ticket.startswith("SB-") and record.stage == "first_response"


def test_a_dead_watcher_and_a_waiting_clock_show_from_the_database(client):
    ClockFactory(started_at=T0 - timedelta(minutes=48))  # warning due at T0
    with time_machine.travel(T0, tick=False) as traveller:
        call_command("sla_watch", "--once", "--name", "m2")  # due next at T0 + 12 min
        traveller.move_to(T0 + timedelta(seconds=61))
        stale = scrape(client)
        traveller.move_to(T0 + timedelta(minutes=13))
        waiting = scrape(client)

    assert value(stale, "switchboard_sla_watcher_up") == 0
    assert value(stale, "switchboard_sla_watcher_heartbeat_age_seconds") == 61
    assert value(stale, "switchboard_database_up") == 1
    assert value(waiting, "switchboard_sla_oldest_due_seconds") == 60


def test_webhook_failures_are_counted_by_reason(client):
    WebhookEndpointFactory(url="http://127.0.0.1:9/closed")  # discard port: connection refused
    ClockFactory(warn_at=None, next_check_at=T0 + timedelta(hours=1))
    with time_machine.travel(T0 + timedelta(hours=1), tick=False):
        call_command("sla_watch", "--once", "--name", "m3")
    from sla.models import Notification

    note = Notification.objects.get(channel="webhook")
    before = scrape(client)
    assert deliver(note.pk, now=T0 + timedelta(hours=2)) == "retry"
    after = scrape(client)

    assert (value(after, "switchboard_webhook_failures_total", reason="network")
            - value(before, "switchboard_webhook_failures_total", reason="network")) == 1
    assert (value(after, "switchboard_sla_notifications_total", channel="webhook", outcome="retry")
            - value(before, "switchboard_sla_notifications_total", channel="webhook",
                    outcome="retry")) == 1
    assert value(after, "switchboard_sla_notifications_pending") >= 1


def test_incidents_opened_are_counted_by_source(client, ian):
    for source in ("alertmanager", "alertmanager", "api"):
        incident_flows.open_incident(title="Down", severity="sev2", source=source,
                                     opened_by=ian)

    samples = scrape(client)

    assert value(samples, "switchboard_incidents_opened_total", source="alertmanager") == 2
    assert value(samples, "switchboard_incidents_opened_total", source="api") == 1


def test_a_host_without_a_web_server_serves_its_processes_metrics(tmp_path):
    """observability.serve adds up what other processes wrote to PROMETHEUS_MULTIPROC_DIR."""
    import subprocess
    import sys
    import urllib.request

    from tests.incidents.live import ROOT, free_port, running, wait_for

    env = {"PROMETHEUS_MULTIPROC_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}
    count = ("from observability import metrics; "
             "metrics.ticket_ingested(channel='email', confidence=None, categorized=False, "
             "routing='not_routed')")
    for _ in range(2):  # two processes, one ticket each
        subprocess.run([sys.executable, "-c", count], cwd=ROOT, env=env, check=True)
    port = free_port()

    def scraped() -> bytes | None:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as r:
                return r.read()
        except OSError:
            return None

    with running([sys.executable, "-m", "observability.serve", "--port", str(port)], env=env):
        body = wait_for(scraped, timeout=20)

    assert b'switchboard_tickets_ingested_total{channel="email"} 2.0' in body
