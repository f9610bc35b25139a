from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from tickets.api.authentication import revoke_tokens


class Command(BaseCommand):
    help = "Revoke every API token of a user (they answer 401 from the next request on)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")

    def handle(self, *args: Any, username: str, **options: Any) -> None:
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user {username!r}.")
        self.stdout.write(f"Revoked {revoke_tokens(user)} token(s) of {username!r}.")
