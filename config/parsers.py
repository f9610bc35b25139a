"""The API's only request parser: JSON in UTF-8 (RFC 8259 8.1), refused cleanly otherwise."""

from __future__ import annotations

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
      is then refused by the serializers."""

    def parse(self, stream: Any, media_type: str | None = None,
              parser_context: Mapping[str, Any] | None = None) -> Any:
        sent = media_type or self.media_type
        _, params = parse_header_parameters(sent)
        charset = params.get("charset", "utf-8").lower()
        if charset not in ("utf-8", "utf8"):
            raise UnsupportedMediaType(sent, detail="Send JSON encoded as UTF-8.")
        try:
            return super().parse(stream, media_type, {**(parser_context or {}),
                                                      "encoding": "utf-8"})
        except RecursionError:
            raise ParseError("JSON parse error - nested too deeply.") from None
