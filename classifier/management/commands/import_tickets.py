"""manage.py import_tickets: streaming import of labelled ticket history from CSV into
TrainingExample (see classifier.models for why history is not imported as tickets).

Idempotent: an example's identity is sha256(label, text) (a unique column), so re-running an
import, or importing an overlapping file, adds only what is new. Reads the file row by row and
writes in batches (one SELECT of known hashes and one INSERT per batch), so a file of any size
runs in constant memory."""

from __future__ import annotations

import csv
import json
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, transaction
from django.utils.text import slugify

from classifier.models import TrainingExample, content_key
from tickets.models import Category, Ticket

BATCH = 1000
NAME_MAX = Category._meta.get_field("name").max_length or 100


@dataclass
class ImportReport:
    rows: int = 0
    created: int = 0
    categories_created: list[str] = field(default_factory=list)
    skipped: Counter[str] = field(default_factory=Counter)
    examples: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))

    def skip(self, line: int, reason: str) -> None:
        self.skipped[reason] += 1
        if len(self.examples[reason]) < 5:
            self.examples[reason].append(line)


@dataclass(frozen=True)
class Columns:
    text: list[str]
    label: str
    priority: str | None = None

    def check(self, header: list[str]) -> None:
        wanted = [*self.text, self.label, *([self.priority] if self.priority else [])]
        missing = [c for c in wanted if c not in header]
        if missing:
            raise ValueError(f"columns not in the file's header {header}: {missing}")


def import_csv(fh: IO[str], columns: Columns, *, source: str = "") -> ImportReport:
    """Import every usable row of `fh`; see ImportReport.skipped for the rows left out."""
    report = ImportReport()
    reader = csv.DictReader(fh)
    columns.check(list(reader.fieldnames or []))
    categories = _CategoryCache(report)
    batch: list[tuple[int, TrainingExample]] = []
    for line, row in _rows(reader, report):
        report.rows += 1
        example = _example(line, row, columns, categories, report, source)
        if example is not None:
            batch.append((line, example))
        if len(batch) >= BATCH:
            _write(batch, report)
            batch = []
    _write(batch, report)
    return report


def _rows(reader: csv.DictReader[str], report: ImportReport) -> Iterator[tuple[int, dict]]:
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error:  # e.g. a field over csv.field_size_limit: skip it, keep reading
            report.rows += 1
            report.skip(reader.line_num, "malformed CSV row")
            continue
        yield reader.line_num, row


def _example(
    line: int,
    row: dict,
    columns: Columns,
    categories: _CategoryCache,
    report: ImportReport,
    source: str,
) -> TrainingExample | None:
    if None in row or None in row.values():  # DictReader's marks of a long / short row
        report.skip(line, "wrong number of fields")
        return None
    text = "\n".join(row[c].strip() for c in columns.text).strip()
    label = " ".join(row[columns.label].split())
    if not text:
        report.skip(line, "empty text")
        return None
    if not label:
        report.skip(line, "empty label")
        return None
    category = categories.get(line, label)
    if category is None:
        return None
    text = text[: settings.CLASSIFIER_MAX_CHARS]
    priority = (row.get(columns.priority) or "").strip().lower() if columns.priority else ""
    if priority not in Ticket.Priority.values:
        priority = ""
    return TrainingExample(
        text=text, category=category, priority=priority, source=source[:200],
        content_hash=content_key(text, category.slug),
    )


def _write(batch: list[tuple[int, TrainingExample]], report: ImportReport) -> None:
    if not batch:
        return
    hashes = [e.content_hash for _, e in batch]
    known = set(
        TrainingExample.objects.filter(content_hash__in=hashes).values_list(
            "content_hash", flat=True
        )
    )
    new: dict[str, TrainingExample] = {}
    for line, example in batch:
        if example.content_hash in known:
            report.skip(line, "already imported")
        elif example.content_hash in new:
            report.skip(line, "duplicate of an earlier row")
        else:
            new[example.content_hash] = example
    inserted = _insert_new(list(new.values()))
    report.created += len(inserted)
    for line, example in batch:  # rows a concurrent import stored between our SELECT and INSERT
        if example.content_hash in new and example.content_hash not in inserted:
            report.skip(line, "already imported")


