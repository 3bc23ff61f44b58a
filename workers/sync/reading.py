"""Reading the PIM for a sync: the scope filters, pages at a cursor with their read time, the page read
ahead, whole searches, and model trees (root -> sub-models -> variants).

Akeneo facts relied on: `search_after` pagination with the PIM's own next link; `parent IN` answers
direct children only (a two-level model's variants need a second search by its sub-models); with
`scope=` a list is limited to the channel's category tree.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from typing import Any

from service.clients.akeneo import API
from service.clients.akeneo_search import search_filter, updated_since
from service.settings import knob
from service.store.imports import chunked
from service.store.leases import run_sync
from workers.sync.context import SyncContext

log = logging.getLogger("connector.sync.reading")

PAGE_SIZE = int(knob("CONNECTOR_IMPORT_PAGE_SIZE"))  # PIM items per page job
DELTA_MARGIN = knob("CONNECTOR_DELTA_MARGIN")  # seconds: clocks and in-flight PIM saves around the last run's start
TREE_CHUNK = 100  # model codes per `parent IN` search: the search URL stays short
SEARCH_CHUNK = 100  # Akeneo lists return at most 100 items a page


def filters(ctx: SyncContext, checkpoint: dict, *, models: bool, **extra: Any) -> dict:
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


def params(ctx: SyncContext, search: dict) -> dict:
    return {"pagination_type": "search_after", "limit": PAGE_SIZE, "search": search_filter(**search),
            "scope": ctx.main.channel, "locales": ctx.main.locale}


async def read_page(ctx: SyncContext, path: str, checkpoint: dict,
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
    counted = await ctx.pim.get(path, {**params(ctx, search), "pagination_type": "page", "limit": 1,
                                       "with_count": "true"})
    if isinstance(counted.get("items_count"), int):
        await run_sync(ctx.imports.add_total, ctx.run_id, counted["items_count"])
    read_at = time.time()
    return (*await ctx.pim.get_page(path, params(ctx, search)), read_at)


async def read_all(ctx: SyncContext, path: str, search: dict) -> list[dict]:
    return [item async for item in ctx.pim.iter_items(path, params(ctx, search))]


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


async def landed(task: asyncio.Task | None) -> None:
    """Wait for a read-ahead before the job ends; a failed one only means the next job reads the page."""
    if task is None:
        return
    try:
        await task
    except Exception as exc:  # noqa: BLE001 - the next job reads the page itself
        log.info("page read-ahead failed", extra={"error": f"{type(exc).__name__}: {exc}"})


def in_scope(ctx: SyncContext, product: dict) -> bool:
    return bool(product.get("enabled", True)) or not ctx.options.enabled_only


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
            found += await read_all(ctx, path, {**search, "parent": ("IN", chunk)})
        return found

    subs, leaves = await asyncio.gather(children(f"{API}/product-models", root_codes, {}),
                                        children(f"{API}/products-uuid", root_codes, leaf_search))
    sub_codes = [str(s["code"]) for s in subs]
    if sub_codes:
        leaves += await children(f"{API}/products-uuid", sub_codes, leaf_search)
    return subs, leaves


async def search_scoped(ctx: SyncContext, path: str, models: bool, **extra: Any) -> list[dict]:
    return await read_all(ctx, path, filters(ctx, {"mode": "full"}, models=models, **extra))


