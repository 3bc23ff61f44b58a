"""Change events end to end: the sandbox PIM's edits, signed events over real HTTP to the connector, a
real RQ worker (burst) running the debounced sync through the import engine's loaders, the sandbox store.

One small import (the `print` subtree: 3 simple products, 17 models) is shared by the module."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from rq import Queue

from service.app import create_app
from service.settings import load_settings
from service.store.embed import ItemSyncs
from service.store.events import EventStore
from service.store.rate_governor import RateGovernor
from tests.faults_env import kill_worker
from tests.import_env import STORE_HASH, TOKEN, expected_catalog, import_env, wait_for
from tests.servers import serve

SECRET = "event-secret-0123456789abcdef"
WRITE = ("POST", "PUT", "DELETE")


def _price(amount: str) -> dict:
    return {"values": {"price": [{"locale": None, "scope": None, "data": [{"amount": amount, "currency": "EUR"}]}]}}


@pytest.fixture(scope="module")
def events_env(redis_url, tmp_path_factory):
    with import_env(redis_url, tmp_path_factory.mktemp("events"), category="print") as env:
        run_id = env.start("full")
        env.work()
        assert env.run(run_id)["status"] == "succeeded"
        env.store.put_credentials(env.tenant, "event_platform", {"primary": SECRET, "secondary": SECRET + "2"})
        settings = load_settings(env.env)
        with serve(create_app(settings, env.conn)) as app_url:
            # the sandbox PIM delivers signed CloudEvents for every admin change to the connector
            hook = httpx.post(f"{env.pim_url}/sandbox/webhooks", json={
                "url": f"{app_url}/webhooks/akeneo/{env.tenant}", "secret": SECRET, "format": "event_platform"})
            assert hook.status_code == 201
            yield env, app_url


def _writes(env) -> dict:
    return {r: n for r, n in env.requests()["counts"].items() if r.split(" ")[0] in WRITE}


def _product(env, sku: str) -> dict | None:
    return next((p for p in env.state()["products"] if p["sku"].lower() == sku.lower()), None)


def _uuid(env, sku: str) -> str:
    return env.pim_app.state.pim.store.product(sku)["uuid"]


def _post_event(env, app_url: str, kind: str, data: dict) -> httpx.Response:
    body = json.dumps({"specversion": "1.0", "id": str(uuid.uuid4()), "source": env.pim_url,
                       "type": f"com.akeneo.pim.v1.{kind}", "subject": "x", "time": "2026-12-01T00:00:00Z",
                       "data": data}).encode()
    signature = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    return httpx.post(f"{app_url}/webhooks/akeneo/{env.tenant}", content=body,
                      headers={"X-AKENEO-SIGNATURE-PRIMARY": signature})


def _settle(env) -> None:
    """Wait for the sandbox's deliveries of the edits so far, then drain the events queue."""
    wait_for(lambda: EventStore(env.conn).waiting(env.tenant) > 0 or Queue("events", connection=env.conn).count,
             timeout=10, every=0.02)
    env.work(timeout=120)
    assert EventStore(env.conn).waiting(env.tenant) == 0


def test_a_price_change_reaches_the_store(events_env):
    env, _ = events_env
    sku = sorted(expected_catalog("print").simple)[0]
    env.reset_requests()
    assert httpx.patch(f"{env.pim_url}/sandbox/products/{sku}", json=_price("21.50")).status_code == 200
    _settle(env)
    product = _product(env, sku)
    assert float(product["price"]) == 21.5 and product["is_visible"]
    writes = _writes(env)
    assert sum(writes.values()) == 1, writes
    summary = EventStore(env.conn).summary(env.tenant)
    assert summary["last_hour"]["applied"] >= 1 and summary["waiting"] == 0 and summary["last_event_at"]


