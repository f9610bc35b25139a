"""Demo team for seed_demo: a profile per staff user, with skills covering every category.
Idempotent: existing profiles and skills are left as they are."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import transaction

from routing import services
from routing.models import AgentProfile, AgentSkill, Skill
from tickets.models import Category


def seed_team(*, staff: list[Any], categories: Iterable[Category], capacity: int = 10) -> int:
    """Agent i gets tier 1 + i % 3 and three consecutive skills (levels 2-5), so every category
    has a holder when there are at least a third as many agents as categories.
    Everyone starts available and picks up queued tickets at once. Returns profiles created."""
    skills = []
    for category in categories:
        skill, _ = Skill.objects.get_or_create(
            slug=category.skill, defaults={"name": category.name}
        )
        skills.append(skill)
    created = 0
    with transaction.atomic():
        for i, user in enumerate(staff):
            profile, new = AgentProfile.objects.get_or_create(
                user=user,
                defaults={"capacity": capacity, "tier": 1 + i % 3, "availability": "available"},
            )
            created += new
            for j in range(min(3, len(skills))):
                AgentSkill.objects.get_or_create(
                    agent=profile, skill=skills[(i + j) % len(skills)],
                    defaults={"level": 2 + (i + j) % 4},
                )
    services.dispatch_all()
    return created
