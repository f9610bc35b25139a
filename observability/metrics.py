"""The service's Prometheus metrics (prometheus_client), updated where things happen: intake
(tickets.flows), the SLA watcher (sla.reporting, after each batch commits) and notification
delivery (sla.notifications). Every update is an in-memory increment or histogram observation:
no I/O, no query.

With PROMETHEUS_MULTIPROC_DIR set (README "Metrics"), prometheus_client writes each process's
values to memory-mapped files in that directory and /metrics adds up every process on the host:
gunicorn workers, qcluster workers and watchers alike. Without it, each process keeps its own
(the single-process demo)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any, Protocol

from prometheus_client import Counter, Histogram

# 0.05 s .. 10 min: a watcher passes every second; an escalation minutes late is an incident.
LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600)

TICKETS_INGESTED = Counter(
    "switchboard_tickets_ingested", "Tickets accepted by intake.", ["channel"])
CLASSIFICATION_CONFIDENCE = Histogram(
    "switchboard_classification_confidence",
    "Confidence of the classifier's best guess for each new ticket (a model was active).",
    buckets=(0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95, 0.99, 1.0))
CLASSIFICATIONS = Counter(
    "switchboard_classifications",
    "New tickets by classification outcome: categorized, triage (below the threshold), "
    "no_model.", ["outcome"])
ROUTING_OUTCOMES = Counter(
    "switchboard_routing_outcomes",
    "New tickets by routing outcome: assigned, queued (nobody free), not_routed (no category).",
    ["outcome"])
SLA_ESCALATIONS = Counter(
    "switchboard_sla_escalations",
    "SLA levels recorded: warning, breach, escalation (the second level), by subject and stage; "
    "superseded warnings (overtaken by their breach in one pass) included, labelled.",
    ["subject", "stage", "level", "superseded"])
SLA_ESCALATION_LATENCY = Histogram(
    "switchboard_sla_escalation_latency_seconds",
    "From the moment a level fell due to the watcher recording it (level=breach: the "
    "breach-to-escalation latency).", ["level"], buckets=LATENCY_BUCKETS)
SLA_WATCHER_LAG = Histogram(
    "switchboard_sla_watcher_lag_seconds",
    "At the start of each watcher pass, how long the oldest due clock had been waiting "
    "(0 when none was due).", buckets=LATENCY_BUCKETS)
SLA_WATCHER_PASS = Histogram(
    "switchboard_sla_watcher_pass_seconds", "Duration of one watcher pass.",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60))
NOTIFICATIONS = Counter(
    "switchboard_sla_notifications",
    "Notification send attempts by channel and outcome: sent, retry (to be tried again), "
    "failed (for good).", ["channel", "outcome"])
WEBHOOK_FAILURES = Counter(
    "switchboard_webhook_failures",
    "Failed webhook attempts by reason: 4xx, 5xx, 429, 3xx, network (no status).", ["reason"])


class EscalationLike(Protocol):
    kind: str
    step_at: datetime
    created_at: datetime
    actions: dict[str, Any]


def ticket_ingested(*, channel: str, confidence: float | None, categorized: bool,
                    routing: str) -> None:
    TICKETS_INGESTED.labels(channel).inc()
    if confidence is None:
        CLASSIFICATIONS.labels("no_model").inc()
    else:
        CLASSIFICATION_CONFIDENCE.observe(confidence)
        CLASSIFICATIONS.labels("categorized" if categorized else "triage").inc()
    ROUTING_OUTCOMES.labels(routing).inc()


def escalations_recorded(recorded: Iterable[tuple[str, str, EscalationLike]]) -> None:
    """(subject kind, stage, escalation) for each level a committed batch recorded."""
    for subject, stage, esc in recorded:
        superseded = "true" if esc.actions.get("superseded") else "false"
        SLA_ESCALATIONS.labels(subject, stage, esc.kind, superseded).inc()
        late = (esc.created_at - esc.step_at).total_seconds()
        SLA_ESCALATION_LATENCY.labels(esc.kind).observe(max(late, 0.0))


def watcher_pass(*, seconds: float, lag_seconds: float) -> None:
    SLA_WATCHER_PASS.observe(seconds)
    SLA_WATCHER_LAG.observe(max(lag_seconds, 0.0))


def notification_attempt(*, channel: str, outcome: str, status_code: int | None) -> None:
    NOTIFICATIONS.labels(channel, outcome).inc()
    if channel == "webhook" and outcome != "sent":
        WEBHOOK_FAILURES.labels(failure_reason(status_code)).inc()


def failure_reason(status_code: int | None) -> str:
    if not status_code:
        return "network"
    return "429" if status_code == 429 else f"{status_code // 100}xx"
