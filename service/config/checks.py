"""Connection checks that explain themselves: `{"connected", "message", "hints", ...}`."""

from __future__ import annotations

from typing import Any

from service.clients.bigcommerce import BigCommerceClient, BigCommerceError
from service.settings import Settings


async def check_bigcommerce(settings: Settings, store_hash: str, access_token: str,
                            client_id: str | None = None) -> dict[str, Any]:
    """Test a store's credentials: /v2/time, /v2/store and a catalog read."""
    try:
        async with BigCommerceClient(store_hash, access_token, api_url=settings.bc_api_url, max_attempts=2,
                                     timeout=10.0) as bc:
            store = await bc.check_connection()
    except BigCommerceError as exc:
        return {"connected": False, "message": str(exc), "hints": []}
    facts = {k: store.get(k) for k in ("name", "domain", "currency", "weight_units", "dimension_units")}
    return {"connected": True, "message": f"Connected to {facts.get('name') or store_hash}.", "hints": [],
            "store": facts}
