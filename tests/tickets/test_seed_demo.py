"""seed_demo never leaves a known password behind on a production-like database (DEBUG off)
unless asked to with --i-know. One test, three runs: each run only adds the users that are new
(and the first run trains the demo classifier, the slow part)."""

from __future__ import annotations

import io

import pytest
from django.contrib.auth import authenticate
from django.core.management import call_command

from tickets.management.commands.seed_demo import DEMO_PASSWORD


def seed(customers: int, *extra: str) -> str:
    out = io.StringIO()
    call_command("seed_demo", "--tickets", "0", "--customers", str(customers), "--agents", "1",
                 *extra, stdout=out)
    return out.getvalue()


def known(username: str) -> bool:
    return authenticate(username=username, password=DEMO_PASSWORD) is not None


@pytest.mark.django_db
def test_it_uses_the_demo_password_only_with_debug_on_or_when_told(settings):
    settings.DEBUG = False
    out = seed(1)

    printed = dict(line.split() for line in out.splitlines() if line.startswith("  "))
    assert set(printed) == {"agent1", "manager", "customer1"}
    assert len(set(printed.values())) == 3
    assert authenticate(username="manager", password=printed["manager"]) is not None
    assert not any(known(name) for name in printed)

    out = seed(2, "--i-know")  # adds customer2, with the known password as asked

    assert known("customer2") and "passwords" not in out

    settings.DEBUG = True  # the demo (dev.py demo, the peer comparison)
    seed(3)

    assert known("customer3")
