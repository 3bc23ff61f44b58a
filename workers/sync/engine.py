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

The same loaders serve change events (`sync_items` in workers/sync/items.py, entered from workers/sync/dirty.py).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import time
from collections.abc import Iterable

from service.clients.akeneo import API
from service.clients.akeneo_errors import AkeneoNotFound
from service.clients.akeneo_search import updated_since
from service.store.events import EventStore
from service.store.imports import PageCommit
from service.store.leases import run_sync
from workers.sync.categories import sync_categories
from workers.sync.context import SyncContext
from workers.sync.items import (
    DirtyResult,
    context_doc,
    load_models,
    load_simple_products,
    media_functions,
    sync_items,
    transform_context,
)
from workers.sync.products import ProductLoader, issue
from workers.sync.reading import DELTA_MARGIN, filters, landed, params, read_ahead, read_all, read_page

log = logging.getLogger("connector.sync.engine")

VANISH_CHUNK = 250  # known products per sweep step: one `id:in` read checks they are still in the store
PHASES = ("prepare", "simple", "models", "variants", "left", "retry", "vanished", "finish", "done")
RETRY_CHUNK = 100  # failed items tried again per page job (delta)


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


async def prepare(ctx: SyncContext, checkpoint: dict, commit: PageCommit) -> dict:
    """Categories, then the transform context (service.sync_context.build_context: the same one the
    mapping preview uses), cached for the whole run."""
    category_ids = await _sync_categories(ctx, commit)
    doc = await context_doc(ctx, category_ids)
    await run_sync(ctx.imports.put_catalog, ctx.run_id, doc)
    # events build on the PIM schema as this run read it, not on an older cached one
    await run_sync(EventStore(ctx.redis).drop_context, ctx.tenant)
    version = int(doc["mapping"].get("version") or 0)
    inputs = inputs_fingerprint(ctx, doc)
    if checkpoint.get("mode") == "delta" and inputs != await run_sync(ctx.ledger.evaluated):
        # the mapping, a setting or the PIM's schema (labels, options, the category tree) changed since
        # the store was last evaluated: it touches products the PIM did not mark updated, so every
        # product is checked (unchanged ones cost no write)
        checkpoint = {**checkpoint, "mode": "full", "since": None}
    # the run records the mapping version it used (issue 9: a run's payloads can be traced to a mapping)
    if ctx.run_id:
        await run_sync(ctx.store.update_run, ctx.tenant, ctx.run_id, mapping_version=version,
                       effective_mode=checkpoint.get("mode"))
    return {**_next_phase(checkpoint, "prepare"), "mapping_version": version, "inputs": inputs}


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



# -- media ---------------------------------------------------------------------------------------


# -- reading the PIM -------------------------------------------------------------------------------









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

    search = filters(ctx, checkpoint, models=False, parent=("EMPTY",))
    items, next_url, read_at = await read_page(ctx, f"{API}/products-uuid", checkpoint, search)
    ahead = read_ahead(ctx, next_url)
    try:
        tctx = await transform_context(ctx)
        await load_simple_products(ctx, tctx, items, commit, build_simple_product, read_at=read_at,
                                   swept=checkpoint["mode"] == "full")
    finally:
        await landed(ahead)
    return _advance(checkpoint, "simple", next_url)



async def _models_page(ctx: SyncContext, checkpoint: dict, commit: PageCommit) -> dict:
    search = filters(ctx, checkpoint, models=True)
    items, next_url, read_at = await read_page(ctx, f"{API}/product-models", checkpoint, search)
    ahead = read_ahead(ctx, next_url)
    roots: dict[str, dict | None] = {}
    for model in items:
        if model.get("parent"):
            roots.setdefault(str(model["parent"]).lower(), None)
        else:
            roots[str(model["code"]).lower()] = model
    try:
        await load_models(ctx, await transform_context(ctx), roots, commit, read_at=read_at, swept=checkpoint["mode"] == "full")
    finally:
        await landed(ahead)
    commit.done += len(items)
    return _advance(checkpoint, "models", next_url)


async def _variants_page(ctx: SyncContext, checkpoint: dict, commit: PageCommit) -> dict:
    """Delta: variants changed on their own reach their model."""
    search = filters(ctx, checkpoint, models=False, parent=("NOT EMPTY",))
    # without the completeness threshold: a variant that fell below it must reach its model too (the
    # model is rebuilt without it; load_models reads the variants with the threshold)
    search.pop("completeness", None)
    items, next_url, read_at = await read_page(ctx, f"{API}/products-uuid", checkpoint, search)
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
        scoped = await read_all(ctx, f"{API}/product-models",
                                  filters(ctx, {"mode": "full"}, models=True, identifier=("IN", sorted(roots))))
        in_scope = {str(m["code"]).lower() for m in scoped}
        roots = {c: m for c, m in roots.items() if c in in_scope}
    await load_models(ctx, await transform_context(ctx), roots, commit, read_at=read_at)
    commit.done += len(items)
    return _advance(checkpoint, "variants", next_url)




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
    unscoped = {k: v for k, v in params(ctx, search).items() if k != "scope"}
    cursor = checkpoint.get("cursor")
    items, next_url = await (ctx.pim.get_page(cursor) if cursor else ctx.pim.get_page(path, unscoped))
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
    # met and not written by this run (what it wrote, the store just confirmed): still in the store?
    met = [k for k, s in zip(keys, seen, strict=True)
           if s and not states[k].get("hidden") and states[k].get("r") != ctx.run_id]
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
