"""The typed errors of the Akeneo client, and the helpers that build them from an answer or a failure.

Guarantees:
- every failure of `AkeneoClient` is an `AkeneoError`; `status` and `body` are set when the PIM answered;
- `AkeneoAuthError.kind` and `AkeneoUnreachable.kind` are closed vocabularies (listed on each class) that
  `service.config.hints` turns into the merchant's hint;
- nothing here sends a request or holds state: the builders only read the answer or exception they get.
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import Iterable
from typing import Any

import httpx

from service.clients.retry import RETRY_STATUSES
from service.net import UnsafeUrl

# --- the errors ---------------------------------------------------------------------------------


class AkeneoError(Exception):
    """Any failure talking to Akeneo. `status` and `body` are set when the PIM answered."""

    def __init__(self, message: str, status: int | None = None, body: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.body = body


class AkeneoAuthError(AkeneoError):
    """The PIM refused the credentials. `kind`: "credentials" (username/password), "client"
    (client id/secret), "missing" (a field empty or missing), "rejected" (a fresh token was refused
    on a data route) or "unknown"."""

    def __init__(self, message: str, kind: str, status: int | None = None, body: Any = None) -> None:
        super().__init__(message, status, body)
        self.kind = kind


class AkeneoPermissionError(AkeneoError):
    """403 on a data route: the connection's user group lacks a permission."""


class AkeneoNotFound(AkeneoError):
    """404 on a data route."""


class AkeneoValidationError(AkeneoError):
    """422 (or 400) on a data route: a bad filter, limit or code."""


class AkeneoUnreachable(AkeneoError):
    """No usable answer from the PIM URL. `kind`: "dns", "refused", "tls", "timeout", "reset"
    (connection dropped mid-request, after retries), "private" (the host resolves to an internal address
    and the client was made with `allow_private_addresses=False`) or "not_akeneo" (the URL answers, but
    not as an Akeneo API: HTML, non-JSON, 404 on the token route, a redirect)."""

    def __init__(self, message: str, kind: str, status: int | None = None, body: Any = None) -> None:
        super().__init__(message, status, body)
        self.kind = kind


# --- from a transport failure -------------------------------------------------------------------


def _causes(exc: BaseException) -> Iterable[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def unreachable_error(exc: httpx.TransportError, host: str) -> AkeneoUnreachable:
    """Name the network failure precisely: the configuration page turns `kind` into a hint."""
    if isinstance(exc, httpx.TimeoutException):
        return AkeneoUnreachable(f"{host} did not answer in time ({type(exc).__name__})", "timeout")
    causes = list(_causes(exc))
    if any(isinstance(c, UnsafeUrl) for c in causes) or "resolves to an internal address" in str(exc):
        return AkeneoUnreachable(str(exc), "private")
    if any(isinstance(c, socket.gaierror) for c in causes):
        return AkeneoUnreachable(f"The host name {host} could not be resolved (DNS)", "dns")
    if any(isinstance(c, ssl.SSLError | ssl.CertificateError) for c in causes):
        return AkeneoUnreachable(f"TLS handshake with {host} failed: {exc}", "tls")
    if any(isinstance(c, ConnectionRefusedError) for c in causes):
        return AkeneoUnreachable(f"{host} refused the connection (nothing listens on that port)", "refused")
    if isinstance(exc, httpx.ConnectError):
        text = str(exc).lower()
        if "name or service" in text or "nodename" in text or "name resolution" in text:
            return AkeneoUnreachable(f"The host name {host} could not be resolved (DNS)", "dns")
        if "ssl" in text or "certificate" in text:
            return AkeneoUnreachable(f"TLS handshake with {host} failed: {exc}", "tls")
        return AkeneoUnreachable(f"Could not connect to {host}: {exc}", "refused")
    return AkeneoUnreachable(f"Connection to {host} dropped: {type(exc).__name__} {exc}", "reset")


def not_retryable(exc: httpx.TransportError) -> bool:
    """True for failures the retry loop gives up on at once."""
    # DNS, TLS and refused connections answer at once and do not heal in seconds; retrying them only
    # delays the hint the merchant needs. Timeouts and dropped connections are worth another try.
    return isinstance(exc, httpx.ConnectError)


# --- from an answer -----------------------------------------------------------------------------


def token_error_kind(message: str) -> str:
    """`AkeneoAuthError.kind` from the token route's refusal message."""
    text = message.lower()
    if "no user found" in text:
        return "credentials"
    if "client_id" in text or ("client" in text and "secret" in text):
        return "client"
    if "grant_type" in text or "missing" in text:
        return "missing"
    return "unknown"


def json_answer(response: httpx.Response, *, host: str, attempts: int) -> dict:
    """The JSON object of an answer (any status), or the error saying why there is none:
    `AkeneoUnreachable("not_akeneo")` when it is not Akeneo's JSON (a redirect, HTML, another type),
    `AkeneoError` when a retryable status outlived the `attempts` the client made."""
    if response.is_redirect:
        location = response.headers.get("Location", "")
        raise AkeneoUnreachable(
            f"{host} redirected to {location or 'another page'} instead of answering the API",
            "not_akeneo",
            response.status_code,
        )
    content_type = response.headers.get("Content-Type", "")
    try:
        data = response.json() if "json" in content_type else None
    except ValueError:
        data = None
    if not isinstance(data, dict):
        if response.status_code in RETRY_STATUSES:
            raise AkeneoError(
                f"Akeneo answered {response.status_code} (after {attempts} attempts)",
                response.status_code,
                response.text[:500],
            )
        kind = "HTML page" if "html" in content_type else f"non-JSON answer ({content_type or 'no type'})"
        raise AkeneoUnreachable(
            f"{host} answered with an {kind}, not the Akeneo API (HTTP {response.status_code})",
            "not_akeneo",
            response.status_code,
            response.text[:500],
        )
    return data


def route_error(status: int, data: dict) -> AkeneoError:
    """The typed error for a data route's non-2xx answer whose JSON body is `data`."""
    message = str(data.get("message") or data)
    if status == 401:
        return AkeneoAuthError(message, "rejected", status, data)
    if status == 403:
        return AkeneoPermissionError(message, status, data)
    if status == 404:
        return AkeneoNotFound(message, status, data)
    if status in (400, 422):
        return AkeneoValidationError(message, status, data)
    return AkeneoError(f"Akeneo answered {status}: {message}", status, data)


__all__ = [
    "AkeneoAuthError",
    "AkeneoError",
    "AkeneoNotFound",
    "AkeneoPermissionError",
    "AkeneoUnreachable",
    "AkeneoValidationError",
    "json_answer",
    "not_retryable",
    "route_error",
    "token_error_kind",
    "unreachable_error",
]
