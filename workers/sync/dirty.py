"""Sync these product uuids / model codes now: the entry point change events use.

It reads each item's CURRENT state from the PIM (never the event's payload) and writes through the
import's own loaders (`workers.sync.items.load_simple_products`, `load_models`,
`workers.sync.products.ProductLoader.hide`): same transform context, mapping, hashes, id map and
exactly-once creates as an import page. What it adds:

- scope: products are read with the import's own filters (main category subtree, families,
  completeness; `reading.filters`) plus `uuid IN`, models with `identifier IN`; an item outside the
  scope writes nothing, except hiding a product we had sent (it left the scope);
- removals: the PIM answers 404 → removed: deleted when the merchant chose "delete", else hidden; a
  removed variant syncs its model (which drops it). An update event or an import page read before the
  removal never resurrects it (the ledger's `gone`);
- a variant syncs its root model (two-level models resolve through the sub-model);
- batches: one search request per 100 products instead of one GET each;
- the transform context is cached for events (service/store/events.py, 2 min, dropped when the
  mapping version changes or categories are synced) instead of re-reading the PIM schema per batch.
"""

from __future__ import annotations

from collections.abc import Iterable

from service.clients.akeneo import API
from service.store.events import EventStore
from service.store.imports import chunked
from service.store.leases import run_sync
from service.store.mapping import get_mapping
from workers.sync.context import SyncContext
from workers.sync.items import DirtyResult, context_doc, context_from_doc, media_functions, sync_items
from workers.sync.products import ProductLoader, issue
from workers.sync.reading import SEARCH_CHUNK, read_all


async def _event_context_doc(ctx: SyncContext) -> dict:
    """The doc a run's `prepare` caches for it, built without a category sync (events read the
    category id map as it is) and cached for a couple of minutes across event batches."""
    events = EventStore(ctx.redis)
    mapping_doc = await run_sync(get_mapping, ctx.store, ctx.tenant)
    version = int((mapping_doc or {}).get("version") or 0)
    doc = await run_sync(events.get_context, ctx.tenant)
    # its category ids and currency are the store's: a context built for another store is never used
    if doc is not None and doc.get("mapping_version") == version and doc.get("store_hash") == ctx.store_hash:
        return doc
    doc = {**await context_doc(ctx, await run_sync(ctx.ledger.category_ids)), "mapping_version": version,
           "store_hash": ctx.store_hash}
    await run_sync(events.put_context, ctx.tenant, doc)
    return doc


async def _resolve_identifiers(ctx: SyncContext, identifiers: list[str], result: DirtyResult) -> list[str]:
    """Legacy events of PIMs without uuids name products by identifier."""
    uuids: list[str] = []
    for chunk in chunked(identifiers, SEARCH_CHUNK):
        found = await read_all(ctx, f"{API}/products-uuid", {"identifier": ("IN", chunk)})
        uuids += [str(p["uuid"]).lower() for p in found]
        known = {str(p.get("identifier", "")).lower() for p in found}
        result.skipped += [f"identifier:{i}" for i in chunk if i.lower() not in known]
    return uuids


async def sync_dirty(ctx: SyncContext, *, uuids: Iterable[str] = (), identifiers: Iterable[str] = (),
                     model_codes: Iterable[str] = (), categories: bool = False) -> DirtyResult:
    """Sync the named products and models (and the category tree) from their current PIM state."""
    result = DirtyResult()
    if categories:
        await _sync_categories(ctx, result)
    uuids = list(dict.fromkeys(u.lower() for u in uuids))
    identifiers, model_codes = list(dict.fromkeys(identifiers)), list(dict.fromkeys(model_codes))
    if not (uuids or identifiers or model_codes):
        return result
    tctx = context_from_doc(ctx, await _event_context_doc(ctx))
    loader = ProductLoader(ctx, *media_functions(ctx))
    if identifiers:
        uuids += [u for u in await _resolve_identifiers(ctx, identifiers, result) if u not in uuids]
    await sync_items(ctx, tctx, loader, uuids, model_codes, result)
    return result


async def _sync_categories(ctx: SyncContext, result: DirtyResult) -> None:
    from workers.sync.categories import sync_categories

    outcome = await sync_categories(ctx)
    for name, n in (outcome.counts or {}).items():
        result.commit.count("categories", name, int(n))
    result.commit.warnings += [issue(i.item, i.message, getattr(i, "field", None)) for i in outcome.warnings]
    result.commit.errors += [issue(i.item, i.message, getattr(i, "field", None)) for i in outcome.errors]
    result.categories_synced = True
    await run_sync(EventStore(ctx.redis).drop_context, ctx.tenant)  # the category id map changed
