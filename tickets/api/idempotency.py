"""Idempotency-Key support for POST (Stripe / draft-ietf-httpapi-idempotency-key-header):
- the key is scoped to the authenticated user, so nobody can replay another user's response;
- a retry with the same key and the same request gets the first response back (replayed);
- the same key with a different request -> 422; a malformed key -> 400;
- only successful responses are stored: a request that failed validation may be corrected
  and retried with the same key;
- records older than IDEMPOTENCY_TTL_HOURS no longer count (purged by purge_idempotency_keys).
The record is written in the same transaction as the ticket, so a retry never sees a ticket
without its record or the other way round; two concurrent first attempts race on the unique
(user, key) index and the loser's transaction rolls back, then replays the winner's response."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone
from rest_framework import status
from rest_framework.exceptions import APIException, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from tickets.models import IdempotencyRecord
from tickets.roles import signed_in_user

HEADER = "Idempotency-Key"
KEY_PATTERN = "^[!-~]{1,255}$"  # visible ASCII (0x21-0x7e), 1..255 chars; also in the schema
_KEY_RE = re.compile(KEY_PATTERN)


class IdempotencyKeyReused(APIException):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_detail = "This Idempotency-Key was already used with a different request."
    default_code = "idempotency_key_reused"


def _cutoff() -> Any:
    return timezone.now() - timedelta(hours=settings.IDEMPOTENCY_TTL_HOURS)


@dataclass
class IdempotentRequest:
    user_id: int
    key: str
    request_hash: str
    stale_record_exists: bool = False

    @classmethod
    def from_request(cls, request: Request) -> IdempotentRequest | None:
        key = request.headers.get(HEADER)
        if key is None:
            return None
        if not _KEY_RE.fullmatch(key):
            raise ValidationError(
                {HEADER: ["Must be 1 to 255 visible ASCII characters (a UUID is ideal)."]}
            )
        fingerprint = json.dumps(
            [request.method, request.path, request.data], sort_keys=True, separators=(",", ":")
        )
        digest = hashlib.sha256(fingerprint.encode()).hexdigest()
        return cls(user_id=signed_in_user(request).pk, key=key, request_hash=digest)

    def replay(self) -> Response | None:
        """The stored response for this key, or None if the request is new."""
        record = IdempotencyRecord.objects.filter(user_id=self.user_id, key=self.key).first()
        if record is None:
            return None
        if record.created_at < _cutoff():
            self.stale_record_exists = True
            return None
        if record.request_hash != self.request_hash:
            raise IdempotencyKeyReused()
        return Response(
            record.response_body,
            status=record.response_status,
            headers={"Idempotent-Replayed": "true"},
        )

    def store(self, status_code: int, body: Any) -> None:
        """Save the response; call inside the transaction that did the work."""
        if self.stale_record_exists:
            IdempotencyRecord.objects.filter(
                user_id=self.user_id, key=self.key, created_at__lt=_cutoff()
            ).delete()
        IdempotencyRecord.objects.create(
            user_id=self.user_id,
            key=self.key,
            request_hash=self.request_hash,
            response_status=status_code,
            response_body=body,
        )


def purge_expired() -> int:
    """Delete records past their TTL (hourly django-q2 schedule): they no longer answer
    retries, and keeping them only grows the table."""
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=_cutoff()).delete()
    return deleted
