"""Connection checks that explain themselves: `{"connected", "message", "hints", ...}`.

A person waits on the configuration page for the verdict: few attempts, short timeouts. The checks run
before anything is saved. Messages and hints never contain a secret (token, secret, password), even
when an error message of a library quotes one."""

from __future__ import annotations

import logging
import re
from typing import Any

from service.clients.akeneo import AkeneoClient
from service.clients.akeneo_errors import AkeneoAuthError, AkeneoError
from service.clients.bigcommerce import BigCommerceClient
from service.clients.bigcommerce_errors import (
    BigCommerceError,
    BigCommercePayloadTooLarge,
    BigCommerceValidationError,
)
from service.config.hints import bc_failure, pim_failure
from service.settings import Settings

log = logging.getLogger("connector.config")

# Module-level so tests (and operators, through code) can shorten them; read at call time.
CHECK_TIMEOUT = 10.0
CHECK_ATTEMPTS = 2


class CheckCrashed(Exception):
    """The check failed in an unexpected way (not an answer of the PIM or of BigCommerce): the values
    could not even be sent. Nothing must be saved; the caller answers 422 on `fields`."""

    def __init__(self, fields: tuple[str, ...]) -> None:
        super().__init__("the connection test could not use these values")
        self.fields = fields


SHORT_SECRET = 6  # characters: a secret shorter than this is masked only where it stands alone


def scrub(text: str, secrets: list[str]) -> str:
    """`text` with every secret (and the escaped forms libraries quote them in) replaced by "…". A short
    secret is masked only as a whole word: a one-letter password must not turn "http" into "htt…"."""
    for secret in sorted((s for s in secrets if s), key=len, reverse=True):
        forms = {secret, repr(secret)[1:-1], repr(secret.encode("utf-8", "backslashreplace"))[2:-1],
                 secret.encode("unicode_escape").decode("ascii", "replace")}
        for form in sorted(forms, key=len, reverse=True):
            if not form:
                continue
            if len(form) >= SHORT_SECRET:
                text = text.replace(form, "…")
            else:
                text = re.sub(rf"(?<![0-9A-Za-z]){re.escape(form)}(?![0-9A-Za-z])", "…", text)
    return text


def _scrubbed(result: dict[str, Any], secrets: list[str]) -> dict[str, Any]:
    return {**result, "message": scrub(result["message"], secrets),
            "hints": [scrub(h, secrets) for h in result["hints"]]}


async def check_pim(settings: Settings, url: str, client_id: str, secret: str, username: str, password: str,
                    *, timeout: float | None = None) -> dict[str, Any]:
    """Test PIM credentials: a token request and one read that needs the connection's permissions.
    Raises CheckCrashed when something other than the PIM's answer failed."""
    timeout = CHECK_TIMEOUT if timeout is None else timeout
    values = {"url": url, "client_id": client_id, "secret": secret, "username": username, "password": password}
    try:
        result = await _check_pim(values, timeout, settings.allow_private_urls)
    except Exception as exc:
        log.exception("PIM check crashed", extra={"error": type(exc).__name__})
        raise CheckCrashed(("url", "client_id", "secret", "username", "password")) from None
    return _scrubbed(result, [secret, password])


async def _check_pim(values: dict[str, str], timeout: float, allow_private: bool) -> dict[str, Any]:
    url, client_id, secret = values["url"], values["client_id"], values["secret"]
    username, password = values["username"], values["password"]
    try:
        async with AkeneoClient(url, client_id, secret, username, password, timeout=timeout,
                                max_attempts=CHECK_ATTEMPTS,
                                allow_private_addresses=allow_private) as pim:
            pim.backoff_base, pim.backoff_cap = 0.2, 1.0
            facts = await pim.check_connection()
    except AkeneoError as exc:
        swapped = False
        if isinstance(exc, AkeneoAuthError) and exc.kind == "client" and secret != client_id:
            swapped = await _accepted_swapped(url, client_id, secret, username, password, timeout,
                                              allow_private)
        message, hints = pim_failure(exc, values, swapped_client=swapped)
        log.info("PIM check failed", extra={"kind": getattr(exc, "kind", type(exc).__name__), "status": exc.status})
        return {"connected": False, "message": message, "hints": hints}
    return {"connected": True, "message": f"Connected to the PIM at {url}.", "hints": [],
            "sample_channel": facts.get("sample_channel")}


async def _accepted_swapped(url: str, client_id: str, secret: str, username: str, password: str,
                            timeout: float, allow_private: bool) -> bool:
    """Whether the token route accepts the client ID and secret the other way round (one request)."""
    try:
        async with AkeneoClient(url, secret, client_id, username, password, timeout=timeout, max_attempts=1,
                                allow_private_addresses=allow_private) as pim:
            await pim.check_connection()
    except AkeneoAuthError as exc:
        return exc.kind != "client"
    except AkeneoError:
        return False
    return True


async def check_bigcommerce(settings: Settings, store_hash: str, access_token: str,
                            client_id: str | None = None) -> dict[str, Any]:
    """Test a store's credentials: /v2/time, /v2/store, a catalog read and a catalog write that changes
    nothing. Raises CheckCrashed when something other than BigCommerce's answer failed."""
    try:
        result = await _check_bigcommerce(settings, store_hash, access_token, client_id or "")
    except Exception as exc:
        log.exception("BigCommerce check crashed", extra={"error": type(exc).__name__})
        raise CheckCrashed(("store_hash", "access_token")) from None
    return _scrubbed(result, [access_token])


async def _check_bigcommerce(settings: Settings, store_hash: str, access_token: str,
                             client_id: str) -> dict[str, Any]:
    step = "time"
    try:
        async with BigCommerceClient(store_hash, access_token, api_url=settings.bc_api_url,
                                     max_attempts=CHECK_ATTEMPTS, timeout=CHECK_TIMEOUT) as bc:
            await bc.get_time(attempts=CHECK_ATTEMPTS)
            step = "store"
            store_info = await bc.get_store(attempts=CHECK_ATTEMPTS)
            step = "catalog"
            await bc.request("GET", "/v3/catalog/products", params={"limit": 1, "include_fields": "id"})
            step = "catalog_write"
            await _probe_catalog_write(bc)
    except BigCommerceError as exc:
        message, hints = bc_failure(exc, step, store_hash, client_id, access_token)
        log.info("BigCommerce check failed", extra={"step": step, "status": exc.status})
        return {"connected": False, "message": message, "hints": hints}
    store_info = store_info if isinstance(store_info, dict) else {}
    facts = {k: store_info.get(k) for k in ("name", "domain", "currency", "weight_units", "dimension_units")}
    return {"connected": True, "message": f"Connected to {facts.get('name') or store_hash}.", "hints": [],
            "store": facts}


async def _probe_catalog_write(bc: BigCommerceClient) -> None:
    """Whether the token may change products. BigCommerce tells a store-level API account's scopes only
    at creation, so we ask for a write that changes nothing: a batch update of no products
    (`PUT /v3/catalog/products` with `[]`). The scope check comes first: a read-only token gets 403
    (BigCommerceForbidden, raised); a modify token passes it, and whether the empty batch is then
    accepted (200) or refused as invalid (400/413/422) does not matter: nothing was written."""
    try:
        await bc.request("PUT", "/v3/catalog/products", json=[])
    except (BigCommerceValidationError, BigCommercePayloadTooLarge):
        return
