"""The managers' SLA report page and its CSV (managers only: it compares people and teams)."""

from __future__ import annotations

import csv
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils import timezone

from desk import reports
from desk.chart import trend_svg
from desk.present import duration
from tickets.roles import MANAGER, role_of


def _period(request: HttpRequest) -> tuple[reports.Period, list[str]]:
    tz = ZoneInfo(str(timezone.get_current_timezone()))
    today = timezone.localdate()
    period = reports.default_period(today, tz)
    errors = []
    try:
        first = date.fromisoformat(request.GET["from"]) if request.GET.get("from") else period.first
        last = date.fromisoformat(request.GET["to"]) if request.GET.get("to") else period.last
    except ValueError:
        return period, ["Dates are YYYY-MM-DD; showing the last 7 days."]
    if last < first:
        errors.append("'to' is before 'from'; showing the last 7 days.")
    elif (last - first).days > 366:
        errors.append("A report covers at most a year; showing the last 7 days.")
    else:
        period = reports.Period(first, last, tz)
    return period, errors


def _require_manager(request: HttpRequest) -> None:
    if role_of(request.user) != MANAGER:
        raise PermissionDenied("The SLA report is for managers.")


def report(request: HttpRequest) -> HttpResponse:
    from desk.site import site_context

    _require_manager(request)
    period, errors = _period(request)
    data = reports.build(period)

    def seconds(value: int | None) -> str:
        return "-" if value is None else duration(timedelta(seconds=value))

    context = {
        **site_context(request, "SLA report"),
        "report": data,
        "errors": errors,
        "chart": trend_svg(data.daily),
        "from": period.first.isoformat(),
        "to": period.last.isoformat(),
        "tz": str(period.tz),
        "times": [
            ("First response", data.first_response, seconds(data.first_response["median_seconds"]),
             seconds(data.first_response["p90_seconds"])),
            ("Resolution", data.resolution, seconds(data.resolution["median_seconds"]),
             seconds(data.resolution["p90_seconds"])),
        ],
        "incident_opened": list(data.incidents["opened"].items()),
        "incident_total": sum(data.incidents["opened"].values()),
        "mtta": f'{seconds(data.incidents["mtta"]["mean_seconds"])} / '
                f'{seconds(data.incidents["mtta"]["median_seconds"])}',
        "mttr": f'{seconds(data.incidents["mttr"]["mean_seconds"])} / '
                f'{seconds(data.incidents["mttr"]["median_seconds"])}',
        "breakdowns": [(name, data.breakdowns[name]) for name in ("category", "team", "agent",
                                                                  "priority")],
    }
    return TemplateResponse(request, "desk/report.html", context)


def report_csv(request: HttpRequest) -> HttpResponse:
    _require_manager(request)
    period, _ = _period(request)
    data = reports.build(period, breached_limit=0)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    name = f"sla-report-{period.first.isoformat()}-{period.last.isoformat()}.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    writer = csv.writer(response)
    writer.writerows(reports.csv_rows(data))
    return response
