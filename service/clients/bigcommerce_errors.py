"""The typed errors of the BigCommerce client, and the helpers that build them from an answer or a failure.

Guarantees:
- every failure of `BigCommerceClient` is a `BigCommerceError` carrying BigCommerce's `title` (also
  `message`) and its field -> message `errors` map (empty when it sent none), `status` when it answered;
- one class per status the callers tell apart (`error_from`: 400/422, 401, 403, 404, 409, 413, 429, 5xx);
- `BigCommerceUnreachable.kind` is a closed vocabulary: dns, refused, tls, timeout or not_bigcommerce;
- nothing here sends a request or holds state: the helpers only read the answer or exception they get.
"""

from __future__ import annotations

import logging
import socket
import ssl
from typing import Any

import httpx

log = logging.getLogger("connector.bigcommerce")  # the client's logger: one stream per platform

# --- the errors ---------------------------------------------------------------------------------


class BigCommerceError(Exception):
    """A request BigCommerce refused; `errors` is its field -> message map, `title` its summary."""

    def __init__(
        self, message: str, status: int | None = None, errors: dict | None = None, body: Any = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.title = message
        self.status = status
        self.errors = errors or {}
        self.body = body


class BigCommerceAuthError(BigCommerceError):
    """401: the token is wrong or revoked."""


class BigCommerceForbidden(BigCommerceError):
    """403: the token lacks a scope."""


class BigCommerceNotFound(BigCommerceError):
    """404: unknown object, or an unknown store hash."""


class BigCommerceConflict(BigCommerceError):
    """409: duplicate name/SKU/URL, or a missing category/brand id."""


class BigCommerceValidationError(BigCommerceError):
    """422 or 400: invalid fields."""


class BigCommercePayloadTooLarge(BigCommerceError):
    """413: too many items in a batch."""


class BigCommerceRateLimited(BigCommerceError):
    """429 on every attempt."""


class BigCommerceServerError(BigCommerceError):
    """5xx on every attempt."""


class BigCommerceUnreachable(BigCommerceError):
    """No usable answer: `kind` is dns, refused, tls, timeout or not_bigcommerce."""

    def __init__(self, message: str, kind: str) -> None:
        super().__init__(message)
        self.kind = kind


_ERRORS: dict[int, type[BigCommerceError]] = {
    400: BigCommerceValidationError,
    401: BigCommerceAuthError,
    403: BigCommerceForbidden,
    404: BigCommerceNotFound,
    409: BigCommerceConflict,
    413: BigCommercePayloadTooLarge,
    422: BigCommerceValidationError,
    429: BigCommerceRateLimited,
}


# --- from an answer ------------------------------------------------------------------------------


def json_or_none(response: httpx.Response) -> Any:
    """The decoded JSON body, or None when the answer is not JSON."""
    if "json" not in response.headers.get("content-type", ""):
        return None
    try:
        return response.json()
    except ValueError:
        return None


def parse_answer(response: httpx.Response) -> Any:
    """A final answer's decoded body (None when empty), or its typed error: `error_from` for a 4xx/5xx,
    `BigCommerceUnreachable("not_bigcommerce")` for a body that is not JSON. A 207 (partial success) is
    returned as is, its `errors` logged: the batch helpers read them by item."""
    if response.status_code == 204 or not response.content:
        if response.status_code >= 400:
            raise error_from(response, None)
        return None
    body = json_or_none(response)
    if body is None:
        raise BigCommerceUnreachable(
            f"{response.url.host} answered HTTP {response.status_code} with "
            f"{response.headers.get('content-type', 'no content type')}, not the BigCommerce API",
            "not_bigcommerce",
        )
    if response.status_code >= 400:
        raise error_from(response, body)
    if response.status_code == 207:
        log.warning("BigCommerce partial success on %s: %s", response.url.path, body.get("errors"))
    return body


def error_from(response: httpx.Response, body: Any) -> BigCommerceError:
    """The typed error for a refusal, `body` being its decoded JSON (None when it had none): v3's
    `{title, errors}` or v2's `[{status, message}]`."""
    status = response.status_code
    title, errors = "", {}
    if isinstance(body, dict):
        title = str(body.get("title") or body.get("message") or "")
        raw = body.get("errors")
        errors = raw if isinstance(raw, dict) else ({"errors": raw} if raw else {})
    elif isinstance(body, list) and body and isinstance(body[0], dict):  # v2: [{status, message}]
        title = "; ".join(str(e.get("message", "")) for e in body)
    title = title or f"HTTP {status}"
    if status >= 500:
        return BigCommerceServerError(title, status, errors, body)
    return _ERRORS.get(status, BigCommerceError)(title, status, errors, body)


# --- from a transport failure -------------------------------------------------------------------


def connect_kind(exc: BaseException) -> str:
    """dns, tls or refused, from the chain of a connection failure."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, socket.gaierror):
            return "dns"
        if isinstance(seen, ssl.SSLError | ssl.CertificateError):
            return "tls"
        text = str(seen).lower()
        if any(s in text for s in ("name or service", "nodename", "name resolution", "getaddrinfo")):
            return "dns"
        if "ssl" in text or "certificate" in text:
            return "tls"
        seen = seen.__cause__ or seen.__context__
    return "refused"


__all__ = [
    "BigCommerceAuthError",
    "BigCommerceConflict",
    "BigCommerceError",
    "BigCommerceForbidden",
    "BigCommerceNotFound",
    "BigCommercePayloadTooLarge",
    "BigCommerceRateLimited",
    "BigCommerceServerError",
    "BigCommerceUnreachable",
    "BigCommerceValidationError",
    "connect_kind",
    "error_from",
    "json_or_none",
    "parse_answer",
]
