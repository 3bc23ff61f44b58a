"""Who may frame a page (CSP `frame-ancestors`): besides the control panel and `PIM_URLS`, the PIM of the
tenant an `/embed/{tenant}/…` page belongs to (its UI extensions open there), so a SaaS PIM that is not in
PIM_URLS can embed the connector, and only that tenant's PIM can embed that tenant's pages."""

from __future__ import annotations

import asyncio
import re
import time
from urllib.parse import urlsplit

from starlette.types import Scope

from service.store import Store

EMBED_PATH = re.compile(r"/embed/([A-Za-z0-9_-]{1,64})(?:/|$)")
CACHE_SECONDS = 30.0


def origin(url: str) -> str:
    parts = urlsplit(url or "")
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme in ("http", "https") and parts.netloc else ""


def tenant_pim_origin(store: Store, tenant: str) -> str:
    """The origin of the PIM the tenant is connected to (else the one it was first seen with), or ""."""
    return origin(store.pim_in_force(tenant))


class TenantFrames:
    """The extra frame ancestors of a request, from Redis, cached per tenant for CACHE_SECONDS."""

    def __init__(self) -> None:
        self._cache: dict[str, tuple[float, str]] = {}

    async def __call__(self, scope: Scope) -> tuple[str, ...]:
        match = EMBED_PATH.match(scope.get("path", ""))
        app = scope.get("app")
        if not match or app is None:
            return ()
        tenant = match.group(1)
        now = time.monotonic()
        hit = self._cache.get(tenant)
        if hit is None or hit[0] < now:
            value = await asyncio.to_thread(tenant_pim_origin, app.state.store, tenant)
            if len(self._cache) > 10000:
                self._cache.clear()
            hit = self._cache[tenant] = (now + CACHE_SECONDS, value)
        return (hit[1],) if hit[1] else ()
