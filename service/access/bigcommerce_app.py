"""The BigCommerce single-click app: install (auth), load, uninstall and remove_user callbacks."""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Awaitable
from typing import Any

import httpx
import jwt
from starlette.requests import Request
from starlette.responses import Response

from service.config.checks import CheckCrashed, check_bigcommerce
from service.config.records import bigcommerce_section, has_credentials, save_tested
from service.embed import extensions
from service.events import subscription
from service.queues import cancel_tenant_jobs, wait_tenant_jobs_stopped
from service.web import pages
from service.web.templating import message_page

log = logging.getLogger("connector.access")
CONTEXT = re.compile(r"stores/([a-z0-9]{1,32})")  # always used with fullmatch
LEEWAY = 60


class InvalidPayload(Exception):
    pass


def _not_configured(request: Request) -> Response:
    return message_page(request, 503, "BigCommerce app not configured",
                        "This connector has no BigCommerce app credentials.",
                        hint="The operator must set BC_CLIENT_ID and BC_CLIENT_SECRET.")


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


async def _verified(request: Request, action: str) -> dict[str, Any] | Response:
    """The checked claims of the request's signed_payload_jwt, or the page that refuses it."""
    settings = request.app.state.settings
    if not settings.bc_app_configured:
        return _not_configured(request)
    try:
        return await asyncio.to_thread(verify_signed_payload, settings, request.app.state.store,
                                       request.query_params.get("signed_payload_jwt"))
    except InvalidPayload as exc:
        log.warning("app callback refused", extra={"action": action, "reason": str(exc)})
        return message_page(request, 401, "Cannot open the connector", "BigCommerce's signature did not check out.",
                            hint="Open the app again from the BigCommerce control panel.")


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


async def auth(request: Request) -> Response:
    settings, store = request.app.state.settings, request.app.state.store
    if not settings.bc_app_configured:
        return _not_configured(request)
    params = request.query_params
    if not params.get("code") or not CONTEXT.fullmatch(params.get("context", "")):
        return message_page(request, 400, "Installation failed", "The install link is incomplete.",
                            hint="Start the installation again from the BigCommerce control panel.")
    try:
        grant = await _exchange_code(settings, params)
    except (InvalidPayload, httpx.HTTPError, ValueError) as exc:
        log.warning("app install failed", extra={"reason": str(exc) if isinstance(exc, InvalidPayload)
                                                  else type(exc).__name__})
        return message_page(request, 502, "Installation failed",
                            "BigCommerce did not confirm the installation, so nothing was stored.",
                            hint="Start the installation again from the BigCommerce control panel.")
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
    token, session = await asyncio.to_thread(request.app.state.sessions.issue, tenant, user, "bigcommerce")
    log.info("app installed", extra={"tenant": tenant, "store_hash": store_hash, "connected": result["connected"]})
    response = await pages.config_page(request, session, token)
    request.app.state.sessions.set_cookie(response, token)
    return response


async def load(request: Request) -> Response:
    claims = await _verified(request, "load")
    if isinstance(claims, Response):
        return claims
    store = request.app.state.store
    tenant = await asyncio.to_thread(_installed_tenant, store, claims["store_hash"])
    if not tenant:
        return message_page(request, 404, "App not installed", "This store has not installed the connector.",
                            hint="Install it from the BigCommerce control panel first.")
    user = claims.get("user") if isinstance(claims.get("user"), dict) else {}
    token, session = await asyncio.to_thread(request.app.state.sessions.issue, tenant, user, "bigcommerce")
    response = await pages.config_page(request, session, token)
    request.app.state.sessions.set_cookie(response, token)
    return response


def _installed_tenant(store, store_hash: str) -> str | None:
    """The store's tenant, if its BigCommerce credentials are there (in force, or an install whose test failed)."""
    tenant = store.tenant_for_store(store_hash)
    return tenant if tenant and has_credentials(store, tenant, "bigcommerce") else None


async def _best_effort(what: str, tenant: str, removal: Awaitable[Any], timeout: float = 10.0) -> None:
    """What the connector added to the PIM goes within `timeout`; the uninstall never fails on its account."""
    try:
        await asyncio.wait_for(removal, timeout)
    except Exception as exc:  # noqa: BLE001 - an uninstall goes on whatever the PIM says
        log.warning(f"{what} not removed at uninstall", extra={"tenant": tenant, "error": str(exc)})


async def uninstall(request: Request) -> Response:
    claims = await _verified(request, "uninstall")
    if isinstance(claims, Response):
        return claims
    store = request.app.state.store
    tenant = await asyncio.to_thread(store.tenant_for_store, claims["store_hash"])
    if tenant:
        settings = request.app.state.settings
        await _best_effort("event subscription", tenant, subscription.remove(settings, store, tenant))
        await _best_effort("UI extensions", tenant, extensions.remove(settings, store, tenant))
        revoked = await asyncio.to_thread(request.app.state.sessions.revoke_tenant, tenant)
        # Nothing a merchant would consider theirs stays: credentials, configuration, mapping, history.
        # Deleted before the jobs are cancelled, so a page job starting in between finds no run and leaves;
        # deleted again once the running ones have stopped, for what they wrote while being stopped.
        await asyncio.to_thread(store.delete_tenant, tenant)
        cancelled = await asyncio.to_thread(cancel_tenant_jobs, request.app.state.redis, tenant)
        await asyncio.to_thread(wait_tenant_jobs_stopped, request.app.state.redis, tenant)
        await asyncio.to_thread(store.delete_tenant, tenant)
        log.info("app uninstalled", extra={"tenant": tenant, "jobs_cancelled": cancelled, "sessions_revoked": revoked})
    return Response(status_code=204)


async def remove_user(request: Request) -> Response:
    claims = await _verified(request, "remove_user")
    if isinstance(claims, Response):
        return claims
    store = request.app.state.store
    tenant = await asyncio.to_thread(store.tenant_for_store, claims["store_hash"])
    user = claims.get("user") if isinstance(claims.get("user"), dict) else {}
    if tenant and user.get("id") is not None:
        await asyncio.to_thread(request.app.state.sessions.revoke_user, tenant, "bigcommerce", str(user["id"]))
    return Response(status_code=204)
