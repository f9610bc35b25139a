"""Surge detection: customers report an outage before monitoring does. When tickets of one
category, or with near-identical subjects, arrive well above their usual rate, an incident is
opened (source "surge") and those tickets, and the ones that follow while it is open, are
linked to it.

The rule (settings SURGE_*; README "Surge detection"):
- Keys: the ticket's category ("cat:<id>") and its subject fingerprint ("subj:<hash>" of the
  subject's words, case-folded, digits and punctuation dropped, order ignored; subjects of
  fewer than two words have none).
- Time is cut into buckets of SURGE_WINDOW_MINUTES. The current rate is the sliding-window
  estimate: this bucket's count plus the previous bucket's, weighted by the share of the
  window that still overlaps it.
- The usual rate is an exponentially weighted average of past buckets (memory
  SURGE_BASELINE_BUCKETS), corrected for its bias while few buckets have been seen.
- A key surges when the estimate reaches SURGE_MIN_TICKETS and SURGE_FACTOR times the usual
  rate (at least SURGE_BASELINE_FLOOR per bucket). A category must have been watched for
  SURGE_WARMUP_BUCKETS buckets first (a new install has no idea of "usual"); a subject
  fingerprint needs no warm-up: a complaint nobody made before is exactly what to catch.

Cost: constant per ticket, no scan of history. tickets.flows.submit_ticket calls observe()
after the intake committed (so the counter rows are never locked across the intake), which
costs one UPSERT for both keys, committed without waiting for the disk on PostgreSQL (a crash
may forget the last moments' counts: statistics, not records); linking to an open surge
incident adds three INSERTs, only during a surge. Open surge incidents are known from a
per-process cache refreshed every SURGE_CACHE_SECONDS (a ticket may be linked to an incident
resolved that long ago)."""

from __future__ import annotations

import functools
import hashlib
import logging
import re
import threading
import time
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from incidents import flows, linking
from incidents.models import Incident, SurgeCounter
from tickets.models import Ticket

log = logging.getLogger(__name__)
_WORD = re.compile(r"[^\W\d_]+")


def keys_for(ticket: Ticket) -> list[str]:
    keys = []
    if ticket.category_id is not None:
        keys.append(f"cat:{ticket.category_id}")
    if (fingerprint := subject_fingerprint(ticket.subject)) is not None:
        keys.append(f"subj:{fingerprint}")
    return sorted(keys)  # one lock order for every transaction


def subject_fingerprint(subject: str) -> str | None:
    words = sorted(set(_WORD.findall(unicodedata.normalize("NFKC", subject).casefold())))
    if len(words) < 2:
        return None
    return hashlib.sha256(" ".join(words).encode()).hexdigest()[:24]


@dataclass(frozen=True)
class Count:
    key: str
    bucket: int
    count: int
    previous: int
    baseline: float
    buckets_seen: int
    first_id: int | None
    previous_first_id: int | None

    def estimate(self, now: datetime) -> float:
        """Tickets in the last window: this bucket plus the overlapping part of the last."""
        width = _width()
        into = (now.timestamp() - self.bucket * width) / width
        return self.count + self.previous * max(0.0, 1.0 - into)

    def usual(self) -> float:
        """Usual tickets per window, bias-corrected (an EWMA started at 0 underestimates
        until it has seen enough buckets)."""
        if self.buckets_seen == 0:
            return 0.0
        kept = (1 - _alpha()) ** self.buckets_seen
        return self.baseline / (1 - kept)

    def surging(self, now: datetime) -> bool:
        if self.key.startswith("cat:") and self.buckets_seen < settings.SURGE_WARMUP_BUCKETS:
            return False
        estimate = self.estimate(now)
        usual = max(self.usual(), settings.SURGE_BASELINE_FLOOR)
        return estimate >= settings.SURGE_MIN_TICKETS and estimate >= settings.SURGE_FACTOR * usual


