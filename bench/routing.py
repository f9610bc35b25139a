#!/usr/bin/env python3
"""Routing benchmark on a throwaway PostgreSQL database. Prints one JSON object.

1. decision latency: route_ticket (candidates read, slot taken, decision stored) with 1,000
   agents and 50 skills (5 skills each, ~100 holders per skill), one transaction per decision;
   target p99 <= 5 ms;
2. assignments/s: 16 concurrent creator processes submitting categorized tickets through the
   real intake flow (tickets.flows.submit_ticket), each process its own connection;
3. replay: the shared labelled tickets (../shared/data/it-service-tickets/test.csv from the repo
   root) through the real intake (classify + route), with agents whose skills cover the
   categories, after training a classifier on ../shared/.../train.csv (--quick: its first 2,000
   rows). The category is always the classifier's: low-confidence tickets go to triage, and a
   wrong category routes to the wrong skill. Routing precision = share of auto-routed tickets
   whose assignee holds the TRUE category's skill.

Parts 1 and 2 give intake its category directly (classification is not what they measure).

    .venv/bin/python bench/routing.py            # full run
    .venv/bin/python bench/routing.py --quick    # CI smoke run
"""

from __future__ import annotations

import argparse
import csv
import json
import multiprocessing
import os
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
REPLAY_CSV = ROOT.parent / "shared" / "data" / "it-service-tickets" / "test.csv"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def setup_django(db_url: str) -> None:
    os.environ["DATABASE_URL"] = db_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only-not-secret")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", "--no-input", verbosity=0)


def seed(*, agents: int, skills: int, per_agent: int, capacity: int, rng: random.Random) -> Any:
    from django.contrib.auth import get_user_model

    from routing.models import AgentProfile, AgentSkill, Skill
    from tickets.models import Category

    user_model = get_user_model()
    skill_rows = Skill.objects.bulk_create(
        Skill(slug=f"skill-{i}", name=f"Skill {i}") for i in range(skills)
    )
    Category.objects.bulk_create(
        Category(name=f"Category {i}", slug=f"cat-{i}", skill=f"skill-{i}") for i in range(skills)
    )
    users = user_model.objects.bulk_create(
        user_model(username=f"agent{i}", is_staff=True) for i in range(agents)
    )
    profiles = AgentProfile.objects.bulk_create(
        AgentProfile(user=u, capacity=capacity, tier=rng.choice([1, 1, 2, 3]),
                     availability="available")
        for u in users
    )
    AgentSkill.objects.bulk_create(
        AgentSkill(agent=p, skill=s, level=rng.randint(1, 5))
        for p in profiles
        for s in rng.sample(skill_rows, per_agent)
    )
    customer = user_model.objects.create(username="bench-customer")
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")  # what autovacuum would do after a bulk load
    return customer


def stub_classifier(category_of: Any) -> None:
    """Intake's classify step answers with `category_of(subject)`: the bench measures routing
    with categorized tickets, whatever model is (not) trained in the throwaway database."""
    from types import SimpleNamespace

    from tickets import flows

    def fields(guess: Any) -> dict[str, Any]:
        return {"category": guess.category, "needs_triage": False}

    flows.classifier = SimpleNamespace(  # type: ignore[attr-defined]
        # Shaped like classifier.services.Classification where intake reads it.
        classify=lambda subject, description: SimpleNamespace(
            category=category_of(subject), confidence=1.0),
        ticket_fields=fields,
        apply_prediction=lambda **kwargs: None,
    )


