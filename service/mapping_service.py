"""The mapping page's policy: what `GET/PUT /api/mapping` and `POST /api/mapping/preview` do, apart from
HTTP. The pure parts (fields, compatibility, suggestions, validation, payloads) are `service.transform`;
the Context a preview builds is `service.sync_context.build_context`, the very one the import builds, so
the preview shows what the import sends. The tenant's connections (the credentials in force, the clients
under the import's limits, the refusals while one is missing) are `service.connections`.

The PIM's catalog (attributes, families, family variants, measurement families, and the options loaded so
far) and the store's settings are cached for a few minutes (`service.store.mapping`): the page opens
without re-reading a PIM that may have hundreds of attributes, and previews while typing stay fast. No
Redis call runs on the event loop (asyncio.to_thread)."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import json
import logging
import time
from typing import Any

from service.clients.akeneo import AkeneoClient
from service.clients.akeneo_errors import AkeneoError
from service.clients.akeneo_search import search_filter
from service.config.forms import code_problem, text_problem
from service.connections import MAIN_MISSING, Connections, connections, open_bigcommerce, open_pim
from service.pim_schema import load_catalog, load_store_settings
from service.refusal import Conflict, Invalid, NotFound, NotReady, PageRefusal, Upstream  # noqa: F401
from service.settings import Settings
from service.store import Store
from service.store import mapping as mapping_store
from service.sync_context import build_context, effective_mapping, fetch_model_tree, fetch_product
from service.transform.context import Catalog, StoreSettings
from service.transform.mapping import Mapping as FieldMapping
from service.transform.mapping import mapping_document, parse_mapping_document, suggest_mapping
from service.transform.product import ProductPlan, build_product_model, build_simple_product

log = logging.getLogger("connector.mapping")

STORE_SETTINGS_TTL = 60
REREAD_AFTER = 30.0  # seconds
MAX_CODE = 255


# the pages' refusals live below every layer (service.refusal), so service.connections raises them too
MappingServiceError = PageRefusal


# --- cached reads ------------------------------------------------------------------------------------


def _fingerprint(*parts: Any) -> str:
    return hashlib.sha256(json.dumps(parts, default=str).encode()).hexdigest()[:32]


def _pim_fingerprint(creds: dict[str, Any]) -> str:
    # Which PIM and which API user: another user may see other attributes. No secret in it.
    return _fingerprint(creds.get("url"), creds.get("client_id"), creds.get("username"))


def _plain(value: Any) -> Any:
    """JSON-ready copy of catalog data (Mapping views become dicts)."""
    return json.loads(json.dumps(value, default=dict))


def catalog_to_json(catalog: Catalog) -> dict[str, Any]:
    return _plain({f.name: getattr(catalog, f.name) for f in dataclasses.fields(Catalog)})


def catalog_from_json(doc: dict[str, Any]) -> Catalog:
    return Catalog(**{f.name: doc.get(f.name) or {} for f in dataclasses.fields(Catalog)})


async def cached_catalog(store: Store, tenant: str, settings: Settings, creds: dict[str, Any], *,
                         refresh: bool = False) -> tuple[Catalog, float]:
    """(catalog, its age in seconds: 0 when just read). Read without options: they are added per
    mapping, then cached with it."""
    fingerprint = _pim_fingerprint(creds)
    if not refresh:
        cached = await asyncio.to_thread(mapping_store.cache_get, store, tenant, "catalog", fingerprint)
        if cached is not None:
            return catalog_from_json(cached["catalog"]), max(0.0, time.time() - cached["at"])
    async with open_pim(settings, store, tenant, creds) as pim:
        catalog = await load_catalog(pim)
    await remember_catalog(store, tenant, creds, catalog)
    return catalog, 0.0


async def remember_catalog(store: Store, tenant: str, creds: dict[str, Any], catalog: Catalog) -> None:
    await asyncio.to_thread(mapping_store.cache_put, store, tenant, "catalog", _pim_fingerprint(creds),
                            {"catalog": catalog_to_json(catalog), "at": time.time()})


async def cached_store_settings(store: Store, tenant: str, settings: Settings,
                                creds: dict[str, Any]) -> StoreSettings:
    fingerprint = _fingerprint(creds["store_hash"], settings.bc_api_url)
    cached = await asyncio.to_thread(mapping_store.cache_get, store, tenant, "store-settings", fingerprint)
    if cached is not None:
        return StoreSettings(**cached)
    async with open_bigcommerce(settings, creds) as bc:
        found = await load_store_settings(bc)
    await asyncio.to_thread(mapping_store.cache_put, store, tenant, "store-settings", fingerprint,
                            dataclasses.asdict(found), STORE_SETTINGS_TTL)
    return found


def _locale(conns: Connections) -> str:
    # labels only: the mapping itself does not depend on the locale
    return conns.main.locale if conns.main is not None else "en_US"


# --- GET / PUT ----------------------------------------------------------------------------------------


def _document(saved: dict[str, Any] | None, catalog: Catalog, locale: str, conns: Connections) -> dict[str, Any]:
    suggested = suggest_mapping(catalog)
    doc = mapping_document(effective_mapping(saved, catalog), suggested, catalog, locale)
    doc["saved"] = saved is not None  # False: the suggested defaults are in force (version 0)
    doc["connections"] = {"pim": conns.pim is not None, "bigcommerce": conns.bigcommerce is not None}
    return doc


async def get_document(store: Store, tenant: str, settings: Settings, *, refresh: bool = False) -> dict[str, Any]:
    """The mapping document: every field with its compatible attributes, the current choice (the suggested
    defaults until a first save) and the suggestion. Needs the PIM connection (409 pim_not_connected)."""
    conns = await connections(store, tenant)
    conns.require(bigcommerce=False)
    catalog, _ = await cached_catalog(store, tenant, settings, conns.pim, refresh=refresh)
    saved = await asyncio.to_thread(mapping_store.get_mapping, store, tenant)
    return _document(saved, catalog, _locale(conns), conns)


async def _parse(store: Store, tenant: str, settings: Settings, creds: dict[str, Any],
                 doc: Any) -> tuple[FieldMapping, Catalog]:
    """A valid mapping from `doc` or Invalid. An attribute the cached catalog does not know may be new in
    the PIM since the catalog was cached: then it is read again before the verdict."""
    catalog, age = await cached_catalog(store, tenant, settings, creds)
    mapping, errors = parse_mapping_document(doc, catalog)
    # At most one re-read per REREAD_AFTER: a stream of bad codes must not become a stream of PIM reads.
    if errors and age > REREAD_AFTER and any("unknown" in m for m in errors.values()):
        catalog, _ = await cached_catalog(store, tenant, settings, creds, refresh=True)
        mapping, errors = parse_mapping_document(doc, catalog)
    if errors or mapping is None:
        raise Invalid(errors or {"mapping": "is not a mapping document"})
    return mapping, catalog


async def save_document(store: Store, tenant: str, settings: Settings, body: Any, *,
                        by: str | None = None) -> dict[str, Any]:
    """Validate and save an edited document (the one GET returned, or `{fields: {field: code}, families}`);
    nothing is saved unless all of it is valid. A `version` in the body must be the current one (409
    mapping_changed otherwise: someone saved in between). Answers `{saved, version, changed, mapping}`."""
    conns = await connections(store, tenant)
    conns.require()
    mapping, catalog = await _parse(store, tenant, settings, conns.pim, body)
    expected = body.get("version") if isinstance(body, dict) and "version" in body else None
    before = await asyncio.to_thread(mapping_store.get_mapping, store, tenant)
    try:
        version = await asyncio.to_thread(mapping_store.save_mapping, store, tenant, mapping.to_json(), by=by,
                                          expected_version=expected)
    except mapping_store.MappingConflict as exc:
        raise Conflict(f"The mapping was changed elsewhere (it is now at version {exc.current}): reload it, "
                       "then make your change again.", current_version=exc.current) from None
    saved = await asyncio.to_thread(mapping_store.get_mapping, store, tenant)
    changed = before is None or int(before.get("version", 0)) != version
    if changed:
        log.info("mapping saved", extra={"tenant": tenant, "version": version})
    return {"saved": True, "version": version, "changed": changed,
            "mapping": _document(saved, catalog, _locale(conns), conns)}


# --- preview --------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class PreviewRequest:
    kind: str             # "identifier" | "model"
    code: str
    mapping: Any = None   # an edited, unsaved document to preview instead of the mapping in force


def read_preview_request(body: Any) -> PreviewRequest:
    """`{"identifier"}` or `{"model"}`, optionally `"mapping"`; Invalid (422) otherwise."""
    if not isinstance(body, dict):
        raise Invalid({"body": "must be a JSON object"}, "The request body must be a JSON object.")
    given = [k for k in ("identifier", "model") if body.get(k) not in (None, "")]
    if len(given) != 1:
        message = ("give either a product identifier or a product model code, not both" if given else
                   "a product identifier or a product model code is required")
        raise Invalid({"identifier": message}, f"Type a product identifier or a product model code: {message}.")
    kind = given[0]
    value = body[kind]
    if not isinstance(value, str):
        raise Invalid({kind: "must be a string"})
    code = value.strip()
    problem = ("must not be empty" if not code else
               f"is too long (at most {MAX_CODE} characters)" if len(code) > MAX_CODE else
               text_problem(code) or code_problem(code))
    if problem:
        raise Invalid({kind: problem})
    mapping = body.get("mapping")
    if mapping is not None and not isinstance(mapping, dict):
        raise Invalid({"mapping": "must be a mapping document (a JSON object) or absent"})
    return PreviewRequest(kind, code, mapping)


def _category_ids(store: Store, tenant: str) -> dict[str, int]:
    """The categories the category sync made in the store (visible ones, PIM code lowercased -> id), as
    the import passes them to build_context after syncing: the preview names the same ones."""
    ledger = store.ledger(tenant)
    return ledger.category_ids() if ledger else {}


async def preview(store: Store, tenant: str, settings: Settings, body: Any) -> dict[str, Any]:
    """The payload the import would send for one product or product model, with its warnings and errors:
    the same fetch (sync_context), the same Context (build_context), the same build_* function."""
    request = read_preview_request(body)
    conns = await connections(store, tenant)
    conns.require()
    main = conns.main  # the main category is optional here: without one, no note says a product is outside it
    if main is None:
        raise NotReady(MAIN_MISSING, error="main_not_configured")
    if request.mapping is not None:
        mapping, catalog = await _parse(store, tenant, settings, conns.pim, request.mapping)
    else:
        catalog, _ = await cached_catalog(store, tenant, settings, conns.pim)
        mapping = effective_mapping(await asyncio.to_thread(mapping_store.get_mapping, store, tenant), catalog)
    store_settings = await cached_store_settings(store, tenant, settings, conns.bigcommerce)
    category_ids = await asyncio.to_thread(_category_ids, store, tenant)
    notes: list[str] = []
    async with open_pim(settings, store, tenant, conns.pim) as pim:
        ctx = await build_context(store, tenant, settings, pim=pim, bc=None, catalog=catalog, mapping=mapping,
                                  store_settings=store_settings, category_ids=category_ids)
        if len(ctx.catalog.options) > len(catalog.options):  # keep the options read for the next preview
            await remember_catalog(store, tenant, conns.pim, ctx.catalog)
        kind, code = request.kind, request.code
        if kind == "identifier":
            product = await fetch_product(pim, code)
            if product is None:
                raise NotFound(f"The PIM has no product with the identifier \u201c{code}\u201d.",
                               fields={"identifier": "is not a product of this PIM"})
            if main.category and not await _in_category(pim, code, main.category):
                notes.append(f"\u201c{code}\u201d is not in the main category \u201c{main.category}\u201d: the import "
                             "does not send it.")
            if product.get("parent"):
                notes.append(f"\u201c{product.get('identifier')}\u201d is a variant of the product model "
                             f"\u201c{product['parent']}\u201d: BigCommerce gets one product for the whole model, "
                             "shown here.")
                kind, code = "model", str(product["parent"])
            else:
                plan = build_simple_product(product, ctx)
        if kind == "model":
            tree = await fetch_model_tree(pim, code)
            if tree is None:
                raise NotFound(f"The PIM has no product model with the code \u201c{code}\u201d.",
                               fields={"model": "is not a product model of this PIM"})
            plan = build_product_model(tree.model, tree.sub_models, tree.variants, ctx)
    return _answer(plan, ctx.mapping, notes)


async def _in_category(pim: AkeneoClient, identifier: str, category: str) -> bool:
    """Whether the product lies in the main category or below it (what the import reads). True when the
    PIM cannot tell (e.g. the category was deleted since): the note is a help, not a verdict."""
    search = search_filter(identifier=("IN", [identifier]), categories=("IN CHILDREN", [category]))
    try:
        async for _ in pim.iter_products(search=search, page_size=1):
            return True
    except AkeneoError:
        return True
    return False


def _answer(plan: ProductPlan, mapping: FieldMapping, notes: list[str]) -> dict[str, Any]:
    return {**plan.to_json(), "mapping_version": mapping.version, "notes": notes}
