"""GET /metrics: Prometheus text format. What the processes counted (observability.metrics: all
of this host's processes in multiprocess mode) plus a few figures read from the database at
scrape time, which are the same whichever web node answers and which no dead process can leave
stale: watcher heartbeat age (a stalled or dead watcher shows here, as on /healthz), how long
the oldest due clock has waited, the notification backlog, incidents opened by source.

Access (README "Metrics"): from METRICS_ALLOWED_NETWORKS (loopback by default), or with
`Authorization: Bearer <METRICS_TOKEN>`; anyone else gets 403. Counts of tickets, breaches and
incidents are business data."""

from __future__ import annotations

import hmac
import ipaddress
import logging
import os
from collections.abc import Iterator
from datetime import timedelta
from functools import cache

from django.conf import settings
from django.db import DatabaseError
from django.db.models import Count, Max, Min
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from prometheus_client import REGISTRY, CollectorRegistry, generate_latest, multiprocess
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4

from incidents.models import Incident
from sla.heartbeat import oldest_due
from sla.models import Notification, WatcherHeartbeat

log = logging.getLogger(__name__)


@cache
def _networks() -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(n, strict=False) for n in settings.METRICS_ALLOWED_NETWORKS)


def allowed(request: HttpRequest) -> bool:
    token = settings.METRICS_TOKEN
    sent = request.headers.get("Authorization", "")
    if token and hmac.compare_digest(sent.encode(), f"Bearer {token}".encode()):
        return True
    try:
        address = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    return any(address in network for network in _networks())


class DatabaseCollector:
    """Figures read from PostgreSQL at scrape time: four small indexed queries."""

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("switchboard_database_up",
                               "1 when the database answered this scrape's queries.")
        try:
            metrics = list(self._from_database())
        except DatabaseError as exc:
            log.warning("metrics: database unavailable: %s", exc)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from metrics

    def _from_database(self) -> Iterator[Metric]:
        now = timezone.now()
        beats = WatcherHeartbeat.objects.aggregate(at=Max("last_pass_at"))
        age = (now - beats["at"]).total_seconds() if beats["at"] else None
        stale = settings.SLA_WATCHER_STALE_SECONDS
        yield _gauge("switchboard_sla_watcher_up",
                     f"1 when some watcher completed a pass within SLA_WATCHER_STALE_SECONDS "
                     f"({stale} s), as /healthz?require=sla_watcher.",
                     1 if age is not None and age <= stale else 0)
        if age is not None:
            yield _gauge("switchboard_sla_watcher_heartbeat_age_seconds",
                         "Seconds since the newest watcher pass (any watcher).", age)
        recent = WatcherHeartbeat.objects.filter(
            last_pass_at__gte=now - timedelta(seconds=stale)).count()
        yield _gauge("switchboard_sla_watchers_passing",
                     "Watchers with a pass within SLA_WATCHER_STALE_SECONDS.", recent)
        due = oldest_due(now)
        yield _gauge("switchboard_sla_oldest_due_seconds",
                     "How long the oldest due clock has waited for its next level (0: none).",
                     (now - due).total_seconds() if due else 0.0)
        pending = Notification.objects.filter(status=Notification.Status.PENDING).aggregate(
            n=Count("id"), oldest=Min("created_at"))
        yield _gauge("switchboard_sla_notifications_pending",
                     "Notifications not yet sent (outbox).", pending["n"])
        yield _gauge("switchboard_sla_notification_oldest_pending_seconds",
                     "Age of the oldest unsent notification (0: none).",
                     (now - pending["oldest"]).total_seconds() if pending["oldest"] else 0.0)
        opened = CounterMetricFamily("switchboard_incidents_opened",
                                     "Incidents opened, by source.", labels=["source"])
        for source, n in Incident.objects.values_list("source").annotate(n=Count("id")):
            opened.add_metric([source], n)
        yield opened


def _gauge(name: str, documentation: str, value: float) -> GaugeMetricFamily:
    gauge = GaugeMetricFamily(name, documentation)
    gauge.add_metric([], value)
    return gauge


def metrics_view(request: HttpRequest) -> HttpResponse:
    if not allowed(request):
        return HttpResponse("Forbidden\n", status=403, content_type="text/plain")
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        processes = CollectorRegistry()
        multiprocess.MultiProcessCollector(processes)
    else:
        processes = REGISTRY
    database = CollectorRegistry()
    database.register(DatabaseCollector())
    body = generate_latest(processes) + generate_latest(database)
    # The classic text format (0.0.4): what every Prometheus server version parses.
    return HttpResponse(body, content_type=CONTENT_TYPE_PLAIN_0_0_4)
