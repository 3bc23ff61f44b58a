"""The import as a sequence of page-sized steps, each resumable from a checkpoint.

`run_step(ctx, checkpoint)` does one step and returns the next checkpoint; the caller (an RQ job,
workers/jobs/imports.py) commits it together with the page's counts only after the page's load
succeeded. Phases, in order:

- `prepare`: read the PIM schema, the store's settings, the mapping; sync the categories; cache all
  of it for the run (Redis) so later pages never read it again.
- `simple`: pages of simple products (`parent` EMPTY) in the main category's subtree, scope=channel,
  locale; in delta mode `updated >` the last successful run's start minus a margin.
- `models`: pages of product models in the subtree (delta: updated ones); each page's root models are
  built with their sub-models and variants (`read_model_trees`: sub-models and one-level variants by
  `parent IN` roots, then two-level variants by `parent IN` sub-models), one product each.
- `variants` (delta only): variant products updated since, for their root models (a variant's own
  change), skipping roots this run already loaded.
- `left` (delta only): products and root models updated since but no longer matching the scope (moved
  out of the main category's subtree, out of the families filter, under the completeness threshold):
  the ones we had sent are hidden. The scoped searches above cannot see them.
- `retry` (delta only): items whose last write failed (BigCommerce refused them, their data could not
  be sent, an event's sync failed) and that this run has not met: read from the PIM as they are now and
  sent again, so a failure is never forgotten just because the product did not change since.
- `vanished` (full only): known products this run did not meet are hidden, or deleted when the
  merchant chose so and the PIM no longer has them.
- `finish`: the run's status (set by the job of the last page: a checkpoint goes from the last phase
  straight to `done`; `finish` is still understood in checkpoints written before).

The same loaders serve change events (workers/sync/dirty.py `sync_items`).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import json
import logging
import mimetypes
import os
import time
from collections.abc import Iterable
from typing import Any

from service.clients.akeneo import API, AkeneoError, AkeneoNotFound, search_filter, updated_since
from service.store.imports import PageCommit, chunked
from service.store.leases import run_sync
from service.sync_context import build_context, image_signer
from service.transform.context import Catalog, Context, StoreSettings
from service.transform.mapping import Mapping
from workers.sync.categories import sync_categories
from workers.sync.context import SyncContext
from workers.sync.products import ProductLoader, issue, placeholder_url

log = logging.getLogger("connector.sync.engine")

PAGE_SIZE = max(1, min(100, int(os.environ.get("CONNECTOR_IMPORT_PAGE_SIZE", "100"))))  # PIM items per page job
DELTA_MARGIN = float(os.environ.get("CONNECTOR_DELTA_MARGIN", "300"))  # seconds: clocks and in-flight PIM saves around the last run's start
VANISH_CHUNK = 250  # known products per sweep step: one `id:in` read checks they are still in the store
MAX_IMAGE_BYTES = 8 * 1024 * 1024
PHASES = ("prepare", "simple", "models", "variants", "left", "retry", "vanished", "finish", "done")
RETRY_CHUNK = 100  # failed items tried again per page job (delta)
TREE_CHUNK = 100  # model codes per `parent IN` search: the search URL stays short


def first_checkpoint(mode: str, since: float | None) -> dict:
    return {"step": 0, "phase": "prepare", "cursor": None, "mode": mode, "since": since,
            "started_at": time.time()}


def _next_phase(checkpoint: dict, phase: str) -> dict:
    order = list(PHASES)
    nxt = order[order.index(phase) + 1]
    if nxt in ("variants", "left", "retry") and checkpoint["mode"] != "delta":
        nxt = "vanished"
    if nxt == "vanished" and checkpoint["mode"] != "full":
        nxt = "finish"
    if nxt == "finish":  # nothing is left to do: the job of the last page ends the run (no job just for that)
        nxt = "done"
    return {**checkpoint, "phase": nxt, "cursor": None}


# -- the transform context, cached per run ----------------------------------------------------------

def _catalog_json(catalog: Catalog) -> dict:
    return {"attributes": dict(catalog.attributes), "families": dict(catalog.families),
            "family_variants": dict(catalog.family_variants),
            "options": {k: dict(v) for k, v in catalog.options.items()},
            "measurement_families": dict(catalog.measurement_families)}


async def prepare(ctx: SyncContext, checkpoint: dict, commit: PageCommit) -> dict:
    """Categories, then the transform context (service.sync_context.build_context: the same one the
    mapping preview uses), cached for the whole run."""
    category_ids = await _sync_categories(ctx, commit)
    # the store's currency and units change rarely: read at most hourly (a delta of a few products
    # should not pay a GET /v2/store each time)
    cached = await run_sync(ctx.ledger.get_store_settings)
    built = await build_context(ctx.store, ctx.tenant, ctx.settings, pim=ctx.pim, bc=ctx.bc,
                                category_ids=category_ids,
                                store_settings=StoreSettings(**cached) if cached else None)
    if not cached:
        await run_sync(ctx.ledger.put_store_settings, {
            "currency": built.store.currency, "weight_units": built.store.weight_units,
            "dimension_units": built.store.dimension_units})
    doc = {"catalog": _catalog_json(built.catalog), "mapping": built.mapping.to_json(),
           "store": {"currency": built.store.currency, "weight_units": built.store.weight_units,
                     "dimension_units": built.store.dimension_units},
           "category_ids": dict(built.category_ids)}
    await run_sync(ctx.imports.put_catalog, ctx.run_id, doc)
    inputs = inputs_fingerprint(ctx, doc)
    if checkpoint.get("mode") == "delta" and inputs != await run_sync(ctx.ledger.evaluated):
        # the mapping, a setting or the PIM's schema (labels, options, the category tree) changed since
        # the store was last evaluated: it touches products the PIM did not mark updated, so every
        # product is checked (unchanged ones cost no write)
        checkpoint = {**checkpoint, "mode": "full", "since": None}
    # the run records the mapping version it used (issue 9: a run's payloads can be traced to a mapping)
    if ctx.run_id:
        await run_sync(ctx.store.update_run, ctx.tenant, ctx.run_id, mapping_version=built.mapping.version,
                       effective_mode=checkpoint.get("mode"))
    return {**_next_phase(checkpoint, "prepare"), "mapping_version": built.mapping.version, "inputs": inputs}


def inputs_fingerprint(ctx: SyncContext, doc: dict) -> str:
    """What every product's desired state depends on besides its own PIM data: the PIM's schema (labels,
    options, families), the mapping, the store's settings, the categories in the store, the main
    configuration and the import's settings."""
    options = ctx.options
    inputs = {"doc": doc, "main": [ctx.main.locale, ctx.main.channel, ctx.main.category, ctx.main.category_tree],
              "options": [options.enabled_only, options.completeness, list(options.families), options.removed,
                          options.image_mode], "channel": ctx.channel_id}
    return hashlib.sha256(json.dumps(inputs, sort_keys=True, separators=(",", ":"), default=str).encode()).hexdigest()


