"""Every icecat payload is a valid POST /v3/catalog/products body by BigCommerce's OpenAPI spec, and
the sandbox store accepts a simple product and a two-level model as built (over real HTTP)."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from sandbox.bigcommerce import create_app as create_store_app
from service.clients.bigcommerce import BigCommerceClient
from service.transform.context import Context, StoreSettings
from service.transform.mapping import Mapping, suggest_mapping
from service.transform.product import build_product_model, build_simple_product
from tests.contract_bigcommerce import validate_request
from tests.servers import serve

PRODUCTS = "products_catalog.v3.yml"
INLINE = ("id", "product_id")  # productVariant_Full requires them, but not in a create request
STORE = StoreSettings("EUR", "KGS", "Centimeters")


@pytest.fixture(scope="module")
def mapping(data):
    suggested = suggest_mapping(data.catalog)
    custom = ["collection", "color", "material", "supplier", "release_date", "composition", "optical_zoom"]
    return Mapping(1, {**suggested.fields, "custom_fields": custom}, suggested.families)


def ctx(data, mapping, image_url=lambda code: f"https://connector.example/media/{code[-40:]}"):
    return Context(data.catalog, STORE, "en_US", "ecommerce", mapping, {"master_men_shoes": 12}, image_url)


def all_plans(data, context):
    for product in data.products.values():
        if not product.get("parent"):
            yield build_simple_product(product, context)
    for code, model in data.models.items():
        if not model.get("parent"):
            yield build_product_model(model, data.sub_models_of(code), data.variants_of(code), context)


def test_every_payload_matches_bigcommerce_s_spec(data, mapping):
    count = 0
    for plan in all_plans(data, ctx(data, mapping)):
        if plan.errors or plan.skipped:
            continue
        validate_request(PRODUCTS, "/catalog/products", "post", plan.payload, INLINE)
        count += 1
    assert count > 1000


def test_sandbox_store_accepts_the_payloads(data, mapping):
    app = create_store_app()
    store_hash = f"s{uuid.uuid4().hex[:10]}"
    app.state.bc.create_store(store_hash, token="tok")
    context = ctx(data, mapping, image_url=None)  # the sandbox would download inline image URLs
    simple = build_simple_product(data.products["1111111171"], Context(
        context.catalog, context.store, context.locale, context.channel, context.mapping, {}, None))
    model = build_product_model(data.models["apollon"], data.sub_models_of("apollon"), data.variants_of("apollon"),
                                Context(context.catalog, context.store, context.locale, context.channel,
                                        context.mapping, {}, None))

    async def go(base_url):
        async with BigCommerceClient(store_hash, "tok", api_url=base_url) as bc:
            a = await bc.create_product(simple.payload, include="custom_fields")
            b = await bc.create_product(model.payload, include="variants,custom_fields")
            return a, b

    with serve(app) as base_url:
        created_simple, created_model = asyncio.run(go(base_url))
    assert created_simple["sku"] == "1111111171" and created_simple["weight"] == 0.5
    assert created_model["sku"] == "apollon"
    assert sorted(v["sku"] for v in created_model["variants"]) == sorted(v["sku"] for v in model.variants)
    stored = {v["sku"]: v for v in created_model["variants"]}
    for variant in model.variants:
        labels = sorted(o["label"] for o in stored[variant["sku"]]["option_values"])
        assert labels == sorted(o["label"] for o in variant["option_values"])
    names = {f["name"]: f["value"] for f in created_model["custom_fields"]}
    assert names["Collection"] == "Winter 2016" and names["Supplier"] == "zaro"  # its label is lowercase in the PIM
