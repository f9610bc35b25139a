#!/usr/bin/env python3
"""Where each millisecond of POST /api/v1/tickets/ goes: CPU and wall time per stage of the
request path, measured in-process on a throwaway PostgreSQL database (created and dropped here).

Set-up as bench/ingest.py: migrate, seed_demo (agents with room for every ticket, categories, the
trained demo classifier, SLA policies), DEBUG off, customer API tokens from `create_api_user`.
Then the Django test client sends real ticket texts (the shipped sample) with
`Authorization: Token <key>`, every other request with its own Idempotency-Key, after a warm-up.

Each stage is timed by wrapping (in this process only, the app code is untouched) the function
the caller really looks up: auth, throttle, parser, validation, idempotency fingerprint / lookup /
store, classifier (registry, normalisation, features, linear scores, calibration), routing
(plan_route, pick_agent, the candidate query, the agent-row UPDATE, route_ticket), SLA plan and
start, create_ticket, timeline.flush, the response rendering, COMMIT, surge.observe, JSON
rendering. Per stage: CPU (time.thread_time_ns: everything runs in this one thread; PostgreSQL's
own CPU is not in it, only in wall), wall (perf_counter_ns), database wall time summed over
cursor.execute (connection.execute_wrapper) and statement count. Stages nest: a stage's figures
include those of the stages inside it ("nesting" lists what was observed); only "breakdown"
(self times, i.e. minus nested stages) adds up to the whole request. The request is also timed
in uninstrumented chunks interleaved with the instrumented ones, which bounds the wrappers'
cost. Prints one JSON object. The timing machinery and the summaries are bench/stage_profiler.py;
this file says what is wrapped on the intake path and runs it.

    .venv/bin/python bench/intake_profile.py            # 400 requests (+ 400 uninstrumented)
    .venv/bin/python bench/intake_profile.py --quick    # 50 (+ 50)
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import sys
import tempfile
import time
import uuid
import warnings
from collections import defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.ingest import (  # noqa: E402 - after the path fix
    Counts,
    load_average,
    make_tokens,
    manage,
    sample_bodies,
    throwaway_database,
)
from bench.sla import percentile, setup_django  # noqa: E402
from bench.stage_profiler import (  # noqa: E402
    Profiler,
    TimedTransaction,
    breakdown,
    cpu_ns,
    r3,
    request_stats,
    summarize,
    wall_ns,
    wrapper_cost_ns,
)

warnings.filterwarnings("ignore", message="No directory at")  # no collectstatic here

URL = "/api/v1/tickets/"
CHUNK = 25  # instrumented and plain requests alternate in chunks (ABBA), so drift hits both
# Stages whose self time is glue (middleware, DRF dispatch, flow code between the measured
# steps, the test client itself): together they are "other".
CONTAINERS = ("request", "wsgi_handler", "drf.dispatch", "submit_ticket", "transaction")


def install(profiler: Profiler) -> None:
    """Wrap every stage of the intake path (see the module docstring)."""
    import django.db.transaction
    from django.db import connections
    from django.test.client import ClientHandler
    from rest_framework.renderers import JSONRenderer

    import classifier.linear
    import classifier.pipeline
    import classifier.registry
    import classifier.services
    import incidents.surge
    import routing.picking
    import routing.services
    import sla.services
    import tickets.api.views
    import tickets.flows
    import tickets.services
    from config.parsers import Utf8JSONParser
    from config.throttling import UserThrottle
    from tickets.api.authentication import TokenWithRoleAuthentication
    from tickets.api.idempotency import IdempotentRequest
    from tickets.api.serializers import TicketCreateSerializer
    from tickets.api.views import TicketViewSet

    conn = connections["default"]
    p = profiler.patch
    p(ClientHandler, "__call__", "wsgi_handler")  # Django's handler + middleware, no client
    p(TicketViewSet, "dispatch", "drf.dispatch")
    p(TokenWithRoleAuthentication, "authenticate", "auth")
    # CONN_HEALTH_CHECKS: Django's SELECT 1 on a reused connection's first query of a request
    # (psycopg directly, not through execute_wrapper).
    p(conn, "is_usable", "db.health_check")
    p(UserThrottle, "allow_request", "throttle")
    p(Utf8JSONParser, "parse", "parse")  # DRF parses lazily, at the view's request.data
    p(TicketCreateSerializer, "is_valid", "validate")
    p(IdempotentRequest, "from_request", "idempotency.fingerprint")
    p(IdempotentRequest, "replay", "idempotency.lookup")
    p(IdempotentRequest, "store", "idempotency.store")
    p(tickets.flows, "submit_ticket", "submit_ticket")  # views: flows.submit_ticket
    # flows does `from classifier import services as classifier`: module attributes.
    p(classifier.services, "classify", "classifier.classify")
    p(classifier.registry, "get_active", "classifier.registry")  # services: registry.get_active
    p(classifier.pipeline, "_clean", "classifier.normalize")
    p(classifier.pipeline.TextClassifier, "_scores_one", "classifier.scores")
    p(classifier.linear.Block, "vector_one", "classifier.features")  # per block, in scores
    p(classifier.pipeline.TextClassifier, "probabilities", "classifier.calibration")
    p(classifier.services, "apply_prediction", "classifier.apply_prediction")
    tickets.flows.transaction = TimedTransaction(django.db.transaction, profiler)  # type: ignore[assignment]
    profiler.patches.append((tickets.flows, "transaction", django.db.transaction, True))
    p(routing.services, "plan_route", "routing.plan_route")
    p(routing.services, "pick_agent", "routing.pick_agent")  # from routing.picking import
    p(routing.picking, "_candidate_rows", "routing.candidate_query")
    p(routing.picking, "_take_first_unlocked", "routing.take_slot")  # the hot agent row
    p(routing.picking, "_take_waiting", "routing.take_slot_waiting")  # only if all were locked
    p(routing.services, "route_ticket", "routing.route_ticket")
    p(sla.services, "plan_ticket_clocks", "sla.plan_ticket_clocks")
    p(sla.services, "start_ticket_clocks", "sla.start_ticket_clocks")
    p(tickets.services, "create_ticket", "tickets.create_ticket")
    p(tickets.services.Timeline, "flush", "timeline.flush")
    p(tickets.api.views, "render_ticket", "render.ticket")  # the view's body, in before_commit
    p(conn, "commit", "commit")  # Atomic.__exit__ calls connection.commit()
    p(incidents.surge, "observe", "surge.observe")  # flows: surge.observe, after commit
    p(tickets.flows, "_report_intake", "report_intake")
    p(JSONRenderer, "render", "render.json")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="50 requests instead of 400")
    parser.add_argument("--requests", type=int, default=None,
                        help="measured requests (default 400, quick 50); as many again plain")
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--database-url", "--admin-db-url", dest="database_url",
                        default=os.environ.get("BENCH_ADMIN_DATABASE_URL",
                                               "postgres://postgres@127.0.0.1:5432/postgres"),
                        help="admin URL; the bench creates and drops its own database")
    parser.add_argument("--agents", type=int, default=6)
    parser.add_argument("--agent-capacity", type=int, default=10_000,
                        help="default: nobody is ever full, every categorized ticket assigned")
    parser.add_argument("--customers", type=int, default=8, help="tokens, used in turn")
    args = parser.parse_args()
    n = args.requests or (50 if args.quick else 400)

    # Per-user throttle out of the way (8 customers x hundreds of requests in seconds), the test
    # client's host allowed, no HTTPS redirect; logging as bench/ingest.py (WARNING).
    os.environ.update({"API_THROTTLE_USER": "1000000/min", "DJANGO_SECURE_SSL_REDIRECT": "false",
                       "DJANGO_ALLOWED_HOSTS": "testserver"})
    with throwaway_database(args.database_url) as db_url, tempfile.TemporaryDirectory() as tmp:
        env = setup_django(db_url)
        manage(env, "seed_demo", "--tickets", "0", "--customers", "0",
               "--agents", str(args.agents), "--agent-capacity", str(args.agent_capacity))
        tokens = make_tokens(env, args.customers)
        bodies = sample_bodies(Path(tmp) / "bodies")
        needed = args.warmup + 2 * n
        if len(bodies) < needed:  # more requests than sample texts: reuse them
            bodies = (bodies * (needed // len(bodies) + 1))[:needed]

        import django
        import rest_framework
        from django.conf import settings
        from django.db import close_old_connections, connections
        from django.test import Client

        assert not settings.DEBUG
        conn = connections["default"]
        client = Client()
        profiler = Profiler()
        counts = Counts(db_url)
        tickets_before = counts.tickets()
        statuses: dict[int, int] = defaultdict(int)
        sent = 0

        def post(i: int, instrumented: bool) -> tuple[Any, dict[str, list[int]] | None, bool]:
            """One request as a WSGI server would run it: close_old_connections on
            request_started and request_finished (the test client disconnects them; under
            gunicorn they reset the health check, so the next request pays its SELECT 1)."""
            nonlocal sent
            keyed = i % 2 == 0
            headers = {"Authorization": f"Token {tokens[i % len(tokens)]}"}
            if keyed:
                headers["Idempotency-Key"] = str(uuid.uuid4())
            body = bodies[sent]
            sent += 1
            profiler.acc, profiler.gc = {}, [0, 0, 0]
            frame = profiler.enter("request")
            close_old_connections()
            resp = client.post(URL, body, content_type="application/json", headers=headers)
            close_old_connections()
            profiler.exit(frame)
            statuses[resp.status_code] += 1
            return resp, (profiler.acc if instrumented else None), keyed

        # Warm-up, instrumented (imports, middleware chain, model and policy caches, SQL caches).
        install(profiler)
        with conn.execute_wrapper(profiler.on_execute):
            for i in range(args.warmup):
                post(i, True)
        profiler.unpatch()
        profiler.parents = defaultdict(set)
        cost_ns = wrapper_cost_ns(profiler)

        measured: list[dict[str, list[int]]] = []
        gc_per_request: list[list[int]] = []
        whole: dict[str, list[tuple[int, int, int, int, int]]] = {
            "keyed": [], "plain": [], "uninstrumented_keyed": [], "uninstrumented_plain": []}
        samples: dict[str, list[tuple[str, str]]] = {}
        gc_before = sum(s["collections"] for s in gc.get_stats())
        load_before = load_average()
        started = time.monotonic()
        done = {True: 0, False: 0}
        chunk_no = 0
        while done[True] < n or done[False] < n:
            for instrumented in ((True, False) if chunk_no % 2 == 0 else (False, True)):
                todo = min(CHUNK, n - done[instrumented])
                if todo <= 0:
                    continue
                if instrumented:
                    install(profiler)
                    gc.callbacks.append(profiler.on_gc)
                    with conn.execute_wrapper(profiler.on_execute):
                        for _ in range(todo):
                            i = done[True]
                            want = "keyed" if i % 2 == 0 else "plain"
                            if want not in samples:
                                profiler.sql_log = samples[want] = []
                            resp, acc, keyed = post(i, True)
                            profiler.sql_log = None
                            assert acc is not None
                            measured.append(acc)
                            gc_per_request.append(profiler.gc)
                            r = acc["request"]
                            whole["keyed" if keyed else "plain"].append(
                                (r[1], r[2], r[5], r[6], resp.status_code))
                            done[True] += 1
                    profiler.unpatch()
                    gc.callbacks.remove(profiler.on_gc)
                else:
                    for _ in range(todo):
                        i = done[False]
                        c0, w0 = cpu_ns(), wall_ns()
                        resp, _, keyed = post(i, False)
                        c1, w1 = cpu_ns(), wall_ns()
                        whole["uninstrumented_keyed" if keyed else "uninstrumented_plain"].append(
                            (c1 - c0, w1 - w0, 0, 0, resp.status_code))
                        done[False] += 1
            chunk_no += 1
        elapsed = time.monotonic() - started
        load_after = load_average()
        gc_runs = sum(s["collections"] for s in gc.get_stats()) - gc_before

        created = counts.settled_tickets(quiet=0.2, limit=5) - tickets_before
        paths = counts.intake_paths()
        records = counts.idempotency_records()
        surges = int(counts.one("SELECT count(*) FROM incidents_incident WHERE source = 'surge'"))
        linked = int(counts.one("SELECT count(*) FROM incidents_incidentticket"))
        version = counts.server_version()
        counts.conn.close()
        conn.close()

    per_stage = summarize(measured)
    calls_per_request = sum(s["calls"] for s in per_stage.values()) / len(measured)
    plain_wall = [r[1] / 1e6 for r in whole["uninstrumented_keyed"] + whole["uninstrumented_plain"]]
    inst_wall = [r[1] / 1e6 for r in whole["keyed"] + whole["plain"]]
    import psycopg

    slowest = max(range(len(measured)), key=lambda k: measured[k]["request"][2])
    top = sorted(((name, row[4]) for name, row in measured[slowest].items()),
                 key=lambda t: -t[1])[:6]
    gc_ms = [g[1] / 1e6 for g in gc_per_request]

    result = {
        "bench": "intake_profile",
        "quick": args.quick,
        "config": {
            "database": f"postgresql {version} (throwaway database, loopback TCP)",
            "requests_measured": n,
            "requests_uninstrumented": n,
            "warmup": args.warmup,
            "idempotency_key": "every other request, each its own key (no replays)",
            "client": "django.test.Client in-process (no HTTP server), one thread, "
                      f"{args.customers} customer knox tokens in turn",
            "bodies": "classifier/data/it_tickets_sample.csv (bench/ingest.py sample_bodies)",
            "seed": f"seed_demo --tickets 0 --customers 0 --agents {args.agents} "
                    f"--agent-capacity {args.agent_capacity}",
            "debug": settings.DEBUG,
            "conn_max_age": settings.DATABASES["default"].get("CONN_MAX_AGE"),
            "conn_health_checks": settings.DATABASES["default"].get("CONN_HEALTH_CHECKS"),
            "surge_enabled": settings.SURGE_ENABLED,
            "python": platform.python_version(),
            "django": django.__version__,
            "djangorestframework": rest_framework.__version__,
            "psycopg": psycopg.__version__,
            "cpus": os.cpu_count(),
            "load_average_before": load_before,
            "load_average_after": load_after,
            "measurement_seconds": round(elapsed, 2),
            "gc_collections_during_measurement": gc_runs,  # all requests, plain ones too
        },
        "outcome": {
            "statuses": {str(k): v for k, v in sorted(statuses.items())},
            "tickets_created": created,
            "intake_events": paths,
            "idempotency_records": records,
            "surge_incidents": surges,
            "incident_links": linked,
            "statements_outside_any_stage": profiler.unattributed,
        },
        "whole_request": {
            "with_idempotency_key": request_stats(whole["keyed"]),
            "without_idempotency_key": request_stats(whole["plain"]),
            "all": request_stats(whole["keyed"] + whole["plain"]),
            "uninstrumented": {
                "with_idempotency_key": request_stats(whole["uninstrumented_keyed"]),
                "without_idempotency_key": request_stats(whole["uninstrumented_plain"]),
            },
        },
        "instrumentation": {
            "wrapped_calls_per_request": r3(calls_per_request),
            "wrapper_cost_us_per_call": r3(cost_ns / 1000),
            "estimated_cost_ms_per_request": r3(cost_ns * calls_per_request / 1e6),
            "wall_p50_instrumented_minus_uninstrumented_ms": r3(
                percentile(inst_wall, 50) - percentile(plain_wall, 50)),
        },
        "garbage_collection": {
            "requests_with_a_collection": sum(1 for g in gc_per_request if g[0]),
            "full_collections": sum(g[2] for g in gc_per_request),
            "ms_per_request_mean": r3(sum(gc_ms) / len(gc_ms)),
            "ms_max": r3(max(gc_ms)),
        },
        "slowest_request": {
            "wall_ms": r3(measured[slowest]["request"][2] / 1e6),
            "cpu_ms": r3(measured[slowest]["request"][1] / 1e6),
            "gc_ms": r3(gc_per_request[slowest][1] / 1e6),
            "full_collections": gc_per_request[slowest][2],
            "top_self_wall_ms": {name: r3(v / 1e6) for name, v in top},
        },
        "stages": per_stage,
        "breakdown": breakdown(measured, CONTAINERS),
        "nesting": {
            "observed_parents": {k: sorted(v) for k, v in sorted(profiler.parents.items())},
            "note": "cpu_ms, wall_ms, db_ms_mean and statements_mean of a stage include the "
                    "stages nested in it (e.g. transaction contains create_ticket, commit...; "
                    "classifier.scores contains classifier.features): do not add them up. "
                    "self_* and 'breakdown' exclude nested stages and add up to the request. "
                    "Per-stage figures are per request in which the stage ran (calls may be "
                    "several per request: classifier.features runs once per feature block).",
            "containers": list(CONTAINERS),
        },
        "notes": [
            "db_ms = wall time inside cursor.execute (connection.execute_wrapper); COMMIT and the "
            "CONN_HEALTH_CHECKS SELECT 1 bypass it and are the stages 'commit' and "
            "'db.health_check'. psycopg sends the transaction's BEGIN itself, before its first "
            "statement: that round trip is in that statement's db time.",
            "cpu is this thread's CPU (client, Django, app); PostgreSQL's CPU only shows in wall.",
            "request = close_old_connections + test client + close_old_connections; its self "
            "time (under other.parts) is the test client, which a real server replaces with "
            "its own HTTP handling; wsgi_handler self = middleware and Django's handler.",
            "surge.observe and report_intake run after COMMIT, inside the request.",
        ],
        "statements_sample": {k: [f"{stage}: {sql}" for stage, sql in v]
                              for k, v in samples.items()},
    }
    print(json.dumps(result, indent=2))
    ok = set(statuses) == {201} and created == args.warmup + 2 * n
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
