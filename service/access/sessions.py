"""Connector sessions: a signed token (itsdangerous) naming a server-side record bound to one tenant.

The token travels as an HttpOnly cookie or as `Authorization: Bearer` (BigCommerce's iframe may block
third-party cookies). Deleting the record revokes the token at once; the signature's max age bounds it.
A session opened through a PIM (its cookie, its UI extensions: PIM_BOUND) is good only while that PIM is the
tenant's PIM (`Store.pim_in_force`): every load reads the record and the tenant's PIM in one round trip, so
once the tenant is bound to another PIM no request passes with it, whatever revocation has done yet.
"""

from __future__ import annotations

import hmac
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.requests import Request
from starlette.responses import Response

from service.settings import Settings
from service.store.sessions import SessionStore

COOKIE = "connector_session"
# Over https the cookie takes the __Host- prefix: browsers then accept it only from this exact host, Secure,
# Path=/ and without Domain, so a neighbouring subdomain cannot plant a session (cookie tossing).
SECURE_COOKIE = "__Host-" + COOKIE
PIM_BOUND = frozenset({"pim", "pim_extension"})  # how sessions opened through a PIM say so (`via`)


@dataclass(frozen=True)
class Session:
    sid: str
    tenant: str
    via: str  # "bigcommerce" | "pim"
    csrf_token: str
    user: dict[str, Any] = field(default_factory=dict)
    expires_at: float = 0.0
    # For sessions obtained through a PIM: which PIM (it must stay the tenant's PIM), and for its cookie a
    # hash of the PIM session cookie they were granted for: every later request must still carry that cookie,
    # and the PIM must still accept it.
    pim_url: str = ""
    pim_cookie: str = ""

    def public(self) -> dict[str, Any]:
        return {"tenant": self.tenant, "user": self.user, "via": self.via, "csrf_token": self.csrf_token}

    def csrf_ok(self, presented: str | None) -> bool:
        return bool(presented) and hmac.compare_digest(presented.encode(), self.csrf_token.encode())


class Sessions:
    def __init__(self, records: SessionStore, settings: Settings) -> None:
        self.records = records
        self.ttl = settings.session_ttl
        self.https = settings.https
        self.cookie_name = SECURE_COOKIE if settings.https else COOKIE
        self.serializer = URLSafeTimedSerializer(settings.secret_key, salt="connector-session")
        self._fallbacks = [URLSafeTimedSerializer(k, salt="connector-session") for k in settings.secret_key_fallbacks]

    def issue(self, tenant: str, user: dict[str, Any], via: str, *, pim_url: str = "",
              pim_cookie: str = "") -> tuple[str, Session]:
        sid = secrets.token_urlsafe(24)
        session = Session(sid=sid, tenant=tenant, via=via, csrf_token=secrets.token_urlsafe(24),
                          user=_user_summary(user), expires_at=time.time() + self.ttl, pim_url=pim_url,
                          pim_cookie=pim_cookie)
        self.records.put(sid, {"tenant": tenant, "via": via, "csrf_token": session.csrf_token,
                               "user": session.user, "expires_at": session.expires_at, "pim_url": pim_url,
                               "pim_cookie": pim_cookie}, self.ttl)
        return self.serializer.dumps({"sid": sid}), session

    def load(self, token: str | None) -> Session | None:
        if not token:
            return None
        data = None
        for serializer in (self.serializer, *self._fallbacks):
            try:
                data = serializer.loads(token, max_age=self.ttl)
                break
            except BadSignature:
                continue
        if not isinstance(data, dict) or not isinstance(data.get("sid"), str):
            return None
        return self._session(data["sid"])

    def current(self, session: Session) -> bool:
        """Whether the session is still good (not revoked, expired, nor bound to a PIM its tenant left)."""
        return self._session(session.sid) is not None

    def _session(self, sid: str) -> Session | None:
        record, tenant_pim = self.records.read(sid)
        if record is None or record.get("expires_at", 0) < time.time():
            return None
        pim_url = record.get("pim_url", "")
        if (pim_url or record["via"] in PIM_BOUND) and (not pim_url or pim_url != tenant_pim):
            return None  # opened through a PIM the tenant is no longer bound to (or through none)
        return Session(sid=sid, tenant=record["tenant"], via=record["via"], csrf_token=record["csrf_token"],
                       user=record.get("user", {}), expires_at=record["expires_at"],
                       pim_url=pim_url, pim_cookie=record.get("pim_cookie", ""))

    def from_request(self, request: Request) -> Session | None:
        auth = request.headers.get("authorization", "")
        if auth[:7].lower() == "bearer ":
            return self.load(auth[7:].strip())
        return self.load(request.cookies.get(self.cookie_name))

    def set_cookie(self, response: Response, token: str) -> None:
        # Inside the BigCommerce control panel we are a third-party iframe: SameSite=None needs Secure.
        response.set_cookie(self.cookie_name, token, max_age=self.ttl, httponly=True, path="/",
                            secure=self.https, samesite="none" if self.https else "lax")

    def revoke(self, session: Session) -> None:
        self.records.delete(session.sid)

    def revoke_tenant(self, tenant: str) -> int:
        return self.records.revoke_tenant(tenant)

    def revoke_via(self, tenant: str, via: str) -> int:
        return self.records.revoke_via(tenant, via)

    def revoke_user(self, tenant: str, via: str, user_id: str) -> int:
        """Revoke one user's sessions; user ids are per origin (a BigCommerce user 7 is not PIM user 7)."""
        return self.records.revoke_user(tenant, f"{via}:{user_id}")


def _user_summary(user: dict[str, Any]) -> dict[str, Any]:
    keep = ("id", "username", "email", "first_name", "last_name", "locale", "user_default_locale")
    return {k: user[k] for k in keep if k in user and user[k] is not None}
