"""Routing settings, read at call time (tests and reloaded settings take effect). Their defaults
and environment variables live in one place, config/settings.py ("Routing")."""

from __future__ import annotations

from django.conf import settings


def min_tier_by_priority() -> dict[str, int]:
    """Minimum agent tier per ticket priority. Data, not code: a deployment can require tier 3
    for urgent tickets, or tier 2 for high ones, without touching routing."""
    return dict(settings.ROUTING_MIN_TIER_BY_PRIORITY)


def requeue_on_offline() -> bool:
    """An agent going offline hands their open tickets back to the queue (and they are routed
    again at once to whoever has room)."""
    return bool(settings.ROUTING_REQUEUE_ON_OFFLINE)


def candidate_limit() -> int:
    """How many best candidates a decision reads (and records). Enough to explain the tie-break
    and to fall through when the best ones filled up meanwhile; small enough to stay cheap."""
    return int(settings.ROUTING_CANDIDATES)
