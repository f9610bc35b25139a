"""Demo data on any database, idempotent: running it again adds nothing that is already there.

Staff and customers, the categories of the shipped ticket sample, and
a few hundred tickets submitted through the real intake flow (so they are classified, routed
and clocked exactly as API tickets are). Descriptions are real (CC0) support tickets from
classifier/data; subjects are readable ones made up per category.

Passwords: with DJANGO_DEBUG on (the demo) new users get the known DEMO_PASSWORD that dev.py
prints. Otherwise a database may be reachable by others, so each new user gets a random password,
printed once, unless `--i-know` asks for the known one anyway."""

from __future__ import annotations

import csv
import random
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
from tickets import flows
from tickets.models import Category, Ticket
from tickets.roles import AGENT, CUSTOMER, MANAGER, sync_roles

DEMO_PASSWORD = "switchboard-demo"  # noqa: S105 - printed by dev.py demo; demo data only
SAMPLE = Path(settings.BASE_DIR) / "classifier" / "data" / "it_tickets_sample.csv"

SUBJECTS = {
    "Hardware": ["Laptop will not start", "Second monitor flickers", "Docking station dead",
                 "Keyboard keys stuck", "Headset microphone not working"],
    "HR Support": ["Timecard approval error", "Cannot submit holiday request",
                   "Payslip not visible", "Relocation paperwork question"],
    "Access": ["Cannot log in to the VPN", "Password reset needed",
               "Need access to the shared drive", "Account locked after update"],
    "Miscellaneous": ["Question about the new process", "Meeting room display",
                      "General request", "Please advise"],
    "Storage": ["Mailbox almost full", "Shared drive quota exceeded",
                "Restore a deleted folder", "Need more disk space"],
    "Purchase": ["Order a new laptop", "Software licence purchase",
                 "Purchase order approval", "Quote for monitors"],
    "Internal Project": ["Project workspace setup", "Add me to the project board",
                         "Project reporting issue"],
    "Administrative rights": ["Need admin rights to install software",
                              "Local admin request", "Elevated rights expired"],
}
PRIORITIES = ["low"] * 2 + ["normal"] * 6 + ["high"] * 2 + ["urgent"]


class Command(BaseCommand):
    help = "Create demo users, categories and tickets (idempotent)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tickets", type=int, default=300)
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
        with surge.suspended():  # a bulk load of history is not an arrival rate
            made = self._tickets(people, rows, tickets)
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

    def _tickets(self, people: list[Any], rows: list[tuple[str, str]], wanted: int) -> int:
        existing = Ticket.objects.filter(customer__in=people).count()
        rng = random.Random(42 + existing)  # deterministic, and different on top-ups
        for _ in range(max(0, wanted - existing)):
            text, label = rng.choice(rows)
            subject = rng.choice(SUBJECTS.get(label, ["Support request"]))
            flows.submit_ticket(
                customer=rng.choice(people),
                subject=subject,
                description=text[: settings.TICKET_DESCRIPTION_MAX],
                priority=rng.choice(PRIORITIES),
                channel=rng.choice([Ticket.Channel.API, Ticket.Channel.WEB, Ticket.Channel.EMAIL]),
            )
        return max(0, wanted - existing)
