"""Prometheus Alertmanager webhooks (payload version 4) turned into incidents.

What Alertmanager really sends (../shared/data/alertmanager-0.25, Debian's 0.25):
- one notification per alert *group*; `groupKey` stays the same across resolve and re-fire,
  and each alert's `fingerprint` hashes its labels;
- repeats (repeat_interval) are byte-identical; a group's final "resolved" notification lists
  only the alerts still in it, so alerts that resolved earlier must be remembered;
- it retries on 5xx and drops on 4xx.

So, per notification, in one transaction (answered 2xx only once it is committed):
1. Store the body (AlertNotification, unique by hash): a byte-identical repeat stops here.
2. One open incident per (receiver, groupKey): dedup key "am:<hash>", held by the database's
   partial unique index; firing alerts open one when none is open (a re-fire after the group
   resolved opens a new one).
3. One AlertOccurrence per (receiver, fingerprint, startsAt): new ones and resolutions land on
   the timeline once.
4. Group status "resolved": every alert of the incident still firing is ended and the incident
   resolved (by the integration), which starts its post-mortem clock."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from incidents import flows
from incidents.models import AlertNotification, AlertOccurrence, Incident, IncidentEvent
from incidents.services import Timeline
from tickets.sql import bulk_set, insert_new

Kind = IncidentEvent.Kind


@dataclass
class Outcome:
    repeat: bool = False
    incident: Incident | None = None
    created: bool = False
    fired: list[str] = field(default_factory=list)
    resolved: list[str] = field(default_factory=list)


def dedup_key(receiver: str, group_key: str) -> str:
    digest = hashlib.sha256(f"{receiver}\n{group_key}".encode()).hexdigest()
    return f"am:{digest[:40]}"


def severity_of(labels: dict[str, str]) -> str:
    """The incident severity for an alert's `severity` label (ALERTMANAGER_SEVERITY_MAP)."""
    value = labels.get("severity", "").strip().lower()
    return settings.ALERTMANAGER_SEVERITY_MAP.get(value, settings.ALERTMANAGER_DEFAULT_SEVERITY)


def receive(
    payload: dict[str, Any], *, raw: Any, user: User, now: datetime | None = None
) -> Outcome:
    """Apply one webhook: `payload` validated (timestamps parsed), `raw` the JSON as it came,
    which is stored and hashed (see the module docstring). Idempotent: replaying any
    notification, in any order, adds nothing the first delivery did not."""
    now = now or timezone.now()
    digest = hashlib.sha256(
        json.dumps(raw, sort_keys=True, separators=(",", ":")).encode()
    ).hexdigest()
    with transaction.atomic(durable=True):
        notification_id = _store(payload, raw, digest, now)
        if notification_id is None:
            return Outcome(repeat=True)
        outcome = _apply(payload, user=user, now=now)
        if outcome.incident is not None:
            AlertNotification.objects.filter(pk=notification_id).update(
                incident=outcome.incident
            )
    return outcome


def _store(payload: dict[str, Any], raw: Any, digest: str, now: datetime) -> int | None:
    """Store the body unless this exact body was stored before (a repeat: None). One
    statement, race-free between concurrent deliveries."""
    return insert_new(AlertNotification, {
        "receiver": payload["receiver"], "group_key": payload["groupKey"],
        "status": payload["status"], "body_sha256": digest, "payload": raw, "received_at": now,
    }, conflict=("body_sha256",))