def bench_decisions(n: int, customer: Any, rng: random.Random) -> dict[str, Any]:
    """The intake shape: plan (candidates + slot) before the ticket INSERT, which carries the
    assignee, then the decision row. Timed: plan + record, not the ticket INSERT itself."""
    from django.db import transaction

    from routing import services
    from tickets import services as tickets
    from tickets.models import Category

    categories = list(Category.objects.all())
    timings, assigned = [], 0
    for _ in range(n):
        category = rng.choice(categories)
        with transaction.atomic():
            start = time.perf_counter()
            plan = services.plan_route(category=category, priority="normal")
            planned = time.perf_counter() - start
            ticket, timeline = tickets.create_ticket(
                customer=customer, subject="s", description="d", priority="normal",
                decided_fields={"category": category, **plan.ticket_fields},
            )
            start = time.perf_counter()
            decision = services.route_ticket(ticket=ticket, timeline=timeline, plan=plan)
            timings.append((planned + time.perf_counter() - start) * 1000)
            timeline.flush()
        assigned += decision is not None and decision.outcome == "assigned"
    return {
        "decisions": n,
        "assigned": assigned,
        "p50_ms": round(statistics.median(timings), 3),
        "p99_ms": round(percentile(timings, 0.99), 3),
        "max_ms": round(max(timings), 3),
        "target_p99_ms": 5,
        "load_average_1m": round(os.getloadavg()[0], 2),
    }


def _creator(args: tuple[str, int, int]) -> tuple[int, int]:
    """One creator process: its own Django setup and connection; returns (created, assigned)."""
    db_url, count, seed_value = args
    os.environ["DATABASE_URL"] = db_url
    import django

    django.setup()
    from tickets import flows
    from tickets.models import Category

    categories = {c.slug: c for c in Category.objects.all()}
    slugs = sorted(categories)
    stub_classifier(lambda subject: categories[subject])
    rng = random.Random(seed_value)
    from django.contrib.auth import get_user_model

    customer = get_user_model().objects.get(username="bench-customer")
    assigned = 0
    for _ in range(count):
        ticket = flows.submit_ticket(
            customer=customer, subject=rng.choice(slugs), description="d", priority="normal"
        )
        assigned += ticket.assignee_id is not None
    return count, assigned


def bench_concurrent(db_url: str, creators: int, per_creator: int) -> dict[str, Any]:
    from django.db import connections

    connections.close_all()  # never share a connection with forked children
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(creators) as pool:
        start = time.perf_counter()
        results = pool.map(_creator, [(db_url, per_creator, i) for i in range(creators)])
        elapsed = time.perf_counter() - start
    created = sum(r[0] for r in results)
    assigned = sum(r[1] for r in results)
    return {
        "creators": creators,
        "tickets": created,
        "assigned": assigned,
        "seconds": round(elapsed, 2),
        "tickets_per_s": round(created / elapsed, 1),
        "assignments_per_s": round(assigned / elapsed, 1),
        "note": "each creator a process with its own connection; includes the whole intake "
        "transaction (ticket, routing, SLA clocks, timeline)",
    }