async def _sync_categories(ctx: SyncContext, commit: PageCommit) -> dict[str, int]:
    result = await sync_categories(ctx)
    for name, n in (result.counts or {}).items():
        commit.count("categories", name, int(n))
    commit.warnings += [issue(i.item, i.message, getattr(i, "field", None)) for i in result.warnings]
    commit.errors += [issue(i.item, i.message, getattr(i, "field", None)) for i in result.errors]
    return {k.lower(): int(v) for k, v in result.ids.items()}


async def transform_context(ctx: SyncContext) -> Context:
    doc = await run_sync(ctx.imports.get_catalog, ctx.run_id) if ctx.run_id else None
    if doc is None:  # a run whose cache expired, or an event sync: read it again
        commit = PageCommit()
        await prepare(ctx, first_checkpoint("full", None), commit)
        doc = await run_sync(ctx.imports.get_catalog, ctx.run_id)
    c = doc["catalog"]
    catalog = Catalog(c["attributes"], c["families"], c["family_variants"], c["options"],
                      c["measurement_families"])
    return Context(catalog=catalog, store=StoreSettings(**doc["store"]), locale=ctx.main.locale,
                   channel=ctx.main.channel, mapping=Mapping.from_json(doc["mapping"]),
                   category_ids=doc.get("category_ids") or {}, image_url=placeholder_url)


