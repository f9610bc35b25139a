"""The routing rules as pure functions: ranking, the tier requirement, and the one-line
explanations stored with each decision. No Django, no ORM: the candidate query in
routing.services orders rows the same way (see `rank_key`), these functions say why.

Ranking, best first:
1. least loaded relative to capacity (load / capacity, compared exactly as fractions);
2. tie: higher skill level;
3. tie: waited longest since their last assignment (never assigned = waited longest);
4. tie: lowest profile id (deterministic, so tests and replays are stable)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from fractions import Fraction
from typing import Any

RULE_ONLY = "only eligible agent"
RULE_LOAD = "least loaded relative to capacity"
RULE_LEVEL = "tie: higher skill level"
RULE_WAITED = "tie: waited longest"
RULE_ORDER = "tie: first registered"
RULE_FALLBACK = "best candidates filled up meanwhile: next best"
RULE_MANUAL = "manual assignment"
RULE_MANUAL_OVER = "manual assignment over capacity (confirmed)"
RULE_REOPEN = "reopened: stays with its assignee"
RULE_NO_CATEGORY = "no category yet"
RULE_NO_SKILL = "no agent has the skill"
RULE_NOBODY = "no eligible agent"
RULE_UNASSIGNED = "unassigned"

_NEVER = datetime.min.replace(tzinfo=UTC)  # never assigned sorts as waited longest


@dataclass(frozen=True)
class Candidate:
    agent_id: int
    username: str
    load: int
    capacity: int
    level: int
    tier: int
    last_assigned_at: datetime | None

    @property
    def ratio(self) -> Fraction:
        return Fraction(self.load, self.capacity) if self.capacity else Fraction(1)

    def as_json(self) -> dict[str, Any]:
        row = asdict(self)
        row["last_assigned_at"] = (
            self.last_assigned_at.isoformat() if self.last_assigned_at else None
        )
        return row


def rank_key(c: Candidate) -> tuple[Fraction, int, datetime, int]:
    """Sort key, best first (mirrors the ORDER BY of the candidate query)."""
    return (c.ratio, -c.level, c.last_assigned_at or _NEVER, c.agent_id)


def required_tier(
    *, priority: str, min_tier: int | None, by_priority: Mapping[str, int]
) -> int:
    """The tier an agent needs: the priority's rule (configured) or the caller's requirement
    (incidents, escalation), whichever is higher."""
    return max(1, by_priority.get(priority, 1), min_tier or 1)


def deciding_rule(ranked: list[Candidate]) -> str:
    """Which rule separated the best candidate from the runner-up."""
    if len(ranked) < 2:
        return RULE_ONLY
    best, second = ranked[0], ranked[1]
    if best.ratio != second.ratio:
        return RULE_LOAD
    if best.level != second.level:
        return RULE_LEVEL
    if (best.last_assigned_at or _NEVER) != (second.last_assigned_at or _NEVER):
        return RULE_WAITED
    return RULE_ORDER


def explain_assignment(chosen: Candidate, rule: str, *, considered: int) -> str:
    waited = (
        f"last assigned {chosen.last_assigned_at:%Y-%m-%d %H:%M}"
        if chosen.last_assigned_at
        else "never assigned before"
    )
    return (
        f"{chosen.username}: {rule} (load {chosen.load}/{chosen.capacity}, skill level "
        f"{chosen.level}, tier {chosen.tier}, {waited}; {considered} eligible considered)"
    )


@dataclass(frozen=True)
class Pool:
    """How the agents holding the skill fell out of eligibility (for the queued reason)."""

    with_skill: int = 0
    available: int = 0
    with_room: int = 0
    tier_ok: int = 0


def queued_reason(*, skill: str, min_tier: int, pool: Pool) -> tuple[str, str]:
    """(rule, one-line explanation) for a ticket nobody could take."""
    if pool.with_skill == 0:
        return RULE_NO_SKILL, f"no agent has skill '{skill}'"
    parts = [f"{pool.with_skill} agent(s) have skill '{skill}'"]
    if pool.available == 0:
        parts.append("none is available")
    elif pool.with_room == 0:
        parts.append(f"{pool.available} available, all at capacity")
    else:
        parts.append(f"{pool.with_room} available with room, none of tier >= {min_tier}")
    return RULE_NOBODY, "; ".join(parts)