def bench_replay(limit: int | None, training: dict[str, Any]) -> dict[str, Any]:
    """Held-out tickets through the real intake (classify -> route -> clocks) with the model
    trained on train.csv: the category is the classifier's, never the true label, so routing
    precision counts the classifier's mistakes too."""
    from django.utils.text import slugify

    from classifier import services as classifier
    from routing.models import AgentProfile, AgentSkill, Skill
    from tickets import flows
    from tickets.models import Category

    if classifier.classify("printer", "my printer is broken") is None:
        raise RuntimeError("no active classifier: the replay would not measure classification")
    with REPLAY_CSV.open(newline="", encoding="utf-8") as fh:
        rows = [(r["text"], r["label"]) for r in csv.DictReader(fh)]
    rows = rows[:limit] if limit else rows
    labels = sorted({label for _, label in rows})
    categories = {}
    for label in labels:  # the categories import_tickets created for the training labels
        slug = slugify(label)
        categories[label], _ = Category.objects.get_or_create(
            slug=slug, defaults={"name": label, "skill": slug}
        )
        Skill.objects.get_or_create(slug=categories[label].skill, defaults={"name": label})
    # 3 agents per category (2 skills each, overlapping), capacity enough for the whole replay.
    AgentProfile.objects.update(availability="offline")  # only the replay team takes these
    from django.contrib.auth import get_user_model

    user_model = get_user_model()
    for i, label in enumerate(labels):
        for j in range(3):
            user = user_model.objects.create(username=f"replay-{i}-{j}", is_staff=True)
            profile = AgentProfile.objects.create(
                user=user, capacity=len(rows), availability="available"
            )
            AgentSkill.objects.create(agent=profile, skill=Skill.objects.get(
                slug=categories[label].skill), level=3 + j % 3)
            other = labels[(i + j + 1) % len(labels)]
            AgentSkill.objects.get_or_create(
                agent=profile, skill=Skill.objects.get(slug=categories[other].skill)
            )

    customer = user_model.objects.get(username="bench-customer")
    holders: dict[int, set[str]] = {}
    for p in AgentSkill.objects.select_related("skill", "agent"):
        holders.setdefault(p.agent.user_id, set()).add(p.skill.slug)
    routed = correct = categorized = right_category = 0
    start = time.perf_counter()
    for text, label in rows:
        ticket = flows.submit_ticket(
            customer=customer, subject="", description=text or "-", priority="normal",
        )
        if ticket.category_id is not None:
            categorized += 1
            right_category += ticket.category_id == categories[label].pk
        if ticket.assignee_id is not None:
            routed += 1
            correct += categories[label].skill in holders.get(ticket.assignee_id, set())
    elapsed = time.perf_counter() - start
    return {
        "tickets": len(rows),
        "category_source": "classifier",
        "model": training,
        "categorized_by_classifier": categorized,
        "category_precision": round(right_category / categorized, 4) if categorized else None,
        "auto_routed": routed,
        "not_routed": len(rows) - routed,
        "auto_routed_share": round(routed / len(rows), 4),
        # Share of auto-routed tickets whose assignee holds the TRUE category's skill.
        "routing_precision": round(correct / routed, 4) if routed else None,
        "target_precision": 0.90,
        "seconds": round(elapsed, 2),
        "load_average_1m": round(os.getloadavg()[0], 2),
    }


def train_classifier(limit: int | None) -> dict[str, Any]:
    """Import ../shared/.../train.csv (its first `limit` rows: --quick trains a small model in
    seconds) and train + activate a model on it, through the real management commands."""
    import io
    import tempfile

    from django.core.management import call_command

    start = time.perf_counter()
    train = REPLAY_CSV.with_name("train.csv")
    with tempfile.TemporaryDirectory() as tmp:
        if limit:
            lines = train.read_text(encoding="utf-8").splitlines(keepends=True)
            subset = Path(tmp) / "train-subset.csv"
            subset.write_text("".join(lines[: limit + 1]), encoding="utf-8")  # + header row
            train = subset
        call_command(
            "import_tickets", str(train), "--text-columns", "text", "--label-column", "label",
            verbosity=0, stdout=io.StringIO(),
        )
    out = io.StringIO()
    call_command("train_classifier", "--activate-always", stdout=out)
    summary = json.loads(out.getvalue().strip().splitlines()[-1])
    return {"seconds": round(time.perf_counter() - start, 1), "file": "train.csv",
            "rows": limit or "all", "summary": summary}


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="small bounded smoke run")
    parser.add_argument(
        "--admin-db-url",
        default=os.environ.get(
            "BENCH_ADMIN_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres"
        ),
    )
    args = parser.parse_args()
    decisions, per_creator, replay, train_rows = (
        (300, 20, 800, 2000) if args.quick else (3000, 150, None, None)
    )

    from bench.ingest import throwaway_database

    rng = random.Random(42)
    with throwaway_database(args.admin_db_url) as db_url:
        setup_django(db_url)
        customer = seed(agents=1000, skills=50, per_agent=5, capacity=1000, rng=rng)
        result: dict[str, Any] = {
            "benchmark": "routing",
            "quick": args.quick,
            "database": "postgresql",
            "agents": 1000,
            "skills": 50,
            "cpus": os.cpu_count(),
            "load_average_start": [round(x, 2) for x in os.getloadavg()],
            "decision": bench_decisions(decisions, customer, rng),
            "concurrent_creators": bench_concurrent(db_url, 16, per_creator),
        }
        result["replay"] = bench_replay(replay, train_classifier(train_rows))
        from django.db import connections

        connections.close_all()
    result["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
