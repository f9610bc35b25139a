"""Incidents in the admin: the list (open first, by severity), and each incident's page with its
stage clocks, status updates, linked tickets, alerts, timeline in words and post-mortem. Every
action goes through the same flows as the API (incidents.flows, .linking, .postmortem), chosen
on the page's "Act" form; the timeline, updates and alerts are read-only."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.db import IntegrityError
from django.db.models import Case, IntegerField, QuerySet, Value, When
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join

from incidents import flows, linking, postmortem
from incidents.models import (
    ActionItem,
    AlertOccurrence,
    Incident,
    IncidentEvent,
    IncidentTicket,
    PostMortem,
    StatusUpdate,
)
from incidents.postmortem import describe_event
from incidents.services import IncidentStateError
from sla.admin import render_clocks
from tickets.models import Category, Ticket
from tickets.roles import STAFF_ROLES, signed_in_user


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class UpdateInline(ReadOnlyInline):
    model = StatusUpdate
    fields = readonly_fields = ("created_at", "author", "public", "status", "body")
    verbose_name_plural = "status updates"


class LinkInline(ReadOnlyInline):
    model = IncidentTicket
    fields = readonly_fields = ("ticket", "ticket_status", "linked_at", "linked_by", "reason")
    verbose_name_plural = "linked tickets"

    @admin.display(description="status")
    def ticket_status(self, link: IncidentTicket) -> str:
        return link.ticket.get_status_display()

    def get_queryset(self, request: HttpRequest) -> QuerySet[IncidentTicket]:
        return super().get_queryset(request).select_related("ticket", "linked_by")


class AlertInline(ReadOnlyInline):
    model = AlertOccurrence
    fields = readonly_fields = ("fingerprint", "labels", "starts_at", "ends_at")
    verbose_name_plural = "alerts"


class TimelineInline(ReadOnlyInline):
    model = IncidentEvent
    fields = readonly_fields = ("created_at", "what")
    verbose_name_plural = "timeline"

    @admin.display(description="what happened")
    def what(self, event: IncidentEvent) -> str:
        return describe_event(event)

    def get_queryset(self, request: HttpRequest) -> QuerySet[IncidentEvent]:
        return super().get_queryset(request).select_related("actor")


ACTIONS = [
    ("", "(nothing)"),
    ("acknowledge", "Acknowledge (take command unless a commander is chosen)"),
    ("classify", "Classify: confirm severity, category and service"),
    ("commander", "Hand command to the chosen commander"),
    ("update", "Post a status update"),
    ("link", "Link tickets (references below)"),
    ("mitigate", "Mark mitigated"),
    ("resolve", "Resolve"),
    ("reopen", "Reopen"),
    ("publish", "Publish the post-mortem"),
]


def staff_users() -> QuerySet[Any]:
    return get_user_model().objects.filter(groups__name__in=STAFF_ROLES, is_active=True).distinct()


class IncidentActForm(forms.ModelForm):
    """The incident's page: what to do and what it needs. save_model runs the chosen flow."""

    act = forms.ChoiceField(choices=ACTIONS, required=False, label="Act")
    new_commander = forms.ModelChoiceField(queryset=staff_users(), required=False,
                                           label="Commander")
    new_severity = forms.ChoiceField(choices=Incident.Severity.choices, required=False,
                                     label="Severity")
    new_category = forms.ModelChoiceField(queryset=Category.objects.filter(is_active=True),
                                          required=False, label="Category")
    new_service = forms.CharField(max_length=100, required=False, label="Service")
    update_body = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False,
                                  label="Update")
    update_public = forms.BooleanField(
        required=False, initial=True,
        label="Public (relayed to linked tickets' customers; keeps the update cadence)",
    )
    tickets = forms.CharField(required=False, label="Ticket references",
                              help_text="Separated by spaces or commas, e.g. SB-ABCDE-12345")
    resolve_tickets = forms.BooleanField(required=False,
                                         label="Also resolve the linked open tickets")
    note = forms.CharField(required=False, label="Note or reason")

    class Meta:
        model = Incident
        fields: list[str] = []

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        act = data.get("act")
        if act == "update" and not (data.get("update_body") or "").strip():
            self.add_error("update_body", "Write the update.")
        if act == "commander" and data.get("new_commander") is None:
            self.add_error("new_commander", "Choose the commander.")
        if act == "link":
            refs = [r for r in (data.get("tickets") or "").replace(",", " ").split() if r]
            found = list(Ticket.objects.filter(reference__in=refs))
            missing = sorted(set(refs) - {t.reference for t in found})
            if not refs or missing:
                self.add_error("tickets", f"Unknown references: {', '.join(missing)}"
                               if missing else "Give at least one ticket reference.")
            data["ticket_objects"] = found
        return data


class SeverityOrder(admin.SimpleListFilter):
    title = "open"
    parameter_name = "open"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("yes", "Open"), ("no", "Closed")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Incident]) -> QuerySet[Incident]:
        if self.value() == "yes":
            return queryset.filter(status__in=Incident.OPEN_STATUSES)
        if self.value() == "no":
            return queryset.exclude(status__in=Incident.OPEN_STATUSES)
        return queryset


