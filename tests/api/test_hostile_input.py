"""The hostile-client findings of issue 11, each pinned: bad input gets a 4xx in JSON naming what
is wrong, never a 500, a garbled row or a half-sent report."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.sla.factories import ClockFactory
from tickets.models import Comment, Ticket

TICKETS = "/api/v1/tickets/"
BREACHES = "/api/v1/sla/breaches/"
GOOD = {"subject": "VPN drops", "description": "Every hour since Monday."}
NESTED = "[" * 5000 + "]" * 5000  # 10 KB


def raw_post(client, url, body: bytes | str, content_type="application/json"):
    return client.generic("POST", url, body, content_type=content_type)


@pytest.mark.django_db
def test_deeply_nested_json_is_a_400_on_create_and_comment(api, alice):
    client = api(alice)
    ticket = client.post(TICKETS, GOOD, format="json").json()

    for url in (TICKETS, f"{TICKETS}{ticket['id']}/comments/"):
        resp = raw_post(client, url, NESTED)
        assert resp.status_code == 400, url
        assert "nested too deeply" in resp.json()["detail"]
    assert Ticket.objects.count() == 1 and not Comment.objects.exists()


@pytest.mark.django_db
def test_deeply_nested_json_is_a_400_on_every_json_endpoint(api, agnes):
    from tests.routing.factories import AgentProfileFactory

    AgentProfileFactory(user=agnes)

    resp = api(agnes).generic("PATCH", "/api/v1/agents/me/", NESTED,
                              content_type="application/json")

    assert resp.status_code == 400


@pytest.mark.django_db
@pytest.mark.parametrize("charset", ["latin-1", "iso-8859-1", "x-unknown", "utf-16"])
def test_a_charset_other_than_utf8_is_refused_not_stored_garbled(api, alice, charset):
    body = '{"subject": "Caf\u00e9", "description": "na\u00efve"}'.encode("latin-1")

    resp = raw_post(api(alice), TICKETS, body, f"application/json; charset={charset}")

    assert resp.status_code == 415
    assert "UTF-8" in resp.json()["detail"]
    assert not Ticket.objects.exists()


@pytest.mark.django_db
def test_utf8_declared_or_not_is_stored_as_sent(api, alice):
    client = api(alice)
    body = '{"subject": "Caf\u00e9", "description": "na\u00efve"}'.encode()

    for content_type in ("application/json", "application/json; charset=UTF-8"):
        assert raw_post(client, TICKETS, body, content_type).status_code == 201
    assert set(Ticket.objects.values_list("subject", flat=True)) == {"Caf\u00e9"}


@pytest.mark.django_db
@pytest.mark.parametrize("body", [
    '{"subject": "s", "description": "d", "x\\u0000": 1}',  # in a key
    '{"labels": {"a": ["b\\u0000"]}}',  # deep in a value
])
@pytest.mark.parametrize("url", [TICKETS, "/api/v1/integrations/alertmanager/"])
def test_nul_anywhere_in_a_json_body_is_a_400(api, alice, ian, body, url):
    # Kept as sent (the Alertmanager receiver stores the payload as jsonb), a NUL was a
    # PostgreSQL DataError: a 500.
    resp = raw_post(api(ian if "alertmanager" in url else alice), url, body)

    assert resp.status_code == 400
    assert list(resp.json().values()) == [["NUL (\\u0000) is not allowed in strings."]]
    assert set(resp.json()) <= {"x\\u0000", "labels"}  # the field at fault


@pytest.mark.django_db
def test_a_backslash_u0000_that_is_text_is_not_a_nul(api, alice):
    body = '{"subject": "s", "description": "write \\\\u0000 in C"}'

    assert raw_post(api(alice), TICKETS, body).status_code == 201
    assert Ticket.objects.get().description == "write \\u0000 in C"


@pytest.mark.django_db
def test_invalid_utf8_bytes_are_a_400(api, alice):
    resp = raw_post(api(alice), TICKETS, b'{"subject": "\xff\xfe", "description": "x"}')

    assert resp.status_code == 400 and "JSON parse error" in resp.json()["detail"]


@pytest.mark.django_db
@pytest.mark.parametrize("subject", [
    "Invoice \u202egnp.exe",  # right-to-left override
    "Pay \u2066now\u2069",  # isolates
    "two\nlines",
    "tab\there",
    "nul\x00byte",
    "   ",
])
def test_subjects_refuse_bidi_overrides_and_control_characters(api, alice, subject):
    resp = api(alice).post(TICKETS, {**GOOD, "subject": subject}, format="json")

    assert resp.status_code == 400 and "subject" in resp.json()
    assert not Ticket.objects.exists()


@pytest.mark.django_db
def test_descriptions_keep_newlines_and_right_to_left_text(api, alice):
    text = "\u05e9\u05dc\u05d5\u05dd\nline two \u200f"  # Hebrew, newline, RLM mark

    resp = api(alice).post(TICKETS, {**GOOD, "description": text}, format="json")

    assert resp.status_code == 201
    assert Ticket.objects.get().description == text


@pytest.mark.django_db
@pytest.mark.parametrize("field", ["description", "subject"])
def test_nul_and_lone_surrogates_in_text_are_a_400(api, alice, field):
    client = api(alice)
    for bad in ('"a\\u0000b"', '"a\\ud800b"'):
        body = '{"subject": "s", "description": "d"}'.replace(f'"{field[0]}"', bad)
        resp = raw_post(client, TICKETS, body)
        assert resp.status_code == 400 and field in resp.json(), (field, bad)


@pytest.mark.django_db
def test_an_oversize_body_is_a_413_in_json_without_being_read(api, alice, settings):
    client = api(alice)

    class Unreadable:
        def read(self, *args):
            raise AssertionError("the body was read")

        readline = read

    resp = client.generic(
        "POST", TICKETS, b"", content_type="application/json",
        CONTENT_LENGTH=str(settings.API_MAX_BODY_BYTES + 1), **{"wsgi.input": Unreadable()},
    )

    assert resp.status_code == 413
    assert resp["Content-Type"] == "application/json"
    assert "bytes" in resp.json()["detail"]


@pytest.mark.django_db
def test_a_body_at_the_documented_limits_is_accepted(api, alice):
    # 10,000 characters, each \\u-escaped in JSON: the worst case still fits under the limit.
    subject, description = "\\u00e9" * 200, "\\ud83d\\ude00" * 10_000
    body = f'{{"subject": "{subject}", "description": "{description}"}}'

    assert len(body) > 120_000
    assert raw_post(api(alice), TICKETS, body).status_code == 201


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/api/v1/nope/", "/api/v2/tickets/", "/api/v1/tickets/abc/"])
def test_unknown_api_urls_are_a_json_404(api, alice, url):
    resp = api(alice).get(url)

    assert resp.status_code == 404
    assert resp.json() == {"detail": "Not Found."}


@pytest.mark.django_db
def test_a_server_error_under_the_api_is_json(alice, monkeypatch):
    from tickets.api import views

    def boom(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(views.TicketViewSet, "list", boom)
    from tests.conftest import api_client_for

    client = api_client_for(alice)
    client.raise_request_exception = False

    resp = client.get(TICKETS)

    assert resp.status_code == 500
    assert resp.json() == {"detail": "Internal Server Error."}
    assert "boom" not in resp.content.decode()


@pytest.mark.django_db
def test_pages_outside_the_api_keep_html_errors():
    resp = Client().get("/nope/")

    assert resp.status_code == 404 and "application/json" not in resp["Content-Type"]


# --- List filters ---------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("query", [
    {"page_size": "5.3e-155"}, {"page_size": "0"}, {"page_size": "-1"}, {"page_size": ""},
    {"page": "abc"}, {"page": "0"}, {"status": ""}, {"status": "nope"},
])
def test_ticket_list_rejects_malformed_paging_and_filters(api, agnes, query):
    resp = api(agnes).get(TICKETS, query)

    assert resp.status_code == 400
    assert set(resp.json()) == set(query)


@pytest.mark.django_db
def test_a_page_past_the_last_is_a_404(api, agnes):
    assert api(agnes).get(TICKETS, {"page": "2"}).status_code == 404


@pytest.fixture
def breached(db):
    return ClockFactory(state="breached", breached_at="2026-03-02T10:00:00Z", level=2)


@pytest.mark.django_db
@pytest.mark.parametrize("query", [
    {"since": "bad"}, {"until": ""}, {"since": "2000-02-30T00:00:00"},
    {"since": "0001-01-01T00:00:00+01:00"}, {"stage": "a\x00b"}, {"priority": "x\x00"},
    {"since": "2000-01-01T00:00:00\x00"}, {"priority": "asap"}, {"open": "maybe"},
    {"subject": ""}, {"stage": ""},
])
@pytest.mark.parametrize("url", [BREACHES, BREACHES + "?format=csv", "/api/v1/sla/breaches.csv"])
def test_breach_report_refuses_bad_filters_in_json_before_streaming(
    api, max_manager, breached, query, url
):
    resp = api(max_manager).get(url, query)

    assert resp.status_code == 400, resp.content
    assert resp["Content-Type"] == "application/json"
    assert set(resp.json()) == {k.replace("\x00", "\\x00") for k in query}


@pytest.mark.django_db
def test_an_unknown_report_format_is_a_400_not_a_404(api, max_manager):
    resp = api(max_manager).get(BREACHES, {"format": "xml"})

    assert resp.status_code == 400 and "format" in resp.json()


@pytest.mark.django_db
@pytest.mark.parametrize("offset", ["+22:00", "-16:00", "+15:59"])
def test_breach_report_takes_any_utc_offset_python_parses(api, max_manager, breached, offset):
    resp = api(max_manager).get(BREACHES, {"since": f"2000-01-01T00:00:00{offset}"})

    assert resp.status_code == 200 and resp.json()["count"] == 1


@pytest.mark.django_db
def test_breach_report_filters_by_an_offset_in_absolute_time(api, max_manager, breached):
    client = api(max_manager)
    # 10:00Z is 20:30 at +10:30 and 08:00 at -02:00.
    assert client.get(BREACHES, {"since": "2026-03-02T20:30:00+10:30"}).json()["count"] == 1
    assert client.get(BREACHES, {"since": "2026-03-02T20:31:00+10:30"}).json()["count"] == 0
    assert client.get(BREACHES, {"until": "2026-03-02T08:00:01-02:00"}).json()["count"] == 1


@pytest.mark.django_db
def test_breach_csv_errors_are_json_not_a_python_repr(api, agnes):
    resp = api(agnes).get(BREACHES, {"format": "csv"})

    assert resp.status_code == 403
    assert resp.json() == {"detail": "The SLA breach report is for managers."}
