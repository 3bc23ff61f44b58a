"""Products in the store follow the PIM: one deleted in the store by hand comes back, one store product
is never two PIM items, URLs stay unique and stable, a mapping change reaches every product, images
follow the PIM's order, and an older read never overwrites a newer one."""

from __future__ import annotations

import asyncio
import time

import httpx

from service.settings import load_settings
from service.store.imports import PageCommit
from service.store.mapping import save_mapping
from service.sync_context import build_context
from service.transform.product import build_simple_product
from tests.import_env import STORE_HASH, TOKEN, Env, import_env
from tests.sync.pim_edits import delete_product, patch_product, pim
from tests.sync.test_variants_converge import _sync, event
from workers.sync import items
from workers.sync.context import open_sync_context


def _products(env: Env) -> dict[str, dict]:
    return {p["sku"].lower(): p for p in env.state()["products"]}


def _settings(env: Env):
    return load_settings({k: env.env[k] for k in ("REDIS_URL", "SECRET_KEY", "BC_API_URL", "APP_URL", "DATA_DIR",
                                                  "ALLOW_PRIVATE_URLS")})


def _create_pim_product(env: Env, identifier: str, name: str, **values) -> None:
    body = {"identifier": identifier, "family": "accessories", "categories": ["print_accessories"],
            "values": {"name": [{"locale": None, "scope": None, "data": name}],
                       "price": [{"locale": None, "scope": None, "data": [{"amount": "12.00", "currency": "EUR"},
                                                                           {"amount": "12.00", "currency": "USD"}]}],
                       **values}}
    answer = httpx.post(f"{env.pim_url}/sandbox/products", json=body, timeout=30)
    assert answer.status_code in (200, 201), answer.text


def test_a_product_deleted_in_the_store_by_hand_comes_back_with_the_next_full_import(redis_url, tmp_path):
    with import_env(redis_url, tmp_path, category="print") as env:
        _sync(env, "full")
        before = _products(env)
        victim = before["1111111171"]
        assert httpx.delete(f"{env.bc_url}/stores/{STORE_HASH}/v3/catalog/products/{victim['id']}", timeout=30,
                            headers={"X-Auth-Token": TOKEN}).status_code == 204
        env.reset_requests()
        run = _sync(env, "full")
        after = _products(env)
        assert set(after) == set(before) and after["1111111171"]["name"] == victim["name"]
        assert run["counts"]["products"]["created"] == 1, run
        counts = env.requests()["counts"]
        writes = {k: n for k, n in counts.items() if not k.startswith("GET")}
        assert set(writes) <= {"POST /v3/catalog/products", "PUT /v3/catalog/products/channel-assignments"}, writes
        # and with nothing changed, a full import checks every product in one read of 250 and writes nothing
        env.reset_requests()
        again = _sync(env, "full")
        assert again["counts"]["products"]["created"] == 0
        counts = env.requests()["counts"]
        assert [k for k in counts if not k.startswith("GET")] == [], counts
        assert counts.get("GET /v3/catalog/products", 0) <= 1, counts


def test_one_store_product_is_never_two_pim_items(redis_url, tmp_path):
    """A simple product whose SKU is a model's code: the model keeps its product, the simple one is
    refused with an error naming both, and nothing of the model's product changes."""
    with import_env(redis_url, tmp_path, category="print") as env:
        _sync(env, "full")
        model_product = _products(env)["aphrodite"]
        _create_pim_product(env, "aphrodite", "A bag named like a blouse")
        run_id = env.start("delta")
        env.work()
        run = env.run(run_id)
        assert run["status"] == "partial" and run["counts"]["products"]["failed"] == 1, run
        uuid = pim(env).store.product("aphrodite")["uuid"]
        errors = " ".join(e["message"] for e in run["errors"]) if "errors" in run else str(run)
        assert "model:aphrodite" in errors and f"product:{uuid}" in errors, errors
        after = _products(env)["aphrodite"]
        assert (after["name"], after["id"], len(after["variants"])) == (
            model_product["name"], model_product["id"], len(model_product["variants"]))


def test_urls_are_unique_and_stay_when_a_product_is_renamed(redis_url, tmp_path):
    with import_env(redis_url, tmp_path, category="print") as env:
        for identifier in ("HAT.1", "HAT-1", "hat_1"):
            _create_pim_product(env, identifier, "Hat")
        run = _sync(env, "full")
        assert run["counts"]["products"]["failed"] == 0, run
        hats = {sku: p for sku, p in _products(env).items() if sku in ("hat.1", "hat-1", "hat_1")}
        urls = {p["custom_url"]["url"].lower() for p in hats.values()}
        assert len(hats) == 3 and len(urls) == 3
        patch_product(env, "HAT.1", {"values": {"name": [{"locale": None, "scope": None, "data": "Straw hat"}]}})
        _sync(env, "delta")
        again = _products(env)
        assert again["hat.1"]["name"] == "Straw hat"
        assert again["hat.1"]["custom_url"]["url"] == hats["hat.1"]["custom_url"]["url"]
        assert _sync(env, "full")["counts"]["products"]["failed"] == 0  # no 409 on any later run


