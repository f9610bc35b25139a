from __future__ import annotations

from django.http import HttpRequest, HttpResponse


def report(request: HttpRequest) -> HttpResponse:
    return HttpResponse("todo")


def report_csv(request: HttpRequest) -> HttpResponse:
    return HttpResponse("todo")
