"""The BigCommerce single-click app, apart from HTTP: what its install (auth), load, uninstall and
remove_user callbacks do. The routes are `service/web/bigcommerce_app.py`: they parse, call one function
here, and answer with a page.

Guarantees:
- A `signed_payload_jwt` is accepted once: signature (the app's client secret), audience, issuer, times,
  a `stores/{hash}` subject, and its `jti` claimed once in Redis (a replay is refused).
- An install stores nothing until BigCommerce confirmed the code (token exchange); the store's token is
  then kept even when its connection test fails (the page says why).
- An uninstall removes what the connector added to the PIM within a bound (never failing on its account),
  revokes every session of the tenant, and deletes everything it held, also what running jobs wrote while
  being stopped.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Awaitable, Mapping
from typing import Any

import httpx
import jwt
import redis

from service.access.sessions import Session, Sessions
from service.config.checks import CheckCrashed, check_bigcommerce
from service.config.records import bigcommerce_section, has_credentials, save_tested
from service.embed import extensions
from service.events import subscription
from service.queues import cancel_tenant_jobs, wait_tenant_jobs_stopped
from service.settings import Settings
from service.store import Store

log = logging.getLogger("connector.access")
CONTEXT = re.compile(r"stores/([a-z0-9]{1,32})")  # always used with fullmatch
LEEWAY = 60


class InvalidPayload(Exception):
    pass


class InstallFailed(Exception):
    """BigCommerce did not confirm the installation: nothing was stored."""


def verify_signed_payload(settings, store, token: str | None) -> dict[str, Any]:
    """Check a `signed_payload_jwt` fully; return its claims with `store_hash` added."""
    if not token:
        raise InvalidPayload("signed_payload_jwt is missing")
    try:
        claims = jwt.decode(token, settings.bc_client_secret, algorithms=["HS256"], audience=settings.bc_client_id,
                            issuer="bc", leeway=LEEWAY,
                            options={"require": ["aud", "iss", "iat", "nbf", "exp", "sub", "jti"]})
    except jwt.PyJWTError as exc:
        raise InvalidPayload(f"signed_payload_jwt rejected: {exc}") from None
    match = CONTEXT.fullmatch(str(claims.get("sub", "")))
    if not match:
        raise InvalidPayload("signed_payload_jwt has no valid sub (stores/{hash})")
    if claims["iat"] > time.time() + LEEWAY:
        raise InvalidPayload("signed_payload_jwt was issued in the future")
    ttl = int(claims["exp"] - time.time()) + LEEWAY
    if not store.claim_once("bc-jti", str(claims["jti"]), ttl):
        raise InvalidPayload("signed_payload_jwt was already used")
    return {**claims, "store_hash": match.group(1)}


async def verified_claims(settings: Settings, store: Store, token: str | None, action: str) -> dict[str, Any]:
    """The checked claims of a callback's `signed_payload_jwt`; InvalidPayload (logged) when it fails."""
    try:
        # the jti claim is a Redis call: never on the event loop
        return await asyncio.to_thread(verify_signed_payload, settings, store, token)
    except InvalidPayload as exc:
        log.warning("app callback refused", extra={"action": action, "reason": str(exc)})
        raise


def install_link_complete(params: Mapping[str, str]) -> bool:
    """The install callback carries a code and a `stores/{hash}` context (anything else is not worth a call)."""
    return bool(params.get("code")) and CONTEXT.fullmatch(params.get("context", "")) is not None


async def _exchange_code(settings, params) -> dict[str, Any]:
    body = {"client_id": settings.bc_client_id, "client_secret": settings.bc_client_secret,
            "code": params.get("code", ""), "context": params.get("context", ""), "scope": params.get("scope", ""),
            "grant_type": "authorization_code", "redirect_uri": f"{settings.app_url}/bc/auth"}
    async with httpx.AsyncClient(timeout=15.0) as http:
        response = await http.post(f"{settings.bc_login_url}/oauth2/token", json=body)
    if response.status_code != 200:
        raise InvalidPayload(f"BigCommerce refused the install code ({response.status_code})")
    data = response.json()
    if not isinstance(data, dict) or not data.get("access_token") or not CONTEXT.fullmatch(str(data.get("context"))):
        raise InvalidPayload("BigCommerce answered the token exchange without a token or store")
    return data