def test_a_mapping_change_reaches_every_product_on_the_next_delta(redis_url, tmp_path):
    with import_env(redis_url, tmp_path, category="print") as env:
        _sync(env, "full")
        doc = _mapping_in_force(env)  # as the mapping page saves it, edited
        doc["fields"]["search_keywords"] = "name"
        save_mapping(env.store, env.tenant, doc)
        run = _sync(env, "delta")
        assert run["mode"] == "full", run
        products = _products(env)
        assert products and all(p["search_keywords"] for p in products.values())
        assert _sync(env, "delta")["mode"] == "delta"


def test_images_follow_the_pims_order_without_a_new_download(redis_url, tmp_path):
    with import_env(redis_url, tmp_path, category="print") as env:
        first, second = "image", "variation_image"
        doc = _mapping_in_force(env)
        doc["fields"]["images"] = [first, second]
        for family in (doc.get("families") or {}).values():
            family.pop("images", None)
        save_mapping(env.store, env.tenant, doc)
        _sync(env, "full")
        store = pim(env).store
        product = store.product("1111111171")
        other = store.product("1111111172")["values"][first]
        patch_product(env, product["identifier"], {"values": {second: other}})
        _sync(env, "delta")  # a second image
        key = f"product:{product['uuid']}"
        state = env.store.ledger(env.tenant).product_states([key])[key]
        id_of = {code: image_id for code, image_id, *_ in state["img"]}
        bag, belt = product["values"][first][0]["data"], other[0]["data"]
        patch_product(env, product["identifier"], {"values": {
            first: store.product(product["identifier"])["values"][second], second: product["values"][first]}})
        env.reset_requests()
        _sync(env, "delta")
        counts = env.requests()["counts"]
        assert "POST /v3/catalog/products/{product_id}/images" not in counts, counts
        shown = sorted(_products(env)[product["identifier"].lower()]["images"], key=lambda i: i["sort_order"])
        assert [i["id"] for i in shown] == [id_of[belt], id_of[bag]]  # the PIM's new order, same images
        assert shown[0]["is_thumbnail"] and not shown[1]["is_thumbnail"]


def test_an_older_read_never_overwrites_a_newer_one_nor_brings_back_a_deleted_product(redis_url, tmp_path):
    with import_env(redis_url, tmp_path, category="print", options={"removed": "delete"}) as env:
        _sync(env, "full")
        store = pim(env).store
        page_read_at = time.time()
        # what an import page read before the merchant's edits (it is written after them)
        api_items = _read_products(env, ["1111111171", "1111111172"])
        patch_product(env, "1111111171", {"values": {"name": [{"locale": None, "scope": None, "data": "New bag"}]}})
        gone_uuid = store.product("1111111172")["uuid"]
        delete_product(env, "1111111172")
        event(env, uuids=[store.product("1111111171")["uuid"], gone_uuid])
        assert _products(env)["1111111171"]["name"] == "New bag" and "1111111172" not in _products(env)

        async def stale_page() -> None:
            async with open_sync_context(_settings(env), env.conn, env.store, env.tenant, None) as ctx:
                tctx = await items.transform_context(ctx)
                await items.load_simple_products(ctx, tctx, api_items, PageCommit(), build_simple_product,
                                                  read_at=page_read_at)

        asyncio.run(stale_page())
        products = _products(env)
        assert products["1111111171"]["name"] == "New bag" and "1111111172" not in products


def _mapping_in_force(env: Env) -> dict:
    async def read() -> dict:
        async with open_sync_context(_settings(env), env.conn, env.store, env.tenant, None) as ctx:
            return (await build_context(ctx.store, ctx.tenant, ctx.settings, pim=ctx.pim, bc=ctx.bc)).mapping.to_json()

    return asyncio.run(read())


def _read_products(env: Env, identifiers: list[str]) -> list[dict]:
    """The products as the PIM's API gives them to an import page (channel ecommerce, locale en_US)."""

    async def read() -> list[dict]:
        async with open_sync_context(_settings(env), env.conn, env.store, env.tenant, None) as ctx:
            return [await ctx.pim.get_product(pim(env).store.product(i)["uuid"], scope="ecommerce",
                                              locales="en_US") for i in identifiers]

    return asyncio.run(read())
