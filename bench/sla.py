#!/usr/bin/env python3
"""SLA watcher benchmarks on a throwaway PostgreSQL database (created and dropped here).

(a) pass time: one watcher pass escalating the same number of due ticket clocks (default 1,000)
    among 10k, 100k and 1M running clocks; the pass must stay flat (ratio 1M/10k <= 2) because
    it only reads the due end of the partial index sla_clock_next_check.
(b) latency: a real `manage.py sla_watch` and `manage.py qcluster` with 100k running clocks;
    clocks fall due over ~20 s; breach -> escalation recorded, and breach -> webhook received by
    a local HTTP receiver (through django-q2), p50/p99 (target p99 <= 5 s).
(c) exactly once: 2 watchers + 2 qclusters; N tickets (10k) whose clocks all warn, then breach
    (priority one step up), then reach the second level (half reassigned to tier 2, half
    page on-call) while the processes run; every effect is counted where it lands, with its
    duplicates: escalation rows, timeline events, priority changes, reassignments, emails
    (received by bench/mailsink.py), on-call pages, webhooks (received by a local server).

Every part records os.getloadavg(): figures taken on a busy machine are not comparable.

    .venv/bin/python bench/sla.py            # full (1M clocks: several minutes)
    .venv/bin/python bench/sla.py --quick    # CI smoke run (smaller sizes)

Background clocks are bulk-loaded with one INSERT ... SELECT FROM generate_series per size
(server-side, faster than COPY from Python and needs no data file). Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench import mailsink  # noqa: E402 - after the path fix
from bench.ingest import throwaway_database  # noqa: E402

PY = sys.executable


class Receiver:
    """Local webhook receiver: records when each idempotency key arrived (and repeats)."""

    def __init__(self) -> None:
        self.arrivals: list[tuple[str, float]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers["Content-Length"]))
                receiver.arrivals.append((self.headers["Idempotency-Key"], time.time()))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def reset(self) -> None:
        self.arrivals = []


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def setup_django(db_url: str, mail_dir: str | None = None) -> dict[str, str]:
    """Migrate the database and set Django up in this process; returns the environment for the
    processes a bench starts. With `mail_dir`, e-mails go to bench.mailsink there (counted),
    else nowhere (bench/workspace.py and bench/reports.py share this)."""
    mail = (
        {"DJANGO_EMAIL_BACKEND": "bench.mailsink.JsonLinesBackend", "MAILSINK_DIR": mail_dir}
        if mail_dir
        else {"DJANGO_EMAIL_BACKEND": "django.core.mail.backends.dummy.EmailBackend"}
    )
    env = {
        **os.environ,
        "DATABASE_URL": db_url,
        "DJANGO_DEBUG": "false",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        **mail,
        "SLA_ONCALL_EMAILS": "oncall@example.com",
        "LOG_LEVEL": "WARNING",
        "Q_WORKERS": "2",
    }
    subprocess.run(
        [PY, "manage.py", "migrate", "--no-input", "-v", "0"], cwd=ROOT, env=env, check=True
    )
    os.environ.update(env)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    return env


def load_background(total: int) -> None:
    """Top the running, not-yet-due incident clocks up to `total` (server-side INSERT)."""
    from django.db import connection

    from sla.models import SlaClock

    have = SlaClock.objects.filter(incident_id__isnull=False).count()
    if total < have:
        SlaClock.objects.filter(incident_id__gt=total).delete()
    if total <= have:
        return
    with connection.cursor() as cur:
        cur.execute(
            """
            INSERT INTO sla_slaclock (incident_id, stage, cycle, policy_name, target_seconds,
                snapshot, state, level, started_at, warn_at, due_at, next_check_at,
                paused_seconds)
            SELECT g, 'resolve', 1, 'bench', 14400, '{"warn_at": 0.8}', 'running', 0,
                now(), now() + (g %% 2000000 + 3600) * interval '1 second',
                now() + (g %% 2000000 + 7200) * interval '1 second',
                now() + (g %% 2000000 + 3600) * interval '1 second', 0
            FROM generate_series(%s, %s) AS g
            """,
            [have + 1, total],
        )
        cur.execute("ANALYZE sla_slaclock")


def make_due_ticket_clocks(due_times: list[Any], *, customer: Any) -> None:
    """One ticket with one first-response clock per due time: a single level (breach)."""
    from sla.models import SlaClock
    from tickets.models import Ticket

    tickets = Ticket.objects.bulk_create(
        [Ticket(customer=customer, subject="bench", description="bench") for _ in due_times],
        batch_size=2000,
    )
    SlaClock.objects.bulk_create(
        [
            SlaClock(
                ticket=t, stage="first_response", policy_name="bench", target_seconds=3600,
                snapshot={"warn_at": None, "calendar": None, "escalate_after_seconds": None,
                          "stop_on": ["first_response", "resolved", "closed"]},
                started_at=due - timedelta(hours=1), due_at=due, next_check_at=due,
            )
            for t, due in zip(tickets, due_times, strict=True)
        ],
        batch_size=2000,
    )


def fixtures(receiver: Receiver) -> Any:
    from django.contrib.auth.models import Group, User

    from sla.models import WebhookEndpoint
    from tickets.roles import MANAGER, sync_roles

    sync_roles()
    manager, _ = User.objects.get_or_create(username="bench-manager",
                                            defaults={"email": "m@example.com"})
    manager.groups.add(Group.objects.get(name=MANAGER))
    WebhookEndpoint.objects.get_or_create(name="bench", defaults={"url": receiver.url})
    customer, _ = User.objects.get_or_create(username="bench-customer")
    return customer


def clear_work() -> None:
    from django_q.models import OrmQ

    from sla.models import Escalation, SlaClock

    OrmQ.objects.all().delete()
    Escalation.objects.all().delete()
    SlaClock.objects.filter(ticket__isnull=False).delete()


def bench_pass_time(sizes: list[int], due: int, customer: Any) -> dict[str, Any]:
    from django.utils import timezone

    from sla.models import SlaClock
    from sla.watcher import run_pass

    rows = []
    for size in sizes:
        clear_work()
        load_background(size - due)
        now = timezone.now()
        make_due_ticket_clocks([now - timedelta(seconds=1)] * due, customer=customer)
        started = time.perf_counter()
        list(SlaClock.objects.filter(next_check_at__lte=now).order_by("next_check_at")[:100])
        claim_ms = (time.perf_counter() - started) * 1000
        started = time.perf_counter()
        result = run_pass(now=now)
        pass_s = time.perf_counter() - started
        assert result.escalations == due, result
        rows.append({"running_clocks": size, "due": due, "pass_seconds": round(pass_s, 3),
                     "claim_query_ms": round(claim_ms, 2), "escalations": result.escalations,
                     "load_average_1m": round(os.getloadavg()[0], 2)})
    ratio = rows[-1]["pass_seconds"] / rows[0]["pass_seconds"]
    return {"passes": rows, f"ratio_{sizes[-1]}_vs_{sizes[0]}": round(ratio, 2),
            "flat": ratio <= 2}


@contextmanager
def processes(env: dict[str, str], watchers: int, clusters: int):  # type: ignore[no-untyped-def]
    procs = [
        subprocess.Popen(
            [PY, "manage.py", "sla_watch", "--name", f"bench-w{i}"], cwd=ROOT,
                         env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for i in range(watchers)
    ] + [
        subprocess.Popen(
            [PY, "manage.py", "qcluster"], cwd=ROOT, env=env,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(clusters)
    ]
    try:
        from sla.models import WatcherHeartbeat

        deadline = time.time() + 60
        while WatcherHeartbeat.objects.filter(name__startswith="bench-w").count() < watchers:
            if time.time() > deadline:
                raise RuntimeError("watchers did not start")
            time.sleep(0.2)
        time.sleep(2)  # let the clusters' workers come up
        yield
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()


def wait_for(predicate: Any, timeout: float) -> bool:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return True
        time.sleep(0.25)
    return False


def bench_latency(env: dict[str, str], receiver: Receiver, running: int, count: int,
                  spread: float, customer: Any) -> dict[str, Any]:
    from django.utils import timezone

    from sla.models import Escalation, WatcherHeartbeat

    clear_work()
    WatcherHeartbeat.objects.all().delete()
    load_background(running)
    receiver.reset()
    with processes(env, watchers=1, clusters=1):
        start = timezone.now() + timedelta(seconds=3)
        dues = [start + timedelta(seconds=spread * i / count) for i in range(count)]
        make_due_ticket_clocks(dues, customer=customer)
        done = wait_for(lambda: len({k for k, _ in receiver.arrivals}) >= count,
                        spread + 60)
    escalations = list(Escalation.objects.select_related("clock"))
    recorded = [(e.created_at - e.step_at).total_seconds() for e in escalations]
    due_by_key = {e.idempotency_key: e.step_at.timestamp() for e in escalations}
    first_arrival: dict[str, float] = {}
    for key, at in receiver.arrivals:
        first_arrival.setdefault(key, at)
    delivered = [at - due_by_key[k] for k, at in first_arrival.items() if k in due_by_key]
    return {
        "running_clocks": running + count,
        "breaches": count,
        "complete": done,
        "breach_to_escalation_s": {"p50": round(percentile(recorded, 50), 3),
                                   "p99": round(percentile(recorded, 99), 3),
                                   "max": round(max(recorded, default=float("nan")), 3)},
        "breach_to_webhook_received_s": {"p50": round(percentile(delivered, 50), 3),
                                         "p99": round(percentile(delivered, 99), 3),
                                         "max": round(max(delivered, default=float("nan")), 3)},
        "target_p99_s": 5,
        "ok": done and percentile(delivered, 99) <= 5,
        "load_average_1m": round(os.getloadavg()[0], 2),
    }


def make_team(count: int) -> tuple[Any, Any]:
    """A category whose skill one tier-1 agent holds (every ticket starts with them) and four
    tier-2 agents whose room adds up to half the tickets: at the second level half are
    reassigned to tier 2, the other half find nobody and page on-call."""
    from django.contrib.auth.models import User

    from routing.models import AgentProfile, AgentSkill, Skill
    from tickets.models import Category

    skill = Skill.objects.create(slug="bench-c", name="Bench")
    category = Category.objects.create(slug="bench-c", name="Bench", skill="bench-c")
    first = User.objects.create(username="bench-t1", email="t1@example.com", is_staff=True)
    profile = AgentProfile.objects.create(user=first, capacity=min(count + 10, 32000), tier=1,
                                          availability="available")
    AgentSkill.objects.create(agent=profile, skill=skill, level=3)
    for i in range(4):
        user = User.objects.create(username=f"bench-t2-{i}", email=f"t2-{i}@example.com",
                                   is_staff=True)
        AgentSkill.objects.create(agent=AgentProfile.objects.create(
            user=user, capacity=count // 8, tier=2, availability="available"),
            skill=skill, level=4)
    return category, first


def make_multilevel_clocks(count: int, t0: Any, gap: float, *, customer: Any,
                           category: Any, assignee: Any) -> list[int]:
    """`count` open tickets assigned to the tier-1 agent, each with one clock that warns at
    t0, breaches at t0 + gap and reaches the second level at t0 + 2 gap."""
    from routing.models import AgentProfile
    from sla.models import SlaClock
    from tickets.models import Ticket

    target = 5 * gap  # warning at 80 %: 0.2 * target = gap between warning and deadline
    started = t0 - timedelta(seconds=4 * gap)
    tickets = Ticket.objects.bulk_create(
        [Ticket(customer=customer, subject="bench-c", description="bench", status="open",
                priority="normal", category=category, assignee=assignee) for _ in range(count)],
        batch_size=2000,
    )
    AgentProfile.objects.filter(user=assignee).update(load=count)
    SlaClock.objects.bulk_create(
        [
            SlaClock(
                ticket=t, stage="first_response", policy_name="bench", target_seconds=target,
                snapshot={"warn_at": 0.8, "calendar": None, "escalate_after_seconds": gap,
                          "stop_on": ["first_response", "resolved", "closed"]},
                started_at=started, warn_at=t0, due_at=t0 + timedelta(seconds=gap),
                next_check_at=t0,
            )
            for t in tickets
        ],
        batch_size=2000,
    )
    return [t.pk for t in tickets]


def duplicates(keys: list[Any]) -> int:
    """How many more times things happened than distinct things happened."""
    return len(keys) - len(set(keys))


def bench_exactly_once(env: dict[str, str], receiver: Receiver, count: int, gap: float,
                       customer: Any) -> dict[str, Any]:
    """2 watchers + 2 clusters; `count` clocks that each go through warning, breach and the
    second level (reassignment or on-call page) while the processes run. Every effect is
    counted where it lands, and so are its duplicates: escalation rows, timeline events,
    priority bumps, reassignments, emails (bench.mailsink), webhooks (the local receiver)."""
    from django.db.models import Count
    from django.utils import timezone

    from routing.models import RoutingDecision
    from sla.models import Escalation, Notification, WatcherHeartbeat
    from tickets.models import Ticket, TicketEvent

    clear_work()
    WatcherHeartbeat.objects.all().delete()
    receiver.reset()
    for sent in Path(env["MAILSINK_DIR"]).glob("*.jsonl"):  # part (b)'s e-mails
        sent.unlink()
    category, first = make_team(count)
    load_before = [round(x, 2) for x in os.getloadavg()]
    with processes(env, watchers=2, clusters=2):
        started = time.time()
        t0 = timezone.now() + timedelta(seconds=2)
        ids = make_multilevel_clocks(count, t0, gap, customer=customer, category=category,
                                     assignee=first)
        ours = Escalation.objects.filter(clock__ticket_id__in=ids)
        escalated = wait_for(lambda: ours.count() >= 3 * count, 2 * gap + 600)
        all_escalated_s = time.time() - started
        # (exclude() on a JSON key would also drop rows without the key: count, subtract.)
        expected = ours.count() - ours.filter(actions__superseded=True).count()
        # One e-mail row per recipient and escalation (sent grouped: one e-mail per recipient
        # per batch, each listing its escalations).
        email_rows = Notification.objects.filter(escalation__in=ours, channel="email").count()
        delivered = wait_for(lambda: len({k for k, _ in receiver.arrivals}) >= expected
                             and len(set(mailsink.items(env["MAILSINK_DIR"])[0]))
                             >= email_rows, 600)
        all_delivered_s = time.time() - started
        time.sleep(3)  # let any duplicate arrive before counting
    load_after = [round(x, 2) for x in os.getloadavg()]

    by_level = dict(ours.values_list("level").annotate(n=Count("id")))
    superseded = ours.filter(actions__superseded=True).count()
    events = TicketEvent.objects.filter(ticket_id__in=ids)
    event_keys = {kind: [(e.ticket_id, e.data.get("level")) for e in events.filter(kind=kind)]
                  for kind in ("sla_warning", "sla_breached", "escalated")}
    bumps = list(events.filter(kind="priority_changed").values_list("ticket_id", flat=True))
    moves = list(RoutingDecision.objects.filter(ticket_id__in=ids, trigger="escalation",
                                                outcome="assigned")
                 .values_list("ticket_id", flat=True))
    reassigned = ours.filter(level=3, actions__reassigned=True).count()
    reassigned_refs = set(ours.filter(level=3, actions__reassigned=True)
                          .values_list("clock__ticket__reference", flat=True))
    paged = ours.filter(level=3, actions__notify="oncall").count()
    hooks = [k for k, _ in receiver.arrivals]
    messages = list(mailsink.read(env["MAILSINK_DIR"]))
    mail_items, repeated_messages = mailsink.items(env["MAILSINK_DIR"])
    pages = [e for to, e in mail_items
             if to == "oncall@example.com" and e.startswith("STILL OVERDUE")]
    lateness = {}
    for level in (1, 2, 3):
        late = [(e.created_at - e.step_at).total_seconds() for e in ours.filter(level=level)]
        # min: how soon the burst's first escalation landed after its deadline.
        lateness[str(level)] = {"min": round(min(late, default=float("nan")), 3),
                                "p50": round(percentile(late, 50), 3),
                                "p99": round(percentile(late, 99), 3),
                                "max": round(max(late, default=float("nan")), 3)}
    dupes = {
        "escalation_rows": duplicates(list(ours.values_list("clock_id", "level"))),
        "warning_events": duplicates(event_keys["sla_warning"]),
        "breach_events": duplicates(event_keys["sla_breached"]),
        "escalated_events": duplicates(event_keys["escalated"]),
        "priority_changes": duplicates(bumps),
        "reassignments": duplicates(moves),
        "email_items": duplicates(mail_items),
        "emails_repeating_an_item": repeated_messages,
        "oncall_pages": duplicates(pages),
        "webhooks": duplicates(hooks),
    }
    complete = {
        "every_level_recorded": by_level == {1: count, 2: count, 3: count},
        "every_ticket_bumped_once": len(set(bumps)) == count
        and Ticket.objects.filter(pk__in=ids, priority="high").count() == count,
        "reassigned_plus_paged_is_every_ticket": reassigned + paged == count,
        "every_notification_emailed": len(set(mail_items)) == email_rows,
        "every_notification_posted": len(set(hooks)) == expected,
    }
    return {
        "clocks": count,
        "gap_between_levels_s": gap,
        "watchers": 2,
        "clusters": 2,
        "escalations_by_level": {str(k): v for k, v in sorted(by_level.items())},
        "warnings_superseded_by_their_breach": superseded,
        "reassigned_to_tier_2": reassigned,
        "reassignment_decisions": len(moves),
        "oncall_paged": paged,
        "oncall_page_emails": len(pages),
        # Second-level emails to on-call for tickets that were reassigned to tier 2 (README:
        # "reassign to tier 2, else page on-call"): tickets.escalation sends every second level
        # to on-call.
        "oncall_page_emails_for_reassigned_tickets": sum(e.split()[3] in reassigned_refs
                                                         for e in pages),
        "lateness_s_by_level": lateness,
        "priority_changes": len(bumps),
        "notifications_expected": expected,
        "email_rows_expected": email_rows,
        "emails_sent": len(messages),
        "escalations_listed_in_emails": len(mail_items),
        "webhooks_received": len(hooks),
        "duplicates": dupes,
        "complete": complete,
        "seconds_to_all_escalated": round(all_escalated_s, 1),
        "seconds_to_all_delivered": round(all_delivered_s, 1),
        "load_average_before": load_before,
        "load_average_after": load_after,
        "exactly_once": escalated and delivered and all(complete.values())
        and not any(dupes.values()),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--admin-db-url", default=os.environ.get(
        "BENCH_ADMIN_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres"))
    parser.add_argument("--only", default="a,b,c")
    args = parser.parse_args()
    if args.quick:
        sizes, due, running, latency_n, spread, breaches, gap = (
            [10_000, 100_000], 500, 20_000, 100, 10, 1000, 8.0)
    else:
        sizes, due, running, latency_n, spread, breaches, gap = (
            [10_000, 100_000, 1_000_000], 1000, 100_000, 300, 20, 10_000, 30.0)
    out: dict[str, Any] = {"quick": args.quick, "cpus": os.cpu_count(),
                           "load_average_start": [round(x, 2) for x in os.getloadavg()]}
    with throwaway_database(args.admin_db_url) as db_url, \
            tempfile.TemporaryDirectory() as mail_dir:
        env = setup_django(db_url, mail_dir)
        receiver = Receiver()
        customer = fixtures(receiver)
        if "a" in args.only:
            out["a_pass_time"] = bench_pass_time(sizes, due, customer)
        if "b" in args.only:
            out["b_latency"] = bench_latency(env, receiver, running, latency_n, spread, customer)
        if "c" in args.only:
            out["c_exactly_once"] = bench_exactly_once(env, receiver, breaches, gap, customer)
        from django.db import connections

        connections.close_all()
    out["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
