"""The one "sync these items" of every path: import pages (simple products, models), a delta's retry, a
full import's sweep and change events load products through here, with the same transform context, the
same build and the same loader (workers/sync/products.py). How one product is synced: see the walk in
docs/architecture.md.
"""

from __future__ import annotations

import mimetypes
import time
from dataclasses import dataclass, field
from typing import Any

from service.clients.akeneo import API
from service.clients.akeneo_errors import AkeneoError, AkeneoNotFound
from service.store.imports import PageCommit, chunked
from service.store.leases import run_sync
from service.sync_context import build_context, image_signer
from service.transform.context import Catalog, Context, StoreSettings
from service.transform.mapping import Mapping
from workers.sync.context import SyncContext
from workers.sync.products import ProductLoader, placeholder_url
from workers.sync.reading import SEARCH_CHUNK, in_scope, read_model_trees, search_scoped

MAX_IMAGE_BYTES = 8 * 1024 * 1024


def catalog_json(catalog: Catalog) -> dict:
    return {"attributes": dict(catalog.attributes), "families": dict(catalog.families),
            "family_variants": dict(catalog.family_variants),
            "options": {k: dict(v) for k, v in catalog.options.items()},
            "measurement_families": dict(catalog.measurement_families)}


async def context_doc(ctx: SyncContext, category_ids: dict[str, int]) -> dict:
    """What every product's build depends on besides its own data, as plain JSON: the PIM schema, the
    mapping, the store's settings (currency and units, read at most hourly: a delta of a few products
    should not pay a GET /v2/store each time) and the categories in the store
    (service.sync_context.build_context: the same one the mapping preview uses)."""
    cached = await run_sync(ctx.ledger.get_store_settings)
    built = await build_context(ctx.store, ctx.tenant, ctx.settings, pim=ctx.pim, bc=ctx.bc,
                                category_ids=category_ids,
                                store_settings=StoreSettings(**cached) if cached else None)
    if not cached:
        await run_sync(ctx.ledger.put_store_settings, {
            "currency": built.store.currency, "weight_units": built.store.weight_units,
            "dimension_units": built.store.dimension_units})
    return {"catalog": catalog_json(built.catalog), "mapping": built.mapping.to_json(),
            "store": {"currency": built.store.currency, "weight_units": built.store.weight_units,
                      "dimension_units": built.store.dimension_units},
            "category_ids": dict(built.category_ids)}


async def transform_context(ctx: SyncContext) -> Context:
    """The run's transform context (cached by its `prepare`); read again when the cache expired."""
    doc = await run_sync(ctx.imports.get_catalog, ctx.run_id) if ctx.run_id else None
    if doc is None:
        doc = await context_doc(ctx, await run_sync(ctx.ledger.category_ids))
        if ctx.run_id:
            await run_sync(ctx.imports.put_catalog, ctx.run_id, doc)
    return context_from_doc(ctx, doc)


def context_from_doc(ctx: SyncContext, doc: dict) -> Context:
    c = doc["catalog"]
    catalog = Catalog(c["attributes"], c["families"], c["family_variants"], c["options"],
                      c["measurement_families"])
    return Context(catalog=catalog, store=StoreSettings(**doc["store"]), locale=ctx.main.locale,
                   channel=ctx.main.channel, mapping=Mapping.from_json(doc["mapping"]),
                   category_ids=doc.get("category_ids") or {}, image_url=placeholder_url)


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


async def load_simple_products(ctx: SyncContext, tctx: Context, items: list[dict], commit: PageCommit,
                               build: Any, *, read_at: float, swept: bool = False) -> None:
    """`read_at`: when `items` were read from the PIM (a write never goes over one read later); `swept`:
    a full import's sweep checks afterwards that unchanged products are still in the store."""
    plans, out = [], []
    for product in items:
        key = f"product:{product['uuid']}"
        if in_scope(ctx, product):
            plan = build(product, tctx)
            plan.read_at = read_at
            plans.append(plan)
        else:
            out.append(key)
    await _load(ctx, tctx, plans, out, commit, read_at=read_at, swept=swept)
    commit.done += len(items)


