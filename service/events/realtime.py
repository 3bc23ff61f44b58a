"""The events block of the configuration page, apart from HTTP: what `GET /api/events` shows and what the
real-time switch and its actions do. The routes are `service/web/events_api.py`.

Guarantees: each call answers the block's whole document (as `GET /api/events`), read after the change;
every refusal is a `SubscriptionError` (a Refusal: the app answers it with its status); the Redis reads run
in a thread, never on the event loop.
"""

from __future__ import annotations

import asyncio
from typing import Any

import redis

from service.events import subscription as sub
from service.settings import Settings
from service.store import Store
from service.store.events import EventStore

ACTIONS = ("suspend", "resume", "remove")


def _document(settings: Settings, store: Store, conn: redis.Redis, tenant: str,
              section: dict[str, Any]) -> dict[str, Any]:
    summary = EventStore(conn).summary(tenant)
    manual = bool((store.get_credentials(tenant, "events") or {}).get("secret"))
    return sub.public(settings, tenant, section, summary, manual)


async def status(settings: Settings, store: Store, conn: redis.Redis, tenant: str, *,
                 refresh: bool = False) -> dict[str, Any]:
    """The block: webhook URL, the subscription's status (read again from the platform when old, or when
    `refresh`), last event time, waiting count, the last hour's figures and failures."""
    section = await sub.refreshed(settings, store, tenant, force=refresh)
    return await asyncio.to_thread(_document, settings, store, conn, tenant, section)


async def switch(settings: Settings, store: Store, conn: redis.Redis, tenant: str, *, enabled: bool,
                 email: str) -> dict[str, Any]:
    """Real-time updates on (`email`: the subscriber's contact at the platform) or off."""
    if enabled:
        section = await sub.enable(settings, store, tenant, email)
    else:
        section = await sub.remove(settings, store, tenant)
    return await asyncio.to_thread(_document, settings, store, conn, tenant, section)


async def act(settings: Settings, store: Store, conn: redis.Redis, tenant: str, action: str) -> dict[str, Any]:
    """Suspend, resume or remove the subscription; any other action is a 404 before anything is read."""
    if action not in ACTIONS:
        raise sub.SubscriptionError(404, "not_found", "Unknown action: suspend, resume or remove.")
    if action == "remove":
        section = await sub.remove(settings, store, tenant)
    else:
        section = await sub.transition(settings, store, tenant, action)
    return await asyncio.to_thread(_document, settings, store, conn, tenant, section)
