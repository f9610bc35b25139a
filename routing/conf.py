"""Routing settings, read from django.conf.settings with defaults here so the app works without
any configuration (config/settings.py may set them from the environment)."""

from __future__ import annotations

from django.conf import settings

# Minimum agent tier per ticket priority. Data, not code: a deployment can require tier 3 for
# urgent tickets, or tier 2 for high ones, without touching routing.
DEFAULT_MIN_TIER_BY_PRIORITY: dict[str, int] = {"urgent": 2}


def min_tier_by_priority() -> dict[str, int]:
    return dict(getattr(settings, "ROUTING_MIN_TIER_BY_PRIORITY", DEFAULT_MIN_TIER_BY_PRIORITY))


def requeue_on_offline() -> bool:
    """An agent going offline hands their open tickets back to the queue (and they are routed
    again at once to whoever has room)."""
    return bool(getattr(settings, "ROUTING_REQUEUE_ON_OFFLINE", True))


def candidate_limit() -> int:
    """How many best candidates a decision reads (and records). Enough to explain the tie-break
    and to fall through when the best ones filled up meanwhile; small enough to stay cheap."""
    return int(getattr(settings, "ROUTING_CANDIDATES", 5))
