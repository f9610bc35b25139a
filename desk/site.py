"""The admin site with the workspace's pages: agents land on their queue, managers on the SLA
report; both keep the model admin one click away (?index=1)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import URLPattern, URLResolver, path

from tickets.roles import AGENT, MANAGER, role_of


class DeskAdminSite(admin.AdminSite):
    site_header = "Switchboard"
    site_title = "Switchboard"
    index_title = "Support desk"

    def get_urls(self) -> list[URLResolver | URLPattern]:
        from desk import report_views, views

        own = [
            path("queue/", self.admin_view(views.queue), name="desk_queue"),
            path("queue/take-next/", self.admin_view(views.take_next), name="desk_take_next"),
            path("queue/act/", self.admin_view(views.bulk_act), name="desk_bulk_act"),
            path("tickets/<int:pk>/act/", self.admin_view(views.ticket_act),
                 name="desk_ticket_act"),
            path("availability/", self.admin_view(views.availability), name="desk_availability"),
            path("reports/sla/", self.admin_view(report_views.report), name="desk_report"),
            path("reports/sla.csv", self.admin_view(report_views.report_csv),
                 name="desk_report_csv"),
        ]
        return own + super().get_urls()

    def index(  # type: ignore[override]  # a redirect for agents and managers
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        if not request.GET.get("index"):
            role = role_of(request.user)
            if role == AGENT:
                return redirect("admin:desk_queue")
            if role == MANAGER:
                return redirect("admin:desk_report")
        return super().index(request, extra_context)

    def each_context(self, request: HttpRequest) -> dict[str, Any]:
        """Every admin page shows the availability switch of an agent (desk.middleware loaded
        the profile with the time zone: no extra query here)."""
        context = super().each_context(request)
        profile = getattr(request, "agent_profile", None)
        context["desk_profile"] = profile
        context["desk_role"] = role_of(request.user) if request.user.is_authenticated else None
        if profile is not None:
            from routing.models import AgentProfile

            context["desk_availability_choices"] = AgentProfile.Availability.choices
        return context


def site_context(request: HttpRequest, title: str) -> dict[str, Any]:
    """The admin's own context (header, availability switch, sidebar) plus a title, for the
    workspace's pages rendered outside a ModelAdmin."""
    return {**admin.site.each_context(request), "title": title}