def _insert_new(examples: list[TrainingExample]) -> set[str]:
    """INSERT the examples, skipping any whose content hash another import stored meanwhile;
    returns the hashes this statement really inserted. bulk_create(ignore_conflicts=True)
    cannot say which rows it dropped, so this is one INSERT ... ON CONFLICT DO NOTHING
    RETURNING (the same SQL on PostgreSQL and on SQLite >= 3.35)."""
    if not examples:
        return set()
    names = ["text", "category_id", "priority", "source", "content_hash", "created_at"]
    qn = connection.ops.quote_name
    row = "(" + ", ".join(["%s"] * len(names)) + ")"
    # Only quoted identifiers and placeholders are formatted in; every value is a parameter.
    table, columns = qn(TrainingExample._meta.db_table), ", ".join(map(qn, names))
    sql = (
        f"INSERT INTO {table} ({columns}) "  # noqa: S608
        f"VALUES {', '.join([row] * len(examples))} "
        f"ON CONFLICT ({qn('content_hash')}) DO NOTHING RETURNING {qn('content_hash')}"
    )
    params: list[Any] = []
    for e in examples:
        created = connection.ops.adapt_datetimefield_value(e.created_at)
        params += [e.text, e.category_id, e.priority, e.source, e.content_hash, created]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)
        return {h for (h,) in cursor.fetchall()}


class _CategoryCache:
    """Label -> Category, creating missing ones (skill = slug, as routing expects)."""

    def __init__(self, report: ImportReport) -> None:
        self.report = report
        self.by_label: dict[str, Category | None] = {}

    def get(self, line: int, label: str) -> Category | None:
        if label not in self.by_label:
            self.by_label[label] = self._resolve(label)
        category = self.by_label[label]
        if category is None:
            self.report.skip(line, "label unusable as a category (too long or no letters)")
        return category

    def _resolve(self, label: str) -> Category | None:
        slug = slugify(label, allow_unicode=True)[:100]
        if not slug or len(label) > NAME_MAX:
            return None
        found = (
            Category.objects.filter(slug=slug).first()
            or Category.objects.filter(name__iexact=label).first()
        )
        if found:
            return found
        with transaction.atomic():
            category, created = Category.objects.get_or_create(
                slug=slug, defaults={"name": label, "skill": slug}
            )
        if created:
            self.report.categories_created.append(slug)
        return category


class Command(BaseCommand):
    help = (
        "Import labelled ticket history from a CSV file into the classifier's training data "
        "(streaming, idempotent: re-running adds only new rows; creates missing categories)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument(
            "--text-columns", required=True,
            help="Comma-separated columns joined (with a newline) into the text, e.g. subject,body",
        )
        parser.add_argument("--label-column", required=True)
        parser.add_argument("--priority-column", default=None)
        parser.add_argument("--encoding", default="utf-8-sig")

    def handle(self, *args: Any, **opts: Any) -> None:
        path: Path = opts["file"]
        columns = Columns(
            text=[c.strip() for c in opts["text_columns"].split(",") if c.strip()],
            label=opts["label_column"],
            priority=opts["priority_column"],
        )
        try:
            # errors="replace": one badly encoded byte costs a character, not the whole import.
            with path.open(newline="", encoding=opts["encoding"], errors="replace") as fh:
                report = import_csv(fh, columns, source=path.name)
        except (OSError, ValueError) as exc:
            raise CommandError(str(exc)) from exc
        skipped = sum(report.skipped.values())
        self.stdout.write(
            f"{path.name}: {report.rows} rows read, {report.created} examples imported, "
            f"{skipped} skipped, {len(report.categories_created)} categories created"
            + (f" ({', '.join(report.categories_created)})" if report.categories_created else "")
        )
        for reason, count in report.skipped.most_common():
            lines = ", ".join(map(str, report.examples[reason]))
            more = ", ..." if count > len(report.examples[reason]) else ""
            self.stdout.write(f"  skipped {count}: {reason} (lines {lines}{more})")
        summary = {
            "rows": report.rows, "imported": report.created, "skipped": dict(report.skipped),
            "categories_created": report.categories_created,
        }
        self.stdout.write(json.dumps(summary))
