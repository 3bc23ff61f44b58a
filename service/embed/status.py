"""One product's (or product model's) BigCommerce status, for the PIM's product tab.

Read only: the id map and sync state (what the import engine and the event sync wrote), the item's last
event-path sync (service/store/embed.ItemSyncs), the import runs' issues, the PIM (the item, its scope
under the import's own filters) and the store (the product and its variants, live). The item to show
comes from the page's query (the PIM's context parameters): it only selects, the session's tenant decides
whose data is read.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

from service.clients.akeneo import API
from service.clients.akeneo_errors import AkeneoNotFound
from service.clients.akeneo_search import search_filter
from service.clients.bigcommerce_errors import BigCommerceNotFound
from service.connections import MAIN_MISSING, MainConfig, connections, open_bigcommerce, open_pim
from service.mapping_service import MappingServiceError, NotReady
from service.settings import Settings
from service.store import Store
from service.store.embed import ItemSyncs
from service.store.events import EventStore
from service.store.imports import ImportStore

UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
MAX_CODE = 255
STORE_INFO_TTL = 600
ISSUES_SHOWN = 20


class BadItem(ValueError):
    """The query names no product uuid or model code we could look up."""


class ItemNotFound(BadItem):
    """The PIM has no such product or model."""


def item_key(uuid: str | None, model: str | None) -> str:
    """The plan key ("product:<uuid>" / "model:<code>") of what the query names; BadItem otherwise."""
    if uuid:
        if not UUID.fullmatch(uuid):
            raise BadItem("product must be a product uuid")
        return f"product:{uuid.lower()}"
    if model and len(model) <= MAX_CODE and model.strip() == model and "\n" not in model:
        return f"model:{model}"
    raise BadItem("name a product (uuid) or a model (code)")


def _read_local(store: Store, tenant: str, keys: list[str]) -> dict[str, Any]:
    ledger = store.ledger(tenant)
    return {"ids": ledger.product_ids(keys) if ledger else {}, "states": ledger.product_states(keys) if ledger else {},
            "syncs": ItemSyncs(store.redis).get(tenant, keys),
            "waiting": EventStore(store.redis).waiting_items(tenant, keys),
            "runs": store.list_runs(tenant, 1), "store_info": store.cache_get("bc-store-info", tenant)}


def _run_issues(store: Store, run_id: str, labels: set[str]) -> dict[str, list[dict]]:
    imports = ImportStore(store.redis, store.box)
    return {kind: [i for i in imports.issues(run_id, kind) if str(i.get("item", "")).lower() in labels][:ISSUES_SHOWN]
            for kind in ("errors", "warnings")}


def _filters(main: MainConfig, options: dict, *, models: bool, **extra: Any) -> dict[str, Any]:
    """The import's scope filters (workers.sync.reading.filters applies the same): main category subtree,
    families, completeness for the channel (products)."""
    conditions: dict[str, Any] = {"categories": ("IN CHILDREN", [main.category])}
    if options.get("families"):
        conditions["family"] = ("IN", list(options["families"]))
    if not models and options.get("completeness") not in (None, "", False):
        conditions["completeness"] = _completeness(main, options)
    conditions.update(extra)
    return conditions


def _completeness(main: MainConfig, options: dict) -> dict[str, Any]:
    """On the channel AND the synced locale, as workers.sync.reading.completeness_filter (a plain `>=` holds
    when any locale of the channel does)."""
    return {"operator": "GREATER OR EQUALS THAN ON ALL LOCALES", "value": int(options["completeness"]),
            "scope": main.channel, "locales": [main.locale]}


async def _found(pim, path: str, main: MainConfig, conditions: dict) -> bool:
    items, _ = await pim.get_page(path, {"search": search_filter(**conditions), "scope": main.channel,
                                         "locales": main.locale, "limit": 1})
    return bool(items)


async def _scope(pim, main: MainConfig, options: dict, item: dict, *, model: bool) -> dict[str, Any]:
    """{in_scope, reasons}: the import's filters, and for each one that excludes the item, why."""
    where = (f"channel {main.channel}, locale {main.locale}, main category {main.category}")
    path = f"{API}/product-models" if model else f"{API}/products-uuid"
    ident = {"identifier": ("IN", [item["code"]])} if model else {"uuid": ("IN", [item["uuid"]])}
    reasons: list[str] = []
    if not await _found(pim, path, main, _filters(main, options, models=model, **ident)):
        if not await _found(pim, path, main, {"categories": ("IN CHILDREN", [main.category]), **ident}):
            cats = ", ".join(item.get("categories") or []) or "none"
            reasons.append(f"Not classified in the main category {main.category} or below (its categories: "
                           f"{cats}).")
        families = list(options.get("families") or [])
        if families and item.get("family") not in families:
            reasons.append(f"Its family {item.get('family') or '(none)'} is not among the imported families "
                           f"({', '.join(families)}).")
        if not model and options.get("completeness") not in (None, "", False) and not await _found(
                pim, path, main, {"completeness": _completeness(main, options), **ident}):
            reasons.append(f"Less than {int(options['completeness'])} % complete for the channel {main.channel} "
                           f"in {main.locale}.")
        if not reasons:
            reasons.append("Outside the import's filters.")
    if not model and options.get("enabled_only", True) and not item.get("enabled", True):
        reasons.append("Disabled in the PIM (only enabled products are imported).")
    return {"in_scope": not reasons, "reasons": reasons, "where": where}


