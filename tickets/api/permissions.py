from __future__ import annotations

from typing import Any

from rest_framework.permissions import BasePermission

from tickets.roles import CUSTOMER, STAFF_ROLES, role_of


def request_role(request: Any) -> str | None:
    """The caller's role: fetched with the token (TokenWithRoleAuthentication) or looked up
    once for session users, then cached on the user object."""
    return role_of(request.user)


class TicketRolePermission(BasePermission):
    """Customers work on their own tickets, agents and managers on all; integrations and users
    without a role have no business here (403). Object scoping is done by the queryset, so
    another customer's ticket is a 404, never a 403 that would confirm it exists."""

    message = "Your role does not allow this."

    def has_permission(self, request: Any, view: Any) -> bool:
        role = request_role(request)
        if view.action == "create":
            return role == CUSTOMER
        return role == CUSTOMER or role in STAFF_ROLES
