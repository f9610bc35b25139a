#!/usr/bin/env python3
"""The managers' SLA report over 1M clocks on PostgreSQL (target: a 90-day report in < 2 s), on
a throwaway database created and dropped here.

Data (server-side INSERT ... SELECT generate_series): 500k tickets over 120 days with 2 clocks
each (1M clocks; about 1 in 7 breached), 1-2 agent replies per ticket (FCR), a `resolved` status
event per ticket and a reopen for 3 %, warning/breach escalations for the breached clocks, a
rating for 40 % of tickets; 40 agents in 4 teams, 8 categories.

Measured: desk.reports.build() for the last 90 days, exactly what the report page runs (every
figure, breakdowns by category/team/agent/priority, daily trend, KPIs, the 200 latest breaches),
`--runs` times after one warm-up; and the same through GET /api/v1/reports/sla/ (Django test
client, whole stack). Prints one JSON object with per-part timings and the load average.

    .venv/bin/python bench/reports.py            # 1M clocks
    .venv/bin/python bench/reports.py --quick    # CI smoke run (20k clocks)
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
import warnings
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.ingest import throwaway_database  # noqa: E402 - after the path fix
from bench.sla import setup_django  # noqa: E402

warnings.filterwarnings("ignore", message="No directory at")  # no collectstatic here


def load(tickets: int) -> None:
    from django.contrib.auth.models import Group, User
    from django.db import connection

    from routing.models import AgentProfile
    from tickets.models import Category
    from tickets.roles import AGENT, MANAGER, sync_roles

    sync_roles()
    customers = [User.objects.create(username=f"customer{i}").pk for i in range(500)]
    categories = [Category.objects.create(name=f"Category {i}", slug=f"cat-{i}",
                                          skill=f"cat-{i}").pk for i in range(8)]
    agents = []
    for i in range(40):
        u = User.objects.create(username=f"agent{i}", is_staff=True)
        u.groups.add(Group.objects.get(name=AGENT))
        AgentProfile.objects.create(user=u, capacity=10_000, team=f"Team {i % 4}")
        agents.append(u.pk)
    manager = User.objects.create(username="manager", is_staff=True)
    manager.groups.add(Group.objects.get(name=MANAGER))
    span = 120 * 86400 / tickets  # seconds between tickets: 120 days in all
    with connection.cursor() as cur:
        cur.execute(
            """
            INSERT INTO tickets_ticket (reference, customer_id, subject, description, priority,
                status, channel, category_id, category_source, classifier_version,
                category_guesses, needs_triage, assignee_id, created_at, updated_at,
                first_response_at, resolved_at)
            SELECT 'SB-' || lpad(g::text, 11, '0'), (%(customers)s)[1 + g %% 500],
                'Ticket ' || g, 'Text ' || g,
                (ARRAY['low','normal','normal','high','urgent'])[1 + g %% 5], 'resolved', 'api',
                (%(categories)s)[1 + g %% 8], 'model', 'bench', '[]', false,
                (%(agents)s)[1 + g %% 40],
                now() - (%(n)s - g) * %(span)s * interval '1 second',
                now() - (%(n)s - g) * %(span)s * interval '1 second',
                now() - (%(n)s - g) * %(span)s * interval '1 second'
                    + (600 + (g::bigint * 7919) %% 9000) * interval '1 second',
                now() - (%(n)s - g) * %(span)s * interval '1 second'
                    + (3600 + (g::bigint * 104729) %% 90000) * interval '1 second'
            FROM generate_series(1, %(n)s) AS g
            """,
            {"n": tickets, "customers": customers, "categories": categories, "agents": agents,
             "span": span},
        )
        for sql in (
            # 2 clocks per ticket, ~1 in 7 breached.
            """
            INSERT INTO sla_slaclock (ticket_id, stage, cycle, policy_name, target_seconds,
                snapshot, state, level, started_at, warn_at, due_at, paused_seconds,
                stopped_at, breached_at)
            SELECT t.id, s.stage, 1, 'bench', s.target, '{}',
                CASE WHEN (t.id + s.k) % 7 = 0 THEN 'breached' ELSE 'met' END,
                CASE WHEN (t.id + s.k) % 7 = 0 THEN 2 ELSE 0 END,
                t.created_at, t.created_at + s.target * 0.8 * interval '1 second',
                t.created_at + s.target * interval '1 second', 0,
                CASE WHEN s.k = 0 THEN t.first_response_at ELSE t.resolved_at END,
                CASE WHEN (t.id + s.k) % 7 = 0
                     THEN t.created_at + s.target * interval '1 second' END
            FROM tickets_ticket t
            CROSS JOIN (VALUES ('first_response', 7200, 0), ('resolution', 86400, 1))
                AS s(stage, target, k)
            """,
            # 1 agent reply, 2 for every third ticket.
            """
            INSERT INTO tickets_comment (ticket_id, author_id, body, internal, created_at)
            SELECT t.id, t.assignee_id, 'reply', false, t.first_response_at
            FROM tickets_ticket t, generate_series(1, 2) AS n
            WHERE n = 1 OR t.id % 3 = 0
            """,
            """
            INSERT INTO tickets_ticketevent (ticket_id, kind, created_at, data)
            SELECT t.id, 'status_changed', t.resolved_at,
                '{"old": "open", "new": "resolved", "reason": ""}'::jsonb
            FROM tickets_ticket t
            UNION ALL
            SELECT t.id, 'status_changed', t.resolved_at + interval '2 hours',
                '{"old": "resolved", "new": "open", "reason": "customer reply"}'::jsonb
            FROM tickets_ticket t WHERE t.id % 33 = 0
            """,
            """
            INSERT INTO sla_escalation (clock_id, level, kind, step_at, created_at, actions)
            SELECT c.id, l.level, l.kind, c.due_at, c.due_at, '{}'
            FROM sla_slaclock c
            CROSS JOIN (VALUES (1, 'warning'), (2, 'breach')) AS l(level, kind)
            WHERE c.state = 'breached'
            """,
            """
            INSERT INTO tickets_rating (ticket_id, customer_id, score, comment, created_at)
            SELECT t.id, t.customer_id, 1 + (t.id * 31) % 5, '', t.resolved_at + interval '1 hour'
            FROM tickets_ticket t WHERE t.id % 5 < 2
            """,
            "ANALYZE",
        ):
            cur.execute(sql)


def timed(fn: Any, runs: int) -> tuple[dict[str, float], Any]:
    fn()  # warm-up
    times, result = [], None
    for _ in range(runs):
        start = time.perf_counter()
        result = fn()
        times.append((time.perf_counter() - start) * 1000)
    return {"p50_ms": round(statistics.median(times), 1), "max_ms": round(max(times), 1)}, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--runs", type=int, default=None)
    parser.add_argument("--admin-db-url", default=os.environ.get(
        "BENCH_ADMIN_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres"))
    args = parser.parse_args()
    tickets = 10_000 if args.quick else 500_000
    runs = args.runs or (2 if args.quick else 5)
    with throwaway_database(args.admin_db_url) as db_url:
        setup_django(db_url)
        from zoneinfo import ZoneInfo

        from django.conf import settings
        from django.contrib.auth.models import User
        from django.db import connection
        from django.test import Client
        from django.test.utils import CaptureQueriesContext
        from django.utils import timezone

        from desk import reports
        from sla.models import SlaClock

        settings.ALLOWED_HOSTS = ["testserver"]
        settings.SECURE_SSL_REDIRECT = False
        started = time.perf_counter()
        load(tickets)
        loaded_s = time.perf_counter() - started
        tz = ZoneInfo("UTC")
        today = timezone.localdate(timezone=tz)
        period = reports.Period(today - timedelta(days=89), today, tz)
        total_clocks = SlaClock.objects.count()
        in_period = reports.decided_clocks(period).count()
        build, report = timed(lambda: reports.build(period), runs)
        parts = {}
        for name, fn in {
            "ticket_breakdowns": lambda: reports.ticket_breakdowns(period),
            "incidents": lambda: reports.incident_figures(period),
            "response_times": lambda: reports.response_times(period),
            "escalations": lambda: reports.escalation_counts(period),
            "daily_trend": lambda: reports.daily_trend(period),
            "kpis": lambda: reports.kpis(period),
            "breached_list": lambda: reports.breached_clocks(period),
        }.items():
            parts[name] = timed(fn, runs)[0]["p50_ms"]
        client = Client()
        client.force_login(User.objects.get(username="manager"))
        url = (f"/api/v1/reports/sla/?from={period.first}&to={period.last}&group_by=team")
        api, _ = timed(lambda: client.get(url), runs)
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(url).status_code == 200
        with connection.cursor() as cur:
            cur.execute("SHOW server_version")
            version = cur.fetchone()[0]
    print(json.dumps({
        "bench": "reports", "quick": args.quick, "tickets": tickets, "clocks": total_clocks,
        "clocks_decided_in_period": in_period, "period_days": 90,
        "database": f"postgresql {version}", "load_seconds": round(loaded_s, 1),
        "report_build": build, "api": api, "api_queries": len(ctx.captured_queries),
        "parts_p50_ms": parts, "target_ms": 2000, "met": build["p50_ms"] < 2000,
        "first_response_median_s": report.first_response["median_seconds"],
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }))


if __name__ == "__main__":
    main()
