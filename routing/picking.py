"""Picking an agent for a skill and taking their slot: the hot part of every routing decision
(see routing.services for the concurrency design this implements). Runs in the caller's
transaction; writes only the chosen agent's load and last_assigned_at."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from typing import Any

from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import F, Field
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from routing import conf, rules
from routing.models import AgentProfile, AgentSkill, Skill
from routing.rules import Candidate, Pool

AVAILABLE = AgentProfile.Availability.AVAILABLE


@dataclass(frozen=True)
class Pick:
    chosen: Candidate | None
    ranked: list[Candidate]  # eligible candidates, best first, as read
    pool: Pool
    rule: str


def _candidate_sql(exclude: bool) -> str:
    """The candidate query (see _candidate_rows), written out once per process: it runs on
    every routing decision and building it through the ORM cost several times its execution."""
    q = connection.ops.quote_name
    user_model = get_user_model()
    username_field = user_model._meta.get_field(user_model.USERNAME_FIELD)
    # Django's auth checks make USERNAME_FIELD a concrete field, so it has a column.
    assert isinstance(username_field, Field) and username_field.column is not None
    username = q(username_field.column)
    load = q("load")
    # Only quoted identifiers are formatted in; every value is a parameter.
    return (
        f"SELECT p.id, u.{username}, p.{load}, p.capacity, s.level, p.tier, p.last_assigned_at, "  # noqa: S608
        f"CASE WHEN p.availability = %s AND p.{load} < p.capacity AND p.tier >= %s "
        f"THEN 1 ELSE 0 END AS eligible, "
        f"COUNT(*) OVER (), "
        f"SUM(CASE WHEN p.availability = %s THEN 1 ELSE 0 END) OVER (), "
        f"SUM(CASE WHEN p.availability = %s AND p.{load} < p.capacity THEN 1 ELSE 0 END) OVER (), "
        f"p.user_id "
        f"FROM {q(AgentSkill._meta.db_table)} s "
        f"JOIN {q(Skill._meta.db_table)} k ON k.id = s.skill_id "
        f"JOIN {q(AgentProfile._meta.db_table)} p ON p.id = s.agent_id "
        f"JOIN {q(user_model._meta.db_table)} u ON u.id = p.user_id "
        f"WHERE k.slug = %s {'AND p.id <> %s ' if exclude else ''}"
        f"ORDER BY eligible DESC, "
        f"CAST(p.{load} AS DOUBLE PRECISION) / NULLIF(p.capacity, 0) ASC NULLS LAST, "
        f"s.level DESC, p.last_assigned_at ASC NULLS FIRST, p.id "
        f"LIMIT %s"
    )


@cache
def _cached_sql(vendor: str, exclude: bool) -> str:
    return _candidate_sql(exclude)


def _as_aware(value: Any) -> datetime | None:
    """SQLite hands raw SQL datetimes back as text; PostgreSQL as aware datetimes."""
    if value is None or isinstance(value, datetime):
        return value
    parsed = parse_datetime(str(value))
    return parsed if parsed is None or timezone.is_aware(parsed) else timezone.make_aware(
        parsed, UTC
    )


def _candidate_rows(
    *, skill: str, min_tier: int, exclude_agent: int | None
) -> list[tuple[Any, ...]]:
    """ONE query: the best eligible holders of the skill first (the rules.rank_key order),
    then the ineligible ones, with window counts of how all holders fell out of eligibility
    (so a queued decision needs no second query). Starts from the skill's slug (unique index)
    and agent_skill_unique (skill_id, agent_id); a skill has tens to hundreds of holders."""
    sql = _cached_sql(connection.vendor, exclude_agent is not None)
    params: list[Any] = [AVAILABLE, min_tier, AVAILABLE, AVAILABLE, skill]
    if exclude_agent is not None:
        params.append(exclude_agent)
    params.append(conf.candidate_limit())
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    return [(*row[:6], _as_aware(row[6]), *row[7:]) for row in rows]


def _read_candidates(
    *, skill: str, min_tier: int, exclude_agent: int | None
) -> tuple[list[Candidate], Pool, dict[int, int]]:
    rows = _candidate_rows(skill=skill, min_tier=min_tier, exclude_agent=exclude_agent)
    ranked = [Candidate(*row[:7]) for row in rows if row[7]]
    user_ids = {row[0]: row[11] for row in rows}
    if not rows:
        return [], Pool(), user_ids
    first = rows[0]
    pool = Pool(with_skill=first[8], available=first[9], with_room=first[10], tier_ok=len(ranked))
    return ranked, pool, user_ids


def _take_first_unlocked(ids: list[int], *, min_tier: int, now: datetime) -> int | None:
    """ONE statement: increment the first of `ids` (rank order) that still has room and is not
    being assigned by another transaction right now (SKIP LOCKED). Returns its id or None."""
    q = connection.ops.quote_name
    table, load = q(AgentProfile._meta.db_table), q("load")
    lock = " FOR UPDATE SKIP LOCKED" if connection.vendor == "postgresql" else ""
    in_list = ", ".join(["%s"] * len(ids))
    rank = " ".join(["WHEN %s THEN " + str(i) for i in range(len(ids))])
    # Only quoted identifiers and placeholder lists are formatted in; every value is a parameter.
    sql = (
        f"UPDATE {table} SET {load} = {load} + 1, last_assigned_at = %s "  # noqa: S608
        f"WHERE id = (SELECT id FROM {table} WHERE id IN ({in_list}) AND {load} < capacity "
        f"AND availability = %s AND tier >= %s ORDER BY CASE id {rank} END LIMIT 1{lock}) "
        f"RETURNING id"
    )
    with connection.cursor() as cursor:
        stamp = connection.ops.adapt_datetimefield_value(now)
        cursor.execute(sql, [stamp, *ids, AVAILABLE, min_tier, *ids])
        row = cursor.fetchone()
    return row[0] if row else None


def _take_waiting(agent_id: int, *, min_tier: int, now: datetime) -> bool:
    """Increment one agent if it still has room, waiting for a concurrent assignment to that
    agent to commit first. Only called while holding no other agent lock (lock order)."""
    return bool(
        AgentProfile.objects.filter(
            pk=agent_id, load__lt=F("capacity"), availability=AVAILABLE, tier__gte=min_tier
        ).update(load=F("load") + 1, last_assigned_at=now)
    )


def pick_agent(
    *, skill: str, min_tier: int, now: datetime, may_wait: bool, exclude_agent: int | None = None
) -> tuple[Pick, int | None]:
    """Choose and take a slot (load + 1) on the best eligible agent for `skill`.

    1. read the best candidates (one query, no lock);
    2. take the first one not locked by another transaction (one statement, SKIP LOCKED);
    3. if all were locked and `may_wait`, wait on each in rank order (conditional UPDATE);
    4. if they all filled up meanwhile, read again (a few rounds), else give up (queued).
    `may_wait=False` for callers already holding an agent row (lock order, see module doc).
    Returns the pick and the chosen agent's user id."""
    ranked: list[Candidate] = []
    pool = Pool()
    for _ in range(3):
        ranked, pool, user_ids = _read_candidates(
            skill=skill, min_tier=min_tier, exclude_agent=exclude_agent
        )
        if not ranked:
            break
        ids = [c.agent_id for c in ranked]
        taken = _take_first_unlocked(ids, min_tier=min_tier, now=now)
        if taken is None and may_wait and connection.vendor == "postgresql":
            taken = next((i for i in ids if _take_waiting(i, min_tier=min_tier, now=now)), None)
        if taken is not None:
            chosen = next(c for c in ranked if c.agent_id == taken)
            rule = rules.deciding_rule(ranked) if taken == ids[0] else rules.RULE_FALLBACK
            return Pick(chosen, ranked, pool, rule), user_ids[taken]
        if not may_wait:
            break
    if ranked:  # eligible when read, all taken by concurrent assignments since
        pool = Pool(with_skill=pool.with_skill, available=pool.available)
    return Pick(None, ranked, pool, rules.RULE_NOBODY), None
