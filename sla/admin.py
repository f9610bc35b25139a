"""SLA in the admin: policies (edited by managers, validated), clocks and the breach report
(read-only: clocks change only through sla.services and the watcher), escalations, webhooks and
their delivery log, watcher heartbeats."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib import admin
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from sla import policies
from sla.forms import EVENT_LISTS, MAX_STAGES, SlaPolicyForm
from sla.models import (
    Breach,
    Delivery,
    Escalation,
    Notification,
    SlaClock,
    SlaPolicy,
    WatcherHeartbeat,
    WebhookEndpoint,
)


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


def _time_left(clock: SlaClock) -> str:
    left = clock.time_left(timezone.now())
    if left is None:
        return "-"
    sign = "-" if left < timedelta(0) else ""
    minutes = int(abs(left.total_seconds()) // 60)
    return f"{sign}{minutes // 60}h{minutes % 60:02d}m" + (" (paused)" if clock.paused_at else "")


@admin.register(SlaPolicy)
class SlaPolicyAdmin(admin.ModelAdmin):
    """Stages and calendar as form fields (sla.forms), one fieldset per stage: the policy's
    stages plus one blank to add another."""

    form = SlaPolicyForm
    list_display = ["name", "kind", "priority", "category", "is_active", "updated_at"]
    list_filter = ["kind", "is_active"]
    search_fields = ["name"]

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        shown = min(MAX_STAGES, len(obj.stages or []) + 1 if obj is not None else 2)
        stages = [
            (f"Stage {i + 1}" if i < shown - 1 or obj is None else "Add a stage", {
                "fields": [(f"stage{i}_name", f"stage{i}_target", f"stage{i}_warn_at"),
                           *[f"stage{i}_{key}" for key in EVENT_LISTS], f"stage{i}_delete"],
                "classes": ["collapse"] if obj is not None and i == shown - 1 else [],
            })
            for i in range(shown)
        ]
        return [
            (None, {"fields": ["name", ("kind", "priority"), "category", "is_active",
                               "escalate_after"]}),
            *stages,
            ("Business calendar", {"fields": [
                "business_hours", "tz",
                ("hours_mon", "hours_tue", "hours_wed", "hours_thu", "hours_fri"),
                ("hours_sat", "hours_sun"), "holidays",
            ]}),
        ]

    def save_model(self, request: HttpRequest, obj: SlaPolicy, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        # This process sees the edit at once; the others within SLA_POLICY_CHECK_SECONDS.
        transaction.on_commit(policies.invalidate)


class BreachingSoonFilter(admin.SimpleListFilter):
    title = "deadline"
    parameter_name = "deadline"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("1h", "breaching within 1 h"), ("overdue", "overdue, still open")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        now = timezone.now()
        if self.value() == "1h":
            return queryset.filter(state=SlaClock.State.RUNNING, due_at__gt=now,
                                   due_at__lte=now + timedelta(hours=1))
        if self.value() == "overdue":
            return queryset.filter(state=SlaClock.State.BREACHED, stopped_at__isnull=True)
        return queryset


@admin.register(SlaClock)
class SlaClockAdmin(ReadOnlyAdmin):
    list_display = ["id", "ticket", "incident_id", "stage", "cycle", "state", "level",
                    "due_at", "time_left", "policy_name"]
    list_filter = [BreachingSoonFilter, "state", "stage", "level"]
    list_select_related = ["ticket"]
    search_fields = ["ticket__reference", "=incident_id"]
    raw_id_fields = ["ticket"]
    show_full_result_count = False
    ordering = ["-started_at"]

    @admin.display(description="time left")
    def time_left(self, clock: SlaClock) -> str:
        return _time_left(clock)


@admin.register(Breach)
class BreachAdmin(ReadOnlyAdmin):
    """The managers' breach report (also as CSV: /api/v1/sla/breaches.csv)."""

    list_display = ["breached_at", "ticket", "incident_id", "stage", "policy_name", "due_at",
                    "stopped_at", "level", "overdue"]
    list_filter = ["stage", "policy_name", "level", ("breached_at", admin.DateFieldListFilter),
                   "ticket__priority"]
    list_select_related = ["ticket"]
    search_fields = ["ticket__reference", "=incident_id"]
    date_hierarchy = "breached_at"
    show_full_result_count = False

    def get_queryset(self, request: HttpRequest) -> QuerySet[Breach]:
        return super().get_queryset(request).filter(breached_at__isnull=False)

    @admin.display(description="overdue by")
    def overdue(self, clock: SlaClock) -> str:
        assert clock.breached_at is not None
        seconds = int(((clock.stopped_at or timezone.now()) - clock.breached_at).total_seconds())
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


@admin.register(Escalation)
class EscalationAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "kind", "level", "clock", "step_at", "actions"]
    list_filter = ["kind", "level"]
    list_select_related = ["clock"]
    raw_id_fields = ["clock"]
    show_full_result_count = False


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    list_display = ["name", "url", "is_active", "created_at"]
    list_filter = ["is_active"]


class DeliveryInline(admin.TabularInline):
    model = Delivery
    extra = 0
    fields = ["attempt", "created_at", "status_code", "error", "duration_ms"]
    readonly_fields = ["attempt", "created_at", "status_code", "error", "duration_ms"]
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "channel", "endpoint", "status", "attempts",
                    "last_status_code", "next_attempt_at", "idempotency_key"]
    list_filter = ["status", "channel"]
    list_select_related = ["endpoint"]
    raw_id_fields = ["escalation"]
    inlines = [DeliveryInline]
    show_full_result_count = False


@admin.register(WatcherHeartbeat)
class WatcherHeartbeatAdmin(ReadOnlyAdmin):
    list_display = ["name", "last_pass_at", "passes", "last_pass_ms", "last_escalations"]


def render_clocks(ticket: Any = None, *, incident_id: int | None = None) -> str:
    """The ticket's (or incident's) clocks as a small table for its admin page: stage, state,
    due time and time left. One query."""
    subject = {"ticket": ticket} if ticket is not None else {"incident_id": incident_id}
    clocks = list(SlaClock.objects.filter(**subject).order_by("started_at", "id"))
    if not clocks:
        return "no SLA clocks"
    rows = format_html_join(
        "",
        "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
        (
            (f"{c.stage} #{c.cycle}" if c.cycle > 1 else c.stage, c.state,
             c.get_level_display(), c.due_at or "-", _time_left(c))
            for c in clocks
        ),
    )
    return format_html(
        "<table><tr><th>stage</th><th>state</th><th>level</th><th>due</th><th>time left</th>"
        "</tr>{}</table>",
        rows,
    )
