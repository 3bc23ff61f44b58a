"""Signed, short-lived media URLs: BigCommerce downloads a product image from `APP_URL/media/<token>`
during a product create, and the token names one media file of one tenant (nothing else is served).

Pure: no I/O. The token is compact (BigCommerce takes image URLs of at most 255 characters):
base64url of `["tenant","code"]`, a timestamp and an HMAC (itsdangerous TimestampSigner).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable

from itsdangerous import BadSignature, SignatureExpired, TimestampSigner

SALT = "connector-media"


class BadMediaToken(Exception):
    """The token is forged, damaged or expired. `reason`: "expired" or "invalid"."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


def _signer(secret_key: str) -> TimestampSigner:
    return TimestampSigner(secret_key, salt=SALT)


def media_token(secret_key: str, tenant: str, code: str) -> str:
    body = json.dumps([tenant, code], separators=(",", ":"), ensure_ascii=False).encode()
    encoded = base64.urlsafe_b64encode(body).rstrip(b"=")
    return _signer(secret_key).sign(encoded).decode("ascii")


def read_media_token(
    secret_key: str, token: str, max_age: int = 3600, *, fallback_keys: Iterable[str] = ()
) -> tuple[str, str]:
    """(tenant, code) from a token `media_token` made at most `max_age` seconds ago; raises BadMediaToken.
    `fallback_keys`: former secret keys still accepted while a key rotation settles."""
    expired = False
    for key in (secret_key, *fallback_keys):
        try:
            encoded = _signer(key).unsign(token.encode("ascii", "strict"), max_age=max_age)
        except SignatureExpired:
            expired = True
            continue
        except (BadSignature, UnicodeError):
            continue
        return _decode(encoded)
    if expired:
        raise BadMediaToken("The media link has expired", "expired")
    raise BadMediaToken("The media link is not valid", "invalid")


def _decode(encoded: bytes) -> tuple[str, str]:
    try:
        body = json.loads(base64.urlsafe_b64decode(encoded + b"=" * (-len(encoded) % 4)))
    except (ValueError, binascii.Error) as exc:
        raise BadMediaToken("The media link is not valid", "invalid") from exc
    if not (isinstance(body, list) and len(body) == 2 and all(isinstance(x, str) and x for x in body)):
        raise BadMediaToken("The media link is not valid", "invalid")
    return body[0], body[1]


def media_url(app_url: str, token: str) -> str:
    return f"{app_url.rstrip('/')}/media/{token}"
