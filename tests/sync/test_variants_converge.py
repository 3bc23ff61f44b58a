"""A model's variants in the store follow the PIM by the variants' identity (their uuid), whatever
changes: an axis value, an option's or an axis's label, an identifier, a variant moved to another model
or deleted, a simple product turned into a variant and back."""

from __future__ import annotations

import asyncio

import httpx

from service.settings import load_settings
from tests.import_env import STORE_HASH, TOKEN, Env, import_env
from tests.sync.pim_edits import (
    delete_product,
    expected_variants,
    patch_product,
    pim,
    rename_attribute,
    rename_identifier,
    rename_option,
    store_option_labels,
    store_variants,
)
from workers.sync.context import open_sync_context
from workers.sync.dirty import sync_dirty

MODELS = ("aphrodite", "aurora", "artemis")


def event(env: Env, *, uuids=(), models=()) -> None:
    """What the events worker does with a batch of change events: the one path of events and retries."""
    settings = load_settings({k: env.env[k] for k in ("REDIS_URL", "SECRET_KEY", "BC_API_URL", "APP_URL",
                                                     "DATA_DIR", "ALLOW_PRIVATE_URLS")})

    async def go() -> None:
        async with open_sync_context(settings, env.conn, env.store, env.tenant, None) as ctx:
            result = await sync_dirty(ctx, uuids=list(uuids), model_codes=list(models))
            assert not result.commit.errors, result.commit.errors

    asyncio.run(go())


def _sync(env: Env, mode: str) -> dict:
    run_id = env.start(mode)
    env.work()
    run = env.run(run_id)
    assert run["status"] == "succeeded", run
    return run


def _assert_in_step(env: Env, *models: str) -> None:
    for code in models:
        assert store_variants(env, code) == expected_variants(env, code), code
        offered = store_option_labels(env, code)
        used: dict[str, set[str]] = {}
        for _, labels in expected_variants(env, code):
            for axis, label in labels:
                used.setdefault(axis, set()).add(label)
        assert offered == used, code  # no option value nobody can buy


def test_axis_values_identifiers_moves_and_deletions_reach_the_store(redis_url, tmp_path):
    with import_env(redis_url, tmp_path, category="print", options={"removed": "delete"}) as env:
        _sync(env, "full")
        _assert_in_step(env, *MODELS)
        patch_product(env, "1111111118", {"values": {"size": [{"locale": None, "scope": None, "data": "l"}]}})
        rename_identifier(env, "1111111117", "1111111117-R")
        taken = {labels for _, labels in expected_variants(env, "aurora")}
        mover = next(p for p in ("1111111116", "1111111115", "1111111114")
                     if (dict(e for e in expected_variants(env, "aphrodite"))).get(p) not in taken)
        patch_product(env, mover, {"parent": "aurora"})
        run = _sync(env, "delta")
        assert run["counts"]["products"]["failed"] == 0, run
        _assert_in_step(env, *MODELS)
        # a deletion moves no `updated` in the PIM: its change event brings it (else the next full import)
        gone = pim(env).store.product("1111111148")["uuid"]
        delete_product(env, "1111111148")  # an artemis variant
        event(env, uuids=[gone])
        _assert_in_step(env, *MODELS)
        skus = {v["sku"].lower() for p in env.state()["products"] for v in p["variants"]}
        assert "1111111117" not in skus and "1111111148" not in skus
        delete_product(env, "1111111147")
        _sync(env, "full")
        _assert_in_step(env, *MODELS)


def test_option_and_axis_label_renames_reach_the_store_without_a_product_edit(redis_url, tmp_path):
    with import_env(redis_url, tmp_path, category="print") as env:
        _sync(env, "full")
        rename_option(env, "color", "blue", "Navy")
        run = _sync(env, "delta")  # nothing was edited: the schema changed, so every product is checked
        assert run["mode"] == "full", run
        _assert_in_step(env, *MODELS)
        assert any(label == ("Color", "Navy") for _, labels in store_variants(env, "aphrodite") for label in labels)
        rename_attribute(env, "size", "Size (EU)")
        _sync(env, "delta")
        _assert_in_step(env, *MODELS)
        again = _sync(env, "delta")  # in step: the next delta is a delta again, and writes nothing
        assert again["mode"] == "delta" and again["counts"]["products"]["updated"] == 0, again


def test_with_hide_a_variant_gone_from_the_pim_stays_in_the_store_unbuyable(redis_url, tmp_path):
    with import_env(redis_url, tmp_path, category="print") as env:
        _sync(env, "full")
        gone = pim(env).store.product("1111111148")["uuid"]
        delete_product(env, "1111111148")
        event(env, uuids=[gone])
        artemis = next(p for p in env.state()["products"] if p["sku"] == "artemis")
        kept = {v["sku"]: v["purchasing_disabled"] for v in artemis["variants"] if v.get("option_values")}
        assert kept.pop("1111111148") is True and not any(kept.values())


def test_a_simple_product_turned_variant_and_back_is_one_store_item_each_time(redis_url, tmp_path):
    with import_env(redis_url, tmp_path, category="print", options={"removed": "delete"}) as env:
        _sync(env, "full")
        # a variant leaves its model: a simple product now (the PIM keeps its uuid)
        store = pim(env).store
        patch_product(env, "1111111115", {"parent": None})
        store.product("1111111115")["categories"] = ["print_clothing"]
        _sync(env, "delta")
        products = {p["sku"].lower(): p for p in env.state()["products"]}
        assert "1111111115" in products  # a product of its own
        _assert_in_step(env, "aphrodite")
        # and back into its model
        patch_product(env, "1111111115", {"parent": "aphrodite"})
        _sync(env, "delta")
        products = {p["sku"].lower(): p for p in env.state()["products"]}
        assert "1111111115" not in products
        _assert_in_step(env, "aphrodite")


def test_a_refused_variant_is_tried_again_until_it_is_in_the_store(redis_url, tmp_path):
    """BigCommerce refuses a new variant (its SKU is a product the merchant made by hand): the product is
    not called done; once the merchant removes theirs, the next delta sends it, with no PIM change."""
    with import_env(redis_url, tmp_path, category="print") as env:
        _sync(env, "full")
        mine = httpx.post(f"{env.bc_url}/stores/{STORE_HASH}/v3/catalog/products", timeout=30,
                          headers={"X-Auth-Token": TOKEN}, json={"name": "Hand made", "type": "physical",
                                                                  "weight": 1, "price": 3, "sku": "NEWVAR-1"})
        assert mine.status_code == 200, mine.text
        answer = httpx.post(f"{env.pim_url}/sandbox/products", timeout=30, json={
            "identifier": "NEWVAR-1", "parent": "aphrodite", "values": {
                "color": [{"locale": None, "scope": None, "data": "red"}],
                "size": [{"locale": None, "scope": None, "data": "m"}]}})
        assert answer.status_code in (200, 201), answer.text
        run_id = env.start("delta")
        env.work()
        assert env.run(run_id)["status"] == "partial"
        assert ("newvar-1", (("Color", "Red"), ("Size", "M"))) not in store_variants(env, "aphrodite")
        assert httpx.delete(f"{env.bc_url}/stores/{STORE_HASH}/v3/catalog/products/{mine.json()['data']['id']}",
                            headers={"X-Auth-Token": TOKEN}, timeout=30).status_code == 204
        _sync(env, "delta")
        _assert_in_step(env, "aphrodite")
