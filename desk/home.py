"""The root page ("View site" in the admin): where to go, for each kind of user."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse


def home(request: HttpRequest) -> HttpResponse:
    return TemplateResponse(request, "desk/home.html", {})
