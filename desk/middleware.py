"""Staff see times in their own time zone: the agent profile's (one query per admin request,
reused by the availability switch), else settings.TIME_ZONE."""

from __future__ import annotations

from collections.abc import Callable
from zoneinfo import ZoneInfo

from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from routing.models import AgentProfile


class AgentTimeZoneMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        profile = None
        if request.path.startswith("/admin/") and request.user.is_authenticated:
            profile = AgentProfile.objects.filter(user_id=request.user.pk).first()
        request.agent_profile = profile  # type: ignore[attr-defined]  # read by desk.site
        if profile is not None and profile.time_zone:
            timezone.activate(ZoneInfo(profile.time_zone))
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()
