"""Post-mortems: written any time, published once resolved with a summary and root cause
(which meets the post-mortem stage), rendered as Markdown with computed impact, action items
and the timeline."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from incidents import flows, linking, postmortem
from incidents.postmortem import ActionItemInput
from incidents.services import IncidentStateError
from tests.incidents.conftest import stage
from tests.incidents.factories import open_incident
from tests.sla.conftest import T0, later
from tests.tickets.factories import TicketFactory

pytestmark = pytest.mark.django_db
URL = "/api/v1/incidents/"


@pytest.fixture
def resolved(agnes, alice, bob, frozen):
    incident = open_incident(started_at=T0 - timedelta(minutes=4))
    linking.link_tickets(incident=incident, actor=agnes, tickets=[
        TicketFactory(customer=alice), TicketFactory(customer=alice),
        TicketFactory(customer=bob)])
    frozen.move_to(later(minutes=10))
    flows.acknowledge(incident=incident, actor=agnes)
    frozen.move_to(later(hours=1, minutes=30))
    incident, _ = flows.resolve(incident=incident, actor=agnes)
    return incident


def test_impact_is_computed_from_the_incident(resolved):
    figures = postmortem.impact(resolved)

    assert figures["duration_seconds"] == 94 * 60  # 4 min before detection + 1 h 30
    assert figures["time_to_detect_seconds"] == 240
    assert figures["time_to_acknowledge_seconds"] == 600
    assert (figures["linked_tickets"], figures["customers_affected"]) == (3, 2)


def test_publishing_needs_a_resolved_incident_with_summary_and_root_cause(agnes, frozen):
    incident = open_incident()
    postmortem.save_postmortem(incident=incident, author=agnes,
                               fields={"summary": "x", "root_cause": "y"})
    with pytest.raises(IncidentStateError):
        postmortem.publish_postmortem(incident=incident, actor=agnes)  # still open

    flows.resolve(incident=incident, actor=agnes)
    postmortem.save_postmortem(incident=incident, author=agnes, fields={"root_cause": " "})
    with pytest.raises(IncidentStateError):
        postmortem.publish_postmortem(incident=incident, actor=agnes)  # no root cause


def test_publishing_meets_the_stage_and_closes_the_incident(resolved, agnes, frozen):
    frozen.move_to(later(hours=5))
    postmortem.save_postmortem(
        incident=resolved, author=agnes,
        fields={"summary": "Checkout failed for 90 min", "root_cause": "Expired certificate",
                "lessons": "Alert on certificate expiry"},
        actions=[ActionItemInput("Add cert expiry alert", owner=agnes,
                                 due_date=date(2026, 3, 9))],
    )
    published = postmortem.publish_postmortem(incident=resolved, actor=agnes)

    resolved.refresh_from_db()
    assert resolved.status == "postmortem_published"
    assert resolved.postmortem_published_at == later(hours=5) == published.published_at
    assert stage(resolved, "postmortem").state == "met"


def test_the_markdown_document(resolved, agnes):
    postmortem.save_postmortem(
        incident=resolved, author=agnes,
        fields={"summary": "Checkout failed", "root_cause": "Expired certificate"},
        actions=[ActionItemInput("Add cert expiry alert", owner=agnes,
                                 due_date=date(2026, 3, 9))],
    )
    text = postmortem.render_markdown(resolved)

    assert text.startswith(f"# Post-mortem: {resolved.reference} Checkout returns 500s")
    assert "- Duration: 1 h 34 min" in text
    assert "- Linked tickets: 3" in text and "- Customers affected: 2" in text
    assert "## Root cause\n\nExpired certificate" in text
    assert "- [ ] Add cert expiry alert (owner: agnes, due 2026-03-09)" in text
    assert "acknowledged by agnes" in text and "resolved by agnes" in text


def test_the_api_writes_reads_and_publishes_it(api, agnes, resolved):
    client = api(agnes)
    path = f"{URL}{resolved.pk}/postmortem/"
    assert client.get(path).status_code == 404

    written = client.put(path, {
        "summary": "Checkout failed", "root_cause": "Expired certificate",
        "action_items": [{"description": "Alert on expiry", "owner": "agnes",
                          "due_date": "2026-03-09"}],
    }, format="json")
    assert written.status_code == 200
    assert written.json()["action_items"][0]["owner"] == "agnes"
    assert written.json()["impact_figures"]["linked_tickets"] == 3

    markdown = client.get(path, {"format": "md"})
    assert markdown["Content-Type"].startswith("text/markdown")
    assert b"## Action items" in markdown.content

    published = client.post(f"{path}publish/", {}, format="json")
    assert published.status_code == 200 and published.json()["published_at"]
    assert client.put(path, {"bogus": "x"}, format="json").status_code == 400
