"""DRF building blocks every app's API shares (tickets, routing, sla, incidents): strict JSON
input fields, query-filter parsing and pagination that answer 400 instead of guessing, each
documented in the OpenAPI schema exactly as it is enforced (schemathesis checks both agree).

It sits in the ticket core's package, beside tickets.roles, so any app's api/ may import it; it
imports no app (pyproject import-linter contract)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from django.core.validators import RegexValidator
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from drf_spectacular.extensions import OpenApiSerializerExtension
from rest_framework import serializers
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request

# --- Text ---------------------------------------------------------------------------------
# Text is validated as sent (no trimming), so the schema's pattern and maxLength describe exactly
# what is accepted. PostgreSQL cannot store NUL; blank means only whitespace.
_NO_NUL = "\\x00"
TEXT_PATTERN = f"^[^{_NO_NUL}]*[^\\s{_NO_NUL}][^{_NO_NUL}]*$"
OPTIONAL_TEXT_PATTERN = f"^[^{_NO_NUL}]*$"  # for allow_blank=True: anything but NUL
# A one-line label (a subject): also no control characters (C0, DEL, C1) and no bidirectional
# embeddings, overrides or isolates (U+202A-U+202E, U+2066-U+2069), which make a subject read
# differently from what it is (right-to-left override spoofing). Refused, not stripped: the
# client learns its text was not taken as sent.
_NOT_IN_LINE = "\\x00-\\x1f\\x7f-\\x9f\\u202a-\\u202e\\u2066-\\u2069"
LINE_PATTERN = f"^[^{_NOT_IN_LINE}]*[^\\s{_NOT_IN_LINE}][^{_NOT_IN_LINE}]*$"


class StrictCharField(serializers.CharField):
    """A JSON string (123 is not "123"), kept as sent, that must match `pattern` (default: not
    blank and no NUL; with allow_blank=True: no NUL)."""

    default_error_messages = {"invalid": "Must be a string."}

    def __init__(self, *, pattern: str | None = None, pattern_message: str | None = None,
                 **kwargs: Any) -> None:
        kwargs.setdefault("trim_whitespace", False)
        super().__init__(**kwargs)
        if pattern is None:
            pattern = OPTIONAL_TEXT_PATTERN if self.allow_blank else TEXT_PATTERN
        message = pattern_message or (
            "Must not contain NUL." if self.allow_blank
            else "Must contain text (not only whitespace) and no NUL."
        )
        self.validators.append(RegexValidator(re.compile(pattern), message))

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


def line_field(**kwargs: Any) -> StrictCharField:
    return StrictCharField(
        pattern=LINE_PATTERN,
        pattern_message="Must be one line of text: no control or bidirectional-override "
        "characters, not only whitespace.",
        **kwargs,
    )


class StrictBooleanField(serializers.BooleanField):
    default_error_messages = {"invalid": "Must be true or false."}

    def to_internal_value(self, data: Any) -> bool:
        if not isinstance(data, bool):
            self.fail("invalid")
        return data


class StrictIntegerField(serializers.IntegerField):
    """A JSON integer ("5" and 5.0 are not)."""

    def to_internal_value(self, data: Any) -> int:
        if not isinstance(data, int) or isinstance(data, bool):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictChoiceField(serializers.ChoiceField):
    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid_choice", input=data)
        return super().to_internal_value(data)


class NoUnknownFieldsMixin:
    """Reject fields the endpoint does not take (e.g. a customer posting `status` or
    `assignee`) instead of silently dropping them; the schema says additionalProperties: false."""

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        initial = getattr(self, "initial_data", {}) or {}
        # A mixin: `fields` comes from the Serializer it is mixed into.
        unknown = sorted(set(initial) - set(self.fields))  # type: ignore[attr-defined]
        if unknown:
            raise serializers.ValidationError({name: ["Unknown field."] for name in unknown})
        return attrs


class NoUnknownFieldsSchema(OpenApiSerializerExtension):
    target_class = NoUnknownFieldsMixin
    match_subclasses = True

    def map_serializer(self, auto_schema: Any, direction: Any) -> Any:
        schema = auto_schema._map_basic_serializer(self.target, direction)
        schema["additionalProperties"] = False
        return schema


# --- Query filters ------------------------------------------------------------------------
# A filter that is present must be valid, empty included (?until= is an error, not "no bound").


def query_text(request: Request, name: str, pattern: str) -> str | None:
    value = request.query_params.get(name)
    if value is not None and not re.fullmatch(pattern, value):
        raise ValidationError({name: [f"Must match {pattern}."]})
    return value


def query_choice(request: Request, name: str, choices: list[str]) -> str | None:
    value = request.query_params.get(name)
    if value is not None and value not in choices:
        raise ValidationError({name: [f"Must be one of {', '.join(choices)}."]})
    return value


def query_bool(request: Request, name: str) -> bool | None:
    value = query_choice(request, name, ["true", "false"])
    return None if value is None else value == "true"


def query_datetime(request: Request, name: str) -> datetime | None:
    """ISO 8601; a naive value is UTC. Returned in UTC: PostgreSQL refuses offsets of 16 h or
    more, which Python accepts (up to 24 h)."""
    value = request.query_params.get(name)
    if value is None:
        return None
    try:
        parsed = parse_datetime(value)
        if parsed is not None:
            aware = parsed if timezone.is_aware(parsed) else parsed.replace(tzinfo=UTC)
            return aware.astimezone(UTC)
    except (ValueError, OverflowError):  # 2000-02-30, or year 1 moved before year 1
        pass
    raise ValidationError({name: ["Must be an ISO 8601 date-time, e.g. 2026-03-02T09:00:00Z."]})


# --- Pagination ---------------------------------------------------------------------------


class StrictPageNumberPagination(PageNumberPagination):
    """?page (from 1) and ?page_size (from 1; above max_page_size it is capped, as documented):
    anything that is not a positive integer is a 400 naming the parameter; a page past the
    last is a 404."""

    page_size_query_param = "page_size"

    def _positive(self, request: Request, name: str) -> int | None:
        value = request.query_params.get(name)
        if value is None:
            return None
        if not re.fullmatch(r"[1-9][0-9]{0,8}", value):
            raise ValidationError({name: ["Must be a positive integer."]})
        return int(value)

    def get_page_size(self, request: Request) -> int | None:
        size = self._positive(request, "page_size")
        if size is None:
            return self.page_size
        return min(size, self.max_page_size or size)

    def validate_page(self, request: Request) -> None:
        self._positive(request, "page")

    def paginate_queryset(self, queryset: Any, request: Request, view: Any = None) -> Any:
        self.validate_page(request)
        try:
            return super().paginate_queryset(queryset, request, view)
        except NotFound:
            raise NotFound("No such page.") from None

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        integer: dict[str, Any] = {"type": "integer", "minimum": 1, "maximum": 999_999_999}
        return [
            {
                "name": "page", "in": "query", "required": False,
                "description": "Page number, from 1 (past the last page: 404).",
                "schema": integer,
            },
            {
                "name": "page_size", "in": "query", "required": False,
                "description": f"Results per page (default {self.page_size}; above "
                f"{self.max_page_size} it is capped to {self.max_page_size}).",
                "schema": integer,
            },
        ]
