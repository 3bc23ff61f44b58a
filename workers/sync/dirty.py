"""Sync these product uuids / model codes now: the entry point change events use.

It reads each item's CURRENT state from the PIM (never the event's payload) and writes through the
import engine's own loaders (`workers.sync.engine.load_simple_products`, `load_models`,
`workers.sync.products.ProductLoader.hide`): same transform context, mapping, hashes, id map and
exactly-once creates as an import page. What it adds:

- scope: products are read with the import's own filters (main category subtree, families,
  completeness; `engine._filters`) plus `uuid IN`, models with `identifier IN`; an item outside the
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

import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from service.clients.akeneo import API, AkeneoNotFound
from service.store.events import EventStore
from service.store.imports import PageCommit, chunked
from service.store.leases import run_sync
from service.store.mapping import get_mapping
from service.sync_context import build_context
from service.transform.context import StoreSettings
from workers.sync import engine
from workers.sync.context import SyncContext
from workers.sync.products import ProductLoader, issue

SEARCH_CHUNK = 100  # Akeneo lists return at most 100 items a page


@dataclass
class DirtyResult:
    commit: PageCommit = field(default_factory=PageCommit)
    skipped: list[str] = field(default_factory=list)  # out of scope and never sent: nothing written
    gone: list[str] = field(default_factory=list)  # the PIM answered 404 (removed, or never existed)
    categories_synced: bool = False


async def _event_context_doc(ctx: SyncContext) -> dict:
    """The doc `engine.prepare` caches for a run, built without a category sync (events read the
    category id map as it is) and cached for a couple of minutes across event batches."""
    events = EventStore(ctx.redis)
    mapping_doc = await run_sync(get_mapping, ctx.store, ctx.tenant)
    version = int((mapping_doc or {}).get("version") or 0)
    doc = await run_sync(events.get_context, ctx.tenant)
    # its category ids and currency are the store's: a context built for another store is never used
    if doc is not None and doc.get("mapping_version") == version and doc.get("store_hash") == ctx.store_hash:
        return doc
    category_ids = await run_sync(ctx.ledger.category_ids)
    cached = await run_sync(ctx.ledger.get_store_settings)  # the engine's hourly cache
    built = await build_context(ctx.store, ctx.tenant, ctx.settings, pim=ctx.pim, bc=ctx.bc,
                                category_ids=category_ids,
                                store_settings=StoreSettings(**cached) if cached else None)
    doc = {"catalog": engine._catalog_json(built.catalog), "mapping": built.mapping.to_json(),
           "store": {"currency": built.store.currency, "weight_units": built.store.weight_units,
                     "dimension_units": built.store.dimension_units},
           "category_ids": dict(built.category_ids), "mapping_version": version, "store_hash": ctx.store_hash}
    await run_sync(events.put_context, ctx.tenant, doc)
    return doc


async def _search(ctx: SyncContext, path: str, models: bool, **extra: Any) -> list[dict]:
    search = engine._filters(ctx, {"mode": "full"}, models=models, **extra)
    return await engine._all_pages(ctx, path, search)


async def _resolve_identifiers(ctx: SyncContext, identifiers: list[str], result: DirtyResult) -> list[str]:
    """Legacy events of PIMs without uuids name products by identifier."""
    uuids: list[str] = []
    for chunk in chunked(identifiers, SEARCH_CHUNK):
        found = await engine._all_pages(ctx, f"{API}/products-uuid", {"identifier": ("IN", chunk)})
        uuids += [str(p["uuid"]).lower() for p in found]
        known = {str(p.get("identifier", "")).lower() for p in found}
        result.skipped += [f"identifier:{i}" for i in chunk if i.lower() not in known]
    return uuids


async def _remove(ctx: SyncContext, loader: ProductLoader, keys: list[str], commit: PageCommit,
                  read_at: float) -> None:
    if keys:
        await loader.hide(keys, commit, delete=ctx.options.removed == "delete", deleted_keys=keys, read_at=read_at)


async def _leave_scope(ctx: SyncContext, loader: ProductLoader, keys: list[str], result: DirtyResult,
                       read_at: float) -> None:
    """Out of scope: hide what we had sent; never write anything for what we had not."""
    if not keys:
        return
    known = await run_sync(ctx.ledger.product_ids, keys)
    result.skipped += [k for k in keys if k not in known]
    if known:
        await loader.hide([k for k in keys if k in known], result.commit, read_at=read_at)


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
    doc = await _event_context_doc(ctx)
    await run_sync(ctx.imports.put_catalog, ctx.run_id, doc)  # what engine.transform_context reads
    tctx = await engine.transform_context(ctx)
    loader = ProductLoader(ctx, *engine.media_functions(ctx))
    if identifiers:
        uuids += [u for u in await _resolve_identifiers(ctx, identifiers, result) if u not in uuids]
    await sync_items(ctx, tctx, loader, uuids, model_codes, result)
    return result


async def sync_items(ctx: SyncContext, tctx: Any, loader: ProductLoader, uuids: list[str], model_codes: list[str],
                     result: DirtyResult, *, again: bool = False) -> None:
    """Sync these products and models (lower-cased uuids, codes as named) from their current PIM state
    with a transform context already built: change events, and a delta's retry of what failed before."""
    from service.transform.product import build_simple_product

    commit = result.commit
    read_at = time.time()  # before the first read: what is written is at least this new
    # products: in scope (the import's filters), else read alone to tell removed from out of scope
    in_scope: dict[str, dict] = {}
    for chunk in chunked(uuids, SEARCH_CHUNK):
        for product in await _search(ctx, f"{API}/products-uuid", False, uuid=("IN", chunk)):
            in_scope[str(product["uuid"]).lower()] = product
    simple: list[dict] = []
    roots: dict[str, str] = {}  # lower-cased model code -> code as named
    removed: list[str] = []
    out: list[str] = []
    for uuid in uuids:
        product = in_scope.get(uuid)
        if product is None:
            try:
                product = await ctx.pim.get_product(uuid)
            except AkeneoNotFound:
                removed.append(f"product:{uuid}")
                continue
            if not product.get("parent"):
                out.append(f"product:{uuid}")
                continue
        if product.get("parent"):
            roots.setdefault(str(product["parent"]).lower(), str(product["parent"]))  # a variant: its model
        else:
            simple.append(product)
    if simple:
        await engine.load_simple_products(ctx, tctx, simple, commit, build_simple_product, read_at=read_at)
    # a removed (or out-of-scope) variant of ours: its model drops it
    owners = await run_sync(ctx.ledger.variant_owners, [k.partition(":")[2] for k in removed + out])
    for owner in set(owners.values()):
        if owner.startswith("model:"):
            roots.setdefault(owner.partition(":")[2].lower(), owner.partition(":")[2])
    removed = [k for k in removed if k.partition(":")[2] not in owners]
    out = [k for k in out if k.partition(":")[2] not in owners]
    result.gone += removed
    await _remove(ctx, loader, removed, commit, read_at)
    await _leave_scope(ctx, loader, out, result, read_at)

    # models: resolve each to its root, then the scope of the roots
    for code in model_codes:
        roots.setdefault(code.lower(), code)
    root_models: dict[str, dict] = {}
    removed_models: list[str] = []
    pending = dict(roots)
    while pending:
        lower, named = pending.popitem()
        try:
            model = await ctx.pim.get_product_model(named, scope=ctx.main.channel, locales=ctx.main.locale)
        except AkeneoNotFound:
            removed_models.append(f"model:{named}")
            continue
        parent = model.get("parent")
        if parent:
            if str(parent).lower() not in root_models:
                pending.setdefault(str(parent).lower(), str(parent))
            continue
        root_models[str(model["code"]).lower()] = model
    if root_models:
        scoped: set[str] = set()
        for chunk in chunked([m["code"] for m in root_models.values()], SEARCH_CHUNK):
            found = await _search(ctx, f"{API}/product-models", True, identifier=("IN", chunk))
            scoped |= {str(m["code"]).lower() for m in found}
        await engine.load_models(ctx, {c: m for c, m in root_models.items() if c in scoped}, commit,
                                 read_at=read_at, again=again)
        await _leave_scope(ctx, loader, [f"model:{m['code']}" for c, m in root_models.items() if c not in scoped],
                           result, read_at)
    result.gone += removed_models
    await _remove(ctx, loader, await _stored_keys(ctx, removed_models), commit, read_at)


