from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction
from rest_framework.authtoken.models import Token

from tickets.roles import ROLES, STAFF_ROLES, sync_roles


class Command(BaseCommand):
    help = "Create (or reuse) a user with a role and print its API token on the last line."

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
        token, _ = Token.objects.get_or_create(user=user)
        verb = "Created" if created else "Reused"
        self.stdout.write(f"{verb} {role} {username!r}. API token:")
        self.stdout.write(token.key)
