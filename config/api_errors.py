"""API error shape: DRF's field-keyed 400 bodies stay as they are (the field at fault is the
key); database outages become 503 + Retry-After instead of a bare 500 (clients may retry,
with their Idempotency-Key, once the database is back).

Two places, because a database error can surface outside DRF's views too: DRF's exception
handler covers the API views (authentication included), and `server_error` (urls.handler500)
covers everything else Django turns into a 500: the admin, a session loaded or saved by the
middleware, any plain Django view."""

from __future__ import annotations

import logging
import sys
from typing import Any

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import defaults
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

log = logging.getLogger(__name__)
# Django reconnects on the next request once the database answers (CONN_HEALTH_CHECKS), so a
# retry after this long meets a working server unless the database is still down.
RETRY_AFTER_SECONDS = 5
UNAVAILABLE = "Service temporarily unavailable, retry shortly."


def _database_down(exc: BaseException | None) -> bool:
    return isinstance(exc, OperationalError | InterfaceError)


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if _database_down(exc):
        log.warning("database unavailable: %s", exc)
        return Response(
            {"detail": UNAVAILABLE},
            status=503,
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )
    return drf_exception_handler(exc, context)


def server_error(request: HttpRequest) -> HttpResponse:
    """handler500: Django calls it while handling the exception, so sys.exc_info() is it."""
    if not _database_down(sys.exc_info()[1]):
        return defaults.server_error(request)
    if request.path.startswith("/api/"):
        response: HttpResponse = JsonResponse({"detail": UNAVAILABLE}, status=503)
    else:
        response = HttpResponse(UNAVAILABLE, status=503, content_type="text/plain")
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response