async def install(settings: Settings, store: Store, sessions: Sessions,
                  params: Mapping[str, str]) -> tuple[str, Session]:
    """Exchange the install code, store the store's token with its connection test, and open a session for
    the installing user: (session token, session). InstallFailed when BigCommerce did not confirm."""
    try:
        grant = await _exchange_code(settings, params)
    except (InvalidPayload, httpx.HTTPError, ValueError) as exc:
        log.warning("app install failed", extra={"reason": str(exc) if isinstance(exc, InvalidPayload)
                                                  else type(exc).__name__})
        raise InstallFailed from None
    store_hash = CONTEXT.fullmatch(grant["context"]).group(1)
    tenant = await asyncio.to_thread(store.ensure_tenant_for_store, store_hash)
    try:
        result = await check_bigcommerce(settings, store_hash, grant["access_token"], settings.bc_client_id)
    except CheckCrashed:  # the token BigCommerce just granted could not even be sent: say so, keep it
        result = {"connected": False, "message": "The store's new token could not be tested.", "hints": []}
    section = bigcommerce_section(result, store_hash=store_hash, client_id=settings.bc_client_id,
                                  hints=result["hints"],
                                  kept={"installed_as_app": True, "scope": grant.get("scope", "")})
    await asyncio.to_thread(save_tested, store, tenant, "bigcommerce", {"access_token": grant["access_token"]},
                            section)
    grant_user = grant.get("user") if isinstance(grant.get("user"), dict) else {}
    owner = grant.get("owner") if isinstance(grant.get("owner"), dict) else {}
    user = {**grant_user, "owner": bool(grant_user) and owner.get("id") == grant_user.get("id")}
    token, session = await asyncio.to_thread(sessions.issue, tenant, user, "bigcommerce")
    log.info("app installed", extra={"tenant": tenant, "store_hash": store_hash, "connected": result["connected"]})
    return token, session


def _installed_tenant(store, store_hash: str) -> str | None:
    """The store's tenant, if its BigCommerce credentials are there (in force, or an install whose test failed)."""
    tenant = store.tenant_for_store(store_hash)
    return tenant if tenant and has_credentials(store, tenant, "bigcommerce") else None


async def load(store: Store, sessions: Sessions, claims: dict[str, Any]) -> tuple[str, Session] | None:
    """A session for the user who opened the app (checked claims), or None when the store has not
    installed the connector."""
    tenant = await asyncio.to_thread(_installed_tenant, store, claims["store_hash"])
    if not tenant:
        return None
    user = claims.get("user") if isinstance(claims.get("user"), dict) else {}
    return await asyncio.to_thread(sessions.issue, tenant, user, "bigcommerce")


async def _best_effort(what: str, tenant: str, removal: Awaitable[Any], timeout: float = 10.0) -> None:
    """What the connector added to the PIM goes within `timeout`; the uninstall never fails on its account."""
    try:
        await asyncio.wait_for(removal, timeout)
    except Exception as exc:  # noqa: BLE001 - an uninstall goes on whatever the PIM says
        log.warning(f"{what} not removed at uninstall", extra={"tenant": tenant, "error": str(exc)})


async def uninstall(settings: Settings, store: Store, sessions: Sessions, conn: redis.Redis,
                    claims: dict[str, Any]) -> None:
    """Forget the store that uninstalled the app (checked claims); a store never installed is fine."""
    tenant = await asyncio.to_thread(store.tenant_for_store, claims["store_hash"])
    if not tenant:
        return
    await _best_effort("event subscription", tenant, subscription.remove(settings, store, tenant))
    await _best_effort("UI extensions", tenant, extensions.remove(settings, store, tenant))
    revoked = await asyncio.to_thread(sessions.revoke_tenant, tenant)
    # Nothing a merchant would consider theirs stays: credentials, configuration, mapping, history.
    # Deleted before the jobs are cancelled, so a page job starting in between finds no run and leaves;
    # deleted again once the running ones have stopped, for what they wrote while being stopped.
    await asyncio.to_thread(store.delete_tenant, tenant)
    cancelled = await asyncio.to_thread(cancel_tenant_jobs, conn, tenant)
    await asyncio.to_thread(wait_tenant_jobs_stopped, conn, tenant)
    await asyncio.to_thread(store.delete_tenant, tenant)
    log.info("app uninstalled", extra={"tenant": tenant, "jobs_cancelled": cancelled, "sessions_revoked": revoked})


async def remove_user(store: Store, sessions: Sessions, claims: dict[str, Any]) -> None:
    """End the sessions of a user the store removed from the app (checked claims)."""
    tenant = await asyncio.to_thread(store.tenant_for_store, claims["store_hash"])
    user = claims.get("user") if isinstance(claims.get("user"), dict) else {}
    if tenant and user.get("id") is not None:
        await asyncio.to_thread(sessions.revoke_user, tenant, "bigcommerce", str(user["id"]))
