"""The client's catalog helpers against the sandbox store: variants, options, images, custom fields,
brands, category trees. Real HTTP on loopback; sandbox state checked directly."""

from __future__ import annotations

import asyncio
import base64
import uuid

import pytest
from starlette.applications import Starlette
from starlette.responses import Response
from starlette.routing import Route

from sandbox.bigcommerce import create_app
from service.clients.bigcommerce import BigCommerceClient
from service.clients.bigcommerce_errors import BigCommerceValidationError
from tests.servers import serve

TOKEN = "test-token"
# a 1x1 PNG
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)


async def _png(request):
    return Response(PNG, media_type="image/png")


async def _text(request):
    return Response("not an image", media_type="text/plain")


@pytest.fixture(scope="module")
def sandbox():
    media = Starlette(routes=[Route("/shirt.png", _png), Route("/notes.txt", _text)])
    app = create_app()
    with serve(app) as base_url, serve(media) as media_url:
        yield base_url, app.state.bc, media_url


@pytest.fixture
def store(sandbox):
    base_url, state, media_url = sandbox
    store_hash = f"s{uuid.uuid4().hex[:10]}"
    state.create_store(store_hash, token=TOKEN)
    return base_url, state, store_hash, media_url


def run(store, body):
    base_url, _, store_hash, _ = store

    async def go():
        async with BigCommerceClient(store_hash, TOKEN, api_url=base_url, retry_base=0.05) as bc:
            return await body(bc)

    return asyncio.run(go())


def tshirt(sku: str = "TS") -> dict:
    return {
        "name": f"T-shirt {sku}",
        "type": "physical",
        "sku": sku,
        "weight": 0.2,
        "price": 15,
        "variants": [
            {"sku": f"{sku}-{size}", "price": 15, "option_values": [{"option_display_name": "Size", "label": size}]}
            for size in ("S", "M")
        ],
    }


def test_inline_variants_then_a_new_option_value_and_variant(store):
    _, state, store_hash, _ = store

    async def body(bc):
        p = await bc.create_product(tshirt(), include="variants")
        [option] = await bc.list_options(p["id"])
        value = await bc.create_option_value(p["id"], option["id"], "L", sort_order=2)
        variant = await bc.create_variant(
            p["id"], {"sku": "TS-L", "price": 16, "option_values": [{"id": value["id"], "option_id": option["id"]}]}
        )
        again = await bc.create_option_value(p["id"], option["id"], "L")  # exists: not an error
        return p, variant, await bc.list_variants(p["id"]), value, again

    product, variant, variants, value, again = run(store, body)
    assert sorted(v["sku"] for v in product["variants"]) == ["TS-M", "TS-S"]
    assert variant["sku"] == "TS-L"
    assert sorted(v["sku"] for v in variants) == ["TS-L", "TS-M", "TS-S"]
    assert again["id"] == value["id"]
    assert len(state.stores[store_hash].variants) == 3


def test_update_variants_in_batches_of_50(store):
    _, state, store_hash, _ = store

    async def body(bc):
        ids = []
        for i in range(6):
            p = await bc.create_product(
                {
                    **tshirt(f"T{i}"),
                    "variants": [
                        {"sku": f"T{i}-{n}", "price": 1, "option_values": [{"option_display_name": "N", "label": str(n)}]}
                        for n in range(10)
                    ],
                },
                include="variants",
            )
            ids += [v["id"] for v in p["variants"]]
        state.reset_log(store_hash)
        return await bc.update_variants([{"id": vid, "price": 9} for vid in ids])

    result = run(store, body)
    assert result.ok and len(result.data) == 60
    puts = [e for e in state.stores[store_hash].log if e["method"] == "PUT"]
    assert len(puts) == 2
    assert {v["price"] for v in state.stores[store_hash].variants.values()} == {9}


def test_images_by_url_and_by_upload(store):
    _, state, store_hash, media_url = store

    async def body(bc):
        p = await bc.create_product({**tshirt(), "variants": []})
        by_url = await bc.create_image(p["id"], image_url=f"{media_url}/shirt.png", is_thumbnail=True)
        uploaded = await bc.create_image(p["id"], file=("back.png", PNG, "image/png"))
        with pytest.raises(BigCommerceValidationError) as info:
            await bc.create_image(p["id"], image_url=f"{media_url}/notes.txt")
        images = await bc.list_images(p["id"])
        await bc.delete_image(p["id"], uploaded["id"])
        return by_url, uploaded, info.value, images

    by_url, uploaded, error, images = run(store, body)
    assert by_url["is_thumbnail"] is True
    assert {i["id"] for i in images} == {by_url["id"], uploaded["id"]}
    assert error.status == 400 and "invalid_reason" in error.errors
    assert list(state.stores[store_hash].images) == [by_url["id"]]


def test_custom_fields_create_update_delete(store):
    _, state, store_hash, _ = store

    async def body(bc):
        p = await bc.create_product({**tshirt(), "variants": []})
        color = await bc.create_custom_field(p["id"], "Color", "Blue")
        fabric = await bc.create_custom_field(p["id"], "Fabric", "Cotton")
        await bc.update_custom_field(p["id"], color["id"], value="Navy")
        await bc.delete_custom_field(p["id"], fabric["id"])
        return await bc.list_custom_fields(p["id"])

    fields = run(store, body)
    assert [(f["name"], f["value"]) for f in fields] == [("Color", "Navy")]


