from __future__ import annotations

from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.utils import timezone

from sla.heartbeat import watcher_status


def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness for load balancers and operators: is the database answering, and is the SLA
    watcher passing (a heartbeat within SLA_WATCHER_STALE_SECONDS)?

    A stale watcher is reported ("sla_watcher": "stale", status "degraded") but keeps HTTP 200:
    the web process can still take tickets, and a load balancer that stopped routing to every
    web node because a separate background process died would turn a late-escalation problem
    into a full outage. Monitors and the watcher's supervisor ask `/healthz?require=sla_watcher`,
    which answers 503 when the watcher is stale or has never run (../shared/RELIABILITY.md, R6)."""
    checks: dict[str, str] = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        checks["database"] = "ok"
        checks["sla_watcher"], _ = watcher_status(timezone.now())
    except Exception as exc:
        checks.setdefault("database", f"error: {exc.__class__.__name__}")
        checks.setdefault("sla_watcher", "unknown")
    required = {"database", *request.GET.getlist("require")}
    healthy = all(checks.get(name) == "ok" for name in required)
    status = "ok" if all(v == "ok" for v in checks.values()) else "degraded"
    return JsonResponse(
        {"status": status if healthy else "error", "checks": checks},
        status=200 if healthy else 503,
    )
