"""A store that already has products: the import links them by SKU instead of duplicating, takes a
distinct name when a product it does not know holds the PIM's name, and re-creates a product the
merchant deleted in the store."""

from __future__ import annotations

import httpx

from tests.import_env import STORE_HASH, TOKEN, expected_catalog, import_env


def _api(env, method: str, path: str, **kwargs) -> httpx.Response:
    return httpx.request(method, f"{env.bc_url}/stores/{STORE_HASH}{path}", headers={"X-Auth-Token": TOKEN},
                         timeout=30, **kwargs)


def test_existing_products_are_adopted_named_apart_and_recreated(redis_url, tmp_path):
    with import_env(redis_url, tmp_path, category="print") as env:
        # the store had "Bag" under the PIM's SKU, and a product of its own named "Belt"
        existing = _api(env, "POST", "/v3/catalog/products", json={
            "name": "Old bag", "type": "physical", "sku": "1111111171", "price": 5, "weight": 1,
            "custom_fields": [{"name": "legacy", "value": "kept"}]}).json()["data"]
        foreign = _api(env, "POST", "/v3/catalog/products", json={
            "name": "Belt", "type": "physical", "sku": "THEIRS-1", "price": 5, "weight": 1}).json()["data"]
        run_id = env.start("full")
        env.work()
        run = env.run(run_id)
        assert run["status"] == "succeeded", run["errors"]
        products = {p["sku"]: p for p in env.state()["products"]}
        expected = expected_catalog("print")
        assert len(products) == len(expected.simple) + len(expected.models) + 1  # + the store's own product
        bag = products["1111111171"]
        assert bag["id"] == existing["id"] and bag["name"] == "Bag"  # adopted, updated, not duplicated
        assert {"legacy": "kept"}.items() <= {f["name"]: f["value"] for f in bag["custom_fields"]}.items()
        assert products["THEIRS-1"]["name"] == "Belt"  # the store's product is left alone
        assert products["1111111172"]["name"] == "Belt (1111111172)"
        assert any(w.get("field") == "name" and "1111111172" in w["item"] for w in run["warnings"])
        assert run["counts"]["products"]["updated"] == 1
        assert foreign["id"] not in {p["id"] for p in env.state()["products"] if p["sku"] != "THEIRS-1"}

        # the merchant deletes "Hat" in the store; the next change in the PIM brings it back
        hat = products["1111111240"]
        assert _api(env, "DELETE", f"/v3/catalog/products/{hat['id']}").status_code == 204
        assert httpx.patch(f"{env.pim_url}/sandbox/products/1111111240", timeout=30, json={
            "values": {"name": [{"locale": None, "scope": None, "data": "Summer hat"}]}}).status_code == 200
        run_id = env.start("delta")
        env.work()
        run = env.run(run_id)
        assert run["status"] == "succeeded", run["errors"]
        again = {p["sku"]: p for p in env.state()["products"]}["1111111240"]
        assert again["id"] != hat["id"] and again["name"] == "Summer hat" and again["channels"] == [1]
        assert run["counts"]["products"]["created"] == 1


def test_removed_products_are_deleted_when_the_merchant_chose_so(redis_url, tmp_path):
    with import_env(redis_url, tmp_path, category="print", options={"removed": "delete"}) as env:
        run_id = env.start("full")
        env.work()
        assert env.run(run_id)["status"] == "succeeded"
        before = {p["sku"]: p for p in env.state()["products"]}
        # removed from the PIM: deleted; disabled (still in the PIM): only hidden
        assert httpx.delete(f"{env.pim_url}/sandbox/products/1111111171", timeout=30).status_code in (200, 204)
        assert httpx.patch(f"{env.pim_url}/sandbox/products/1111111172", json={"enabled": False},
                           timeout=30).status_code == 200
        run_id = env.start("full")
        env.work()
        run = env.run(run_id)
        assert run["counts"]["products"]["deleted"] == 1 and run["counts"]["products"]["hidden"] == 1, run["counts"]
        after = {p["sku"]: p for p in env.state()["products"]}
        assert "1111111171" not in after and not after["1111111172"]["is_visible"]
        assert set(before) - set(after) == {"1111111171"}