# -- media ---------------------------------------------------------------------------------------

def media_functions(ctx: SyncContext) -> tuple[Any, Any]:
    """(media code -> URL BigCommerce fetches, or None to upload; async code -> file tuple)."""
    image_url = image_signer(ctx.settings, ctx.tenant) if ctx.options.image_mode == "url" else None

    async def image_bytes(code: str) -> tuple[str, bytes, str]:
        chunks, size = [], 0
        async for chunk in ctx.pim.download_media(code):
            size += len(chunk)
            if size > MAX_IMAGE_BYTES:
                raise AkeneoError(f"the image is larger than {MAX_IMAGE_BYTES // (1024 * 1024)} MB")
            chunks.append(chunk)
        name = code.rsplit("/", 1)[-1]
        return name, b"".join(chunks), mimetypes.guess_type(name)[0] or "image/jpeg"

    return image_url, image_bytes


# -- reading the PIM -------------------------------------------------------------------------------

def _filters(ctx: SyncContext, checkpoint: dict, *, models: bool, **extra: Any) -> dict:
    conditions: dict[str, Any] = {"categories": ("IN CHILDREN", [ctx.main.category])}
    if ctx.options.families:
        conditions["family"] = ("IN", list(ctx.options.families))
    if not models and ctx.options.completeness is not None:
        conditions["completeness"] = completeness_filter(ctx)
    since = checkpoint.get("since")
    if checkpoint["mode"] == "delta" and since:
        when = dt.datetime.fromtimestamp(float(since) - DELTA_MARGIN, dt.UTC)
        conditions["updated"] = updated_since(when)
    conditions.update(extra)
    return conditions


def completeness_filter(ctx: SyncContext) -> dict:
    """The import's completeness threshold on the synced channel AND the synced locale: Akeneo's plain
    `>=` holds when ANY locale of the channel reaches it, so a product complete in German only would pass
    for an English store. `GREATER OR EQUALS THAN ON ALL LOCALES` with the one locale is the documented
    form [pim-api-docs content/rest-api/filter.md, "On their completeness"]."""
    return {"operator": "GREATER OR EQUALS THAN ON ALL LOCALES", "value": ctx.options.completeness,
            "scope": ctx.main.channel, "locales": [ctx.main.locale]}


def _params(ctx: SyncContext, search: dict) -> dict:
    return {"pagination_type": "search_after", "limit": PAGE_SIZE, "search": search_filter(**search),
            "scope": ctx.main.channel, "locales": ctx.main.locale}


async def _page(ctx: SyncContext, path: str, checkpoint: dict,
                search: dict) -> tuple[list[dict], str | None, float]:
    """One page at the checkpoint's cursor (the PIM's own next link), counting the total once, and when it
    was read. The previous page's job may have read it already (`read_ahead`)."""
    cursor = checkpoint.get("cursor")
    if cursor:
        ahead = await run_sync(ctx.imports.take_next_page, ctx.run_id, cursor) if ctx.run_id else None
        if ahead is not None:
            return ahead
        read_at = time.time()
        return (*await ctx.pim.get_page(cursor), read_at)
    # search_after pages carry no count: one page-pagination call of one item gives the phase's total
    counted = await ctx.pim.get(path, {**_params(ctx, search), "pagination_type": "page", "limit": 1,
                                       "with_count": "true"})
    if isinstance(counted.get("items_count"), int):
        await run_sync(ctx.imports.add_total, ctx.run_id, counted["items_count"])
    read_at = time.time()
    return (*await ctx.pim.get_page(path, _params(ctx, search)), read_at)


async def _all_pages(ctx: SyncContext, path: str, search: dict) -> list[dict]:
    return [item async for item in ctx.pim.iter_items(path, _params(ctx, search))]


