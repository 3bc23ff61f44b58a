"""What one sync step works with: the tenant, the run, open platform clients, the configuration.

`open_sync_context()` opens the tenant's connections as `service.connections` reads them (a step runs only
when the tenant is ready to sync), with the limits that must hold across processes: the Akeneo
connection's 4 requests in flight are a Redis counted lease (`Slots`) shared by every worker, the PIM
token is cached per tenant (encrypted), and BigCommerce requests go through the shared `RateGovernor`.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import redis

from service.clients.akeneo import AkeneoClient
from service.clients.bigcommerce import BigCommerceClient
from service.connections import (
    Connections,
    MainConfig,
    TokenCache,
    bigcommerce_client,
    connection_slots,
    read_connections,
    shared_pim_client,
    token_fingerprint,
)
from service.net import tls_context
from service.settings import Settings, knob
from service.store import Store
from service.store.imports import ImportStore
from service.store.leases import Lease, run_sync
from service.store.ledger import StoreLedger
from service.store.rate_governor import RateGovernor

# seconds before a BigCommerce answer counts as lost (tests shorten it; a lost create is looked up by SKU)
BC_TIMEOUT = knob("CONNECTOR_BC_TIMEOUT")


class NotConfigured(Exception):
    """The tenant lacks a connection or the main configuration."""


@dataclass(frozen=True)
class ImportOptions:
    """Scope filters and policies (configuration section `import`, all optional)."""

    enabled_only: bool = True
    completeness: int | None = None  # minimum completeness for the channel, percent
    families: tuple[str, ...] = ()
    removed: str = "hide"  # "hide" | "delete": products removed from the PIM
    image_mode: str = "url"  # "url": BigCommerce downloads APP_URL/media/...; "upload": image_file

    @classmethod
    def from_section(cls, doc: dict[str, Any]) -> ImportOptions:
        completeness = doc.get("completeness")
        return cls(
            enabled_only=bool(doc.get("enabled_only", True)),
            completeness=int(completeness) if completeness not in (None, "", False) else None,
            families=tuple(str(f) for f in doc.get("families") or ()),
            removed="delete" if doc.get("removed") == "delete" else "hide",
            image_mode="upload" if doc.get("image_mode") == "upload" else "url",
        )


@dataclass
class SyncContext:
    tenant: str
    run_id: str | None
    pim: AkeneoClient
    bc: BigCommerceClient
    main: MainConfig  # with its main category (open_sync_context refuses without one)
    store: Store
    imports: ImportStore
    settings: Settings
    redis: redis.Redis
    channel_id: int = 1
    options: ImportOptions = field(default_factory=ImportOptions)
    store_hash: str = ""
    ledger: StoreLedger = field(init=False)

    def __post_init__(self) -> None:
        # what was learned about this very store: ids from another store never reach it
        self.ledger = StoreLedger(self.redis, self.tenant, self.store_hash)

    def channel_lease(self) -> Lease:
        """BigCommerce: channel assignments never in parallel for a store, across processes."""
        return Lease(self.redis, f"bc-assign:{self.store_hash}", ttl_ms=60000)


def read_config(store: Store, tenant: str) -> tuple[Connections, ImportOptions]:
    """The tenant's connections and import options; NotConfigured unless the tenant is ready to sync (the
    one rule of service.connections.readiness: both connections in force, the main configuration with its
    main category)."""
    conns = read_connections(store, tenant)
    missing = conns.missing
    if "pim" in missing or "bigcommerce" in missing:
        raise NotConfigured("both connections must be configured before an import")
    if "main" in missing:
        raise NotConfigured("the main configuration (locale, channel, category) is missing")
    return conns, ImportOptions.from_section(store.get_section(tenant, "import"))


@contextlib.asynccontextmanager
async def open_sync_context(
    settings: Settings, conn: redis.Redis, store: Store, tenant: str, run_id: str | None
) -> AsyncIterator[SyncContext]:
    conns, options = await run_sync(read_config, store, tenant)  # both connections and the main category
    imports = ImportStore(conn, store.box)
    slots = connection_slots(conn, conns.pim)
    pim = shared_pim_client(settings, conn, conns.pim, slots=slots,
                            token_cache=TokenCache(imports, tenant, token_fingerprint(conns.pim)))
    store_hash = conns.bigcommerce["store_hash"]
    # BC_API_URL is the operator's setting, not a merchant's URL: a transport with the process's one TLS
    # context (building one per page costs ~40 ms)
    transport = httpx.AsyncHTTPTransport(verify=tls_context(), retries=0)
    bc = bigcommerce_client(settings, conns.bigcommerce, governor=RateGovernor(conn, store_hash),
                            timeout=BC_TIMEOUT, transport=transport)
    ctx = SyncContext(tenant=tenant, run_id=run_id, pim=pim, bc=bc, main=conns.main, store=store,
                      imports=imports, settings=settings, redis=conn, channel_id=conns.channel_id, options=options,
                      store_hash=store_hash)
    try:
        yield ctx
    finally:
        await slots.drain()
        await pim.aclose()
        await bc.aclose()
