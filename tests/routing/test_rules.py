"""The pure ranking and explanation rules (no database)."""

from __future__ import annotations

from datetime import UTC, datetime

from routing import rules
from routing.rules import Candidate, Pool


def cand(agent_id: int, load: int, capacity: int, level: int = 3, last: datetime | None = None):
    return Candidate(agent_id, f"a{agent_id}", load, capacity, level, 1, last)


def test_it_names_the_rule_that_separated_the_best_two():
    early, late = datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 2, tzinfo=UTC)
    assert rules.deciding_rule([cand(1, 0, 2)]) == rules.RULE_ONLY
    assert rules.deciding_rule([cand(1, 1, 4), cand(2, 1, 2)]) == rules.RULE_LOAD
    assert rules.deciding_rule([cand(1, 1, 2, 5), cand(2, 2, 4, 3)]) == rules.RULE_LEVEL
    assert rules.deciding_rule([cand(1, 0, 2, 3, early), cand(2, 0, 2, 3, late)]) == (
        rules.RULE_WAITED
    )
    assert rules.deciding_rule([cand(1, 0, 2, 3, None), cand(2, 0, 2, 3, late)]) == (
        rules.RULE_WAITED
    )
    assert rules.deciding_rule([cand(1, 0, 2), cand(2, 0, 2)]) == rules.RULE_ORDER


def test_it_ranks_by_ratio_then_level_then_wait():
    late = datetime(2026, 1, 2, tzinfo=UTC)
    pool = [cand(1, 1, 2, 5), cand(2, 1, 4), cand(3, 1, 4, 4, late), cand(4, 1, 4, 4)]
    assert [c.agent_id for c in sorted(pool, key=rules.rank_key)] == [4, 3, 2, 1]


def test_it_takes_the_higher_of_the_priority_rule_and_the_callers_tier():
    by_priority = {"urgent": 2}
    assert rules.required_tier(priority="normal", min_tier=None, by_priority=by_priority) == 1
    assert rules.required_tier(priority="urgent", min_tier=None, by_priority=by_priority) == 2
    assert rules.required_tier(priority="urgent", min_tier=3, by_priority=by_priority) == 3


def test_it_explains_why_nobody_was_eligible():
    assert rules.queued_reason(skill="net", min_tier=1, pool=Pool())[0] == rules.RULE_NO_SKILL
    _, why = rules.queued_reason(skill="net", min_tier=1, pool=Pool(with_skill=2))
    assert why == "2 agent(s) have skill 'net'; none is available"
    _, why = rules.queued_reason(skill="net", min_tier=1, pool=Pool(2, available=2))
    assert "all at capacity" in why
    _, why = rules.queued_reason(skill="net", min_tier=2, pool=Pool(2, 2, with_room=1))
    assert "none of tier >= 2" in why
