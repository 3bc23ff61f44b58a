"""The icecat catalog as the transform tests see it: read once per test process from the sandbox PIM
over real HTTP (load_catalog plus every product and product model), then reused."""

from __future__ import annotations

import asyncio
import functools
from dataclasses import dataclass

from sandbox.pim import create_app
from service.clients.akeneo import AkeneoClient
from service.pim_schema import load_catalog
from service.transform import attribute_types as t
from service.transform.context import Catalog
from tests.servers import serve

CLIENT = ("sandbox-client", "sandbox-secret", "admin", "admin")


@dataclass(frozen=True)
class Icecat:
    catalog: Catalog
    products: dict[str, dict]  # sku -> product JSON (products-uuid, every locale and channel)
    models: dict[str, dict]  # code -> product model JSON

    def variants_of(self, code: str) -> list[dict]:
        """The variant products under a root model (through its sub-models), parents matched
        case-insensitively as Akeneo does."""
        codes = {code.lower()} | {
            m["code"].lower() for m in self.models.values() if (m.get("parent") or "").lower() == code.lower()
        }
        return [p for p in self.products.values() if (p.get("parent") or "").lower() in codes]

    def sub_models_of(self, code: str) -> list[dict]:
        return [m for m in self.models.values() if (m.get("parent") or "").lower() == code.lower()]


async def _read(base_url: str) -> Icecat:
    async with AkeneoClient(base_url, *CLIENT, allow_private_addresses=True) as pim:
        attributes = await pim.list_attributes()
        selects = [a["code"] for a in attributes if a["type"] in (*t.SELECTS, *t.MULTISELECTS)]
        catalog = await load_catalog(pim, option_attributes=selects)
        products = {}
        async for p in pim.iter_products():
            products[p["values"]["sku"][0]["data"]] = p
        models = {m["code"]: m async for m in pim.iter_product_models()}
    return Icecat(catalog, products, models)


@functools.lru_cache(maxsize=1)
def icecat() -> Icecat:
    with serve(create_app()) as base_url:
        return asyncio.run(_read(base_url))

