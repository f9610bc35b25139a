"""Demo data on any database, idempotent: running it again adds nothing that is already there.

Staff and customers with known demo passwords, the categories of the shipped ticket sample (its
CC0 texts train the demo's classifier), and a 30-day history of readable tickets (desk.demo)
replayed through the real flows at past instants: classified, routed, answered, breached,
escalated, resolved and rated, so the queue, the ticket pages and the SLA report have data at
first sight. `--tickets 0` creates users, team and model only (fast).

Passwords: with DJANGO_DEBUG on (the demo) new users get the known DEMO_PASSWORD that dev.py
prints. Otherwise a database may be reachable by others, so each new user gets a random password,
printed once, unless `--i-know` asks for the known one anyway."""

from __future__ import annotations

import csv
import secrets
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandParser
from django.utils.text import slugify

from classifier.services import ensure_demo_model
from incidents import surge
from incidents.demo import seed_incidents
from routing.demo import seed_team
from tickets.models import Category, Ticket
from tickets.roles import AGENT, CUSTOMER, MANAGER, sync_roles

DEMO_PASSWORD = "switchboard-demo"  # noqa: S105 - printed by dev.py demo; demo data only
SAMPLE = Path(settings.BASE_DIR) / "classifier" / "data" / "it_tickets_sample.csv"

class Command(BaseCommand):
    help = "Create demo users, categories and tickets (idempotent)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tickets", type=int, default=200,
                            help="tickets in the replayed history (0: none)")
        parser.add_argument("--days", type=int, default=30, help="length of the history")
        parser.add_argument("--customers", type=int, default=20)
        parser.add_argument("--agents", type=int, default=6)
        parser.add_argument("--agent-capacity", type=int, default=10)
        parser.add_argument(
            "--i-know",
            action="store_true",
            help=f"use the known password {DEMO_PASSWORD!r} even with DEBUG off",
        )

    def handle(
        self,
        *args: Any,
        tickets: int,
        customers: int,
        agents: int,
        agent_capacity: int,
        days: int,
        i_know: bool = False,
        **options: Any,
    ) -> None:
        self.known_password = settings.DEBUG or i_know
        self.generated: list[tuple[str, str]] = []
        sync_roles()
        staff = self._users(AGENT, [f"agent{i}" for i in range(1, agents + 1)], staff=True)
        manager = self._users(MANAGER, ["manager"], staff=True)
        people = self._users(CUSTOMER, [f"customer{i}" for i in range(1, customers + 1)])
        rows = self._sample()
        categories = self._categories(sorted({label for _, label in rows}))
        # Agents with skills covering every category, and a classifier trained on the shipped
        # sample, before any ticket arrives: demo tickets are then classified and routed.
        seed_team(staff=staff, categories=categories.values(), capacity=agent_capacity)
        ensure_demo_model(SAMPLE)
        with surge.suspended():  # a replayed history is not an arrival rate
            made = self._history(people, staff, categories, tickets, days)
        incidents = seed_incidents(staff=staff, manager=manager[0]) if tickets else 0
        self.stdout.write(
            f"Demo data ready: {len(staff)} agents, 1 manager, {len(people)} customers, "
            f"{len(categories)} categories, {made} new tickets "
            f"({Ticket.objects.count()} in total), {incidents} new incidents."
        )
        if self.generated:
            self.stdout.write("New users' passwords (shown once; DEBUG is off):")
            for name, password in self.generated:
                self.stdout.write(f"  {name} {password}")

    def _users(self, role: str, names: list[str], *, staff: bool = False) -> list[Any]:
        group = Group.objects.get(name=role)
        users = []
        for name in names:
            user, created = get_user_model().objects.get_or_create(
                username=name, defaults={"email": f"{name}@example.com", "is_staff": staff}
            )
            if created:
                password = DEMO_PASSWORD
                if not self.known_password:
                    password = secrets.token_urlsafe(12)
                    self.generated.append((name, password))
                user.set_password(password)
                user.save(update_fields=["password"])
            user.groups.add(group)
            users.append(user)
        return users

    def _sample(self) -> list[tuple[str, str]]:
        with SAMPLE.open(newline="", encoding="utf-8") as fh:
            return [(row["text"], row["label"]) for row in csv.DictReader(fh)]

    def _categories(self, labels: list[str]) -> dict[str, Category]:
        out = {}
        for label in labels:
            slug = slugify(label)
            out[label], _ = Category.objects.get_or_create(
                slug=slug, defaults={"name": label, "skill": slug}
            )
        return out

    def _history(self, people: list[Any], staff: list[Any], categories: dict[str, Category],
                 wanted: int, days: int) -> int:
        """Replay the history once: not again when the demo customers already have tickets."""
        if wanted <= 0 or Ticket.objects.filter(customer__in=people).exists():
            return 0
        from desk.demo.history import replay_history

        self.stdout.write(f"Replaying {days} days of history ({wanted} tickets, about a "
                          "minute)...")
        stats = replay_history(customers=people, agents=staff, categories=categories,
                               tickets=wanted, days=days)
        self.stdout.write("History: " + ", ".join(f"{n} {what}" for what, n in stats.items()))
        return stats.get("tickets", 0)
