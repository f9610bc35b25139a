"""The agents' queue. Writes go through tickets.flows so the admin records the same timeline
events as the API; the timeline itself is read-only."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ActionForm
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

from desk import ticket_page
from routing.models import AgentProfile
from routing.services import RoutingError
from tickets import flows
from tickets.models import Category, Ticket
from tickets.roles import signed_in_user
from tickets.services import TicketStateError


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "skill", "is_active"]
    list_filter = ["is_active"]
    search_fields = ["name", "slug", "skill"]
    prepopulated_fields = {"slug": ["name"]}


class TicketAdminForm(forms.ModelForm):
    """The ticket's own fields plus the agent's actions on it: a status change and a reply or
    internal note. save_model hands all of it to tickets.flows.edit_ticket."""

    reply = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 6, "cols": 90, "placeholder": "Write to the customer "
                                     "(plain text), or tick \u201cinternal note\u201d"}),
        required=False, label="Reply",
    )
    reply_internal = forms.BooleanField(
        required=False, label="Internal note (never shown to the customer)"
    )
    new_status = forms.ChoiceField(
        choices=[("", "(unchanged)"), *Ticket.Status.choices], required=False,
        label="Then set status",
    )
    assign_over_capacity = forms.BooleanField(
        required=False, label="Assign even if over capacity (recorded)"
    )

    # Set per request by TicketAdmin.get_form: only managers may assign over capacity.
    may_overbook = False

    class Meta:
        model = Ticket
        fields = ["priority", "category", "assignee"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not self.may_overbook:  # a posted tick is ignored, not just hidden
            self.fields.pop("assign_over_capacity", None)
        if "assignee" in self.fields:  # only users with an agent profile take tickets
            field = self.fields["assignee"]
            # A foreign key's form field always has a queryset.
            assert isinstance(field, forms.ModelChoiceField) and field.queryset is not None
            field.queryset = field.queryset.filter(agent_profile__isnull=False)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        user = data.get("assignee")
        if user is not None and user.pk != self.instance.assignee_id and self.instance.is_open:
            profile = AgentProfile.objects.filter(user=user).first()
            full = profile is not None and profile.load >= profile.capacity
            if full and not self.may_overbook:
                assert profile is not None  # implied by full; for the message below
                self.add_error(
                    "assignee",
                    f"{user} is at capacity ({profile.load}/{profile.capacity}): only a "
                    "manager can assign over capacity.",
                )
            elif full and not data.get("assign_over_capacity"):
                assert profile is not None
                self.add_error(
                    "assign_over_capacity",
                    f"{user} is at capacity ({profile.load}/{profile.capacity}): tick to assign "
                    "anyway.",
                )
        return data


def may_overbook(request: HttpRequest) -> bool:
    """Assigning over capacity is a manager's call: who may change agents' capacity
    (routing.change_agentprofile, the manager role) may exceed it; agents may not, for anyone."""
    return request.user.has_perm("routing.change_agentprofile")


class TriageQueueFilter(admin.SimpleListFilter):
    """Open tickets the classifier was unsure about (or had no model for): an agent picks the
    category, helped by the model's top 3 guesses. Served by the partial index ticket_triage."""

    title = "queue"
    parameter_name = "queue"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("triage", "Triage (needs a category)")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Ticket]) -> QuerySet[Ticket]:
        if self.value() == "triage":
            return queryset.filter(needs_triage=True, status__in=Ticket.OPEN_STATUSES)
        return queryset


class TicketActionForm(ActionForm):
    """The changelist's action bar, plus the category the "Set category" action applies."""

    category = forms.ModelChoiceField(
        queryset=Category.objects.filter(is_active=True), required=False,
        label="Category (for Set category)",
    )


