"""The strict input fields moved to tickets.rest, where every app's API can import them; this
path stays for incidents.api (pyproject's import-linter ignore names it)."""

from __future__ import annotations

from tickets.rest import (
    NoUnknownFieldsMixin,
    StrictBooleanField,
    StrictCharField,
    StrictChoiceField,
)

__all__ = ["NoUnknownFieldsMixin", "StrictBooleanField", "StrictCharField", "StrictChoiceField"]
