"""Watcher heartbeats: each watcher upserts its own row every pass; /healthz and /metrics read the
newest. Also how far behind the watchers are (the oldest due clock)."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import F, Max

from sla.models import SlaClock, WatcherHeartbeat


def beat(*, name: str, now: datetime, pass_ms: float, escalations: int) -> None:
    """One UPDATE per pass (an INSERT the first time). Written only after a pass completed, so a
    watcher stuck in a pass, or failing every pass, goes stale."""
    fields = {"last_pass_at": now, "last_pass_ms": pass_ms, "last_escalations": escalations}
    if not WatcherHeartbeat.objects.filter(name=name).update(passes=F("passes") + 1, **fields):
        WatcherHeartbeat.objects.update_or_create(name=name, defaults={**fields, "passes": 1})


def watcher_status(now: datetime) -> tuple[str, datetime | None]:
    """("ok" | "stale" | "missing", newest pass) with SLA_WATCHER_STALE_SECONDS as the limit."""
    latest = WatcherHeartbeat.objects.aggregate(at=Max("last_pass_at"))["at"]
    if latest is None:
        return "missing", None
    stale = now - latest > timedelta(seconds=settings.SLA_WATCHER_STALE_SECONDS)
    return ("stale" if stale else "ok"), latest


def prune(*, now: datetime, older_than: timedelta = timedelta(days=1)) -> int:
    """Forget watchers that have not passed for a day (restarted processes get new names)."""
    return WatcherHeartbeat.objects.filter(last_pass_at__lt=now - older_than).delete()[0]


def oldest_due(now: datetime) -> datetime | None:
    """The due time of the clock that has waited longest for its next level (None: none due).
    One row from the partial index sla_clock_next_check."""
    return (
        SlaClock.objects.filter(next_check_at__lte=now)
        .order_by("next_check_at")
        .values_list("next_check_at", flat=True)
        .first()
    )
