"""The one-click Event Platform subscription ("Real-time updates").

Switching on: two secrets generated here (stored encrypted, credentials kind `event_platform`), an
access token of the merchant's PIM connection, then through the management API (EVENT_PLATFORM_URL)
the subscriber (one per PIM connection; an existing one is reused) and an HTTPS subscription of
`{APP_URL}/webhooks/akeneo/{tenant}` to the product, product-model and category events. Every step is
idempotent: a second click, or a retry after a lost answer, finds what the first one made.
Switching off (and uninstalling) deletes the subscription and the subscriber. Suspend and resume
map to the platform's own actions. State: configuration section `event_platform` = {enabled,
subscriber_id, subscription_id, status, message, checked_at}.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import AsyncIterator
from typing import Any

from service.clients.akeneo_errors import AkeneoAuthError, AkeneoError
from service.clients.event_platform import (
    EventPlatformAuthError,
    EventPlatformClient,
    EventPlatformConflict,
    EventPlatformError,
    EventPlatformNotFound,
)
from service.connections import credentials_in_force, standalone_pim_client
from service.refusal import Refusal
from service.settings import Settings
from service.store import Store

log = logging.getLogger("connector.events.subscription")

EVENTS = [
    "com.akeneo.pim.v1.product.created", "com.akeneo.pim.v1.product.updated", "com.akeneo.pim.v1.product.deleted",
    "com.akeneo.pim.v1.product-model.created", "com.akeneo.pim.v1.product-model.updated",
    "com.akeneo.pim.v1.product-model.deleted",
    "com.akeneo.pim.v1.category.created", "com.akeneo.pim.v1.category.updated", "com.akeneo.pim.v1.category.deleted",
]
SECTION = "event_platform"
STATUS_REFRESH = 60  # seconds between status reads from the platform while the page is open
CREDENTIALS = "event_platform"


class SubscriptionError(Refusal):
    """Something a merchant can act on: SubscriptionError(status, error, message), answered as any Refusal."""


def webhook_url(settings: Settings, tenant: str) -> str:
    return f"{settings.app_url}/webhooks/akeneo/{tenant}"


def _read(store: Store, tenant: str) -> tuple[dict | None, dict, dict]:
    pim = credentials_in_force(store, tenant, "pim")
    return pim, store.get_section(tenant, SECTION), store.get_credentials(tenant, CREDENTIALS) or {}


def _ensure_secrets(store: Store, tenant: str) -> dict:
    current = store.get_credentials(tenant, CREDENTIALS) or {}
    if current.get("primary") and current.get("secondary"):
        return current
    fresh = {"primary": secrets.token_urlsafe(32), "secondary": secrets.token_urlsafe(32)}
    store.put_credentials(tenant, CREDENTIALS, fresh)
    return fresh


def _save(store: Store, tenant: str, section: dict) -> dict:
    store.put_section(tenant, SECTION, section)
    return section


@contextlib.asynccontextmanager
async def _platform(settings: Settings, pim: dict) -> AsyncIterator[EventPlatformClient]:
    try:
        async with standalone_pim_client(settings, pim, timeout=15.0, max_attempts=2) as akeneo:
            token = await akeneo.access_token()
    except AkeneoAuthError:
        raise SubscriptionError(409, "pim_not_connected", "The PIM refused the saved connection: save the PIM "
                                                          "form again.") from None
    except (AkeneoError, ValueError) as exc:
        raise SubscriptionError(502, "pim_error", f"The PIM could not be asked for a token: {exc}") from None
    async with EventPlatformClient(settings.event_platform_url, pim["url"], token, pim["client_id"]) as client:
        try:
            yield client
        except EventPlatformAuthError as exc:
            raise SubscriptionError(502, "event_platform_refused",
                                    "The Event Platform refused this PIM connection. In the PIM, open Connect > "
                                    "Connection settings, edit the connection and tick the Event Platform "
                                    f"permission, then try again. ({exc.message})") from None
        except EventPlatformError as exc:
            raise SubscriptionError(502, "event_platform_error", f"The Event Platform: {exc.message}") from None


async def _subscriber(client: EventPlatformClient, section: dict, tenant: str, email: str) -> str:
    sub_id = section.get("subscriber_id")
    if sub_id:
        try:
            if (await client.get_subscriber(sub_id)).get("status") == "active":
                return sub_id
        except EventPlatformNotFound:
            pass
    try:
        return (await client.create_subscriber(f"BigCommerce connector ({tenant})", email))["id"]
    except EventPlatformConflict:  # one subscriber per PIM connection: it exists, reuse it
        active = [s for s in await client.list_subscribers() if s.get("status") == "active"]
        if not active:
            raise
        return active[0]["id"]


async def enable(settings: Settings, store: Store, tenant: str, email: str) -> dict:
    pim, section, _ = await asyncio.to_thread(_read, store, tenant)
    if not pim:
        raise SubscriptionError(409, "pim_not_connected", "Connect the PIM first (its connection test must pass).")
    keys = await asyncio.to_thread(_ensure_secrets, store, tenant)
    url = webhook_url(settings, tenant)
    async with _platform(settings, pim) as client:
        sub_id = await _subscriber(client, section, tenant, email)
        subscription = None
        if section.get("subscription_id") and section.get("subscriber_id") == sub_id:
            with contextlib.suppress(EventPlatformNotFound):
                subscription = await client.get_subscription(sub_id, section["subscription_id"])
        if subscription is None or subscription.get("status") in ("deleted", "revoked"):
            # one left by an earlier click whose answer was lost: same URL, same secrets
            mine = [s for s in await client.list_subscriptions(sub_id)
                    if (s.get("config") or {}).get("url") == url and s.get("status") in ("active", "suspended")]
            subscription = mine[0] if mine else await client.create_subscription(
                sub_id, subject=pim["url"], url=url, events=EVENTS, primary=keys["primary"],
                secondary=keys["secondary"])
        if subscription.get("status") == "suspended":
            subscription = await client.resume_subscription(sub_id, subscription["id"])
    doc = {"enabled": True, "subscriber_id": sub_id, "subscription_id": subscription["id"],
           "status": subscription.get("status", "active"), "message": "", "checked_at": time.time()}
    log.info("event subscription on", extra={"tenant": tenant, "status": doc["status"]})
    return await asyncio.to_thread(_save, store, tenant, doc)


async def transition(settings: Settings, store: Store, tenant: str, action: str) -> dict:
    """"suspend" | "resume" the subscription."""
    pim, section, _ = await asyncio.to_thread(_read, store, tenant)
    if not section.get("enabled") or not section.get("subscription_id"):
        raise SubscriptionError(409, "not_subscribed", "Real-time updates are off: switch them on first.")
    if not pim:
        raise SubscriptionError(409, "pim_not_connected", "Connect the PIM first (its connection test must pass).")
    async with _platform(settings, pim) as client:
        call = client.suspend_subscription if action == "suspend" else client.resume_subscription
        try:
            subscription = await call(section["subscriber_id"], section["subscription_id"])
        except EventPlatformNotFound:
            doc = {**section, "status": "deleted", "message": "The subscription no longer exists: switch "
                                                              "real-time updates off and on again."}
            return await asyncio.to_thread(_save, store, tenant, doc)
        except EventPlatformConflict as exc:
            raise SubscriptionError(409, "invalid_transition", exc.message) from None
    doc = {**section, "status": subscription.get("status"), "message": "", "checked_at": time.time()}
    return await asyncio.to_thread(_save, store, tenant, doc)


async def remove(settings: Settings, store: Store, tenant: str) -> dict:
    """Delete the subscription and the subscriber (what is already gone is fine)."""
    pim, section, _ = await asyncio.to_thread(_read, store, tenant)
    if section.get("subscriber_id") and pim:
        async with _platform(settings, pim) as client:
            if section.get("subscription_id"):
                with contextlib.suppress(EventPlatformNotFound):
                    await client.delete_subscription(section["subscriber_id"], section["subscription_id"])
            with contextlib.suppress(EventPlatformNotFound):
                await client.delete_subscriber(section["subscriber_id"])
    doc = {"enabled": False, "subscriber_id": None, "subscription_id": None, "status": "off", "message": "",
           "checked_at": time.time()}
    await asyncio.to_thread(store.delete_credentials, tenant, CREDENTIALS)
    log.info("event subscription removed", extra={"tenant": tenant})
    return await asyncio.to_thread(_save, store, tenant, doc)


async def refreshed(settings: Settings, store: Store, tenant: str, *, force: bool = False) -> dict:
    """The section, with the status read again from the platform when it is older than STATUS_REFRESH
    (a suspension by the platform or a revocation shows on the page); a failure is a message, not an error."""
    pim, section, _ = await asyncio.to_thread(_read, store, tenant)
    stale = time.time() - float(section.get("checked_at") or 0) > STATUS_REFRESH
    if not section.get("enabled") or not section.get("subscription_id") or not pim or not (stale or force):
        return section
    gone = {**section, "status": "deleted", "checked_at": time.time(),
            "message": "The subscription no longer exists: switch real-time updates off and on again."}
    try:
        async with _platform(settings, pim) as client:
            try:
                subscription = await client.get_subscription(section["subscriber_id"], section["subscription_id"])
            except EventPlatformNotFound:
                subscription = None
        doc = gone if subscription is None else {**section, "status": subscription.get("status"), "message": "",
                                                 "checked_at": time.time()}
    except SubscriptionError as exc:
        doc = {**section, "message": exc.message, "checked_at": time.time()}
    return await asyncio.to_thread(_save, store, tenant, doc)


def public(settings: Settings, tenant: str, section: dict[str, Any], summary: dict[str, Any],
           manual_secret: bool) -> dict[str, Any]:
    return {"webhook_url": webhook_url(settings, tenant), "realtime": {
        "enabled": bool(section.get("enabled")), "status": section.get("status") or "off",
        "message": section.get("message") or "", "checked_at": section.get("checked_at")},
        "manual_secret_set": manual_secret, **summary,
        "note": "Events can be lost (the legacy Events API never retries; a suspended subscription drops "
                "them): the scheduled delta import catches up."}

