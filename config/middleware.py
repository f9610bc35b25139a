"""Guards in front of every /api/ request, and JSON errors from every /api/ response.

Django answers some errors before (or outside) DRF, in HTML: an unknown URL (404), a body over
DATA_UPLOAD_MAX_MEMORY_SIZE (400), an unhandled exception (500), a CSRF failure (403). API
clients parse JSON, so under /api/ every error body is JSON: {"detail": "..."}."""

from __future__ import annotations

from collections.abc import Callable
from http import HTTPStatus

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse

API_PREFIX = "/api/"


def _error(status: int, detail: object) -> JsonResponse:
    return JsonResponse(detail if isinstance(detail, dict) else {"detail": detail}, status=status)


class ApiGuardMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.path.startswith(API_PREFIX):
            return self.get_response(request)
        refused = self._refuse(request)
        response = refused or self.get_response(request)
        return self._as_json(response)

    def _refuse(self, request: HttpRequest) -> HttpResponse | None:
        # A body over the limit is refused on its Content-Length, before a byte of it is read.
        # Without a Content-Length (chunked) WSGI servers pass no body: nothing to read either.
        length = request.META.get("CONTENT_LENGTH") or "0"
        if not length.isdigit():
            return _error(400, "Invalid Content-Length.")
        limit = settings.API_MAX_BODY_BYTES_BY_PATH.get(request.path, settings.API_MAX_BODY_BYTES)
        if int(length) > limit:
            return _error(413, f"Request body over {limit} bytes.")
        # PostgreSQL cannot compare text with NUL in it (a DataError, a 500): no filter has one.
        bad = sorted({name for name, values in request.GET.lists()
                      if "\x00" in name or any("\x00" in v for v in values)})
        if bad:
            return _error(400, {name.replace("\x00", "\\x00"): ["Null characters are not allowed."]
                                for name in bad})
        return None

    def _as_json(self, response: HttpResponse) -> HttpResponse:
        if response.status_code < 400 or response.get("Content-Type", "").startswith(
            "application/json"
        ):
            return response
        try:
            reason = HTTPStatus(response.status_code).phrase
        except ValueError:
            reason = "Error"
        replaced = _error(response.status_code, reason + ".")
        for header in ("Allow", "Retry-After", "WWW-Authenticate"):
            if header in response:
                replaced[header] = response[header]
        return replaced
