from __future__ import annotations

from typing import cast

from rest_framework.settings import api_settings
from rest_framework.throttling import UserRateThrottle


class UserThrottle(UserRateThrottle):
    """Per-user request rate (API_THROTTLE_USER). Reads the rate at request time rather than
    at import, so a changed setting (tests, a reloaded config) takes effect."""

    def get_rate(self) -> str | None:
        if self.scope is None:  # never: UserRateThrottle's scope is "user"
            return None
        # The stubs type the rates as numbers; DRF's rates are strings such as "120/min".
        rates = cast("dict[str, str | None]", api_settings.DEFAULT_THROTTLE_RATES)
        return rates.get(self.scope)
