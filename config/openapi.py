"""drf-spectacular post-processing: every operation documents the error statuses the service
really answers, with their JSON bodies, so a client (and schemathesis) knows all of them.

What adds which (a view's own declaration of the same status wins):
- 400 ValidationError: operations with query/header parameters or a body (field-keyed messages);
- 401, 403, 429: operations that need credentials (missing/bad token; role; per-user rate);
- 404: operations with a path parameter (not yours or missing) or pagination (past the last page);
- 413, 415: operations with a body (over API_MAX_BODY_BYTES; not JSON in UTF-8);
- 503: every operation (database unreachable: retry after Retry-After, config/api_errors.py)."""

from __future__ import annotations

from typing import Any

ERROR = {
    "type": "object",
    "properties": {"detail": {"type": "string"}},
    "required": ["detail"],
}
# {"subject": ["This field is required."]}, {"detail": "JSON parse error - ..."} or
# {"non_field_errors": [...]}: messages keyed by the field (or parameter) at fault; a nested
# object's or list's errors nest the same way ({"payload": {"summary": [...]}}, {"items":
# {"0": {...}}}), to any depth.
MESSAGES = {"$ref": "#/components/schemas/ValidationMessages"}
VALIDATION_MESSAGES = {
    "anyOf": [
        {"type": "string"},
        {"type": "array", "items": MESSAGES},
        {"type": "object", "additionalProperties": MESSAGES},
    ]
}
VALIDATION_ERROR = {"type": "object", "additionalProperties": MESSAGES}
WHY = {
    "400": "Invalid input; the body names each field or parameter at fault.",
    "401": "No valid credentials (missing, unknown, expired or revoked token).",
    "403": "Your role may not do this.",
    "404": "Not found (or not yours: another customer's ticket is never confirmed to exist).",
    "413": "Request body too large.",
    "415": "Not JSON encoded as UTF-8.",
    "429": "Too many requests; retry after the Retry-After header's seconds.",
    "503": "Database unavailable; retry after the Retry-After header's seconds.",
}


def _response(status: str) -> dict[str, Any]:
    component = "ValidationError" if status == "400" else "Error"
    return {
        "description": WHY[status],
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{component}"}}},
    }


def error_statuses(path: str, operation: dict[str, Any]) -> list[str]:
    params = operation.get("parameters", [])
    has_body = "requestBody" in operation
    security = operation.get("security", [])
    authenticated = bool(security) and {} not in security
    statuses = ["503"]
    if has_body or any(p.get("in") in ("query", "header") for p in params):
        statuses.append("400")
    if authenticated:
        statuses += ["401", "403", "429"]
    if "{" in path or any(p.get("in") == "query" and p.get("name") == "page" for p in params):
        statuses.append("404")
    if has_body:
        statuses += ["413", "415"]
    return statuses


def document_error_responses(result: dict[str, Any], generator: Any, request: Any,
                             public: bool) -> dict[str, Any]:
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas.setdefault("Error", ERROR)
    schemas.setdefault("ValidationError", VALIDATION_ERROR)
    schemas.setdefault("ValidationMessages", VALIDATION_MESSAGES)
    for path, operations in result.get("paths", {}).items():
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            for status in error_statuses(path, operation):
                responses.setdefault(status, _response(status))
    return result