@admin.register(Ticket)
class TicketAdmin(admin.ModelAdmin):
    """The full ticket list (search, filters, bulk actions) and the ticket page. The agents'
    day-to-day list is the queue (desk.views.queue); the ticket page puts the conversation
    first, the reply box under it, and the SLA clocks, routing and timeline in words
    (desk.ticket_page)."""

    form = TicketAdminForm
    action_form = TicketActionForm
    change_form_template = "desk/ticket_change_form.html"
    list_display = [
        "reference", "subject", "status", "priority", "category", "assignee", "customer",
        "created_at", "needs_triage", "guesses",
    ]
    list_filter = [TriageQueueFilter, "status", "priority", "needs_triage", "category", "channel"]
    search_fields = ["reference", "subject", "customer__username", "customer__email"]
    list_select_related = ["category", "assignee", "customer"]
    raw_id_fields = ["customer"]
    date_hierarchy = "created_at"
    show_full_result_count = False  # no COUNT(*) over the whole table on every page
    readonly_fields = [
        "summary", "conversation", "sla_clocks", "routing_explanation", "model_guesses",
        "timeline",
    ]
    fieldsets = [
        (None, {"fields": ["summary"], "classes": ["desk-wide"]}),
        ("Conversation", {"fields": ["conversation"], "classes": ["desk-wide"]}),
        ("Reply", {"fields": ["reply", "reply_internal", "new_status"]}),
        ("Ticket", {"fields": [("priority", "category"), ("assignee", "assign_over_capacity")]}),
        ("SLA clocks", {"fields": ["sla_clocks"], "classes": ["desk-wide"]}),
        ("Routing", {"fields": ["routing_explanation", "model_guesses"]}),
        ("Timeline", {"fields": ["timeline"], "classes": ["desk-wide"]}),
    ]
    actions = ["mark_resolved", "mark_closed", "set_category"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Ticket]:
        return super().get_queryset(request).select_related("customer", "assignee", "category")

    @admin.display(description="")
    def summary(self, ticket: Ticket) -> str:
        return ticket_page.summary(ticket)

    @admin.display(description="")
    def conversation(self, ticket: Ticket) -> str:
        return ticket_page.conversation(ticket)

    @admin.display(description="Why it is here")
    def routing_explanation(self, ticket: Ticket) -> str:
        """Why the ticket is with its assignee (or waiting): the latest routing decision."""
        return ticket_page.routing_explanation(ticket)

    @admin.display(description="")
    def sla_clocks(self, ticket: Ticket) -> str:
        return ticket_page.clocks(ticket)

    @admin.display(description="")
    def timeline(self, ticket: Ticket) -> str:
        return ticket_page.timeline(ticket)

    def response_change(self, request: HttpRequest, obj: Ticket) -> HttpResponse:
        # An agent stays on the ticket after replying: they see the reply and the clocks move.
        if "_save" in request.POST or "_continue" in request.POST:
            self.message_user(request, f"{obj.reference} saved.", messages.SUCCESS)
            return redirect("admin:tickets_ticket_change", obj.pk)
        return super().response_change(request, obj)

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False,
                 **kwargs: Any) -> Any:
        form = super().get_form(request, obj, change=change, **kwargs)
        # modelform_factory made a fresh subclass of TicketAdminForm for this request.
        assert issubclass(form, TicketAdminForm)
        form.may_overbook = may_overbook(request)
        return form

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        fieldsets = super().get_fieldsets(request, obj)
        if may_overbook(request):
            return fieldsets

        def without(row: Any) -> Any:
            return tuple(f for f in row if f != "assign_over_capacity") if isinstance(
                row, tuple) else row

        # Agents' form has no over-capacity tick (TicketAdminForm): neither has their page.
        return [(name, {**options, "fields": [without(row) for row in options["fields"]]})
                for name, options in fieldsets]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # tickets arrive through the API (and its intake flow)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # tickets are records: close them, never delete them

    @admin.display(description="model's guesses")
    def guesses(self, obj: Ticket) -> str:
        """The classifier's top 3, readable: "access 62% · hardware 21% · storage 9%"."""
        return " · ".join(f"{slug} {p:.0%}" for slug, p in obj.category_guesses or []) or "-"

    @admin.display(description="Model's guesses")
    def model_guesses(self, obj: Ticket) -> str:
        """The same on the ticket page, in words."""
        return ticket_page.guesses(obj)

    def save_model(self, request: HttpRequest, obj: Ticket, form: Any, change: bool) -> None:
        data = form.cleaned_data
        try:
            flows.edit_ticket(
                ticket=obj,
                actor=signed_in_user(request),
                priority=data["priority"],
                category=data["category"],
                status=data["new_status"] or None,
                reply=data["reply"],
                internal=data["reply_internal"],
                assignee=data.get("assignee", flows.UNCHANGED),
                over_capacity_ok=data.get("assign_over_capacity", False),
            )
        except (TicketStateError, RoutingError) as exc:
            self.message_user(request, str(exc), messages.ERROR)

    def _set_status(self, request: HttpRequest, queryset: QuerySet[Ticket], status: str) -> None:
        done, refused = 0, 0
        for ticket in queryset:
            try:
                flows.update_status(ticket=ticket, status=status, actor=signed_in_user(request))
                done += 1
            except TicketStateError:
                refused += 1
        self.message_user(request, f"{done} ticket(s) now {status}.", messages.SUCCESS)
        if refused:
            self.message_user(
                request, f"{refused} ticket(s) cannot become {status}.", messages.WARNING
            )

    @admin.action(description="Mark selected tickets resolved", permissions=["change"])
    def mark_resolved(self, request: HttpRequest, queryset: QuerySet[Ticket]) -> None:
        self._set_status(request, queryset, Ticket.Status.RESOLVED)

    @admin.action(description="Close selected tickets", permissions=["change"])
    def mark_closed(self, request: HttpRequest, queryset: QuerySet[Ticket]) -> None:
        self._set_status(request, queryset, Ticket.Status.CLOSED)

    @admin.action(description="Set category (confirmed label)", permissions=["change"])
    def set_category(self, request: HttpRequest, queryset: QuerySet[Ticket]) -> None:
        """Agents' bulk categorization: each ticket's category is confirmed by a human, which
        is what the classifier's next training learns from (see classifier.services)."""
        try:  # only this field: the bar's "action" choices are filled in by the changelist
            category = TicketActionForm.base_fields["category"].clean(request.POST.get("category"))
        except forms.ValidationError:
            category = None
        if category is None:
            self.message_user(request, "Choose a category to set.", messages.ERROR)
            return
        for ticket in queryset:
            flows.recategorize(ticket=ticket, category=category, actor=signed_in_user(request))
        self.message_user(
            request, f"{len(queryset)} ticket(s) now in {category.name}.", messages.SUCCESS
        )