def read_ahead(ctx: SyncContext, next_url: str | None) -> asyncio.Task | None:
    """Read the next page while this one loads (the PIM read leaves the chain's critical path); the next job
    takes it from Redis. It uses one of the connection's 4 Akeneo slots, like any read."""
    if not next_url or not ctx.run_id:
        return None

    async def read() -> None:
        read_at = time.time()
        items, after = await ctx.pim.get_page(next_url)
        await run_sync(ctx.imports.put_next_page, ctx.run_id, next_url, items, after, read_at)

    return asyncio.create_task(read())


async def _landed(task: asyncio.Task | None) -> None:
    """Wait for a read-ahead before the job ends; a failed one only means the next job reads the page."""
    if task is None:
        return
    try:
        await task
    except Exception as exc:  # noqa: BLE001 - the next job reads the page itself
        log.info("page read-ahead failed", extra={"error": f"{type(exc).__name__}: {exc}"})


def _in_scope(ctx: SyncContext, product: dict) -> bool:
    return bool(product.get("enabled", True)) or not ctx.options.enabled_only


# -- steps -----------------------------------------------------------------------------------------

async def run_step(ctx: SyncContext, checkpoint: dict, commit: PageCommit) -> dict:
    phase = checkpoint["phase"]
    if phase == "prepare":
        return await prepare(ctx, checkpoint, commit)
    if phase == "simple":
        return await _simple_page(ctx, checkpoint, commit)
    if phase == "models":
        return await _models_page(ctx, checkpoint, commit)
    if phase == "variants":
        return await _variants_page(ctx, checkpoint, commit)
    if phase == "left":
        return await _left_page(ctx, checkpoint, commit)
    if phase == "retry":
        return await _retry_page(ctx, checkpoint, commit)
    if phase == "vanished":
        return await _vanished_chunk(ctx, checkpoint, commit)
    if phase == "finish":
        return {**checkpoint, "phase": "done", "cursor": None}
    raise ValueError(f"unknown phase {phase!r}")


def _advance(checkpoint: dict, phase: str, next_url: str | None) -> dict:
    if next_url:
        return {**checkpoint, "cursor": next_url}
    return _next_phase(checkpoint, phase)


async def _simple_page(ctx: SyncContext, checkpoint: dict, commit: PageCommit) -> dict:
    from service.transform.product import build_simple_product

    search = _filters(ctx, checkpoint, models=False, parent=("EMPTY",))
    items, next_url, read_at = await _page(ctx, f"{API}/products-uuid", checkpoint, search)
    ahead = read_ahead(ctx, next_url)
    try:
        tctx = await transform_context(ctx)
        await load_simple_products(ctx, tctx, items, commit, build_simple_product, read_at=read_at,
                                   swept=checkpoint["mode"] == "full")
    finally:
        await _landed(ahead)
    return _advance(checkpoint, "simple", next_url)


async def load_simple_products(ctx: SyncContext, tctx: Context, items: list[dict], commit: PageCommit,
                               build: Any, *, read_at: float, swept: bool = False) -> None:
    """`read_at`: when `items` were read from the PIM (a write never goes over one read later); `swept`:
    a full import's sweep checks afterwards that unchanged products are still in the store."""
    plans, out = [], []
    for product in items:
        key = f"product:{product['uuid']}"
        if _in_scope(ctx, product):
            plan = build(product, tctx)
            plan.read_at = read_at
            plans.append(plan)
        else:
            out.append(key)
    image_url, image_bytes = media_functions(ctx)
    loader = ProductLoader(ctx, image_url, image_bytes, check_presence=not swept)
    await loader.load(plans, commit)
    if out:
        await loader.hide(out, commit, read_at=read_at)
    commit.seen += [p.key for p in plans] + out
    commit.done += len(items)


