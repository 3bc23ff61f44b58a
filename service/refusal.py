"""`Refusal`: a request the connector will not carry out, said so the caller can act on it.

Any module of the service raises it (or a subclass: a refusal of the mapping page, of the real-time
subscription, of an import, of the PIM's UI extensions) without knowing about HTTP. The web application
answers every Refusal that reaches it with ONE handler (`service.web.errors.refusal_error`):
`{"error": error, "message": message, **extra, "request_id": …}` with HTTP `status`, and a `Retry-After`
header when `extra` has `retry_after`.

This module imports nothing of the service: it sits below every layer, so raising a refusal never pulls
the web layer into a module that is not about the web.
"""

from __future__ import annotations

from typing import Any


class Refusal(Exception):
    """Refusal(409, "pim_not_connected", "Connect the PIM first.", hints=[…]): `status` is the HTTP status the
    API answers with, `error` a stable code, `message` words for a person, `extra` more JSON fields."""

    def __init__(self, status: int, error: str, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.error = error
        self.message = message
        self.extra = extra


class PageRefusal(Refusal):
    """A refusal of a configuration page (mapping, connections): each subclass names its `status` and
    default `error` code (`service.mapping_service.MappingServiceError` is this class)."""

    status = 400
    error = "bad_request"

    def __init__(self, message: str, *, error: str | None = None, **extra: Any) -> None:
        super().__init__(self.status, error or self.error, message, **extra)


class NotReady(PageRefusal):
    status, error = 409, "not_ready"


class Invalid(PageRefusal):
    status, error = 422, "invalid"

    def __init__(self, fields: dict[str, str], message: str | None = None) -> None:
        summary = message or "The mapping is not valid: " + "; ".join(fields.values())
        super().__init__(summary, fields=fields)


class Conflict(PageRefusal):
    status, error = 409, "mapping_changed"


class NotFound(PageRefusal):
    status, error = 404, "not_found"


class Upstream(PageRefusal):
    status, error = 502, "upstream_error"
