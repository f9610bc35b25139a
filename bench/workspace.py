#!/usr/bin/env python3
"""Server time of the agents' queue and the ticket page with 100k tickets on PostgreSQL
(target: <= 200 ms each), on a throwaway database created and dropped here.

Data (server-side INSERT ... SELECT generate_series, no data file): 100k tickets over 180 days
(3 % still open, half of those unassigned), 2 SLA clocks and 3 timeline events each, 20 agents
with skills, 8 categories; the page measured belongs to an open ticket with 20 messages.

Server time = the Django test client's request through the whole stack in this process
(middleware, session, view, ORM on PostgreSQL, template rendering); no network, no browser.
Each page is fetched `--runs` times after 3 warm-ups; prints one JSON object with p50/p95/max,
the queries per page and the load average.

    .venv/bin/python bench/workspace.py            # 100k tickets
    .venv/bin/python bench/workspace.py --quick    # CI smoke run (5k tickets)
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
import warnings
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.ingest import throwaway_database  # noqa: E402 - after the path fix
from bench.sla import setup_django  # noqa: E402

warnings.filterwarnings("ignore", message="No directory at")  # no collectstatic here

CATEGORIES = ["hardware", "access", "hr-support", "storage", "purchase", "misc", "projects",
              "admin-rights"]


def load(tickets: int) -> dict[str, Any]:
    """Users, agents, categories, tickets, clocks, events; returns ids the bench needs."""
    from django.contrib.auth.models import Group, User
    from django.db import connection

    from routing.models import AgentProfile, AgentSkill, Skill
    from tickets.models import Category
    from tickets.roles import AGENT, CUSTOMER, sync_roles

    sync_roles()
    customers = []
    for i in range(200):
        u = User.objects.create(username=f"customer{i}", email=f"c{i}@example.com")
        customers.append(u.pk)
    Group.objects.get(name=CUSTOMER).user_set.add(*customers)
    categories = [Category.objects.create(name=s.title(), slug=s, skill=s).pk for s in CATEGORIES]
    skills = [Skill.objects.create(slug=s, name=s) for s in CATEGORIES]
    agents = []
    for i in range(20):
        u = User.objects.create(username=f"agent{i}", is_staff=True)
        u.groups.add(Group.objects.get(name=AGENT))
        p = AgentProfile.objects.create(user=u, capacity=1000, tier=1 + i % 3, team=f"Team {i % 4}",
                                        availability="available", time_zone="Europe/Berlin")
        for j in range(3):
            AgentSkill.objects.create(agent=p, skill=skills[(i + j) % 8], level=3)
        agents.append(u.pk)
    with connection.cursor() as cur:
        # Open tickets are the last 3 %; half of them unassigned; due times around now.
        cur.execute(
            """
            INSERT INTO tickets_ticket (reference, customer_id, subject, description, priority,
                status, channel, category_id, category_source, category_confidence,
                classifier_version, category_guesses, needs_triage, assignee_id, assigned_at,
                sla_due_at, created_at, updated_at, first_response_at, resolved_at, closed_at)
            SELECT 'SB-' || lpad(g::text, 11, '0'), (%(customers)s)[1 + g %% 200],
                'Laptop ' || g || ' will not boot', 'Black screen after the logo, request ' || g,
                (ARRAY['low','normal','normal','high','urgent'])[1 + g %% 5],
                CASE WHEN g > %(n)s * 0.97 THEN 'open' ELSE 'closed' END, 'api',
                (%(categories)s)[1 + g %% 8], 'model', 0.9, 'bench', '[]', false,
                CASE WHEN g > %(n)s * 0.97 AND g %% 2 = 0 THEN NULL
                     ELSE (%(agents)s)[1 + g %% 20] END,
                now() - (%(n)s - g) * interval '150 seconds',
                CASE WHEN g > %(n)s * 0.97
                     THEN now() + ((g %% 600) - 200) * interval '1 minute' END,
                now() - (%(n)s - g) * interval '155 seconds',
                now() - (%(n)s - g) * interval '150 seconds',
                CASE WHEN g <= %(n)s * 0.97 THEN now() - (%(n)s - g) * interval '150 seconds' END,
                CASE WHEN g <= %(n)s * 0.97 THEN now() - (%(n)s - g) * interval '140 seconds' END,
                CASE WHEN g <= %(n)s * 0.97 THEN now() - (%(n)s - g) * interval '130 seconds' END
            FROM generate_series(1, %(n)s) AS g
            """,
            {"n": tickets, "customers": customers, "categories": categories, "agents": agents},
        )
        cur.execute(
            """
            INSERT INTO sla_slaclock (ticket_id, stage, cycle, policy_name, target_seconds,
                snapshot, state, level, started_at, warn_at, due_at, next_check_at,
                paused_seconds, stopped_at, breached_at)
            SELECT t.id, s.stage, 1, 'bench', s.target, '{"warn_at": 0.8}',
                CASE WHEN t.status = 'open' THEN 'running'
                     WHEN t.id % 7 = 0 THEN 'breached' ELSE 'met' END, 0,
                t.created_at, t.created_at + s.target * 0.8 * interval '1 second',
                COALESCE(t.sla_due_at, t.created_at + s.target * interval '1 second'),
                CASE WHEN t.status = 'open' THEN t.sla_due_at END, 0,
                CASE WHEN t.status <> 'open' THEN t.closed_at END,
                CASE WHEN t.status <> 'open' AND t.id % 7 = 0
                     THEN t.created_at + s.target * interval '1 second' END
            FROM tickets_ticket t
            CROSS JOIN (VALUES ('first_response', 7200), ('resolution', 86400)) AS s(stage, target)
            """
        )
        cur.execute(
            """
            INSERT INTO tickets_ticketevent (ticket_id, kind, actor_id, created_at, data)
            SELECT t.id, k.kind, NULL, t.created_at + k.n * interval '1 minute',
                '{"old": "new", "new": "open", "reason": ""}'
            FROM tickets_ticket t
            CROSS JOIN (VALUES ('created', 0), ('assigned', 1), ('status_changed', 2)) AS k(kind, n)
            """
        )
        cur.execute("ANALYZE")
    return {"customers": customers, "agents": agents}


def page_with_history() -> tuple[int, int]:
    """An open, assigned ticket given 20 messages (some internal) and 20 more events; returns
    (ticket id, its agent's user id)."""
    from tickets.models import Comment, Ticket, TicketEvent

    ticket = (Ticket.objects.filter(status="open", assignee__isnull=False)
              .select_related("assignee", "customer").order_by("-id").first())
    assert ticket is not None and ticket.assignee is not None
    agent, customer = ticket.assignee, ticket.customer
    for i in range(20):
        Comment.objects.create(ticket=ticket, author=agent if i % 2 else customer,
                               body=f"message {i}\n" * 5, internal=i % 5 == 4)
        TicketEvent.objects.create(ticket=ticket, kind="commented", actor=agent,
                                   data={"internal": i % 5 == 4})
    return ticket.pk, agent.pk


def measure(client: Any, url: str, runs: int) -> dict[str, Any]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for _ in range(3):
        assert client.get(url).status_code == 200, url
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        resp = client.get(url)
        times.append((time.perf_counter() - start) * 1000)
        assert resp.status_code == 200
    with CaptureQueriesContext(connection) as ctx:
        client.get(url)
    times.sort()
    return {"p50_ms": round(statistics.median(times), 1),
            "p95_ms": round(times[min(len(times) - 1, int(0.95 * len(times)))], 1),
            "max_ms": round(times[-1], 1), "queries": len(ctx.captured_queries), "runs": runs}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--tickets", type=int, default=None)
    parser.add_argument("--runs", type=int, default=None)
    parser.add_argument("--admin-db-url", default=os.environ.get(
        "BENCH_ADMIN_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres"))
    args = parser.parse_args()
    tickets = args.tickets or (5_000 if args.quick else 100_000)
    runs = args.runs or (10 if args.quick else 40)
    with throwaway_database(args.admin_db_url) as db_url:
        setup_django(db_url)
        from django.conf import settings
        from django.contrib.auth.models import User
        from django.db import connection
        from django.test import Client

        settings.ALLOWED_HOSTS = ["testserver"]
        settings.SECURE_SSL_REDIRECT = False
        started = time.perf_counter()
        load(tickets)
        loaded_s = time.perf_counter() - started
        ticket_id, agent_id = page_with_history()
        client = Client()
        client.force_login(User.objects.get(pk=agent_id))
        pages = {
            "queue": "/admin/queue/",
            "queue_breached": "/admin/queue/?scope=breached",
            "queue_at_risk": "/admin/queue/?scope=at_risk",
            "queue_all_open_category": "/admin/queue/?scope=all&category=hardware",
            "ticket_page": f"/admin/tickets/ticket/{ticket_id}/change/",
        }
        results = {name: measure(client, url, runs) for name, url in pages.items()}
        with connection.cursor() as cur:
            cur.execute("SHOW server_version")
            version = cur.fetchone()[0]
    worst = max(r["p95_ms"] for r in results.values())
    print(json.dumps({
        "bench": "workspace", "quick": args.quick, "tickets": tickets,
        "open_tickets": int(tickets * 0.03), "clocks": tickets * 2, "events": tickets * 3,
        "database": f"postgresql {version}", "load_seconds": round(loaded_s, 1),
        "pages": results, "target_ms": 200, "worst_p95_ms": worst,
        "met": worst <= 200, "load_average": [round(x, 2) for x in os.getloadavg()],
    }))


if __name__ == "__main__":
    main()