async def _root_model(pim, code: str, main: MainConfig) -> dict:
    model = await pim.get_product_model(code, scope=main.channel, locales=main.locale)
    if model.get("parent"):  # a sub-model: the store product is its root's
        model = await pim.get_product_model(str(model["parent"]), scope=main.channel, locales=main.locale)
    return model


def _links(info: dict, store_hash: str, product: dict) -> dict[str, str | None]:
    panel = (info.get("control_panel_base_url") or f"https://store-{store_hash}.mybigcommerce.com").rstrip("/")
    url = ((product.get("custom_url") or {}).get("url")) or ""
    base = (info.get("secure_url") or (f"https://{info['domain']}" if info.get("domain") else "")).rstrip("/")
    return {"control_panel": f"{panel}/manage/products/edit/{product['id']}",
            "storefront": f"{base}{url}" if base and url else None}


def _last_sync(store: Store, tenant: str, local: dict, key: str, labels: set[str]) -> dict[str, Any] | None:
    """The newest of: the item's last event-path sync, the import run that last wrote it, the latest
    import run (when it reported an issue for this item)."""
    candidates: list[dict[str, Any]] = []
    for event in local["syncs"].values():  # the store item's, and a variant's own (Sync now on a variant)
        candidates.append({"at": event.get("at"), "via": event.get("via") or "event", "run_id": event.get("run"),
                           "outcome": event.get("outcome"), "errors": event.get("errors") or [],
                           "warnings": event.get("warnings") or []})
    state = local["states"].get(key) or {}
    run_ids = [r for r in (state.get("r"),) if r and str(r).startswith("r")]
    latest = (local["runs"] or [None])[0]
    if latest and latest.get("id") not in run_ids and latest.get("status") in ("succeeded", "partial", "failed"):
        run_ids.append(latest["id"])
    for run_id in run_ids:
        run = store.get_run(tenant, run_id)
        if not run:
            continue
        issues = _run_issues(store, run_id, labels)
        wrote = run_id == state.get("r")
        if not wrote and not issues["errors"] and not issues["warnings"]:
            continue
        candidates.append({"at": run.get("finished_at") or run.get("started_at") or run.get("created_at"),
                           "via": "import", "run_id": run_id, "mode": run.get("mode"),
                           "outcome": state.get("o") if wrote else ("failed" if issues["errors"] else "unchanged"),
                           **issues})
    candidates = [c for c in candidates if c.get("at")]
    return max(candidates, key=lambda c: float(c["at"])) if candidates else None


