"""The tenant's PIM connection as every process shares it: one budget of Akeneo's 4 requests in flight per
connection (Redis slots, so the import, the preview and /media together never exceed it) and one cached
access token per tenant (so no process makes a password grant the others then have to replace)."""

from __future__ import annotations

import hashlib
from typing import Any

import redis

from service.clients.akeneo import AkeneoClient
from service.settings import Settings
from service.store.imports import ImportStore
from service.store.leases import Slots

AKENEO_IN_FLIGHT = 4  # Akeneo SaaS: 4 concurrent calls per connection


def connection_slots(conn: redis.Redis, creds: dict[str, Any]) -> Slots:
    """The connection's in-flight slots, named by PIM URL and client id (a connection is that pair)."""
    connection = hashlib.sha256(f"{creds['url']}\n{creds['client_id']}".encode()).hexdigest()[:16]
    return Slots(conn, f"akeneo:{connection}", AKENEO_IN_FLIGHT)


def token_fingerprint(creds: dict[str, Any]) -> str:
    """Names the identity a cached token belongs to: new credentials never reuse the old token."""
    return ImportStore.token_fingerprint(creds["url"], creds["client_id"], creds["username"])


def shared_pim_client(settings: Settings, conn: redis.Redis, creds: dict[str, Any], *, token_cache: Any,
                      slots: Slots | None = None, **options: Any) -> AkeneoClient:
    """An AkeneoClient on the tenant's stored credentials under the shared limits (`options`: timeout,
    max_attempts; `slots` when the caller drains them itself). Merchant URLs: internal addresses only with ALLOW_PRIVATE_URLS."""
    return AkeneoClient(creds["url"], creds["client_id"], creds["secret"], creds["username"], creds["password"],
                        max_in_flight=AKENEO_IN_FLIGHT, slots=slots or connection_slots(conn, creds),
                        token_cache=token_cache, allow_private_addresses=settings.allow_private_urls, **options)