def test_twenty_updates_of_one_product_in_a_second_are_at_most_two_writes(events_env):
    env, _ = events_env
    sku = sorted(expected_catalog("print").simple)[1]
    env.reset_requests()
    # the first change queues the job; the worker starts while the other 19 arrive within the second
    assert httpx.patch(f"{env.pim_url}/sandbox/products/{sku}", json=_price("30.00")).status_code == 200
    wait_for(lambda: Queue("events", connection=env.conn).count, timeout=10, every=0.02)
    worker = env.worker(burst=True)
    try:
        wait_for(lambda: env.conn.exists("connector:lease:events:" + env.tenant), timeout=30, every=0.01)
        # 19 more changes within the second: 4 at a time (one sandbox PATCH costs 50-300 ms here)
        start = time.monotonic()
        with httpx.Client(timeout=10) as client, ThreadPoolExecutor(4) as pool:
            def change(i: int) -> int:
                time.sleep(max(0.0, start + i * 0.04 - time.monotonic()))
                return client.patch(f"{env.pim_url}/sandbox/products/{sku}", json=_price(f"{30 + i}.00")).status_code
            statuses = list(pool.map(change, range(1, 20)))
        took = time.monotonic() - start
        assert statuses == [200] * 19
        print(f"19 changes in {took:.2f} s")
        assert took < 1.5
        worker.communicate(timeout=60)
    finally:
        kill_worker(worker)
    if EventStore(env.conn).waiting(env.tenant):
        env.work()  # a delivery that landed after the burst worker ended
    writes = _writes(env)
    product_writes = sum(n for route, n in writes.items() if "/v3/catalog/products" in route)
    assert 1 <= product_writes <= 2 and sum(writes.values()) <= 2, writes
    # the store holds the PIM's latest price (whatever order the concurrent PATCHes landed in)
    latest = env.pim_app.state.pim.store.product(sku)["values"]["price"][0]["data"][0]["amount"]
    assert float(_product(env, sku)["price"]) == float(latest)


def test_an_update_after_a_removal_does_not_resurrect(events_env):
    env, app_url = events_env
    sku = sorted(expected_catalog("print").simple)[2]
    product_uuid = _uuid(env, sku)
    assert httpx.patch(f"{env.pim_url}/sandbox/products/{sku}", json=_price("12.00")).status_code == 200
    _settle(env)
    assert _product(env, sku)["is_visible"]
    assert httpx.delete(f"{env.pim_url}/sandbox/products/{sku}").status_code in (200, 204)
    # out of order: an older "updated" delivered after the removal
    assert _post_event(env, app_url, "product.updated", {"product": {"uuid": product_uuid}}).status_code == 200
    _settle(env)
    assert not _product(env, sku)["is_visible"]
    env.reset_requests()
    for _ in range(3):
        assert _post_event(env, app_url, "product.updated", {"product": {"uuid": product_uuid}}).status_code == 200
    env.work()
    assert not _product(env, sku)["is_visible"]
    assert _writes(env) == {}  # hidden once; later updates of a removed product write nothing


def test_out_of_scope_changes_write_nothing_and_a_product_leaving_the_scope_is_hidden(events_env):
    env, app_url = events_env
    outside = sorted(set(expected_catalog("master").simple) - set(expected_catalog("print").simple))[0]
    env.reset_requests()
    assert httpx.patch(f"{env.pim_url}/sandbox/products/{outside}", json=_price("5.00")).status_code == 200
    _settle(env)
    assert _writes(env) == {} and _product(env, outside) is None
    assert EventStore(env.conn).summary(env.tenant)["last_hour"]["skipped"] >= 1

    # a model of the subtree moved out of it: hidden
    code = sorted(expected_catalog("print").models)[0]
    model = env.pim_app.state.pim.store.model(code)
    before = {p["sku"].lower(): p for p in env.state()["products"]}
    sku = next(s for s in before if s in (code.lower(), f"{code}-model".lower()))
    assert before[sku]["is_visible"] or True
    response = httpx.patch(f"{env.pim_url}/sandbox/product-models/{model['code']}", json={"categories": ["master"]})
    assert response.status_code == 200, response.text
    _settle(env)
    after = _product(env, sku)
    assert after is not None and not after["is_visible"]


