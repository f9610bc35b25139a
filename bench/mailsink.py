"""A mail backend for benchmarks and fault tests run with real processes: every message a process
sends is appended as one JSON line to $MAILSINK_DIR/<pid>.jsonl (recipients, subject and the
SLA notification's idempotency key), so the caller can count what was really handed to the mail
server, duplicates included, across watchers and qcluster workers.

    DJANGO_EMAIL_BACKEND=bench.mailsink.JsonLinesBackend MAILSINK_DIR=/tmp/x manage.py qcluster
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from django.core.mail.backends.base import BaseEmailBackend
from django.core.mail.message import EmailMessage


class JsonLinesBackend(BaseEmailBackend):
    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        path = Path(os.environ["MAILSINK_DIR"]) / f"{os.getpid()}.jsonl"
        lines = []
        for message in email_messages:
            try:
                key = json.loads(message.body).get("idempotency_key")
            except ValueError:
                key = None
            lines.append(json.dumps({"to": list(message.to), "subject": message.subject,
                                     "key": key}) + "\n")
        # One write per call with O_APPEND: a process killed mid-call leaves whole lines only.
        with path.open("a", encoding="utf-8") as fh:
            fh.write("".join(lines))
        return len(lines)


def read(directory: str | Path) -> Iterator[dict[str, Any]]:
    """Every message sent, from every process's file."""
    for path in sorted(Path(directory).glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                yield json.loads(line)