async def _stored_keys(ctx: SyncContext, keys: list[str]) -> list[str]:
    """Model keys as the id map spells them (codes compare case-insensitively in Akeneo)."""
    if not keys:
        return []
    known = await run_sync(ctx.ledger.product_ids, keys)
    missing = [k for k in keys if k not in known]
    if not missing:
        return keys
    wanted = {k.lower(): k for k in missing}
    cursor, found = 0, {}
    while True:
        cursor, states = await run_sync(ctx.ledger.scan_product_states, cursor, 1000)
        found.update({k.lower(): k for k in states if k.lower() in wanted})
        if cursor == 0 or len(found) == len(wanted):
            break
    return [k for k in keys if k in known] + [found.get(k.lower(), k) for k in missing]


async def _sync_categories(ctx: SyncContext, result: DirtyResult) -> None:
    from workers.sync.categories import sync_categories

    outcome = await sync_categories(ctx)
    for name, n in (outcome.counts or {}).items():
        result.commit.count("categories", name, int(n))
    result.commit.warnings += [issue(i.item, i.message, getattr(i, "field", None)) for i in outcome.warnings]
    result.commit.errors += [issue(i.item, i.message, getattr(i, "field", None)) for i in outcome.errors]
    result.categories_synced = True
    await run_sync(EventStore(ctx.redis).drop_context, ctx.tenant)  # the category id map changed