@admin.register(Incident)
class IncidentAdmin(admin.ModelAdmin):
    form = IncidentActForm
    list_display = ["reference", "title", "severity", "status", "service", "commander",
                    "source", "detected_at", "resolved_at"]
    list_filter = [SeverityOrder, "status", "severity", "source"]
    search_fields = ["reference", "title", "service", "dedup_key"]
    list_select_related = ["commander"]
    show_full_result_count = False
    readonly_fields = [
        "reference", "title", "description", "severity", "status", "source", "service",
        "component", "commander", "category", "dedup_key", "runbook", "started_at",
        "detected_at", "classified_at", "acknowledged_at", "mitigated_at", "resolved_at",
        "postmortem_published_at", "reopened_count", "stage_clocks", "postmortem_document",
    ]
    fieldsets = [
        (None, {"fields": [("reference", "severity", "status", "source"), "title",
                           "description", ("service", "component", "category"),
                           ("commander", "dedup_key"), "runbook"]}),
        ("Stages", {"fields": [("started_at", "detected_at", "classified_at"),
                               ("acknowledged_at", "mitigated_at", "resolved_at"),
                               ("postmortem_published_at", "reopened_count"),
                               "stage_clocks"]}),
        ("Act", {"fields": ["act", ("new_commander", "new_severity", "new_category",
                                    "new_service"), ("update_body", "update_public"),
                            "tickets", "resolve_tickets", "note"]}),
        ("Post-mortem", {"fields": ["postmortem_document"], "classes": ["collapse"]}),
    ]
    inlines = [UpdateInline, LinkInline, AlertInline, TimelineInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Incident]:
        # Open incidents first, most severe first, newest first.
        open_first = Case(When(status__in=Incident.OPEN_STATUSES, then=Value(0)), default=1,
                          output_field=IntegerField())
        return super().get_queryset(request).order_by(open_first, "severity", "-created_at")

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # incidents are records

    @admin.display(description="runbook")
    def runbook(self, incident: Incident) -> str:
        if not incident.runbook_url:
            return "-"
        return format_html('<a href="{}" rel="noopener">{}</a>', incident.runbook_url,
                           incident.runbook_url)

    @admin.display(description="stage clocks")
    def stage_clocks(self, incident: Incident) -> str:
        return render_clocks(incident_id=incident.pk)

    @admin.display(description="post-mortem (Markdown)")
    def postmortem_document(self, incident: Incident) -> str:
        if incident.pk is None:
            return "-"
        return format_html("<pre style='white-space: pre-wrap'>{}</pre>",
                           postmortem.render_markdown(incident))

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # opened over the API (staff or integrations) so clocks start right

    def save_model(self, request: HttpRequest, obj: Incident, form: Any, change: bool) -> None:
        data, actor = form.cleaned_data, signed_in_user(request)
        act = data.get("act")
        try:
            if act == "acknowledge":
                flows.acknowledge(incident=obj, actor=actor, commander=data["new_commander"])
            elif act == "classify":
                flows.classify(incident=obj, actor=actor,
                               severity=data["new_severity"] or None,
                               category=data["new_category"] or flows.UNCHANGED,
                               service=data["new_service"] or None)
            elif act == "commander":
                flows.set_commander(incident=obj, actor=actor, commander=data["new_commander"])
            elif act == "update":
                flows.post_update(incident=obj, author=actor, body=data["update_body"],
                                  public=data["update_public"])
            elif act == "link":
                linking.link_tickets(incident=obj, tickets=data["ticket_objects"], actor=actor)
            elif act == "mitigate":
                flows.mitigate(incident=obj, actor=actor)
            elif act == "resolve":
                _, warnings = flows.resolve(incident=obj, actor=actor, note=data["note"],
                                            resolve_tickets=data["resolve_tickets"])
                for warning in warnings:
                    self.message_user(request, warning, messages.WARNING)
            elif act == "reopen":
                flows.reopen(incident=obj, actor=actor, reason=data["note"])
            elif act == "publish":
                postmortem.publish_postmortem(incident=obj, actor=actor)
        except (IncidentStateError, IntegrityError) as exc:
            self.message_user(request, str(exc), messages.ERROR)


class ActionItemInline(admin.TabularInline):
    model = ActionItem
    extra = 1
    fields = ["description", "owner", "due_date", "done"]

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any
                                 ) -> Any:
        if db_field.name == "owner":
            kwargs["queryset"] = staff_users()
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


@admin.register(PostMortem)
class PostMortemAdmin(admin.ModelAdmin):
    """Writing the post-mortem; publishing is an action on the incident's page."""

    list_display = ["incident", "author", "updated_at", "published_at"]
    list_select_related = ["incident", "author"]
    fields = ["incident", *postmortem.TEXT_FIELDS, "published_at", "impact_figures"]
    readonly_fields = ["incident", "published_at", "impact_figures"]
    inlines = [ActionItemInline]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # started from the incident (API PUT, or the save below on an existing one)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="impact (computed)")
    def impact_figures(self, pm: PostMortem) -> str:
        figures = postmortem.impact(pm.incident)
        return format_html_join(", ", "{}: {}", ((k.replace("_", " "), v)
                                                for k, v in figures.items()))

    def save_model(self, request: HttpRequest, obj: PostMortem, form: Any, change: bool) -> None:
        fields = {name: form.cleaned_data[name] for name in postmortem.TEXT_FIELDS
                  if name in form.changed_data}
        postmortem.save_postmortem(incident=obj.incident, author=signed_in_user(request),
                                   fields=fields)