def test_a_variant_event_syncs_its_model(events_env):
    env, app_url = events_env
    code = sorted(expected_catalog("print").models)[1]
    variant_sku = sorted(expected_catalog("print").models[code])[0]
    variant = env.pim_app.state.pim.store.product(variant_sku)
    env.reset_requests()
    assert _post_event(env, app_url, "product.updated", {"product": {"uuid": variant["uuid"]}}).status_code == 200
    _settle(env)
    # nothing changed: the model was read and found unchanged (no write), and it was counted
    assert _writes(env) == {}
    counts = env.pim_requests()["counts"]
    assert any("/product-models/" in route for route in counts), counts


def test_events_naming_what_the_pim_does_not_have_leave_no_item_record(events_env):
    """Was (issue 18): the product tab's record of each item's last event sync (`embed:item-syncs`) kept every item an
    event named, so events for made-up uuids and codes grew it without bound; now only what the PIM has or
    what we sent is recorded (bounded by the PIM's size)."""
    env, app_url = events_env
    made_up = [str(uuid.uuid4()) for _ in range(5)]
    for product_uuid in made_up:
        assert _post_event(env, app_url, "product.updated", {"product": {"uuid": product_uuid}}).status_code == 200
    assert _post_event(env, app_url, "product-model.updated", {"product_model": {"code": "no-such-model"}}
                       ).status_code == 200
    real = sorted(expected_catalog("print").simple)[0]
    assert _post_event(env, app_url, "product.updated", {"product": {"uuid": _uuid(env, real)}}).status_code == 200
    _settle(env)
    keys = [f"product:{u}" for u in made_up] + ["model:no-such-model", f"product:{_uuid(env, real).lower()}"]
    recorded = ItemSyncs(env.conn).get(env.tenant, keys)
    assert list(recorded) == keys[-1:], recorded


def test_when_the_store_quota_runs_low_a_stream_of_changes_shares_batch_writes(events_env):
    """Kept last in the module: it spends most of the store's window quota (the grants live ~31 s).

    With the quota plentiful every change is written at once, one request each; with it low, a small
    due batch waits (up to CONNECTOR_EVENTS_LINGER) for more, so a steady stream costs one request per
    10 products instead of exhausting the window and then waiting up to 30 s for the next."""
    env, _ = events_env
    pim = env.pim_app.state.pim.store
    skus = [s for s in sorted(expected_catalog("print").simple) if pim.product(s) and _product(env, s)]
    assert len(skus) >= 2
    governor = RateGovernor(env.conn, STORE_HASH, default_quota=150, default_window_ms=30000)
    # the store's real quota (150 / 30 s), learnt from an answer's headers; then other work on the store
    # spends all but 10 of it
    assert httpx.put(f"{env.bc_url}/sandbox/stores/{STORE_HASH}/rate-limit",
                     json={"quota": 150, "window_ms": 30000}).status_code == 200
    answer = httpx.get(f"{env.bc_url}/stores/{STORE_HASH}/v3/catalog/brands", headers={"X-Auth-Token": TOKEN})
    assert answer.status_code == 200
    governor.observe(answer.headers, answer.status_code)
    while governor.headroom()[0] > 10:
        assert governor.try_acquire()[0] == 0
    left, quota = governor.headroom()
    assert left <= 10 and quota == 150
    env.reset_requests()
    worker = env.worker(burst=False)
    try:
        wait_for(lambda: env.conn.exists("rq:workers"), timeout=30, every=0.05)
        time.sleep(0.5)  # the worker is listening before the changes start
        prices = {}
        for i, sku in enumerate(skus):  # a change every 100 ms: each due on its own without the linger
            prices[sku] = f"{41 + i}.00"
            assert httpx.patch(f"{env.pim_url}/sandbox/products/{sku}", json=_price(prices[sku])).status_code == 200
            time.sleep(0.1)
        wait_for(lambda: all(float(_product(env, s)["price"]) == float(p) for s, p in prices.items()),
                 timeout=30, every=0.05)
    finally:
        kill_worker(worker)  # left alive, it would move and run later tests' jobs
    writes = _writes(env)
    assert writes == {"PUT /v3/catalog/products": 1}, writes