async def _models_page(ctx: SyncContext, checkpoint: dict, commit: PageCommit) -> dict:
    search = _filters(ctx, checkpoint, models=True)
    items, next_url, read_at = await _page(ctx, f"{API}/product-models", checkpoint, search)
    ahead = read_ahead(ctx, next_url)
    roots: dict[str, dict | None] = {}
    for model in items:
        if model.get("parent"):
            roots.setdefault(str(model["parent"]).lower(), None)
        else:
            roots[str(model["code"]).lower()] = model
    try:
        await load_models(ctx, roots, commit, read_at=read_at, swept=checkpoint["mode"] == "full")
    finally:
        await _landed(ahead)
    commit.done += len(items)
    return _advance(checkpoint, "models", next_url)


async def _variants_page(ctx: SyncContext, checkpoint: dict, commit: PageCommit) -> dict:
    """Delta: variants changed on their own reach their model."""
    search = _filters(ctx, checkpoint, models=False, parent=("NOT EMPTY",))
    # without the completeness threshold: a variant that fell below it must reach its model too (the
    # model is rebuilt without it; load_models reads the variants with the threshold)
    search.pop("completeness", None)
    items, next_url, read_at = await _page(ctx, f"{API}/products-uuid", checkpoint, search)
    parents = sorted({str(v["parent"]) for v in items if v.get("parent")}, key=str.lower)
    roots: dict[str, dict | None] = {}
    for parent in parents:
        try:
            model = await ctx.pim.get_product_model(parent, scope=ctx.main.channel, locales=ctx.main.locale)
        except AkeneoNotFound:
            continue
        root = model if not model.get("parent") else None
        roots.setdefault(str(model.get("parent") or model["code"]).lower(), root)
    if roots:  # a root out of the scope is not loaded through its variants (the full import would not)
        scoped = await _all_pages(ctx, f"{API}/product-models",
                                  _filters(ctx, {"mode": "full"}, models=True, identifier=("IN", sorted(roots))))
        in_scope = {str(m["code"]).lower() for m in scoped}
        roots = {c: m for c, m in roots.items() if c in in_scope}
    await load_models(ctx, roots, commit, read_at=read_at)
    commit.done += len(items)
    return _advance(checkpoint, "variants", next_url)


async def read_model_trees(ctx: SyncContext, root_codes: list[str]) -> tuple[list[dict], list[dict]]:
    """The sub-models and the variant products (leaves) of these root models.

    Akeneo's `parent IN` answers DIRECT children only [pim-api-docs content/rest-api/filter.md, "On their
    parent"]: asked with root codes, the products search misses every variant of a two-level model (root ->
    sub-model -> variants). So: the roots' sub-models (`parent IN` roots on product models) and the roots'
    own variants (one-level models) together, then the variants of those sub-models. Variants are read
    with the import's completeness threshold (a variant below it is not sold)."""
    if not root_codes:
        return [], []
    leaf_search: dict[str, Any] = {}
    if ctx.options.completeness is not None:
        leaf_search["completeness"] = completeness_filter(ctx)

    async def children(path: str, codes: list[str], search: dict) -> list[dict]:
        found: list[dict] = []
        for chunk in chunked(codes, TREE_CHUNK):
            found += await _all_pages(ctx, path, {**search, "parent": ("IN", chunk)})
        return found

    subs, leaves = await asyncio.gather(children(f"{API}/product-models", root_codes, {}),
                                        children(f"{API}/products-uuid", root_codes, leaf_search))
    sub_codes = [str(s["code"]) for s in subs]
    if sub_codes:
        leaves += await children(f"{API}/products-uuid", sub_codes, leaf_search)
    return subs, leaves


