from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction

from tickets.api.authentication import issue_token
from tickets.roles import ROLES, STAFF_ROLES, sync_roles


class Command(BaseCommand):
    help = (
        "Create (or reuse) a user with a role, issue a new API token and print it on the last "
        "line. Only a digest is stored: the token is shown this once. Earlier tokens stay valid "
        "until they expire or are revoked (revoke_api_tokens)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--role", required=True, choices=ROLES)
        parser.add_argument("--email", default="")

    @transaction.atomic
    def handle(self, *args: Any, username: str, role: str, email: str, **options: Any) -> None:
        sync_roles()
        user, created = get_user_model().objects.get_or_create(
            username=username, defaults={"email": email}
        )
        if created:
            user.set_unusable_password()
        # Agents and managers work in the admin, which needs is_staff; nobody else gets it.
        user.is_staff = role in STAFF_ROLES
        user.save()
        user.groups.set([Group.objects.get(name=role)])
        row, token = issue_token(user)
        verb = "Created" if created else "Reused"
        expires = f"expires {row.expiry:%Y-%m-%d %H:%M} UTC" if row.expiry else "never expires"
        self.stdout.write(f"{verb} {role} {username!r}. New API token ({expires}):")
        self.stdout.write(token)
