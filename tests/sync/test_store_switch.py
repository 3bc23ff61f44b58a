"""After the tenant switches stores, nothing learned from the old store is used against the new one: the
new store's own products are never overwritten nor deleted, and every id the connector names in a
request to the new store is one that store handed out to it (issue 18)."""

from __future__ import annotations

import httpx

from service.imports import start_cleanup
from service.store.imports import ImportStore
from tests.import_env import STORE_HASH, Env, import_env
from workers.sync.engine import first_checkpoint

STORE_B, TOKEN_B, MERCHANT_B = "st0reb", "token-b", "merchant-b"


def _merchant_products(env: Env, n: int) -> dict[int, dict]:
    """Products the merchant made in store B by hand (ids 1..n: BigCommerce ids are per store)."""
    env.bc_app.state.bc.create_store(STORE_B, TOKEN_B)
    env.bc_app.state.bc.add_token(STORE_B, MERCHANT_B)
    made = {}
    for i in range(n):
        answer = httpx.post(f"{env.bc_url}/stores/{STORE_B}/v3/catalog/products", timeout=30,
                            headers={"X-Auth-Token": MERCHANT_B}, json={
                                "name": f"Merchant's own {i}", "type": "physical", "weight": 1, "price": 7,
                                "sku": f"OWN-{i}", "description": "hand made"})
        assert answer.status_code == 200, answer.text
        made[answer.json()["data"]["id"]] = answer.json()["data"]
    return made


def _store_b(env: Env) -> dict:
    return httpx.get(f"{env.bc_url}/sandbox/stores/{STORE_B}/state", timeout=30).json()


def _switch_to_b(env: Env) -> None:
    """What a confirmed PUT /api/config/bigcommerce puts in force after its test passed."""
    assert env.store.save_connection(env.tenant, "bigcommerce", {"access_token": TOKEN_B},
                                     {"store_hash": STORE_B, "connected": True}) is None
    env.store.put_section(env.tenant, "status", {**env.store.get_section(env.tenant, "status"),
                                                 "next_import": "full"})


def _ids_named_but_never_handed_out(env: Env) -> list[dict]:
    """Requests to store B that name an id store B never handed out to the connector before them."""
    log = httpx.get(f"{env.bc_url}/sandbox/stores/{STORE_B}/requests", params={"limit": 10000}, timeout=30).json()
    assert log["total"] == len(log["requests"])  # the whole log: nothing cut off
    handed_out: set[int] = set()
    wrong = []
    for entry in log["requests"]:
        strangers = set(entry["ids"]) - handed_out
        if strangers:
            wrong.append({**entry, "strangers": sorted(strangers)})
        handed_out.update(entry["answer_ids"])
    return wrong


def test_after_a_store_switch_the_new_stores_own_products_are_never_touched(redis_url, tmp_path):
    with import_env(redis_url, tmp_path, category="print") as env:
        run_id = env.start("full")
        env.work()
        assert env.run(run_id)["status"] == "succeeded"
        learned_in_a = {p["id"] for p in env.state()["products"]}
        assert learned_in_a

        own = _merchant_products(env, max(learned_in_a) + 5)  # every id learned in A names one in B
        _switch_to_b(env)
        httpx.delete(f"{env.bc_url}/sandbox/stores/{STORE_B}/requests", timeout=30)
        assert httpx.patch(f"{env.pim_url}/sandbox/products/1111111240", timeout=30, json={
            "values": {"name": [{"locale": None, "scope": None, "data": "Straw hat"}]}}).status_code == 200

        run_id = env.start("delta")  # the new store gets a full import whatever was asked
        env.work()
        run = env.run(run_id)
        assert run["status"] == "succeeded" and run["mode"] == "full", run
        state = _store_b(env)
        ours = [p for p in state["products"] if p["id"] not in own]
        assert len(ours) == len(learned_in_a)  # all created in B, none merged into the merchant's
        assert {p["id"]: (p["name"], p["sku"], p["price"], p["description"]) for p in state["products"]
                if p["id"] in own} == {pid: (p["name"], p["sku"], p["price"], p["description"])
                                       for pid, p in own.items()}

        # a confirmed category change, then the clean-up with "delete": only what was made in B goes
        main = env.store.get_section(env.tenant, "main")
        env.store.put_section(env.tenant, "main", {**main, "category": "master"})
        env.store.put_section(env.tenant, "status", {**env.store.get_section(env.tenant, "status"),
                                                     "next_import": "full"})
        start_cleanup(env.store, env.conn, env.tenant, "delete")
        env.work()
        assert env.store.get_section(env.tenant, "cleanup")["state"] == "succeeded"
        assert {p["id"] for p in _store_b(env)["products"]} == set(own)
        assert _ids_named_but_never_handed_out(env) == []


def test_a_run_started_for_one_store_never_writes_into_the_next(redis_url, tmp_path):
    """A run whose store changed between its pages ends, failed, with a message: what it read and
    decided was for the other store."""
    with import_env(redis_url, tmp_path, category="print") as env:
        run_id = env.start("full")
        # as its first page leaves it: the run is bound to store A
        ImportStore(env.conn).set_checkpoint(run_id, {**first_checkpoint("full", None), "store_hash": STORE_HASH})
        _merchant_products(env, 3)
        _switch_to_b(env)
        env.work()
        run = env.run(run_id)
        assert run["status"] == "failed" and "store was changed" in run["message"], run
        assert len(_store_b(env)["products"]) == 3
