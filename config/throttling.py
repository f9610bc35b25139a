from __future__ import annotations

from rest_framework.settings import api_settings
from rest_framework.throttling import UserRateThrottle


class UserThrottle(UserRateThrottle):
    """Per-user request rate (API_THROTTLE_USER). Reads the rate at request time rather than
    at import, so a changed setting (tests, a reloaded config) takes effect."""

    def get_rate(self) -> str | None:
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)
