"""Agents and skills in the admin. Managers edit profiles and skills; an agent can open their
own profile and change only its availability. Every save goes through routing.services, so the
load counter is never written from a (possibly stale) form."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from routing import agents as agent_services
from routing.models import AgentProfile, AgentSkill, RoutingDecision, Skill
from tickets.roles import signed_in_user

MANAGE = "routing.change_agentprofile"
OWN_AVAILABILITY = "routing.set_own_availability"


@admin.register(Skill)
class SkillAdmin(admin.ModelAdmin):
    list_display = ["slug", "name"]
    search_fields = ["slug", "name"]
    prepopulated_fields = {"slug": ["name"]}


class AgentSkillInline(admin.TabularInline):
    model = AgentSkill
    extra = 1
    autocomplete_fields = ["skill"]


@admin.register(AgentProfile)
class AgentProfileAdmin(admin.ModelAdmin):
    list_display = [
        "user", "availability", "load", "capacity", "overbooked", "tier", "team", "time_zone",
        "last_assigned_at",
    ]
    list_filter = ["availability", "tier", "team"]
    search_fields = ["user__username", "team"]
    list_select_related = ["user"]
    raw_id_fields = ["user"]
    inlines = [AgentSkillInline]
    actions = ["make_available", "make_away", "make_offline"]
    readonly_fields = ["load", "overbooked", "last_assigned_at"]

    def _manager(self, request: HttpRequest) -> bool:
        return request.user.has_perm(MANAGE)

    def _own(self, request: HttpRequest, obj: AgentProfile | None) -> bool:
        return obj is not None and obj.user_id == request.user.pk

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if self._manager(request):
            return True
        return self._own(request, obj) and request.user.has_perm(OWN_AVAILABILITY)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        if self._manager(request):
            return [*self.readonly_fields, *(["user"] if obj else [])]
        return ["user", "capacity", "tier", "team", *self.readonly_fields]

    def save_model(self, request: HttpRequest, obj: AgentProfile, form: Any, change: bool) -> None:
        if not change:
            obj.save()  # a new profile has no load yet: a plain insert is safe
            return
        data = form.cleaned_data
        if self._manager(request):
            agent_services.update_profile(
                agent=obj, capacity=data["capacity"], tier=data["tier"], team=data["team"]
            )
        agent_services.set_availability(
            agent=obj, availability=data["availability"], actor=signed_in_user(request)
        )
        # Display only (the workspace's times): one column, never the load counter.
        AgentProfile.objects.filter(pk=obj.pk).update(time_zone=data["time_zone"])

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        agent_services.skills_changed(agent=form.instance)  # a new skill may match queued tickets

    def _set(self, request: HttpRequest, queryset: QuerySet[AgentProfile], value: str) -> None:
        # An agent's action applies to their own profile whatever they selected; a manager's
        # to the selection.
        actor = signed_in_user(request)
        if not self._manager(request):
            queryset = AgentProfile.objects.filter(user=actor)
        for profile in queryset:
            agent_services.set_availability(agent=profile, availability=value, actor=actor)
        self.message_user(request, f"{len(queryset)} agent(s) now {value}.")

    @admin.action(description="Set available", permissions=["availability"])
    def make_available(self, request: HttpRequest, queryset: QuerySet[AgentProfile]) -> None:
        self._set(request, queryset, AgentProfile.Availability.AVAILABLE)

    @admin.action(description="Set away", permissions=["availability"])
    def make_away(self, request: HttpRequest, queryset: QuerySet[AgentProfile]) -> None:
        self._set(request, queryset, AgentProfile.Availability.AWAY)

    @admin.action(description="Set offline", permissions=["availability"])
    def make_offline(self, request: HttpRequest, queryset: QuerySet[AgentProfile]) -> None:
        self._set(request, queryset, AgentProfile.Availability.OFFLINE)

    def has_availability_permission(self, request: HttpRequest) -> bool:
        return self._manager(request) or request.user.has_perm(OWN_AVAILABILITY)


@admin.register(RoutingDecision)
class RoutingDecisionAdmin(admin.ModelAdmin):
    list_display = ["created_at", "ticket", "trigger", "outcome", "agent", "rule"]
    list_filter = ["outcome", "trigger", "rule"]
    list_select_related = ["ticket", "agent__user"]
    raw_id_fields = ["ticket", "agent", "actor"]
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
