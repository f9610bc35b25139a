from __future__ import annotations

from typing import Any

import factory

from routing.models import AgentProfile, AgentSkill, Skill
from tests.tickets.factories import CategoryFactory, UserFactory


class SkillFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Skill
        django_get_or_create = ("slug",)

    slug = factory.Sequence(lambda n: f"skill-{n}")
    name = factory.LazyAttribute(lambda s: s.slug.title())


class AgentProfileFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AgentProfile

    user = factory.SubFactory(UserFactory, is_staff=True)
    capacity = 2
    tier = 1
    availability = AgentProfile.Availability.AVAILABLE


class AgentSkillFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AgentSkill

    agent = factory.SubFactory(AgentProfileFactory)
    skill = factory.SubFactory(SkillFactory)
    level = 3


def make_agent(username: str, skills: dict[str, int] | None = None, **fields: Any) -> AgentProfile:
    """An available agent (capacity 2, tier 1 unless told) with {skill slug: level}."""
    profile = AgentProfileFactory(user=UserFactory(username=username, is_staff=True), **fields)
    for slug, level in (skills or {}).items():
        AgentSkillFactory(agent=profile, skill=SkillFactory(slug=slug), level=level)
    return profile


def category_for(skill: str) -> Any:
    """A category whose tickets need `skill`."""
    return CategoryFactory(slug=f"cat-{skill}", name=f"Category {skill}", skill=skill)
