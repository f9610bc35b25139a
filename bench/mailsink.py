"""A mail backend for benchmarks and fault tests run with real processes: every message a process
sends is appended as one JSON line to $MAILSINK_DIR/<pid>.jsonl, so the caller can count what
was really handed to the mail server, duplicates included, across watchers and qcluster workers.

    DJANGO_EMAIL_BACKEND=bench.mailsink.JsonLinesBackend MAILSINK_DIR=/tmp/x manage.py qcluster

An SLA e-mail lists one or more escalations (sla.emails: a block per escalation, "BREACHED:
SB-XXXXX-XXXXX ..." then "  first response was due ..."); `items()` splits each message into
(recipient, escalation) pairs, the unit that must arrive exactly once.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from django.core.mail.backends.base import BaseEmailBackend
from django.core.mail.message import EmailMessage

_BLOCK = re.compile(r"^([A-Z][A-Z ,-]*): (\S+).*\n  (.+?) was due", re.M)


class JsonLinesBackend(BaseEmailBackend):
    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        path = Path(os.environ["MAILSINK_DIR"]) / f"{os.getpid()}.jsonl"
        lines = [json.dumps({"to": list(m.to), "subject": m.subject, "body": m.body}) + "\n"
                 for m in email_messages]
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


def escalations(body: str) -> list[str]:
    """The escalations one SLA e-mail lists, as "BREACHED SB-... first response"."""
    return [f"{what} {ref} {stage}" for what, ref, stage in _BLOCK.findall(body)]


def items(directory: str | Path) -> tuple[list[tuple[str, str]], int]:
    """((recipient, escalation) for every escalation of every message sent, repeats included;
    how many messages repeated something an earlier message had already said)."""
    seen: set[tuple[str, str]] = set()
    out, repeated_messages = [], 0
    for message in read(directory):
        pairs = [(to, e) for to in message["to"] for e in escalations(message["body"])]
        repeated_messages += any(p in seen for p in pairs)
        seen.update(pairs)
        out += pairs
    return out, repeated_messages
