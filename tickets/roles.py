"""Roles are Django groups. Each app declares on its AppConfig which model permissions each
role gets (`role_permissions = {"agent": ["view_ticket", ...]}`); sync_roles() makes the groups
match, after every migrate and from create_api_user."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from django.apps import apps
from django.contrib.auth.models import Group, Permission, User
from django.db.models import Q

if TYPE_CHECKING:
    from django.http import HttpRequest
    from rest_framework.request import Request

CUSTOMER = "customer"
AGENT = "agent"
MANAGER = "manager"
INTEGRATION = "integration"
ROLES = (CUSTOMER, AGENT, MANAGER, INTEGRATION)
STAFF_ROLES = (AGENT, MANAGER)


def sync_roles() -> None:
    for role in ROLES:
        group, _ = Group.objects.get_or_create(name=role)
        wanted = Q(pk__in=[])
        for config in apps.get_app_configs():
            codenames = getattr(config, "role_permissions", {}).get(role, [])
            if codenames:
                wanted |= Q(content_type__app_label=config.label, codename__in=codenames)
        group.permissions.set(Permission.objects.filter(wanted))


def sync_roles_after_migrate(sender: Any, **kwargs: Any) -> None:
    # post_migrate fires once per app, each after that app's permissions exist; syncing every
    # time is cheap and means no app's permissions are missed whatever the order.
    sync_roles()


# When a user has several role groups, the first listed wins.
ROLE_PRECEDENCE = (MANAGER, AGENT, INTEGRATION, CUSTOMER)
_ROLE_ATTR = "_switchboard_role"


def remember_role(user: Any, role: str | None) -> None:
    """Cache a role looked up elsewhere (the API's token query fetches it with the user)."""
    setattr(user, _ROLE_ATTR, role)


def role_of(user: Any) -> str | None:
    """The user's role: the first of ROLE_PRECEDENCE among their groups, or None."""
    if not user or not user.is_authenticated:
        return None
    if not hasattr(user, _ROLE_ATTR):
        names = {g.name for g in user.groups.all()}
        remember_role(user, next((r for r in ROLE_PRECEDENCE if r in names), None))
    return getattr(user, _ROLE_ATTR)


def signed_in_user(request: HttpRequest | Request) -> User:
    """`request.user` typed as a user, for views that only signed-in users reach: the admin
    (staff login) and API views whose permission classes demand a role (anonymous has none).
    A static narrowing only: nothing is checked at run time."""
    return cast(User, request.user)
