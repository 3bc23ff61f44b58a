"""Webhook signatures as Akeneo computes them (hex HMAC-SHA256)."""

from __future__ import annotations

import hashlib
import hmac


def sign_event_platform(secret: str, body: bytes) -> str:
    """`X-AKENEO-SIGNATURE-PRIMARY` / `-SECONDARY`: HMAC-SHA256 of the raw body."""
    return hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def sign_events_api(secret: str, timestamp: int, body: bytes) -> str:
    """`X-Akeneo-Request-Signature`: HMAC-SHA256 of `"{timestamp}.{raw body}"`."""
    message = f"{timestamp}.".encode() + body
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()
