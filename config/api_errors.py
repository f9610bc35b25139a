"""API error shape: DRF's field-keyed 400 bodies stay as they are (the field at fault is the
key); database outages become 503 + Retry-After instead of a bare 500 (clients may retry,
with their Idempotency-Key, once the database is back)."""

from __future__ import annotations

import logging
from typing import Any

from django.db import InterfaceError, OperationalError
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

log = logging.getLogger(__name__)


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, OperationalError | InterfaceError):
        log.warning("database unavailable: %s", exc)
        return Response(
            {"detail": "Service temporarily unavailable, retry shortly."},
            status=503,
            headers={"Retry-After": "5"},
        )
    return drf_exception_handler(exc, context)
