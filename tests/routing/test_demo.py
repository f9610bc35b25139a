from __future__ import annotations

import pytest

from routing.demo import seed_team
from routing.models import AgentProfile, AgentSkill
from tests.routing.factories import category_for
from tests.tickets.factories import UserFactory


@pytest.mark.django_db
def test_it_seeds_a_team_covering_every_category_idempotently():
    categories = [category_for(s) for s in ("access", "hardware", "storage", "purchase")]
    staff = [UserFactory(username=f"agent{i}", is_staff=True) for i in range(4)]

    assert seed_team(staff=staff, categories=categories) == 4
    assert seed_team(staff=staff, categories=categories) == 0

    assert AgentProfile.objects.filter(availability="available").count() == 4
    held = set(AgentSkill.objects.values_list("skill__slug", flat=True))
    assert held == {"access", "hardware", "storage", "purchase"}