async def load_models(ctx: SyncContext, tctx: Context, roots: dict[str, dict | None], commit: PageCommit, *,
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
    plans, out = [], []
    for code, model in found.items():
        key = f"model:{model['code']}"
        leaves = [v for v in variants_by_root.get(code, []) if in_scope(ctx, v)]
        if not leaves:
            out.append(key)
            continue
        plan = build_product_model(model, subs_by_root.get(code, []), leaves, tctx)
        plan.read_at = read_at
        plans.append(plan)
    await _load(ctx, tctx, plans, out, commit, read_at=read_at, swept=swept)
    commit.seen += [f"model-seen:{c}" for c in codes]


async def _load(ctx: SyncContext, tctx: Context, plans: list, out: list[str], commit: PageCommit, *,
                read_at: float, swept: bool) -> None:
    """Write the plans, hide what left the scope (`out`), then sync again the models this load took a
    variant from."""
    loader = ProductLoader(ctx, *media_functions(ctx), check_presence=not swept)
    await loader.load(plans, commit)
    if out:
        await loader.hide(out, commit, read_at=read_at)
    commit.seen += [p.key for p in plans] + out
    await _resync_disturbed(ctx, tctx, loader, commit)


async def _release_variants_of(ctx: SyncContext, tctx: Context, models: list[dict], commit: PageCommit,
                               again: bool) -> None:
    """Models out of the scope are hidden without being built: a variant moved into one of them is still sold
    where it was, by the model it came from (synced again: it lets the variant go) or as the simple product it
    was (hidden), as a load in scope settles it."""
    if not models:
        return
    _, leaves = await read_model_trees(ctx, [str(m["code"]) for m in models])
    uuids = [str(v["uuid"]).lower() for v in leaves if v.get("uuid")]
    simple = await run_sync(ctx.ledger.product_ids, [f"product:{u}" for u in uuids])
    if simple:
        await ProductLoader(ctx, *media_functions(ctx)).hide(list(simple), commit)
    keys = {f"model:{m['code']}".lower() for m in models}
    owners = await run_sync(ctx.ledger.variant_owners, uuids)
    former = sorted({o.partition(":")[2] for o in owners.values() if o.startswith("model:") and o.lower() not in keys})
    if former:
        await sync_items(ctx, tctx, ProductLoader(ctx, *media_functions(ctx)), [], former, DirtyResult(commit=commit),
                         again=again, release_moved=False)  # one step: two models out of scope never ping-pong


async def _resync_disturbed(ctx: SyncContext, tctx: Context, loader: ProductLoader, commit: PageCommit) -> None:
    """Models that gave a variant up to an item of this load (a variant moved away, one that became a
    simple product) are no longer what their last plan said (their price, weight, options follow their
    variants): they are synced again now, from the PIM as it is now."""
    codes = sorted({key.partition(":")[2] for key in loader.disturbed if key.startswith("model:")})
    if codes:  # through the scope checks, as an event for them would be
        await sync_items(ctx, tctx, ProductLoader(ctx, *media_functions(ctx)), [], codes, DirtyResult(commit=commit),
                         again=True)


@dataclass
class DirtyResult:
    commit: PageCommit = field(default_factory=PageCommit)
    skipped: list[str] = field(default_factory=list)  # out of scope and never sent: nothing written
    gone: list[str] = field(default_factory=list)  # the PIM answered 404 (removed, or never existed)
    categories_synced: bool = False


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


async def sync_items(ctx: SyncContext, tctx: Any, loader: ProductLoader, uuids: list[str], model_codes: list[str],
                     result: DirtyResult, *, again: bool = False, release_moved: bool = True) -> None:
    """Sync these products and models (lower-cased uuids, codes as named) from their current PIM state
    with a transform context already built: change events, and a delta's retry of what failed before."""
    from service.transform.product import build_simple_product

    commit = result.commit
    read_at = time.time()  # before the first read: what is written is at least this new
    # products: in scope (the import's filters), else read alone to tell removed from out of scope
    in_scope: dict[str, dict] = {}
    for chunk in chunked(uuids, SEARCH_CHUNK):
        for product in await search_scoped(ctx, f"{API}/products-uuid", False, uuid=("IN", chunk)):
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
        await load_simple_products(ctx, tctx, simple, commit, build_simple_product, read_at=read_at)
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
            found = await search_scoped(ctx, f"{API}/product-models", True, identifier=("IN", chunk))
            scoped |= {str(m["code"]).lower() for m in found}
        await load_models(ctx, tctx, {c: m for c, m in root_models.items() if c in scoped}, commit,
                                 read_at=read_at, again=again)
        left = [m for c, m in root_models.items() if c not in scoped]
        await _leave_scope(ctx, loader, [f"model:{m['code']}" for m in left], result, read_at)
        if release_moved:
            await _release_variants_of(ctx, tctx, left, commit, again)
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


