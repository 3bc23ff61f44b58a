"""Signatures of both Akeneo formats, compared in constant time.

- Event Platform: `X-AKENEO-SIGNATURE-PRIMARY` / `-SECONDARY` = hex HMAC-SHA256(secret, raw body). Akeneo
  signs with the subscription's primary and secondary secrets; we accept a delivery when ANY header
  matches ANY of the tenant's secrets, so a rotation (new secondary, then swapped) never drops events.
- Legacy Events API: `X-Akeneo-Request-Signature` = hex HMAC-SHA256(secret, f"{timestamp}.{raw body}"),
  `X-Akeneo-Request-Timestamp` in unix seconds, at most LEGACY_MAX_AGE old (and not from the future
  beyond a small clock skew).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Mapping

LEGACY_MAX_AGE = 300  # seconds
CLOCK_SKEW = 30  # seconds a legacy timestamp may be ahead of ours
MAX_SIGNATURE = 128  # hex characters: anything longer is not a SHA-256 HMAC

EP_HEADERS = ("x-akeneo-signature-primary", "x-akeneo-signature-secondary")
LEGACY_SIGNATURE = "x-akeneo-request-signature"
LEGACY_TIMESTAMP = "x-akeneo-request-timestamp"


def hmac_hex(secret: str, message: bytes) -> str:
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def _same(expected: str, given: str) -> bool:
    return hmac.compare_digest(expected.encode(), given.strip().lower().encode("ascii", "replace"))


def detect_format(headers: Mapping[str, str]) -> str | None:
    """"event_platform", "legacy" or None (no signature at all), from the headers alone."""
    if any(headers.get(h) for h in EP_HEADERS):
        return "event_platform"
    if headers.get(LEGACY_SIGNATURE) is not None or headers.get(LEGACY_TIMESTAMP) is not None:
        return "legacy"
    return None


def verify_event_platform(headers: Mapping[str, str], body: bytes, secrets: Iterable[str]) -> bool:
    given = [headers.get(h, "") for h in EP_HEADERS]
    given = [g for g in given if g and len(g) <= MAX_SIGNATURE]
    ok = False
    # every comparison runs (no early exit): the time does not tell which secret or header matched
    for secret in secrets:
        expected = hmac_hex(secret, body)
        for g in given:
            ok |= _same(expected, g)
    return ok


def verify_legacy(headers: Mapping[str, str], body: bytes, secrets: Iterable[str], now: float) -> str | None:
    """None when valid, else why not ("missing", "stale", "bad")."""
    signature = headers.get(LEGACY_SIGNATURE, "")
    raw_ts = headers.get(LEGACY_TIMESTAMP, "")
    if not signature or not raw_ts or len(signature) > MAX_SIGNATURE:
        return "missing"
    try:
        timestamp = int(raw_ts.strip())
    except ValueError:
        return "bad"
    ok = False
    for secret in secrets:
        ok |= _same(hmac_hex(secret, f"{timestamp}.".encode() + body), signature)
    if not ok:
        return "bad"
    if not (now - LEGACY_MAX_AGE <= timestamp <= now + CLOCK_SKEW):
        return "stale"
    return None
