from __future__ import annotations


def send_digest(period: str) -> int:
    return 0
