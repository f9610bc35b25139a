"""What an escalation does to its subject belongs to the subject's app, not to sla.

The watcher (sla.watcher) decides *that* a level is reached and records it exactly once; what
it means for a ticket (priority bump, reassignment through routing, timeline events) or an
incident (timeline events, who gets paged) is done by the handler the subject's app registered
here: tickets on the tickets edge (tickets.escalation), incidents in incidents.escalation. Both
register from their AppConfig.ready(), so sla imports neither of them, nor routing.

A handler works on a whole batch at once (set-based writes: one UPDATE per kind of change and
one INSERT per table, whatever the batch size) inside the watcher's transaction: its writes
commit iff the escalations do.

Pass hooks are functions the watcher command runs after every pass (the routing queue's
safety net is one, registered by the tickets edge); a failing hook is logged and never stops
escalation."""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from django.conf import settings
from django.contrib.auth import get_user_model

from sla.models import Escalation, SlaClock
from tickets.roles import MANAGER

log = logging.getLogger(__name__)


@dataclass
class Reached:
    """One escalation level just reached by one clock, handed to the subject's handler, which
    fills in what it did (`escalation.actions`) and who is told (`recipients`: e-mail
    addresses; None leaves the choice to sla.notifications' default, the managers)."""

    clock: SlaClock
    escalation: Escalation
    subject: Any
    recipients: list[str] | None = None


@dataclass
class Audience:
    """Lookups handlers need for recipients, made at most once per batch."""

    _managers: list[str] | None = field(default=None, init=False)

    def managers(self) -> list[str]:
        if self._managers is None:
            self._managers = sorted(
                get_user_model()
                .objects.filter(groups__name=MANAGER, is_active=True)
                .exclude(email="")
                .values_list("email", flat=True)
            )
        return self._managers

    def oncall(self) -> list[str]:
        """Who is paged: SLA_ONCALL_EMAILS, else the managers."""
        return list(settings.SLA_ONCALL_EMAILS) or self.managers()


class SubjectHandler(Protocol):
    kind: str  # "ticket" or "incident": SlaClock.subject_kind

    def lock(self, ids: Collection[int]) -> Mapping[int, Any]:
        """Lock the subjects' rows with SKIP LOCKED and return those locked, by id. A subject
        busy in a request is left out: its clocks are retried at the next pass (waiting could
        deadlock with a flow that holds the subject and waits for one of our clocks). A
        subject that no longer exists may map to None: its clocks escalate without effects."""
        ...

    def apply(self, reached: list[Reached], *, now: datetime, audience: Audience) -> None:
        """Apply the effects of the levels reached (in clock order), in the caller's
        transaction. Superseded warnings are not passed in."""
        ...

    def describe(self, subject: Any) -> dict[str, Any]:
        """The subject as notifications show it: type, id, reference, title, url, ..."""
        ...


_handlers: dict[str, SubjectHandler] = {}
_pass_hooks: dict[str, Callable[[], Any]] = {}


def register(handler: SubjectHandler) -> None:
    _handlers[handler.kind] = handler


def handler_for(kind: str) -> SubjectHandler | None:
    return _handlers.get(kind)


def register_pass_hook(name: str, hook: Callable[[], Any]) -> None:
    """Run `hook()` after every watcher pass (idempotent by name)."""
    _pass_hooks[name] = hook


def run_pass_hooks() -> None:
    for name, hook in list(_pass_hooks.items()):
        try:
            hook()
        except Exception:  # another app's failure must not stop SLA escalations
            log.exception("SLA pass hook %s failed", name)
