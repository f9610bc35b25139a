"""The API's only request parser: JSON in UTF-8 (RFC 8259 8.1), refused cleanly otherwise."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from django.utils.http import parse_header_parameters
from rest_framework.exceptions import ParseError, UnsupportedMediaType
from rest_framework.parsers import JSONParser


class Utf8JSONParser(JSONParser):
    """- A charset other than UTF-8 (latin-1, or one Python does not know) is a 415: decoded
      as UTF-8 it would be stored garbled, decoded as declared it invites codec tricks.
    - JSON nested so deep that the decoder runs out of recursion (a few KB of "[[[[...") is a
      400, not a RecursionError and a 500. Our bodies are flat objects; any depth that parses
      is then refused by the serializers.
    - A NUL (\\u0000) in any string, key or value, is a 400: PostgreSQL stores it in neither
      text nor jsonb (a DataError, a 500, wherever a payload is kept as sent)."""

    def parse(self, stream: Any, media_type: str | None = None,
              parser_context: Mapping[str, Any] | None = None) -> Any:
        sent = media_type or self.media_type
        _, params = parse_header_parameters(sent)
        charset = params.get("charset", "utf-8").lower()
        if charset not in ("utf-8", "utf8"):
            raise UnsupportedMediaType(sent, detail="Send JSON encoded as UTF-8.")
        try:
            text = stream.read().decode("utf-8")
            data = json.loads(text, parse_constant=_refuse_constant)
        except RecursionError:
            raise ParseError("JSON parse error - nested too deeply.") from None
        except ValueError as exc:  # UnicodeDecodeError and JSONDecodeError included
            raise ParseError(f"JSON parse error - {exc}") from None
        if "\\u0000" in text and _has_nul(data):  # cheap test first: a walk only if it may
            raise ParseError(_nul_errors(data))
        return data


def _refuse_constant(name: str) -> None:
    raise ValueError(f"{name} is not valid JSON")  # NaN, Infinity (DRF's STRICT_JSON)


NUL_MESSAGE = "NUL (\\u0000) is not allowed in strings."


def _nul_errors(data: Any) -> dict[str, Any]:
    """Field-keyed, like every 400: the top-level fields holding a NUL (in a key or a value)."""
    if not isinstance(data, dict):
        return {"detail": f"JSON parse error - {NUL_MESSAGE}"}
    return {key.replace("\x00", "\\u0000"): [NUL_MESSAGE] for key, value in data.items()
            if _has_nul(key) or _has_nul(value)}


def _has_nul(data: Any) -> bool:
    stack = [data]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False
