"""A tenant's connections: which stored credentials are in force, whether the tenant is ready to sync, and
the PIM and BigCommerce clients opened from them. Every process (web pages, /media, import and event
workers) opens them here, so all of them follow one rule.

Guarantees:
- A connection is in force only when its section says `connected: true` (its last saved test passed);
  imports, events and pages use only credentials in force (`is_in_force`, `credentials_in_force`,
  `read_connections`), never those of a failed test.
- One readiness rule (`readiness`): the tenant can sync when the PIM and the store are connected and the
  main configuration (locale, channel and main category) is saved; what is missing is named in the
  merchant's words (`Readiness.in_words`), the same ones the imports page shows.
- One main configuration (`MainConfig`): locale and channel make it (what a transform Context needs, so
  the mapping page previews before a main category is chosen); the main category is optional in it and
  required wherever the import's scope is read (`MainConfig.complete`: readiness, the sync, the product tab).
- The tenant's PIM client keeps Akeneo's limits across processes: 4 requests in flight per connection
  (Redis slots named by PIM URL and client id) and one cached access token per tenant (`TokenCache`, keyed
  by a fingerprint of URL, client id and user, so new credentials never reuse an old token).
- Credentials are never logged nor put in an answer; stored credentials that cannot be used (saved before
  today's checks) are refused as "save the form again", never as a crash.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import AsyncIterator, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import httpx
import redis

from service.clients.akeneo import AkeneoClient
from service.clients.akeneo_errors import AkeneoError
from service.clients.bigcommerce import BigCommerceClient
from service.clients.bigcommerce_errors import BigCommerceError
from service.config.hints import pim_failure
from service.refusal import NotReady, Upstream
from service.settings import Settings
from service.store import Store
from service.store.imports import ImportStore
from service.store.leases import Lease, Slots, run_sync

log = logging.getLogger("connector.connections")

AKENEO_IN_FLIGHT = 4  # Akeneo SaaS: 4 concurrent calls per connection
GRANT_LEASE_MS = 10000  # how long one process may take to make the grant the others wait for
PAGE_TIMEOUT = 15.0  # seconds: a page (mapping, product tab) waits no longer for a platform
PAGE_ATTEMPTS = 3
# What stored credentials from before today's checks may fail with when used.
UNUSABLE = (UnicodeError, ValueError, httpx.InvalidURL)


# --- the main configuration -----------------------------------------------------------------------


class MainNotConfigured(Exception):
    """The tenant has no locale and channel yet: no transform Context can be built."""


MAIN_MISSING = "Save the main configuration (locale, channel, category) first."


@dataclass(frozen=True)
class MainConfig:
    """The saved main configuration. The main category is optional here (the mapping page previews
    without one); what reads the PIM's scope asks for it (`complete`, and so does `readiness`)."""

    locale: str
    channel: str
    category: str | None = None
    category_tree: str | None = None

    @classmethod
    def from_section(cls, main: Mapping[str, Any]) -> MainConfig | None:
        """The section `main` as saved, or None while its locale or channel is missing."""
        if not main.get("locale") or not main.get("channel"):
            return None
        category = str(main["category"]) if main.get("category") else None
        return cls(str(main["locale"]), str(main["channel"]), category, main.get("category_tree"))

    @property
    def complete(self) -> bool:
        """Whether an import can read the PIM with it (it reads the main category's subtree)."""
        return self.category is not None


async def main_config(store: Store, tenant: str) -> MainConfig:
    """The tenant's main configuration; MainNotConfigured without locale and channel."""
    main = MainConfig.from_section(await asyncio.to_thread(store.get_section, tenant, "main"))
    if main is None:
        raise MainNotConfigured(MAIN_MISSING)
    return main


# --- what is in force, and readiness ------------------------------------------------------------------


def is_in_force(section: Mapping[str, Any]) -> bool:
    """Whether a connection section (`pim`, `bigcommerce`) is the connection in force: its test passed.
    Older versions stored a failed test in place ("not connected"): that is not in force."""
    return section.get("connected") is True


def credentials_in_force(store: Store, tenant: str, kind: str) -> dict[str, Any] | None:
    """The credentials that last passed their test (what imports, events and pages use), or None."""
    if not is_in_force(store.get_section(tenant, kind)):
        return None
    return store.get_credentials(tenant, kind)


@dataclass(frozen=True)
class Connections:
    """The tenant's connections in force and its main configuration, read together."""

    pim: dict[str, Any] | None          # the PIM credentials, when the PIM connection passed its test
    bigcommerce: dict[str, Any] | None  # {store_hash, access_token}, when the store connection passed its test
    main: MainConfig | None = None      # None until a locale and a channel are saved
    channel_id: int = 1                 # the store channel products are listed in

    @property
    def missing(self) -> list[str]:
        """What must be configured before a sync, in this order: "pim", "bigcommerce", "main"."""
        found = [] if self.pim is not None else ["pim"]
        if self.bigcommerce is None:
            found.append("bigcommerce")
        if self.main is None or not self.main.complete:
            found.append("main")
        return found

    def require(self, *, pim: bool = True, bigcommerce: bool = True) -> None:
        """NotReady (409) naming the first side a page needs and the tenant has not connected."""
        if pim and self.pim is None:
            raise NotReady("Connect the PIM first: save PIM credentials that pass the connection test.",
                            error="pim_not_connected")
        if bigcommerce and self.bigcommerce is None:
            raise NotReady("Connect the BigCommerce store first: save store credentials that pass the "
                            "connection test.", error="bigcommerce_not_connected")


