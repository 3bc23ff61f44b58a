"""The one place a transform `Context` is built, for the import and for the mapping page's preview alike,
so that the preview shows exactly what the import sends: the same mapping (saved, else the suggested
defaults), the same locale and channel, the store's own currency and units, image URLs signed the same
way. Also the one way to read a product model with its sub-models and variants from the PIM.

The import engine calls `build_context(...)` once per run with its open clients (and the category ids its
category sync produced); the preview calls it per request with a cached catalog and store settings."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from service.clients.akeneo import AkeneoClient
from service.clients.akeneo_errors import AkeneoNotFound
from service.clients.akeneo_search import search_filter
from service.clients.bigcommerce import BigCommerceClient
from service.connections import main_config
from service.media import media_token, media_url
from service.pim_schema import load_catalog, load_store_settings, option_attributes_for
from service.settings import Settings
from service.store import Store
from service.store import mapping as mapping_store
from service.transform.context import Catalog, Context, StoreSettings
from service.transform.mapping import Mapping as FieldMapping
from service.transform.mapping import suggest_mapping

PAGE = 100


def effective_mapping(saved: dict[str, Any] | None, catalog: Catalog) -> FieldMapping:
    """The mapping in force: the saved one, else the suggested defaults (version 0)."""
    return FieldMapping.from_json(saved) if saved else suggest_mapping(catalog)


async def load_mapping(store: Store, tenant: str, catalog: Catalog) -> FieldMapping:
    return effective_mapping(await asyncio.to_thread(mapping_store.get_mapping, store, tenant), catalog)


def image_signer(settings: Settings, tenant: str) -> Callable[[str], str]:
    """media-file code -> the signed `GET /media/{token}` URL BigCommerce downloads the image from."""
    def image_url(code: str) -> str:
        return media_url(settings.app_url, media_token(settings.secret_key, tenant, code))
    return image_url


async def build_context(
    store: Store,
    tenant: str,
    settings: Settings,
    *,
    pim: AkeneoClient,
    bc: BigCommerceClient | None,
    catalog: Catalog | None = None,
    mapping: FieldMapping | None = None,
    store_settings: StoreSettings | None = None,
    category_ids: Mapping[str, int] | None = None,
) -> Context:
    """The Context for this tenant. What is not given is read: the catalog from the PIM (with the options
    of the select attributes the mapping uses), the mapping from the store (saved, else suggested), the
    store settings from BigCommerce (`GET /v2/store`; `bc` may be None when `store_settings` is given).
    Raises MainNotConfigured (service.connections) without locale/channel. `category_ids`: the import
    passes what its category sync produced (PIM code lowercased -> BigCommerce id)."""
    main = await main_config(store, tenant)
    if catalog is None:
        catalog = await load_catalog(pim)
    if mapping is None:
        mapping = await load_mapping(store, tenant, catalog)
    catalog = await with_options(pim, catalog, option_attributes_for(mapping, catalog))
    if store_settings is None:
        if bc is None:
            raise ValueError("build_context needs a BigCommerce client or the store settings")
        store_settings = await load_store_settings(bc)
    return Context(catalog=catalog, store=store_settings, locale=main.locale, channel=main.channel,
                   mapping=mapping, category_ids=dict(category_ids or {}),
                   image_url=image_signer(settings, tenant))


# --- options: only those of the select attributes the mapping reads --------------------------------


async def with_options(pim: AkeneoClient, catalog: Catalog, codes: Iterable[str]) -> Catalog:
    """`catalog` with the options of `codes` added where missing (option code lowercased -> option), so a
    catalog read once without options (cached for the page) serves any mapping."""
    missing = sorted(c for c in set(codes) if c in catalog.attributes and c not in catalog.options)
    if not missing:
        return catalog

    async def options_of(code: str) -> dict[str, dict]:
        return {str(o["code"]).lower(): {k: v for k, v in o.items() if k != "_links"}
                async for o in pim.iter_attribute_options(code)}

    found = await asyncio.gather(*(options_of(code) for code in missing))
    return replace(catalog, options={**catalog.options, **dict(zip(missing, found, strict=True))})


# --- reading what is previewed / imported ------------------------------------------------------------


async def fetch_product(pim: AkeneoClient, identifier: str) -> dict | None:
    """The product with this identifier, or None. (`/products-uuid` items carry the identifier only as the
    identifier attribute's value; the PIM's `identifier` filter matches it, case-insensitively.)"""
    search = search_filter(identifier=("IN", [identifier]))
    async for product in pim.iter_products(search=search, page_size=10):
        return product
    return None


@dataclass
class ModelTree:
    model: dict                 # the root product model
    sub_models: list[dict]      # its level-1 sub-models ([] for a one-level family variant)
    variants: list[dict]        # the variant products (leaves), by uuid


async def fetch_model_tree(pim: AkeneoClient, code: str) -> ModelTree | None:
    """A product model's whole tree from its root (a sub-model's code gives its root's tree), None when
    there is no such model. Sub-models and variants come sorted (by code, by uuid) so that the payload
    (its variant order) does not depend on the PIM's paging."""
    try:
        model = await pim.get_product_model(code)
    except AkeneoNotFound:
        return None
    for _ in range(2):  # Akeneo models have at most two levels
        if not model.get("parent"):
            break
        model = await pim.get_product_model(str(model["parent"]))
    root = str(model["code"])
    search = search_filter(parent=("IN", [root]))
    sub_models = [m async for m in pim.iter_product_models(search=search, page_size=PAGE)
                  if str(m.get("code", "")).lower() != root.lower()]
    # products: `parent =` one code is every descendant; `IN` would be direct children only, missing the
    # variants of a two-level model [pim-api-docs content/rest-api/filter.md, "On their parent"]
    every = search_filter(parent=("=", root))
    variants = [p async for p in pim.iter_products(search=every, page_size=PAGE)]
    sub_models.sort(key=lambda m: str(m.get("code", "")).lower())
    variants.sort(key=lambda p: str(p.get("identifier") or p.get("uuid") or "").lower())
    return ModelTree(model, sub_models, variants)
