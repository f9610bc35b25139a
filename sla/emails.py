"""Escalation e-mails written for people: what is late, on which ticket or incident, since when,
what the watcher did about it, and a link to open it. A burst is one e-mail per recipient per
batch (sla.notifications groups them), not one per clock."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

from django.conf import settings

# Keyed by the payload's "event".
WHAT = {"sla.warning": "due soon", "sla.breach": "breached",
        "sla.escalation": "still overdue, escalated"}


def render(payloads: list[dict[str, Any]]) -> tuple[str, str]:
    """(subject, plain-text body) for one recipient's escalations."""
    if len(payloads) == 1:
        p = payloads[0]
        subject = f"[SLA] {_ref(p)} {_stage(p)} {WHAT.get(p['event'], p['event'])}"
        if title := p["subject"].get("title"):
            subject += f": {title}"
    else:
        counts = Counter(WHAT.get(p["event"], p["event"]) for p in payloads)
        subject = "[SLA] " + ", ".join(f"{n} {what}" for what, n in counts.most_common())
    lines = [_line(p) for p in payloads]
    body = "\n\n".join(lines)
    body += f"\n\nThe queue: {settings.SITE_URL}/admin/\n(Switchboard SLA watcher)\n"
    return subject[:250], body


def _ref(p: dict[str, Any]) -> str:
    s = p["subject"]
    return str(s.get("reference") or f"{s['type']} {s['id']}")


def _stage(p: dict[str, Any]) -> str:
    return str(p["stage"]).replace("_", " ")


def _when(value: str | None) -> str:
    if not value:
        return "no deadline"
    return datetime.fromisoformat(value).strftime("%Y-%m-%d %H:%M UTC")


def _line(p: dict[str, Any]) -> str:
    s, actions = p["subject"], p.get("actions") or {}
    head = f"{WHAT.get(p['event'], p['event']).upper()}: {_ref(p)}"
    if title := s.get("title"):
        head += f' "{title}"'
    text = [head, f"  {_stage(p)} was due {_when(p.get('due_at'))}"]
    if priority := actions.get("priority"):
        text.append(f"  priority raised {priority[0]} -> {priority[1]}")
    if actions.get("reassigned"):
        text.append("  handed to an agent of a higher tier")
    if actions.get("notify") in ("oncall",) or "on-call" in str(actions.get("notify", "")):
        text.append("  on-call paged")
    if url := s.get("url"):
        text.append(f"  {settings.SITE_URL}{url}")
    return "\n".join(text)
