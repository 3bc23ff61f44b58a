"""Proofs that a request comes from the tenant's PIM: the iframe's JWT and the action's signature.

- Iframe: the PIM signs a JWT (HS256, the extension's secret; claims jti, iat, exp, userId, userUuid)
  that the page asks for with postMessage. Checked: signature with that extension's secret only, exp
  and iat with LEEWAY seconds, each jti once (Redis, TTL until it could no longer be accepted).
- Action: the PIM POSTs JSON with a `timestamp` and signs the raw body with HMAC-SHA512 (the action's
  secret). Checked: the signature (constant time), the body's timestamp (a finite number: no NaN, no
  infinity, no string, never a header) at most MAX_AGE old and at most LEEWAY ahead, each signature
  once (Redis, TTL past MAX_AGE).
Blocking (Redis): the web layer runs these in a thread.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import time
from typing import Any

import jwt

from service.connections import is_in_force
from service.crypto import DecryptionError
from service.store import Store
from service.store import embed as embed_store

LEEWAY = 30  # seconds of clock difference tolerated
MAX_AGE = 300  # an action older than this is refused
MAX_JWT_LIFETIME = 3600  # a token claiming a longer life is not one the PIM issued for an iframe
# Where the PIM puts the action's signature.
SIGNATURE_HEADERS = ("signature",)  # Akeneo: `signature: sha512=<hex HMAC-SHA512 of the raw body>`


class Refused(Exception):
    """Not proof of anything: `reason` is for the log, never for the caller."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _secret(store: Store, tenant: str, kind: str) -> tuple[str, str]:
    """(the extension's secret, the PIM the extension is in: a session it opens is bound to that PIM)."""
    if not tenant or len(tenant) > 64 or not store.tenant_exists(tenant):
        raise Refused("unknown tenant")
    try:
        secret = embed_store.secrets_of(store, tenant).get(kind)
    except DecryptionError:
        raise Refused("secrets cannot be decrypted") from None
    section = embed_store.section(store, tenant)
    if not secret or not (section.get("extensions") or {}).get(kind):
        raise Refused(f"no {kind} extension installed")
    # extensions left in a PIM the tenant is no longer connected to open nothing here
    pim = store.get_section(tenant, "pim")
    if section.get("pim_url") and (not is_in_force(pim) or pim.get("url") != section["pim_url"]):
        raise Refused("the extension belongs to a PIM this tenant is no longer connected to")
    pim_url = section.get("pim_url") or store.pim_in_force(tenant)  # installs that did not record their PIM
    if not pim_url:
        raise Refused("the tenant has no PIM")
    return secret, pim_url


def verify_jwt(store: Store, tenant: str, kind: str, token: str) -> tuple[dict[str, Any], str]:
    """(the claims of a JWT the tenant's PIM issued for this extension, used here for the first time; the
    PIM the extension is in, which the session it opens is bound to)."""
    if not token or len(token) > 4096:
        raise Refused("no token")
    secret, pim_url = _secret(store, tenant, kind)
    try:
        claims = jwt.decode(token, secret, algorithms=["HS256"], leeway=LEEWAY,
                            options={"require": ["exp", "iat", "jti"], "verify_aud": False})
    except jwt.PyJWTError as exc:
        raise Refused(f"jwt rejected: {exc}") from None
    now = time.time()
    if float(claims["iat"]) > now + LEEWAY:
        raise Refused("jwt issued in the future")
    if float(claims["exp"]) - float(claims["iat"]) > MAX_JWT_LIFETIME:
        raise Refused("jwt lifetime too long")
    jti = str(claims["jti"])
    if not jti or len(jti) > 200:
        raise Refused("bad jti")
    if not embed_store.claim_jwt(store, tenant, jti, int(float(claims["exp"]) - now) + LEEWAY + 1):
        raise Refused("jwt already used")
    return claims, pim_url


def jwt_user(claims: dict[str, Any]) -> dict[str, Any]:
    """Who the PIM says opened the iframe (the claims only: query parameters are never trusted)."""
    user_id = claims.get("userUuid") or claims.get("userId")
    return {"id": str(user_id)} if user_id not in (None, "") else {}


def action_signature(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha512).hexdigest()


def _header(headers, names: tuple[str, ...]) -> str:
    for name in names:
        value = headers.get(name)
        if value:
            return value.strip()
    return ""


def _timestamp(value: Any) -> float:
    """The body's signed `timestamp` in seconds: a finite JSON number (Akeneo sends integer seconds)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise Refused("no timestamp")
    try:
        when = float(value)
    except OverflowError:  # an integer too large for a float
        raise Refused("no timestamp") from None
    if not math.isfinite(when):
        raise Refused("no timestamp")
    return when / 1000 if when > 1e11 else when  # milliseconds


def verify_action(store: Store, tenant: str, headers, body: bytes, timestamp: Any) -> None:
    """The action request is the PIM's, recent, and new. `timestamp`: the body's `timestamp` (signed with the
    body; a header is never used instead: nothing signs it)."""
    secret, _ = _secret(store, tenant, "action")
    presented = _header(headers, SIGNATURE_HEADERS)
    if presented.lower().startswith("sha512="):
        presented = presented[7:]
    if not presented or not hmac.compare_digest(presented.lower().encode(), action_signature(secret, body).encode()):
        raise Refused("bad signature")
    when = _timestamp(timestamp)
    now = time.time()
    if not now - MAX_AGE <= when <= now + LEEWAY:
        raise Refused("stale timestamp")
    digest = hashlib.sha256(f"{tenant}\n{presented.lower()}".encode()).hexdigest()
    if not embed_store.claim_action(store, tenant, digest, MAX_AGE + LEEWAY * 2):
        raise Refused("replayed")
