"""manage.py import_tickets: streaming, idempotent, creates categories, says what it skipped."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from classifier.models import TrainingExample
from tests.classifier.conftest import SAMPLE
from tests.tickets.factories import CategoryFactory
from tickets.models import Category


def run_import(path: Path, *args: str) -> tuple[dict, str]:
    out = StringIO()
    call_command("import_tickets", str(path), *args, stdout=out)
    text = out.getvalue()
    return json.loads(text.strip().splitlines()[-1]), text


@pytest.mark.django_db
def test_it_imports_the_sample_and_creates_its_categories():
    summary, _ = run_import(SAMPLE, "--text-columns", "text", "--label-column", "label")

    assert summary["rows"] == 1200
    assert summary["imported"] == TrainingExample.objects.count()
    assert summary["imported"] + sum(summary["skipped"].values()) == 1200
    assert sorted(summary["categories_created"]) == sorted(
        ["access", "administrative-rights", "hardware", "hr-support", "internal-project",
         "miscellaneous", "purchase", "storage"]
    )
    hr = Category.objects.get(slug="hr-support")
    assert (hr.name, hr.skill) == ("HR Support", "hr-support")


@pytest.mark.django_db
def test_it_adds_nothing_when_run_again():
    run_import(SAMPLE, "--text-columns", "text", "--label-column", "label")
    before = TrainingExample.objects.count()

    summary, _ = run_import(SAMPLE, "--text-columns", "text", "--label-column", "label")

    assert summary["imported"] == 0 and summary["categories_created"] == []
    assert summary["skipped"]["already imported"] == before
    assert TrainingExample.objects.count() == before


@pytest.mark.django_db
def test_it_reports_skipped_rows_and_why(tmp_path):
    CategoryFactory(name="Network", slug="network")
    path = tmp_path / "history.csv"
    path.write_text(
        "subject,body,category,prio\n"
        "VPN down,cannot connect since 9am,Network,HIGH\n"        # 2 ok (existing category)
        ",,Network,low\n"                                          # 3 empty text
        "Printer,out of toner,,low\n"                              # 4 empty label
        "VPN down,cannot connect since 9am,Network,high\n"         # 5 duplicate of line 2
        "Laptop,screen cracked,Hardware\n"                         # 6 wrong number of fields
        "Badge,lost my badge,!!!,low\n"                            # 7 label without letters
        "Монитор,не включается,Оборудование,urgent\n"              # 8 ok, new unicode category
        "Disk,quota full,Storage,whatever\n",                      # 9 ok, priority dropped
        encoding="utf-8",
    )

    summary, text = run_import(
        path, "--text-columns", "subject,body", "--label-column", "category",
        "--priority-column", "prio",
    )

    assert summary["imported"] == 3
    assert summary["skipped"] == {
        "empty text": 1, "empty label": 1, "duplicate of an earlier row": 1,
        "wrong number of fields": 1, "label unusable as a category (too long or no letters)": 1,
    }
    assert "empty text (lines 3)" in text
    assert sorted(summary["categories_created"]) == ["storage", "оборудование"]
    vpn = TrainingExample.objects.get(category__slug="network")
    assert (vpn.text, vpn.priority, vpn.source) == (
        "VPN down\ncannot connect since 9am", "high", "history.csv"
    )
    assert TrainingExample.objects.get(category__slug="storage").priority == ""


@pytest.mark.django_db
def test_it_refuses_a_file_without_the_named_columns(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("text,label\nhello,Access\n", encoding="utf-8")

    with pytest.raises(CommandError, match="category"):
        run_import(path, "--text-columns", "text", "--label-column", "category")
    with pytest.raises(CommandError):
        run_import(tmp_path / "missing.csv", "--text-columns", "text", "--label-column", "label")


@pytest.mark.django_db
def test_it_counts_only_rows_it_really_inserted():
    """A row another import stored between this batch's check and its INSERT is dropped by the
    unique hash; it must not be counted as imported."""
    from classifier.management.commands.import_tickets import _insert_new
    from classifier.models import content_key
    from tests.classifier.factories import TrainingExampleFactory

    network = CategoryFactory(name="Network", slug="network")
    stored = TrainingExampleFactory(text="vpn down", category=network)
    fresh = TrainingExample(
        text="wifi slow", category=network, content_hash=content_key("wifi slow", "network")
    )
    twin = TrainingExample(text="vpn down", category=network, content_hash=stored.content_hash)

    inserted = _insert_new([fresh, twin])

    assert inserted == {fresh.content_hash}
    assert TrainingExample.objects.count() == 2


@pytest.mark.postgres
@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="SQLite serialises writers: two imports cannot overlap there",
)
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_imports_of_one_file_count_each_row_once():
    from tests.concurrency import run_concurrently

    summaries: list[dict] = []

    def one_import() -> None:
        summaries.append(run_import(SAMPLE, "--text-columns", "text", "--label-column", "label")[0])

    errors = run_concurrently([one_import, one_import])

    assert not errors, errors
    stored = TrainingExample.objects.count()
    assert sum(s["imported"] for s in summaries) == stored > 1000
    for s in summaries:  # every row is accounted for in each report
        assert s["imported"] + sum(s["skipped"].values()) == 1200
