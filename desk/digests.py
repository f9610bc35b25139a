"""Managers' SLA digests: daily, weekly and monthly django-q2 schedules (desk.apps) e-mail a
summary of the report for the period just ended, with a link to the report page."""

from __future__ import annotations

from datetime import date, timedelta
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.urls import reverse
from django.utils import timezone

from desk import reports
from desk.present import duration
from tickets.roles import MANAGER


def digest_period(kind: str, today: date, tz: ZoneInfo) -> reports.Period:
    """The period just ended: yesterday, the 7 days up to yesterday, or last calendar month."""
    yesterday = today - timedelta(days=1)
    if kind == "daily":
        return reports.Period(yesterday, yesterday, tz)
    if kind == "weekly":
        return reports.Period(yesterday - timedelta(days=6), yesterday, tz)
    if kind == "monthly":
        last = today.replace(day=1) - timedelta(days=1)
        return reports.Period(last.replace(day=1), last, tz)
    raise ValueError(f"unknown digest {kind!r}: daily, weekly or monthly")


def render_digest(kind: str, report: reports.Report) -> tuple[str, str]:
    p = report.period
    link = (f"{settings.SITE_URL}{reverse('admin:desk_report')}?"
            + urlencode({"from": p.first.isoformat(), "to": p.last.isoformat()}))
    span = p.first.isoformat() if p.first == p.last else f"{p.first} to {p.last}"
    lines = [f"SLA {kind} digest, {span} ({p.tz}).", ""]
    for row in report.by_stage:
        pct = f"{row.compliance:.0%}" if row.compliance is not None else "-"
        lines.append(f"{row.stage}: {pct} met ({row.met} met, {row.breached} breached)")
    if not report.by_stage:
        lines.append("No SLA clock was decided in this period.")
    for label, t in (("First response", report.first_response),
                     ("Resolution", report.resolution)):
        if t["count"]:
            lines.append(f"{label}: median {duration(timedelta(seconds=t['median_seconds']))}, "
                         f"p90 {duration(timedelta(seconds=t['p90_seconds']))} "
                         f"({t['count']} tickets)")
    esc = report.escalations
    lines += ["", f"Escalations: {esc['warning']} warnings, {esc['breach']} breaches, "
                  f"{esc['escalation']} second-level", "", "KPIs:"]
    for k in report.kpis:
        if k.value is None:
            value = "no data"
        else:
            value = f"{k.value:.2f} / 5" if k.unit == "/5" else f"{k.value:.0%}"
        target = f"{k.target} / 5" if k.unit == "/5" else f"{k.target:.0%}"
        verdict = "" if k.met is None else (" (on target)" if k.met else " (MISSED)")
        lines.append(f"- {k.label}: {value}, target {target}{verdict}")
    lines += ["", f"The full report, breakdowns and breached tickets: {link}"]
    breached = sum(r.breached for r in report.by_stage)
    subject = f"[Switchboard] SLA {kind} digest {span}: {breached} breach(es)"
    return subject, "\n".join(lines)


def send_digest(kind: str) -> int:
    """E-mail the digest to every active manager with an address. Returns how many."""
    tz = ZoneInfo(settings.TIME_ZONE)
    period = digest_period(kind, timezone.localdate(timezone=tz), tz)
    recipients = sorted(
        get_user_model().objects.filter(groups__name=MANAGER, is_active=True)
        .exclude(email="").values_list("email", flat=True)
    )
    if not recipients:
        return 0
    subject, body = render_digest(kind, reports.build(period, breached_limit=0))
    send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, recipients)
    return len(recipients)
