"""What the watcher reports about a batch once it has committed: the metrics (escalations by
subject, stage and level; how late each level was recorded) and one log line per escalation
applied, carrying the ticket's or incident's reference. After the commit, so a batch rolled
back (and retried by the next pass) is not counted twice."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from django.db import transaction

from observability import metrics
from sla.effects import Reached
from sla.models import Escalation

log = logging.getLogger("sla.escalation")


def batch_recorded(escalations: list[Escalation], applied: list[Reached],
                   summaries: Mapping[int, dict[str, Any]]) -> None:
    """Call inside the batch's transaction; reports when (and if) it commits."""
    recorded = [(e.clock.subject_kind, e.clock.stage, e) for e in escalations]
    lines = [_line(item, summaries.get(id(item)) or {}) for item in applied]

    def report() -> None:
        metrics.escalations_recorded(recorded)
        for message, args, extra in lines:
            log.info(message, *args, extra=extra)

    transaction.on_commit(report)


def _line(item: Reached, subject: dict[str, Any]) -> tuple[str, tuple[Any, ...], dict[str, Any]]:
    clock, esc = item.clock, item.escalation
    kind = clock.subject_kind
    reference = subject.get("reference") or f"{kind} {clock.subject_id}"
    extra = {kind: reference, "stage": clock.stage, "sla_level": esc.kind,
             "late_seconds": round((esc.created_at - esc.step_at).total_seconds(), 3),
             "actions": esc.actions}
    return "SLA %s %s: %s %s", (esc.kind, reference, clock.stage, esc.actions), extra
