"""Per-process cache of the active SLA policies, so starting clocks in the intake request costs
no policy query.

Invalidation: at most every SLA_POLICY_CHECK_SECONDS (default 5 s) a process runs one cheap
fingerprint query (id and updated_at of every policy: a handful of rows, no JSON) and reloads
only when it changed. Every admin/ORM save changes its row's updated_at (auto_now) and a delete
or insert changes the id list, so an edit reaches every web worker and watcher within that
interval, whatever the clocks of the nodes say (no MAX(updated_at) comparison). (A raw
queryset.update() that leaves updated_at alone would not be noticed; the admin never does that.)
`invalidate()` drops this process's copy at once (admin saves, tests)."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

from django.conf import settings

from sla.calendar import BusinessCalendar
from sla.models import SlaPolicy
from sla.targets import StageTarget


@dataclass(frozen=True)
class CachedPolicy:
    id: int
    name: str
    kind: str
    priority: str
    category_id: int | None
    calendar: dict[str, Any] | None
    escalate_after_seconds: int | None
    stages: tuple[StageTarget, ...]
    business_calendar: BusinessCalendar | None  # parsed once per load, not per clock


_lock = threading.Lock()
_state: dict[str, Any] = {"policies": None, "fingerprint": None, "checked": 0.0}


def invalidate() -> None:
    with _lock:
        _state.update(policies=None, fingerprint=None, checked=0.0)


def _fingerprint() -> list[tuple[int, Any]]:
    return list(SlaPolicy.objects.order_by("id").values_list("id", "updated_at"))


def _load() -> list[CachedPolicy]:
    loaded = []
    for p in SlaPolicy.objects.filter(is_active=True).order_by("id"):
        try:
            stages = p.stage_targets()
            calendar = BusinessCalendar.from_dict(p.calendar) if p.calendar else None
        except ValueError:
            continue  # refused by the admin form; a hand-broken row must not break intake
        loaded.append(
            CachedPolicy(
                id=p.pk,
                name=p.name,
                kind=p.kind,
                priority=p.priority,
                category_id=p.category_id,
                calendar=p.calendar,
                escalate_after_seconds=p.escalate_after_seconds,
                stages=stages,
                business_calendar=calendar,
            )
        )
    return loaded


def active_policies() -> list[CachedPolicy]:
    interval = settings.SLA_POLICY_CHECK_SECONDS
    now = time.monotonic()
    with _lock:
        policies = _state["policies"]
        if policies is not None and now - _state["checked"] < interval:
            return policies
    fingerprint = _fingerprint()
    with _lock:
        if policies is None or fingerprint != _state["fingerprint"]:
            _state["policies"] = _load()
            _state["fingerprint"] = fingerprint
        _state["checked"] = now
        return _state["policies"]


def policy_for(*, kind: str, priority: str, category_id: int | None) -> CachedPolicy | None:
    """The most specific active policy: category beats no category, then the exact priority
    beats blank (= any)."""
    best: tuple[int, CachedPolicy] | None = None
    for policy in active_policies():
        if policy.kind != kind:
            continue
        if policy.category_id is not None and policy.category_id != category_id:
            continue
        if policy.priority and policy.priority != priority:
            continue
        score = (2 if policy.category_id is not None else 0) + (1 if policy.priority else 0)
        if best is None or score > best[0]:
            best = (score, policy)
    return best[1] if best else None
