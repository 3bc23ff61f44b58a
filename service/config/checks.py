"""Connection checks that explain themselves: `{"connected", "message", "hints", ...}`.

A person waits on the configuration page for the verdict: few attempts, short timeouts."""

from __future__ import annotations

import logging
from typing import Any

from service.clients.akeneo import AkeneoAuthError, AkeneoClient, AkeneoError
from service.clients.bigcommerce import BigCommerceClient, BigCommerceError
from service.config.hints import bc_failure, pim_failure
from service.settings import Settings

log = logging.getLogger("connector.config")

CHECK_TIMEOUT = 10.0
CHECK_ATTEMPTS = 2


async def check_pim(settings: Settings, url: str, client_id: str, secret: str, username: str, password: str,
                    *, timeout: float = CHECK_TIMEOUT) -> dict[str, Any]:
    """Test PIM credentials: a token request and one read that needs the connection's permissions."""
    values = {"url": url, "client_id": client_id, "secret": secret, "username": username, "password": password}
    try:
        async with AkeneoClient(url, client_id, secret, username, password, timeout=timeout,
                                max_attempts=CHECK_ATTEMPTS) as pim:
            pim.backoff_base, pim.backoff_cap = 0.2, 1.0
            facts = await pim.check_connection()
    except AkeneoError as exc:
        swapped = False
        if isinstance(exc, AkeneoAuthError) and exc.kind == "client" and secret != client_id:
            swapped = await _accepted_swapped(url, client_id, secret, username, password, timeout)
        message, hints = pim_failure(exc, values, swapped_client=swapped)
        log.info("PIM check failed", extra={"kind": getattr(exc, "kind", type(exc).__name__), "status": exc.status})
        return {"connected": False, "message": message, "hints": hints}
    return {"connected": True, "message": f"Connected to the PIM at {url}.", "hints": [],
            "sample_channel": facts.get("sample_channel")}


async def _accepted_swapped(url: str, client_id: str, secret: str, username: str, password: str,
                            timeout: float) -> bool:
    """Whether the token route accepts the client ID and secret the other way round (one request)."""
    try:
        async with AkeneoClient(url, secret, client_id, username, password, timeout=timeout, max_attempts=1) as pim:
            await pim.check_connection()
    except AkeneoAuthError as exc:
        return exc.kind != "client"
    except AkeneoError:
        return False
    return True


async def check_bigcommerce(settings: Settings, store_hash: str, access_token: str,
                            client_id: str | None = None) -> dict[str, Any]:
    """Test a store's credentials: /v2/time, /v2/store and a catalog read."""
    step = "time"
    try:
        async with BigCommerceClient(store_hash, access_token, api_url=settings.bc_api_url,
                                     max_attempts=CHECK_ATTEMPTS, timeout=CHECK_TIMEOUT) as bc:
            await bc.get_time(attempts=CHECK_ATTEMPTS)
            step = "store"
            store = await bc.get_store(attempts=CHECK_ATTEMPTS)
            step = "catalog"
            await bc.request("GET", "/v3/catalog/products", params={"limit": 1, "include_fields": "id"})
    except BigCommerceError as exc:
        message, hints = bc_failure(exc, step, store_hash, client_id or "", access_token)
        log.info("BigCommerce check failed", extra={"step": step, "status": exc.status})
        return {"connected": False, "message": message, "hints": hints}
    store = store if isinstance(store, dict) else {}
    facts = {k: store.get(k) for k in ("name", "domain", "currency", "weight_units", "dimension_units")}
    return {"connected": True, "message": f"Connected to {facts.get('name') or store_hash}.", "hints": [],
            "store": facts}