async def load_models(ctx: SyncContext, roots: dict[str, dict | None], commit: PageCommit, *,
                      read_at: float, swept: bool = False, again: bool = False) -> None:
    """Build and load root models (code lower-cased -> JSON, None when it must be read); `read_at`: when
    the first of their PIM data was read (a write never goes over one read later)."""
    from service.transform.product import build_product_model

    if not roots:
        return
    # a root met earlier in this run (through another page's sub-model) is already done
    codes = list(roots)
    if ctx.run_id and not again:  # `again`: the sweep makes a model again that this run met already
        done = await run_sync(ctx.imports.seen, ctx.run_id, [f"model-seen:{c}" for c in codes])
        codes = [c for c, d in zip(codes, done, strict=True) if not d]
    if not codes:
        return
    for code in codes:
        if roots[code] is None:
            try:
                roots[code] = await ctx.pim.get_product_model(code, scope=ctx.main.channel, locales=ctx.main.locale)
            except AkeneoNotFound:
                roots[code] = None
    found = {c: roots[c] for c in codes if roots[c] is not None}
    subs, variants = await read_model_trees(ctx, [str(m["code"]) for m in found.values()])
    # the order fetch_model_tree gives the preview: the payload never depends on the PIM's paging
    subs = sorted(subs, key=lambda m: str(m.get("code", "")).lower())
    variants = sorted(variants, key=lambda p: str(p.get("identifier") or p.get("uuid") or "").lower())
    sub_root = {str(s["code"]).lower(): str(s.get("parent") or "").lower() for s in subs}
    subs_by_root: dict[str, list[dict]] = {}
    for s in subs:
        subs_by_root.setdefault(str(s.get("parent") or "").lower(), []).append(s)
    variants_by_root: dict[str, list[dict]] = {}
    for v in variants:
        parent = str(v.get("parent") or "").lower()  # matched case-insensitively, as Akeneo does
        root = sub_root.get(parent, parent)
        variants_by_root.setdefault(root, []).append(v)
    tctx = await transform_context(ctx)
    plans, out = [], []
    for code, model in found.items():
        key = f"model:{model['code']}"
        leaves = [v for v in variants_by_root.get(code, []) if _in_scope(ctx, v)]
        if not leaves:
            out.append(key)
            continue
        plan = build_product_model(model, subs_by_root.get(code, []), leaves, tctx)
        plan.read_at = read_at
        plans.append(plan)
    image_url, image_bytes = media_functions(ctx)
    loader = ProductLoader(ctx, image_url, image_bytes, check_presence=not swept)
    await loader.load(plans, commit)
    if out:
        await loader.hide(out, commit, read_at=read_at)
    commit.seen += [p.key for p in plans] + out + [f"model-seen:{c}" for c in codes]


async def _left_page(ctx: SyncContext, checkpoint: dict, commit: PageCommit) -> dict:
    """Delta: what changed since, read without the scope filters; sent, unseen by this run -> left."""
    models = checkpoint.get("left") == "models"
    path = f"{API}/product-models" if models else f"{API}/products-uuid"
    since = checkpoint.get("since")
    if not since:
        return _next_phase(checkpoint, "left")
    when = dt.datetime.fromtimestamp(float(since) - DELTA_MARGIN, dt.UTC)
    search = {"updated": updated_since(when), "parent": ("EMPTY",)} if not models else {"updated": updated_since(when)}
    # no `scope`: with it Akeneo limits results to the channel's category tree, hiding exactly these
    params = {k: v for k, v in _params(ctx, search).items() if k != "scope"}
    cursor = checkpoint.get("cursor")
    items, next_url = await (ctx.pim.get_page(cursor) if cursor else ctx.pim.get_page(path, params))
    if models:  # a sub-model's scope is its root's
        keys = [f"model:{m['code']}" for m in items if not m.get("parent")]
    else:
        keys = [f"product:{p['uuid']}" for p in items]
    if ctx.run_id and keys:
        seen = await run_sync(ctx.imports.seen, ctx.run_id, keys)
        keys = [k for k, s in zip(keys, seen, strict=True) if not s]
    if keys:
        states = await run_sync(ctx.ledger.product_states, keys)
        left = [k for k in keys if k in states and not states[k].get("hidden")]
        if left:
            await ProductLoader(ctx, *media_functions(ctx)).hide(left, commit)
            commit.seen += left
    if next_url:
        return {**checkpoint, "cursor": next_url}
    if not models:
        return {**checkpoint, "left": "models", "cursor": None}
    return _next_phase({k: v for k, v in checkpoint.items() if k != "left"}, "left")


