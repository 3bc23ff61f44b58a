"""How a tested connection is recorded: credentials and their verdict, written in a safe order."""

from __future__ import annotations

import time
from typing import Any

from service.store import Store


def save_tested(store: Store, tenant: str, kind: str, credentials: dict, section: dict) -> None:
    """Store tested credentials with their verdict, in the order that never shows credentials next to a
    verdict they did not earn: a failed test first marks the section not connected, a passed one saves
    the credentials before the section says connected."""
    if section["connected"]:
        store.put_credentials(tenant, kind, credentials)
        store.put_section(tenant, kind, section)
    else:
        store.put_section(tenant, kind, section)
        store.put_credentials(tenant, kind, credentials)


def bigcommerce_section(result: dict[str, Any], *, store_hash: str, client_id: str, hints: list[str],
                        kept: dict[str, Any] | None = None) -> dict[str, Any]:
    """The `bigcommerce` section for a check result (`kept`: what an app install adds: installed_as_app,
    scope). Written by the configuration API and by the app's install callback alike."""
    return {**(kept or {}), "store_hash": store_hash, "client_id": client_id, "connected": result["connected"],
            "message": result["message"], "hints": hints, "store": result.get("store", {}),
            "tested_at": time.time()}
