"""django-q2 entry points: thin wrappers around routing.services."""

from __future__ import annotations

from routing import services


def dispatch_all() -> int:
    return services.dispatch_all()