def _width() -> int:
    return settings.SURGE_WINDOW_MINUTES * 60


def _alpha() -> float:
    return 1.0 / settings.SURGE_BASELINE_BUCKETS


def count(keys: list[str], ticket_id: int, now: datetime) -> list[Count]:
    """Count one ticket under each key: one INSERT ... ON CONFLICT DO UPDATE ... RETURNING for
    all keys (PostgreSQL and SQLite). A new bucket folds the finished ones into the baseline:
    b' = (1-a)^k * b + a * (1-a)^(k-1) * count for k buckets elapsed (the k-1 empty)."""
    if not keys:
        return []
    bucket = int(now.timestamp()) // _width()
    params: list[Any] = []
    for key in keys:
        params += [key, bucket, ticket_id]
    alpha = _alpha()
    params += [alpha, alpha, alpha]
    with connection.cursor() as cursor:
        cursor.execute(_count_sql(connection.vendor, len(keys)), params)
        rows = cursor.fetchall()
    return sorted((Count(*row) for row in rows), key=lambda c: c.key)


@functools.cache
def _count_sql(vendor: str, keys: int) -> str:
    table = SurgeCounter._meta.db_table
    same = f"excluded.bucket <= {table}.bucket"
    elapsed = f"(excluded.bucket - {table}.bucket)"
    values = ", ".join(["(%s, %s, 1, 0, 0.0, 0, %s, NULL)"] * keys)
    if vendor == "postgresql":
        # These counts are statistics: this statement's own commit need not wait for the disk
        # (an autocommit statement otherwise pays a WAL flush: ~0.2-1.5 ms here, most of its
        # cost). set_config(..., true) lasts until the end of this statement's transaction.
        values = values.replace("NULL)", "NULL::bigint)")
        head = ("WITH async AS (SELECT set_config('synchronous_commit', 'off', true)) "
                f"INSERT INTO {table} ")
        source = f"SELECT * FROM (VALUES {values}) AS v WHERE EXISTS (SELECT 1 FROM async)"  # noqa: S608
    else:
        head, source = f"INSERT INTO {table} ", f"VALUES {values}"
    return f"""{head}(key, bucket, count, previous, baseline, buckets_seen, first_id,
                     previous_first_id)
{source}
ON CONFLICT (key) DO UPDATE SET
  baseline = CASE WHEN {same} THEN {table}.baseline
      ELSE POWER(1 - %s, {elapsed}) * {table}.baseline
           + %s * POWER(1 - %s, {elapsed} - 1) * {table}.count END,
  buckets_seen = CASE WHEN {same} THEN {table}.buckets_seen
      ELSE {table}.buckets_seen + {elapsed} END,
  previous = CASE WHEN {same} THEN {table}.previous
      WHEN {elapsed} = 1 THEN {table}.count ELSE 0 END,
  previous_first_id = CASE WHEN {same} THEN {table}.previous_first_id
      WHEN {elapsed} = 1 THEN {table}.first_id ELSE NULL END,
  first_id = CASE WHEN {same} THEN {table}.first_id ELSE excluded.first_id END,
  count = CASE WHEN {same} THEN {table}.count + 1 ELSE 1 END,
  bucket = CASE WHEN {same} THEN {table}.bucket ELSE excluded.bucket END
RETURNING key, bucket, count, previous, baseline, buckets_seen, first_id, previous_first_id
"""


# --- open surge incidents, per process --------------------------------------------------------

_lock = threading.Lock()
_cache: dict[str, object] = {"open": {}, "checked": 0.0}


def _open_surges() -> dict[str, Incident]:
    """dedup key ("surge:<key>") -> the open surge incidents (pk, reference and title)."""
    now = time.monotonic()
    with _lock:
        if now - float(_cache["checked"]) < settings.SURGE_CACHE_SECONDS:  # type: ignore[arg-type]
            return _cache["open"]  # type: ignore[return-value]
    found = {
        i.dedup_key: i
        for i in Incident.objects.filter(source=Incident.Source.SURGE,
                                         status__in=Incident.OPEN_STATUSES)
        .only("pk", "dedup_key", "reference", "title")
    }
    with _lock:
        _cache.update(open=found, checked=now)
    return found


