"""Clean-up after a confirmed guarded change: hide or delete, in the store, what the connector created
before it, from the id maps of the store connected now (products and their variants, categories).

- hide: products `is_visible: false` (batches of 10), categories hidden (batches of 50); the products are
  unmapped, so the next full import adopts each one by SKU and sends it again (shown if it is in the new
  scope); hidden categories are shown again by the category sync when they are in the new subtree.
- delete: products deleted (100 ids a request; BigCommerce deletes their variants), categories deleted;
  their id-map entries removed, so the next full import creates what the new setting selects.
Every request goes through the store's shared rate governor. Re-running is harmless: a product
already gone is skipped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

from service.clients.bigcommerce_errors import BigCommerceNotFound
from service.connections import bigcommerce_client, read_connections
from service.imports import CLEANUP_SECTION
from service.settings import Settings
from service.store import Store
from service.store.leases import run_sync
from service.store.ledger import StoreLedger
from service.store.rate_governor import RateGovernor
from workers.context import job_context

log = logging.getLogger("connector.cleanup")

CHUNK = 100


def run_cleanup(tenant: str, action: str) -> dict[str, Any]:
    ctx = job_context()
    store = ctx.store
    section = store.get_section(tenant, CLEANUP_SECTION)
    section.update({"action": action, "state": "running", "started_at": time.time()})
    store.put_section(tenant, CLEANUP_SECTION, section)
    try:
        counts = asyncio.run(_clean(ctx.settings, ctx.redis, store, tenant, action, section))
    except Exception as exc:
        section.update({"state": "failed", "finished_at": time.time(), "message": str(exc)[:500]})
        store.put_section(tenant, CLEANUP_SECTION, section)
        raise
    section.update({"state": "succeeded", "finished_at": time.time(), "counts": counts})
    store.put_section(tenant, CLEANUP_SECTION, section)
    log.info("clean-up finished", extra={"tenant": tenant, "action": action, "counts": counts})
    return counts


async def _clean(settings: Settings, conn, store: Store, tenant: str, action: str, section: dict) -> dict[str, int]:
    creds = (await run_sync(read_connections, store, tenant)).bigcommerce
    if creds is None:
        raise RuntimeError("the BigCommerce store is not connected")
    store_hash = creds["store_hash"]
    # only ids learned from the store connected now: another store's ids name other products here
    ledger = StoreLedger(conn, tenant, store_hash)
    counts = {"products": 0, "categories": 0, "failed": 0}
    async with bigcommerce_client(settings, creds, governor=RateGovernor(conn, store_hash)) as bc:
        mapped = await run_sync(ledger.all_product_ids)
        keys = sorted(mapped)
        for start in range(0, len(keys), CHUNK):
            chunk = keys[start:start + CHUNK]
            alive = sorted(await bc.existing_product_ids(int(mapped[k]) for k in chunk))
            if action == "hide":
                result = await bc.update_products([{"id": pid, "is_visible": False} for pid in alive])
                counts["failed"] += len(result.errors)
            elif alive:
                with contextlib.suppress(BigCommerceNotFound):  # gone meanwhile: what we wanted
                    await bc.delete_products(alive)
            counts["products"] += len(alive)
            await run_sync(ledger.unmap, chunk)
            section["counts"] = counts
            await run_sync(store.put_section, tenant, CLEANUP_SECTION, section)
        states = await run_sync(ledger.category_states)
        if action == "hide":
            visible = {code: s for code, s in states.items() if s.get("visible", True)}
            result = await bc.update_categories([{"category_id": int(s["id"]), "is_visible": False}
                                                 for s in visible.values()])
            refused = {int(e.item.get("category_id", 0)) for e in result.errors}
            await run_sync(ledger.save_categories, {code: {**s, "visible": False, "hash": "hidden"}
                                                     for code, s in visible.items() if int(s["id"]) not in refused})
            counts["categories"] += len(visible) - len(refused)
            counts["failed"] += len(refused)
        else:
            if states:
                await bc.delete_categories(sorted({int(s["id"]) for s in states.values()}))
            await run_sync(ledger.clear_categories)
            counts["categories"] += len(states)
    return counts
