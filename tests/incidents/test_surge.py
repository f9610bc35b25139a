"""Surge detection: tickets of one category, or with near-identical subjects, arriving far above
their usual rate open an incident (source surge) that links them and the ones that follow; the
rate and baseline arithmetic; the cost per ticket (one statement)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from incidents import surge
from incidents.models import Incident, IncidentTicket, SurgeCounter
from tests.routing.factories import category_for
from tests.sla.conftest import T0
from tests.tickets.factories import TicketFactory
from tickets import flows

pytestmark = pytest.mark.django_db
WINDOW = timedelta(minutes=10)


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    surge.forget_cache()
    yield
    surge.forget_cache()


def word(n: int) -> str:
    """A distinct made-up word per n (fingerprints ignore digits)."""
    letters = "abcdefghijklmnopqrstuvwxyz"
    return letters[n % 26] + letters[(n // 26) % 26] + "zz"


def at(offset: timedelta) -> Iterator[None]:
    return time_machine.travel(T0 + offset, tick=False)


def arrive(customer, offset=timedelta(0), **fields):
    """A ticket taken in at T0 + offset and observed as the intake does after commit."""
    with at(offset):
        ticket = TicketFactory(customer=customer, **fields)
        surge.observe(ticket)
    return ticket


def test_the_fingerprint_ignores_case_order_digits_and_punctuation():
    fp = surge.subject_fingerprint
    assert fp("Checkout shows error 502") == fp("ERROR: checkout shows error!! 503")
    assert fp("Checkout shows error") != fp("Checkout shows errors")
    assert fp("Help") is None and fp("!!! 42") is None


def test_near_identical_subjects_surge_from_nothing(alice, bob):
    tickets = [arrive(alice if i % 2 else bob, timedelta(seconds=30 * i),
                      subject=f"Checkout page shows error 50{i % 3}") for i in range(8)]

    incident = Incident.objects.get(source="surge")
    assert incident.status == "triggered" and incident.severity == "sev3"
    assert incident.title.startswith('Surge: 8 tickets about "Checkout page shows error')
    assert set(incident.linked_tickets.all()) == set(tickets)

    follower = arrive(alice, timedelta(minutes=5), subject="checkout PAGE shows error 500")
    other = arrive(alice, timedelta(minutes=5), subject="Printer out of toner")
    assert set(incident.linked_tickets.all()) == {*tickets, follower}
    assert not other.incidents.exists()
    assert list(follower.events.values_list("kind", flat=True)) == ["incident_linked"]


def test_seven_are_not_a_surge(alice):
    for i in range(7):
        arrive(alice, timedelta(seconds=30 * i), subject="Checkout page shows error")
    assert not Incident.objects.exists()


def test_a_category_surges_against_its_usual_rate_after_warming_up(alice):
    vpn = category_for("vpn")
    for bucket in range(7):  # a quiet hour: one VPN ticket per 10 min
        arrive(alice, WINDOW * bucket, category=vpn, subject=f"VPN question {word(bucket)}")
    burst = [arrive(alice, WINDOW * 7 + timedelta(seconds=20 * i), category=vpn,
                    subject=f"Cannot connect {word(i)}") for i in range(8)]

    incident = Incident.objects.get(source="surge")
    assert incident.category == vpn and incident.dedup_key == f"surge:cat:{vpn.pk}"
    # The previous bucket's ticket counts too: it is in the sliding window.
    assert set(burst) <= set(incident.linked_tickets.all())


def test_a_busy_category_needs_far_more_to_surge(alice):
    billing = category_for("billing")
    for bucket in range(8):  # usually 10 per bucket
        for i in range(10):
            arrive(alice, WINDOW * bucket + timedelta(seconds=i), category=billing,
                   subject=f"Invoice question {word(bucket * 10 + i)}")
    for i in range(20):  # twice the usual: busy, not an outage
        arrive(alice, WINDOW * 8 + timedelta(seconds=i), category=billing,
               subject=f"Refund please {word(100 + i)}")
    assert not Incident.objects.exists()


def test_a_new_install_does_not_call_its_first_busy_category_an_outage(alice):
    first = category_for("access")
    for i in range(12):
        arrive(alice, timedelta(seconds=10 * i), category=first, subject=f"Login problem {word(i)}")
    assert not Incident.objects.exists()  # no history for the category yet


def test_counting_is_one_statement_per_ticket(alice):
    ticket = TicketFactory(customer=alice, category=category_for("vpn"), subject="VPN is slow")
    surge.observe(ticket)  # fills the per-process cache of open surges
    other = TicketFactory(customer=alice, category=ticket.category, subject="VPN is down")

    with CaptureQueriesContext(connection) as queries:
        surge.observe(other)

    assert len(queries) == 1 and "ON CONFLICT" in queries[0]["sql"]


def test_the_baseline_arithmetic_known_answer(alice, settings):
    settings.SURGE_BASELINE_BUCKETS = 4  # alpha 1/4
    ticket = TicketFactory(customer=alice, subject="Same words here")
    key = surge.keys_for(ticket)
    for i in range(4):
        surge.count(key, ticket.pk + i, T0 + timedelta(seconds=i))
    [c] = surge.count(key, 99, T0 + 2 * WINDOW + timedelta(minutes=5))  # two buckets later

    # b = (3/4)^2 * 0 + 1/4 * (3/4)^1 * 4 = 0.75 over 2 buckets seen; bias-corrected:
    # 0.75 / (1 - (3/4)^2) = 1.714...
    assert (c.count, c.previous, c.buckets_seen) == (1, 0, 2)
    assert c.baseline == pytest.approx(0.75)
    assert c.usual() == pytest.approx(0.75 / 0.4375)
    assert (c.first_id, c.previous_first_id) == (99, None)


def test_the_sliding_estimate_weighs_the_previous_bucket(alice):
    ticket = TicketFactory(customer=alice, subject="Same words here")
    key = surge.keys_for(ticket)
    bucket_start = T0 - timedelta(seconds=T0.timestamp() % 600)
    for i in range(6):
        surge.count(key, i, bucket_start + timedelta(minutes=1))
    [c] = surge.count(key, 7, bucket_start + WINDOW + timedelta(minutes=4))

    # 1 now + 6 from the last bucket, 60 % of which the window still covers.
    assert c.estimate(bucket_start + WINDOW + timedelta(minutes=4)) == pytest.approx(1 + 3.6)


def test_switched_off_it_counts_nothing(alice, settings):
    settings.SURGE_ENABLED = False
    arrive(alice, subject="Checkout shows error")
    assert not SurgeCounter.objects.exists()


def test_the_intake_flow_counts_every_ticket_after_commit(alice):
    with at(timedelta(0)):
        for i in range(8):
            flows.submit_ticket(customer=alice, subject=f"Website down {i}",
                                description="It does not load.", priority="high")

    incident = Incident.objects.get(source="surge")
    assert IncidentTicket.objects.filter(incident=incident).count() == 8
