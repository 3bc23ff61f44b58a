"""A delta sends again what failed before, even when the PIM did not change it since: a failure is not
forgotten just because the product's `updated` date is older than the last run (workers/sync/engine.py,
the `retry` phase; the failed items are `ImportStore.note_failures`'s set)."""

from __future__ import annotations

import time

import httpx

from tests.import_env import STORE_HASH, TOKEN, expected_catalog, import_env

CLASH = "Merchant's own camera bag"


def _store(env, method: str, path: str, **kwargs) -> httpx.Response:
    return httpx.request(method, f"{env.bc_url}/stores/{STORE_HASH}{path}", headers={"X-Auth-Token": TOKEN},
                         timeout=30, **kwargs)


def _named(env, sku: str) -> str:
    return next(p["name"] for p in env.state()["products"] if p["sku"].lower() == sku.lower())


def _writes(env) -> dict:
    return {r: n for r, n in env.requests()["counts"].items() if not r.startswith("GET ")}


def test_a_delta_sends_again_what_the_store_refused_though_the_pim_did_not_change(redis_url, tmp_path):
    # no margin before the last run's start (300 s by default, for clocks and saves in flight): with it, a
    # delta minutes after the change would read the product again anyway and hide what is tested here
    with import_env(redis_url, tmp_path, category="lg", extra_env={"CONNECTOR_DELTA_MARGIN": "0"}) as env:
        run_id = env.start("full")
        env.work()
        assert env.run(run_id)["status"] == "succeeded"
        sku = sorted(expected_catalog("lg").simple)[0]
        before = _named(env, sku)

        # the merchant has a product of their own in the store with the name the PIM now gives this one
        mine = _store(env, "POST", "/v3/catalog/products", json={
            "name": CLASH, "type": "physical", "weight": 1, "price": 10, "sku": "MERCHANT-OWN-1"})
        assert mine.status_code == 200, mine.text
        time.sleep(1.1)  # the change is a second after the full run's start (`updated >`, second precision)
        renamed = httpx.patch(f"{env.pim_url}/sandbox/products/{sku}", timeout=30, json={
            "values": {"name": [{"locale": None, "scope": None, "data": CLASH}]}})
        assert renamed.status_code == 200, renamed.text
        time.sleep(1.1)  # Akeneo's `updated >` has second precision: the next delta starts a second later
        run_id = env.start("delta")
        env.work()
        refused = env.run(run_id)
        assert refused["status"] == "partial" and refused["counts"]["products"]["failed"] == 1, refused["counts"]
        assert any(sku.lower() in str(e.get("item", "")).lower() for e in refused["errors"]), refused["errors"]
        assert _named(env, sku) == before
        assert env.store.ledger(env.tenant).count_failed() == 1

        # the merchant renames their own product; nothing changes in the PIM
        own_id = mine.json()["data"]["id"]
        assert _store(env, "PUT", f"/v3/catalog/products/{own_id}", json={"name": "Renamed by the merchant"}
                      ).status_code == 200
        env.reset_requests()
        time.sleep(1.1)
        run_id = env.start("delta")
        env.work()
        retried = env.run(run_id)
        assert retried["status"] == "succeeded", retried
        assert retried["counts"]["products"]["updated"] == 1 and retried["counts"]["products"]["failed"] == 0
        assert _named(env, sku) == CLASH
        assert _writes(env) == {"PUT /v3/catalog/products": 1}, _writes(env)
        assert env.store.ledger(env.tenant).count_failed() == 0

        # once it went through, nothing is retried any more
        env.reset_requests()
        run_id = env.start("delta")
        env.work()
        quiet = env.run(run_id)
        assert quiet["status"] == "succeeded" and quiet["counts"]["products"]["updated"] == 0, quiet["counts"]
        assert _writes(env) == {}


def test_a_failed_item_that_left_the_scope_or_the_pim_is_not_retried_for_ever(redis_url, tmp_path):
    """Failures of items never sent (a create that failed): once the item is out of the scope, or gone
    from the PIM, the next delta finds nothing to send and forgets it, writing nothing."""
    with import_env(redis_url, tmp_path, category="lg", extra_env={"CONNECTOR_DELTA_MARGIN": "0"}) as env:
        run_id = env.start("full")
        env.work()
        assert env.run(run_id)["status"] == "succeeded"
        outside = sorted(set(expected_catalog("master").simple) - set(expected_catalog("lg").simple))[0]
        outside_key = f"product:{env.pim_app.state.pim.store.product(outside)['uuid']}"
        gone_key = "product:00000000-0000-4000-8000-000000000000"
        ledger = env.store.ledger(env.tenant)
        ledger.note_failures([outside_key, gone_key], [])  # as a failed create leaves them
        assert ledger.count_failed() == 2
        env.reset_requests()
        time.sleep(1.1)
        run_id = env.start("delta")
        env.work()
        run = env.run(run_id)
        assert run["status"] == "succeeded" and run["counts"]["products"]["failed"] == 0, run
        assert ledger.count_failed() == 0
        assert _writes(env) == {}
        assert outside.lower() not in {p["sku"].lower() for p in env.state()["products"]}