def read_connections(store: Store, tenant: str) -> Connections:
    """The tenant's connections (synchronous Redis reads: call it in a thread from async code). A side's
    credentials are read (decrypted) only when its section is in force."""
    sections = store.all_sections(tenant)
    pim = store.get_credentials(tenant, "pim") if is_in_force(sections.get("pim", {})) else None
    bc_section = sections.get("bigcommerce", {})
    bc = None
    if is_in_force(bc_section) and bc_section.get("store_hash"):
        token = (store.get_credentials(tenant, "bigcommerce") or {}).get("access_token")
        bc = {"store_hash": bc_section["store_hash"], "access_token": token} if token else None
    return Connections(pim or None, bc, MainConfig.from_section(sections.get("main", {})),
                       int(bc_section.get("channel_id") or 1))


async def connections(store: Store, tenant: str) -> Connections:
    return await asyncio.to_thread(read_connections, store, tenant)


# The merchant's words for what is missing (the imports page shows them, an import refused says them).
MISSING_TEXT = {"pim": "connect the PIM (its connection test must pass)",
                "bigcommerce": "connect the BigCommerce store (its connection test must pass)",
                "main": "save the main configuration (locale, channel and main category)"}


@dataclass(frozen=True)
class Readiness:
    missing: list[str]  # "pim", "bigcommerce", "main", in this order; empty when the tenant can sync

    @property
    def ready(self) -> bool:
        return not self.missing

    def in_words(self) -> list[str]:
        return [MISSING_TEXT[m] for m in self.missing]


def readiness(store: Store, tenant: str) -> Readiness:
    """Whether the tenant can sync (import, events, a product synced from the PIM) and, if not, what is
    missing. Synchronous: call it in a thread from async code."""
    return Readiness(read_connections(store, tenant).missing)


# --- the PIM client -------------------------------------------------------------------------------------


def connection_slots(conn: redis.Redis, creds: Mapping[str, Any]) -> Slots:
    """The connection's in-flight slots, named by PIM URL and client id (a connection is that pair)."""
    connection = hashlib.sha256(f"{creds['url']}\n{creds['client_id']}".encode()).hexdigest()[:16]
    return Slots(conn, f"akeneo:{connection}", AKENEO_IN_FLIGHT)


def token_fingerprint(creds: Mapping[str, Any]) -> str:
    """Names the identity a cached token belongs to: new credentials never reuse the old token."""
    return ImportStore.token_fingerprint(creds["url"], creds["client_id"], creds["username"])


class TokenCache:
    """The tenant's cached PIM access token (encrypted in Redis), shared by the import, the pages and
    /media: a process finding a valid token makes no password grant, and grants none the others then
    have to replace. With `share_grant` (for /media: BigCommerce fetches several images at once) a miss
    takes a short lease and grants while the others wait for its token instead of each making a grant."""

    def __init__(self, imports: ImportStore, tenant: str, fingerprint: str, *, share_grant: bool = False) -> None:
        self.imports, self.tenant, self.fingerprint, self.share_grant = imports, tenant, fingerprint, share_grant
        self.lease: Lease | None = None

    async def load(self) -> dict | None:
        doc = await run_sync(self.imports.get_pim_token, self.tenant, self.fingerprint)
        if doc or not self.share_grant:
            return doc
        lease = Lease(self.imports.redis, f"pim-grant:{self.fingerprint}", ttl_ms=GRANT_LEASE_MS)
        if await lease.hold(wait=GRANT_LEASE_MS / 1000):
            doc = await run_sync(self.imports.get_pim_token, self.tenant, self.fingerprint)
            if doc:
                await run_sync(lease.release)
                return doc
            self.lease = lease  # ours to grant; released once the token is saved (or by its TTL)
        return None

    async def save(self, doc: dict) -> None:
        await run_sync(self.imports.put_pim_token, self.tenant, self.fingerprint, doc)
        await self.release()

    async def release(self) -> None:
        """Give up the grant lease: a grant that failed must not make the next requests wait for it."""
        if self.lease is not None:
            lease, self.lease = self.lease, None
            await run_sync(lease.release)


