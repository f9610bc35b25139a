"""Plain HTTP for tests against real servers: one connection per request, statuses returned
(never raised), so a test sees every 503 and every dropped connection as it happened."""

from __future__ import annotations

import http.client
import json
from typing import Any


def request(port: int, method: str, path: str, headers: dict[str, str],
            body: dict[str, Any] | None = None) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        payload = json.dumps(body).encode() if body is not None else None
        conn.request(method, path, body=payload,
                     headers={**headers, **({"Content-Type": "application/json"} if body else {})})
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        conn.close()


def submit(port: int, token: str, key: str,
           priority: str = "normal") -> tuple[int, dict[str, str], bytes]:
    """POST a ticket whose subject names its Idempotency-Key."""
    return request(port, "POST", "/api/v1/tickets/",
                   {"Authorization": f"Token {token}", "Idempotency-Key": key},
                   {"subject": f"fault {key}", "description": "the printer is on fire",
                    "priority": priority})


def ready(port: int) -> bool:
    try:
        return request(port, "GET", "/healthz", {})[0] == 200
    except OSError:
        return False