def test_brands_are_created_once(store):
    _, state, store_hash, _ = store

    async def body(bc):
        first = await bc.create_brand("Acme")
        second = await bc.create_brand("Acme")  # 409 from BigCommerce: the existing one is returned
        return first, second, await bc.list_brands("Acme"), await bc.list_brands()

    first, second, named, everything = run(store, body)
    assert first["id"] == second["id"]
    assert [b["id"] for b in named] == [first["id"]]
    assert len(everything) == len(state.stores[store_hash].brands) == 1


def test_category_tree_round_trip(store):
    _, state, store_hash, _ = store

    async def body(bc):
        [tree] = await bc.list_trees(channel_id=1)
        top = await bc.create_categories([{"name": "Clothes", "tree_id": tree["id"]}])
        parent = top.data[0]["category_id"]
        kids = await bc.create_categories(
            [{"name": "Shirts", "parent_id": parent}, {"name": "Trousers", "parent_id": parent},
             {"name": "Shirts", "parent_id": parent}]  # a duplicate sibling: refused on its own
        )
        renamed = await bc.update_categories([{"category_id": kids.data[1]["category_id"], "name": "Pants"},
                                              {"category_id": 999999, "name": "Ghost"}])
        await bc.delete_categories([kids.data[0]["category_id"]])
        listed = [c async for c in bc.iter_tree_categories(tree["id"])]
        return tree, kids, renamed, listed

    tree, kids, renamed, listed = run(store, body)
    assert tree["id"] == 1
    assert [c["name"] for c in kids.data] == ["Shirts", "Trousers"]
    assert [(e.item["name"], list(e.errors)) for e in kids.errors] == [("Shirts", ["name"])]
    assert [e.item["category_id"] for e in renamed.errors] == [999999]
    assert sorted(c["name"] for c in listed) == ["Clothes", "Pants"]
    assert sorted(c["name"] for c in state.stores[store_hash].categories.values()) == ["Clothes", "Pants"]


def test_category_create_after_timeout_after_apply_makes_no_duplicate(store):
    base_url, state, store_hash, _ = store
    state.set_faults(store_hash, timeout_after_apply_rate=1.0)

    async def go():
        async with BigCommerceClient(store_hash, TOKEN, api_url=base_url, timeout=0.5) as bc:
            return await bc.create_categories([{"name": "Shoes", "tree_id": 1}, {"name": "Bags", "tree_id": 1}])

    result = asyncio.run(go())
    assert result.ok and sorted(c["name"] for c in result.data) == ["Bags", "Shoes"]
    assert sorted(c["name"] for c in state.stores[store_hash].categories.values()) == ["Bags", "Shoes"]


# -- creates whose answer is lost after BigCommerce applied them: exactly one object each ---------


def _timing_out(store):
    """A client with a short timeout on a store where every successful write times out after applying."""
    base_url, state, store_hash, _ = store
    state.set_faults(store_hash, timeout_after_apply_rate=1.0, timeout_delay=5.0)
    return BigCommerceClient(store_hash, TOKEN, api_url=base_url, timeout=0.5, retry_base=0.01)


def _plain_product(store) -> int:
    return run(store, lambda bc: bc.create_product({**tshirt(), "variants": []}))["id"]


def test_image_by_url_after_timeout_after_apply_is_created_once(store):
    _, state, store_hash, media_url = store
    pid = _plain_product(store)

    async def go():
        async with _timing_out(store) as bc:
            return await bc.create_image(pid, image_url=f"{media_url}/shirt.png")

    created = asyncio.run(go())
    images = [i for i in state.stores[store_hash].images.values() if i["product_id"] == pid]
    assert [i["id"] for i in images] == [created["id"]]


def test_uploaded_image_after_timeout_after_apply_is_created_once(store):
    _, state, store_hash, _ = store
    pid = _plain_product(store)

    async def go():
        async with _timing_out(store) as bc:
            return await bc.create_image(pid, file=("Back View.png", PNG, "image/png"))

    created = asyncio.run(go())
    images = [i for i in state.stores[store_hash].images.values() if i["product_id"] == pid]
    assert [i["id"] for i in images] == [created["id"]]


def test_custom_field_after_timeout_after_apply_is_created_once(store):
    _, state, store_hash, _ = store
    pid = _plain_product(store)

    async def go():
        async with _timing_out(store) as bc:
            return await bc.create_custom_field(pid, "Color", "Red")

    created = asyncio.run(go())
    fields = [f for f in state.stores[store_hash].custom_fields.values() if f["product_id"] == pid]
    assert [(f["id"], f["name"], f["value"]) for f in fields] == [(created["id"], "Color", "Red")]


def test_option_after_timeout_after_apply_is_created_once(store):
    _, state, store_hash, _ = store
    pid = _plain_product(store)
    option = {"display_name": "Size", "type": "dropdown", "option_values": [{"label": "S", "sort_order": 0}, {"label": "M", "sort_order": 1}]}

    async def go():
        async with _timing_out(store) as bc:
            return await bc.create_option(pid, option)

    created = asyncio.run(go())
    options = [o for o in state.stores[store_hash].options.values() if o["product_id"] == pid]
    assert [o["id"] for o in options] == [created["id"]]
    assert [v["label"] for v in created["option_values"]] == ["S", "M"]


def test_product_without_sku_after_timeout_after_apply_is_found_by_name(store):
    _, state, store_hash, _ = store

    async def go():
        async with _timing_out(store) as bc:
            return await bc.create_product({"name": "No SKU here", "type": "physical", "weight": 1, "price": 5})

    created = asyncio.run(go())
    products = list(state.stores[store_hash].products.values())
    assert [(p["id"], p["name"]) for p in products] == [(created["id"], "No SKU here")]