async def _retry_page(ctx: SyncContext, checkpoint: dict, commit: PageCommit) -> dict:
    """Delta: the items that failed before, unmet by this run, synced from their current PIM state."""
    from workers.sync.dirty import DirtyResult, sync_items  # dirty builds on this module

    cursor = int(checkpoint.get("cursor") or 0)
    next_cursor, keys = await run_sync(ctx.ledger.scan_failed, cursor, RETRY_CHUNK)
    if keys and ctx.run_id:
        seen = await run_sync(ctx.imports.seen, ctx.run_id, keys)
        keys = [k for k, s in zip(keys, seen, strict=True) if not s]
    uuids = [k.partition(":")[2].lower() for k in keys if k.startswith("product:")]
    models = [k.partition(":")[2] for k in keys if k.startswith("model:")]
    if uuids or models:
        result = DirtyResult(commit=commit)
        await sync_items(ctx, await transform_context(ctx), ProductLoader(ctx, *media_functions(ctx)), uuids,
                         models, result)
        # out of the scope and never sent: nothing to retry (the loaders noted the others themselves)
        await run_sync(ctx.ledger.note_failures, [], set(result.skipped) & set(keys))
        commit.seen += keys
    if next_cursor == 0:
        return _next_phase(checkpoint, "retry")
    return {**checkpoint, "cursor": str(next_cursor)}


async def _vanished_chunk(ctx: SyncContext, checkpoint: dict, commit: PageCommit) -> dict:
    """The full import's sweep of what the store ledger knows: products the run met must still be in the
    store (one deleted there by hand is made again); those it did not meet left the PIM or the scope."""
    cursor = int(checkpoint.get("cursor") or 0)
    next_cursor, states = await run_sync(ctx.ledger.scan_product_states, cursor, VANISH_CHUNK)
    keys = [k for k in states if k.startswith(("product:", "model:"))]
    seen = await run_sync(ctx.imports.seen, ctx.run_id, keys)
    met = [k for k, s in zip(keys, seen, strict=True) if s and not states[k].get("hidden")]
    await _made_again_if_gone(ctx, met, commit)
    missing = [k for k, s in zip(keys, seen, strict=True) if not s]
    missing = [k for k in missing if not states[k].get("hidden")]
    if missing:
        delete = ctx.options.removed == "delete"
        gone = await _removed_from_pim(ctx, missing) if delete else []
        loader = ProductLoader(ctx, *media_functions(ctx))
        await loader.hide(missing, commit, delete=delete, deleted_keys=gone)
    if next_cursor == 0:
        return _next_phase(checkpoint, "vanished")
    return {**checkpoint, "cursor": str(next_cursor)}


async def _made_again_if_gone(ctx: SyncContext, keys: list[str], commit: PageCommit) -> None:
    from workers.sync.dirty import DirtyResult, sync_items  # dirty builds on this module

    ids = await run_sync(ctx.ledger.product_ids, keys)
    if not ids:
        return
    present = await ctx.bc.existing_product_ids(ids.values())
    lost = [k for k, pid in ids.items() if pid not in present]
    if not lost:
        return
    await run_sync(ctx.ledger.unmap, lost)  # the store lost them: created again from the PIM as it is now
    await sync_items(ctx, await transform_context(ctx), ProductLoader(ctx, *media_functions(ctx)),
                     [k.partition(":")[2].lower() for k in lost if k.startswith("product:")],
                     [k.partition(":")[2] for k in lost if k.startswith("model:")], DirtyResult(commit=commit),
                     again=True)


async def _removed_from_pim(ctx: SyncContext, keys: Iterable[str]) -> list[str]:
    """The keys the PIM no longer has at all (404), as opposed to out of the import's scope."""
    gone = []
    for key in keys:
        kind, _, ident = key.partition(":")
        try:
            if kind == "product":
                await ctx.pim.get_product(ident)
            else:
                await ctx.pim.get_product_model(ident)
        except AkeneoNotFound:
            gone.append(key)
    return gone
