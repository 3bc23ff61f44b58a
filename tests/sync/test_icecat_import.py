"""The icecat catalog imported into the BigCommerce sandbox, checked against the CSVs.

One import is shared by the module (it takes ~15 s); the later tests run more imports on top of it in
order: nothing changed (0 writes), a delta after 25 changes (≤ 3 product writes), then removals.
"""

from __future__ import annotations

from collections import Counter

import httpx
import pytest

from tests.import_env import expected_catalog, import_env

WRITE = ("POST", "PUT", "DELETE")


@pytest.fixture(scope="module")
def icecat(redis_url, tmp_path_factory):
    with import_env(redis_url, tmp_path_factory.mktemp("icecat")) as env:
        run_id = env.start("full")
        env.work()
        yield env, run_id


def _writes(counts: dict) -> dict:
    return {route: n for route, n in counts.items() if route.split(" ")[0] in WRITE}


def _by_sku(state: dict) -> dict[str, dict]:
    return {p["sku"].lower(): p for p in state["products"]}


def test_icecat_store_matches_the_csvs(icecat):
    env, run_id = icecat
    run = env.run(run_id)
    assert run["status"] == "succeeded", run.get("errors")
    expected = expected_catalog("master")
    state = env.state()
    products = _by_sku(state)

    # every simple product and every root model is one product; nothing else is in the store
    model_skus = {}
    for code in expected.models:
        sku = code.lower() if code.lower() in products else f"{code}-model".lower()
        model_skus[code] = sku
    wanted = {s.lower() for s in expected.simple} | set(model_skus.values())
    assert set(products) == wanted
    assert run["counts"]["products"]["created"] == len(wanted) == 999 + 49

    # variants: one per leaf, SKUs as in the PIM
    for code, skus in expected.models.items():
        assert {v["sku"] for v in products[model_skus[code]]["variants"] if v["option_values"]} == skus, code
    # images: every image value whose file exists, once (a missing file never costs the product)
    for sku, count in expected.simple.items():
        assert len(products[sku.lower()]["images"]) == count, sku
    assert sum(expected.simple.values()) > 100

    # no duplicate SKU across products and variants, names unique, all in the channel
    # (a simple product's base variant carries the product's own SKU: not a second one)
    all_skus = [p["sku"].lower() for p in state["products"]] + [
        v["sku"].lower() for p in state["products"] for v in p["variants"] if v.get("option_values")]
    assert [s for s, n in Counter(all_skus).items() if n > 1] == []
    names = Counter(p["name"].lower() for p in state["products"])
    assert max(names.values()) == 1
    assert all(p["channels"] == [1] for p in state["products"])
    # icecat: 998 of 999 simple products have no EUR/USD price: hidden, never visible at price 0
    assert not [p["sku"] for p in state["products"] if p["is_visible"] and float(p["price"]) == 0]
    warnings = run["warnings"]
    assert any(w.get("field") == "price" for w in warnings)
    assert any(w.get("field") == "name" and "(" in w["message"] for w in warnings)


def test_second_full_import_makes_no_write(icecat):
    env, _ = icecat
    env.reset_requests()
    run_id = env.start("full")
    env.work()
    run = env.run(run_id)
    assert run["status"] == "succeeded"
    assert run["counts"]["products"]["unchanged"] == 999 + 49
    assert run["counts"]["products"]["created"] == run["counts"]["products"]["updated"] == 0
    assert _writes(env.requests()["counts"]) == {}


def test_delta_after_25_changes_is_3_product_writes(icecat):
    env, _ = icecat
    expected = expected_catalog("master")
    changed = sorted(expected.simple)[:25]
    for sku in changed:
        body = {"values": {"price": [{"locale": None, "scope": None,
                                      "data": [{"amount": "19.99", "currency": "EUR"}]}]}}
        response = httpx.patch(f"{env.pim_url}/sandbox/products/{sku}", json=body, timeout=30)
        assert response.status_code == 200, response.text
    env.reset_requests()
    run_id = env.start("delta")
    env.work()
    run = env.run(run_id)
    assert run["status"] == "succeeded", run.get("errors")
    assert run["counts"]["products"]["updated"] == 25
    writes = _writes(env.requests()["counts"])
    product_writes = sum(n for route, n in writes.items() if route.endswith("/v3/catalog/products"))
    assert product_writes <= 3 and sum(writes.values()) <= 3, writes
    products = _by_sku(env.state())
    for sku in changed:
        assert float(products[sku.lower()]["price"]) == 19.99 and products[sku.lower()]["is_visible"], sku
        # the base variant of a simple product stays purchasable
        assert not any(v.get("purchasing_disabled") for v in products[sku.lower()]["variants"]), sku


def test_full_import_hides_disabled_and_removed_products(icecat):
    env, _ = icecat
    expected = expected_catalog("master")
    disabled, removed = sorted(expected.simple)[-2:]
    assert httpx.patch(f"{env.pim_url}/sandbox/products/{disabled}", json={"enabled": False},
                       timeout=30).status_code == 200
    assert httpx.delete(f"{env.pim_url}/sandbox/products/{removed}", timeout=30).status_code in (200, 204)
    run_id = env.start("full")
    env.work()
    run = env.run(run_id)
    assert run["counts"]["products"]["hidden"] == 2, run["counts"]
    products = _by_sku(env.state())
    assert not products[disabled.lower()]["is_visible"] and not products[removed.lower()]["is_visible"]
    # hidden once: the next full run leaves them alone
    env.reset_requests()
    run_id = env.start("full")
    env.work()
    assert env.run(run_id)["counts"]["products"]["hidden"] == 0
    assert _writes(env.requests()["counts"]) == {}


def test_delta_carries_a_model_s_own_change(icecat):
    env, _ = icecat
    body = {"values": {"description": [{"locale": "en_US", "scope": "ecommerce",
                                        "data": "<p>Reworked tweed, same cut.</p>"}]}}
    assert httpx.patch(f"{env.pim_url}/sandbox/product-models/amor", json=body, timeout=30).status_code == 200
    env.reset_requests()
    run_id = env.start("delta")
    env.work()
    run = env.run(run_id)
    assert run["status"] == "succeeded" and run["counts"]["products"]["updated"] == 1, run["counts"]
    amor = _by_sku(env.state())["amor"]
    assert "Reworked tweed" in amor["description"]
    writes = _writes(env.requests()["counts"])
    assert writes == {"PUT /v3/catalog/products": 1}, writes  # variants unchanged: not sent


def test_delta_hides_what_left_the_main_category(icecat):
    """Moved out of the main category's subtree: the scoped delta search cannot see it, the delta still hides it."""
    env, _ = icecat
    expected = expected_catalog("master")
    moved = sorted(expected.simple)[30]
    model = sorted(expected.models)[0]
    assert httpx.patch(f"{env.pim_url}/sandbox/products/{moved}", json={"categories": []},
                       timeout=30).status_code == 200
    assert httpx.patch(f"{env.pim_url}/sandbox/product-models/{model}", json={"categories": []},
                       timeout=30).status_code == 200
    run_id = env.start("delta")
    env.work()
    run = env.run(run_id)
    assert run["status"] == "succeeded", run.get("errors")
    assert run["counts"]["products"]["hidden"] == 2, run["counts"]
    products = _by_sku(env.state())
    assert not products[moved.lower()]["is_visible"]
    assert not products[model.lower()]["is_visible"]
    # hidden once: the next delta leaves them alone
    env.reset_requests()
    run_id = env.start("delta")
    env.work()
    assert env.run(run_id)["counts"]["products"].get("hidden", 0) == 0
    assert _writes(env.requests()["counts"]) == {}