def _apply(payload: dict[str, Any], *, user: User, now: datetime) -> Outcome:
    receiver, alerts = payload["receiver"], payload["alerts"]
    key = dedup_key(receiver, payload["groupKey"])
    outcome = Outcome()
    incident = flows.open_by_key(key)
    firing = [a for a in alerts if a["status"] == "firing"]
    if incident is None and firing:
        incident, outcome.created = flows.open_incident(
            dedup_key=key, source=Incident.Source.ALERTMANAGER, opened_by=user, now=now,
            detected_at=now, started_at=min(min(a["startsAt"] for a in firing), now),
            **_describe(payload, firing),
        )  # ours and locked either way: inserted by us, or found locked by open_by_key
    outcome.incident = incident
    if incident is None:
        # Resolutions for a group with no open incident (resolved by a person earlier): note
        # the alerts' end on the occurrences we know, nothing else to do.
        _end_known(receiver, alerts)
        return outcome
    timeline = Timeline(incident, now)
    known = {
        (o.fingerprint, o.starts_at): o
        for o in AlertOccurrence.objects.filter(
            receiver=receiver, fingerprint__in=[a["fingerprint"] for a in alerts]
        )
    }
    new, ended = [], []
    for alert in alerts:
        occurrence = known.get((alert["fingerprint"], alert["startsAt"]))
        resolved = alert["status"] == "resolved"
        name = _alert_name(alert)
        if occurrence is None:
            new.append(AlertOccurrence(
                incident=incident, receiver=receiver, fingerprint=alert["fingerprint"],
                starts_at=alert["startsAt"], ends_at=alert["endsAt"] if resolved else None,
                labels=alert["labels"], annotations=alert["annotations"],
                generator_url=alert["generatorURL"], first_seen_at=now,
            ))
            timeline.add(Kind.ALERT_FIRED, None, alert=name, fingerprint=alert["fingerprint"],
                         starts_at=alert["startsAt"].isoformat())
            outcome.fired.append(name)
        if resolved and (occurrence is None or occurrence.ends_at is None):
            if occurrence is not None:
                occurrence.ends_at = alert["endsAt"] or now
                ended.append(occurrence)
            timeline.add(Kind.ALERT_RESOLVED, None, alert=name, fingerprint=alert["fingerprint"])
            outcome.resolved.append(name)
    AlertOccurrence.objects.bulk_create(new, ignore_conflicts=True)
    bulk_set(ended, ["ends_at"])
    timeline.flush()
    if payload["status"] == "resolved" and incident.is_open:
        # The group is over: alerts that resolved in earlier notifications are already ended,
        # any we missed end now.
        incident.alerts.filter(ends_at__isnull=True).update(ends_at=now)
        flows.resolve(incident=incident, actor=user, note="resolved by Alertmanager", now=now)
    return outcome


def _end_known(receiver: str, alerts: list[dict[str, Any]]) -> None:
    for alert in alerts:
        if alert["status"] == "resolved":
            AlertOccurrence.objects.filter(
                receiver=receiver, fingerprint=alert["fingerprint"],
                starts_at=alert["startsAt"], ends_at__isnull=True,
            ).update(ends_at=alert["endsAt"] or timezone.now())


def _describe(payload: dict[str, Any], firing: list[dict[str, Any]]) -> dict[str, Any]:
    """Title, severity, service, description and runbook from the group's labels and
    annotations (common ones first, else the first firing alert's)."""
    common_labels = payload.get("commonLabels") or {}
    common = payload.get("commonAnnotations") or {}
    first = firing[0]
    labels = {**first["labels"], **common_labels}
    annotations = {**first["annotations"], **common}
    name = labels.get("alertname", "Alert")
    summary = common.get("summary") or (
        first["annotations"].get("summary") if len(firing) == 1 else ""
    )
    where = labels.get("service") or labels.get("job") or ""
    title = summary or (f"{name} on {where}" if where else name)
    description = annotations.get("description") or "\n".join(
        a["annotations"].get("summary", _alert_name(a)) for a in firing
    )
    return {
        "title": title[:200],
        "description": description[:10_000],
        "severity": severity_of(labels),
        "service": (labels.get("service") or "")[:100],
        "component": (labels.get("component") or labels.get("job") or "")[:100],
        "runbook_url": (annotations.get("runbook_url") or "")[:500],
        "details": {
            "receiver": payload["receiver"], "group_key": payload["groupKey"],
            "group_labels": payload.get("groupLabels") or {}, "common_labels": common_labels,
            "external_url": payload.get("externalURL", ""),
        },
    }


def _alert_name(alert: dict[str, Any]) -> str:
    labels = alert["labels"]
    name = labels.get("alertname", alert["fingerprint"])
    instance = labels.get("instance")
    return f"{name} ({instance})" if instance else name