def forget_cache() -> None:
    with _lock:
        _cache.update(open={}, checked=0.0)


_local = threading.local()


@contextmanager
def suspended() -> Iterator[None]:
    """Tickets taken in inside this block are not counted (in this thread): a bulk load of
    history, such as seed_demo's, is not an arrival rate."""
    _local.suspended = True
    try:
        yield
    finally:
        _local.suspended = False


def observe(ticket: Ticket, now: datetime | None = None) -> Incident | None:
    """Count a ticket just committed; link it to its key's open surge incident, or open one
    when its key surges. Returns the incident it was linked to. Never raises: surge detection
    must not fail an intake that already succeeded."""
    if not settings.SURGE_ENABLED or getattr(_local, "suspended", False):
        return None
    now = now or timezone.now()
    try:
        counts = count(keys_for(ticket), ticket.pk, now)
        open_surges = _open_surges()
        for c in counts:
            if (incident := open_surges.get(f"surge:{c.key}")) is not None:
                linking.link_new_ticket(incident=incident, ticket=ticket, reason="surge")
                return incident
        for c in counts:
            if c.surging(now):
                return _open(c, ticket, now)
    except Exception:
        log.exception("surge detection failed for ticket %s", ticket.pk)
    return None


def _open(c: Count, ticket: Ticket, now: datetime) -> Incident:
    """Open (or join, when another process just did) the key's surge incident and link the
    tickets counted in its window, this one included."""
    usual = c.usual()
    what = (ticket.category.name if c.key.startswith("cat:") and ticket.category
            else f'"{ticket.subject[:80]}"')
    title = (f"Surge: {round(c.estimate(now))} tickets about {what} in "
             f"{settings.SURGE_WINDOW_MINUTES} min (usual {usual:.1f})")
    since = c.previous_first_id or c.first_id or ticket.pk
    with transaction.atomic():
        incident, created = flows.open_incident(
            title=title[:200], severity=settings.SURGE_SEVERITY, source=Incident.Source.SURGE,
            opened_by=None, dedup_key=f"surge:{c.key}", now=now,
            started_at=now - timedelta(seconds=_width()), detected_at=now,
            category=ticket.category if c.key.startswith("cat:") else None,
            description=f"Opened by the surge detector for {c.key}: an estimated "
            f"{c.estimate(now):.1f} tickets in the last {settings.SURGE_WINDOW_MINUTES} min "
            f"against a usual {usual:.2f}.",
            details={"surge_key": c.key, "estimate": round(c.estimate(now), 2),
                     "usual": round(usual, 3)},
        )
        linking.link_tickets(incident=incident, tickets=_window_tickets(c, since, ticket),
                             actor=None, reason="surge", now=now)
    with _lock:
        _cache["open"] = {**_cache["open"], f"surge:{c.key}": incident}  # type: ignore[dict-item]
    if created:
        log.warning("surge: opened %s for %s", incident.reference, c.key)
    return incident


def _window_tickets(c: Count, since: int, ticket: Ticket) -> list[Ticket]:
    """The tickets counted under the key since the previous bucket began (by id: an index
    range, not a scan of history)."""
    recent = Ticket.objects.filter(pk__gte=since).order_by("pk")
    if c.key.startswith("cat:"):
        found = list(recent.filter(category=ticket.category)[:1000])
    else:
        wanted = c.key.removeprefix("subj:")
        found = [t for t in recent.only("pk", "subject", "reference")[:5000]
                 if subject_fingerprint(t.subject) == wanted]
    return found if any(t.pk == ticket.pk for t in found) else [*found, ticket]