def standalone_pim_client(settings: Settings, creds: Mapping[str, Any], **options: Any) -> AkeneoClient:
    """A client on stored PIM credentials alone, for a few calls outside the import (the configuration's
    pickers, the Event Platform's token, UI extensions). `options`: timeout, max_attempts. Merchant URLs:
    internal addresses only with ALLOW_PRIVATE_URLS."""
    return AkeneoClient(creds["url"], creds["client_id"], creds["secret"], creds["username"], creds["password"],
                        max_in_flight=AKENEO_IN_FLIGHT, allow_private_addresses=settings.allow_private_urls,
                        **options)


def shared_pim_client(settings: Settings, conn: redis.Redis, creds: Mapping[str, Any], *, token_cache: Any,
                      slots: Slots | None = None, **options: Any) -> AkeneoClient:
    """An AkeneoClient on the tenant's stored credentials under the shared limits (`options`: timeout,
    max_attempts; `slots` when the caller drains them itself)."""
    return standalone_pim_client(settings, creds, slots=slots or connection_slots(conn, creds),
                                 token_cache=token_cache, **options)


def _unusable_pim() -> NotReady:
    return NotReady("The stored PIM credentials cannot be used: save the PIM form again.",
                    error="pim_not_connected")


@contextlib.contextmanager
def _pim_refusals(creds: Mapping[str, Any], unusable: tuple[type[Exception], ...]) -> Iterator[None]:
    """A PIM failure refused as Upstream (502 pim_error, with hints), stored credentials that turn out
    unusable (`unusable`: what they fail with) as NotReady (409 pim_not_connected)."""
    try:
        yield
    except AkeneoError as exc:
        message, hints = pim_failure(exc, dict(creds))
        raise Upstream(message, error="pim_error", hints=hints) from None
    except unusable:  # credentials stored before today's checks
        log.exception("stored PIM credentials cannot be used")
        raise _unusable_pim() from None


@contextlib.asynccontextmanager
async def open_pim(settings: Settings, store: Store, tenant: str,
                   creds: Mapping[str, Any]) -> AsyncIterator[AkeneoClient]:
    """A client on the tenant's PIM connection for a page, under the import's limits: the connection's 4
    requests in flight are the cross-process Redis slots (a preview during an import never pushes the PIM
    over its limit) and the access token is the tenant's cached one. A PIM failure is refused as Upstream
    (502, with hints), unusable stored credentials as NotReady (409 pim_not_connected)."""
    slots = None
    try:
        slots = connection_slots(store.redis, creds)
        cache = TokenCache(ImportStore(store.redis, store.box), tenant, token_fingerprint(creds))
        client = shared_pim_client(settings, store.redis, creds, token_cache=cache, slots=slots,
                                   timeout=PAGE_TIMEOUT, max_attempts=PAGE_ATTEMPTS)
    except (KeyError, TypeError, *UNUSABLE):
        raise _unusable_pim() from None
    try:
        with _pim_refusals(creds, (UnicodeError, httpx.InvalidURL)):
            yield client
    finally:
        await slots.drain()
        await client.aclose()


@contextlib.asynccontextmanager
async def open_config_pim(settings: Settings, store: Store, tenant: str) -> AsyncIterator[AkeneoClient]:
    """A client on the PIM credentials in force for the configuration's few reads (the pickers, the main
    configuration's check), outside the import's shared slots and token. NotReady (409 pim_not_connected)
    until the PIM connection passed its test, or when its stored credentials cannot be used; a PIM failure
    is refused as Upstream (502, with hints). The Redis reads run off the event loop."""
    creds = await asyncio.to_thread(credentials_in_force, store, tenant, "pim")
    if not creds:
        raise NotReady("Save PIM credentials that pass the connection test first.", error="pim_not_connected")
    try:
        client = standalone_pim_client(settings, creds, timeout=PAGE_TIMEOUT, max_attempts=PAGE_ATTEMPTS)
    except (KeyError, TypeError, *UNUSABLE):
        raise _unusable_pim() from None
    with _pim_refusals(creds, UNUSABLE):
        async with client as pim:
            yield pim


# --- the BigCommerce client -----------------------------------------------------------------------------


def bigcommerce_client(settings: Settings, creds: Mapping[str, Any], **options: Any) -> BigCommerceClient:
    """A client on the store connection (`creds`: {store_hash, access_token}). BC_API_URL is the operator's
    setting, not a merchant's URL. `options`: governor (the store's shared rate governor), timeout,
    max_attempts, transport."""
    return BigCommerceClient(creds["store_hash"], creds["access_token"], api_url=settings.bc_api_url, **options)


@contextlib.asynccontextmanager
async def open_bigcommerce(settings: Settings, creds: Mapping[str, Any]) -> AsyncIterator[BigCommerceClient]:
    """A client on the store connection for a page; a store failure is refused as Upstream (502)."""
    client = bigcommerce_client(settings, creds, timeout=PAGE_TIMEOUT, max_attempts=PAGE_ATTEMPTS)
    try:
        yield client
    except BigCommerceError as exc:
        raise Upstream(f"BigCommerce could not be read: {exc}", error="bigcommerce_error") from None
    finally:
        await client.aclose()