async def item_status(settings: Settings, store: Store, tenant: str, *, uuid: str | None = None,
                      model: str | None = None) -> dict[str, Any]:
    key = item_key(uuid, model)
    conns = await connections(store, tenant)
    conns.require()
    if conns.main is None or not conns.main.complete:  # the scope is the main category's subtree
        raise NotReady(MAIN_MISSING, error="main_not_configured")
    main = conns.main
    doc: dict[str, Any] = {"item": key, "kind": "model" if model and not uuid else "product"}
    async with open_pim(settings, store, tenant, conns.pim) as pim:
        options = await asyncio.to_thread(store.get_section, tenant, "import")
        if uuid:
            try:
                product = await pim.get_product(uuid.lower())
            except AkeneoNotFound:
                raise ItemNotFound("This product does not exist in the PIM (any more).") from None
            sku = str(product.get("identifier") or (product.get("values", {}).get("sku") or [{}])[0].get("data") or "")
            doc["pim"] = {"uuid": product.get("uuid"), "identifier": sku, "family": product.get("family"),
                          "enabled": product.get("enabled", True), "parent": product.get("parent"),
                          "categories": product.get("categories") or []}
            if product.get("parent"):
                root = await _root_model(pim, str(product["parent"]), main)
                doc["variant_of"] = root["code"]
                store_key, labels = f"model:{root['code']}", {str(root["code"]).lower(), sku.lower()}
                doc["scope"] = await _scope(pim, main, options, root, model=True)
                if product.get("enabled") is False:
                    doc["scope"]["notes"] = ["This variant is disabled in the PIM: it cannot be bought in the store."]
            else:
                store_key, labels = key, {sku.lower()}
                doc["scope"] = await _scope(pim, main, options, product, model=False)
        else:
            try:
                found = await pim.get_product_model(model, scope=main.channel, locales=main.locale)
            except AkeneoNotFound:
                raise ItemNotFound("This product model does not exist in the PIM (any more).") from None
            root = found if not found.get("parent") else await _root_model(pim, str(found["parent"]), main)
            doc["pim"] = {"code": found.get("code"), "family": found.get("family"), "parent": found.get("parent"),
                          "categories": found.get("categories") or []}
            if found.get("parent"):
                doc["variant_of"] = root["code"]
            store_key, labels = f"model:{root['code']}", {str(root["code"]).lower()}
            doc["scope"] = await _scope(pim, main, options, root, model=True)
    keys = list(dict.fromkeys([store_key, key]))
    local = await asyncio.to_thread(_read_local, store, tenant, keys)
    state = local["states"].get(store_key) or {}
    labels |= {str(state.get("sku") or "").lower()} - {""}
    doc["store_item"] = store_key
    doc["waiting"] = bool(local["waiting"])
    doc["last_sync"] = await asyncio.to_thread(_last_sync, store, tenant, local, store_key, labels)
    product_id = local["ids"].get(store_key)
    doc["linked"] = product_id is not None
    doc["store"] = None
    store_hash = conns.bigcommerce["store_hash"]
    doc["store_hash"] = store_hash
    if product_id is not None:
        doc["store"] = await _store_product(settings, store, tenant, conns.bigcommerce, product_id, local, doc)
    return doc


async def _store_product(settings: Settings, store: Store, tenant: str, creds: dict, product_id: int,
                         local: dict, doc: dict) -> dict[str, Any]:
    info = local["store_info"]
    try:
        async with open_bigcommerce(settings, creds) as bc:
            if not info:
                raw = await bc.get_store()
                info = {k: raw.get(k) for k in ("domain", "secure_url", "control_panel_base_url", "currency")}
                await asyncio.to_thread(store.cache_put, "bc-store-info", tenant, info, STORE_INFO_TTL)
            try:
                body = await bc.request("GET", f"/v3/catalog/products/{product_id}", params={"include": "variants"})
            except BigCommerceNotFound:
                return {"id": product_id, "missing": True,
                        "message": "Deleted in the store: the next sync creates it again."}
    except MappingServiceError as exc:  # the store could not be read: the PIM side is still worth showing
        return {"id": product_id, "error": exc.message}
    product = (body or {}).get("data") or {}
    wanted_sku = (doc.get("pim") or {}).get("identifier") if doc.get("variant_of") else None
    variants = [{"id": v.get("id"), "sku": v.get("sku"), "price": v.get("price"),
                 "purchasing_disabled": bool(v.get("purchasing_disabled")),
                 "options": [f"{o.get('option_display_name')}: {o.get('label')}" for o in v.get("option_values") or []],
                 "this": bool(wanted_sku) and str(v.get("sku", "")).lower() == str(wanted_sku).lower()}
                for v in product.get("variants") or [] if v.get("option_values")]
    return {"id": product.get("id", product_id), "name": product.get("name"), "sku": product.get("sku"),
            "price": product.get("price"), "is_visible": bool(product.get("is_visible")),
            "date_modified": product.get("date_modified"), "variants": variants,
            "currency": info.get("currency"), **_links(info, doc["store_hash"], product)}
