"""BigCommerceClient against the sandbox store over real HTTP (uvicorn on loopback), real Redis."""

from __future__ import annotations

import asyncio
import logging
import uuid

import pytest

from sandbox.bigcommerce import create_app
from service.clients.bigcommerce import BigCommerceClient
from service.clients.bigcommerce_errors import (
    BigCommerceAuthError,
    BigCommerceConflict,
    BigCommerceForbidden,
    BigCommerceNotFound,
    BigCommercePayloadTooLarge,
    BigCommerceValidationError,
)
from service.store.rate_governor import RateGovernor
from tests.servers import serve

TOKEN = "test-token"


@pytest.fixture(scope="module")
def sandbox():
    app = create_app()
    with serve(app) as base_url:
        yield base_url, app.state.bc


@pytest.fixture
def store(sandbox):
    """A fresh store per test: (api_url, state, hash)."""
    base_url, state = sandbox
    store_hash = f"s{uuid.uuid4().hex[:10]}"
    state.create_store(store_hash, token=TOKEN)
    return base_url, state, store_hash


def run(store, body, **options):
    """Run `body(bc)` with a client on the test store; returns its result."""
    base_url, _, store_hash = store

    async def go():
        async with BigCommerceClient(store_hash, TOKEN, api_url=base_url, **options) as bc:
            return await body(bc)

    return asyncio.run(go())


def product(i: int, **extra) -> dict:
    return {"name": f"Product {i}", "type": "physical", "sku": f"SKU-{i}", "weight": 1, "price": 10, **extra}


def stored_products(state, store_hash: str) -> list[dict]:
    return list(state.stores[store_hash].products.values())


def routes(state, store_hash: str, method: str, route: str) -> list[dict]:
    return [e for e in state.stores[store_hash].log if e["method"] == method and e["route"] == route]


# -- connection and errors --------------------------------------------------------------------


def test_check_connection_returns_store_info(store):
    info = run(store, lambda bc: bc.check_connection())
    assert info["weight_units"] == "KGS" and info["id"]
    _, state, store_hash = store
    assert [e["route"] for e in state.stores[store_hash].log][:2] == ["/v2/time", "/v2/store"]


def test_wrong_token_is_an_auth_error(store):
    base_url, _, store_hash = store

    async def go():
        async with BigCommerceClient(store_hash, "wrong", api_url=base_url) as bc:
            await bc.get_time()

    with pytest.raises(BigCommerceAuthError) as info:
        asyncio.run(go())
    assert info.value.status == 401
    assert info.value.title


def test_missing_scope_is_forbidden(store):
    base_url, state, store_hash = store
    state.add_token(store_hash, "read-only", ("store_v2_products_read_only",))

    async def go():
        async with BigCommerceClient(store_hash, "read-only", api_url=base_url) as bc:
            await bc.get_products_by_skus(["x"])  # reading is allowed
            await bc.create_product(product(1))

    with pytest.raises(BigCommerceForbidden) as info:
        asyncio.run(go())
    assert info.value.status == 403
    assert stored_products(state, store_hash) == []


def test_unknown_store_hash_is_not_found(store):
    base_url, _, _ = store

    async def go():
        async with BigCommerceClient("nosuchstore", TOKEN, api_url=base_url) as bc:
            await bc.check_connection()

    with pytest.raises(BigCommerceNotFound) as info:
        asyncio.run(go())
    assert info.value.status == 404


def test_duplicate_sku_is_a_conflict_with_errors_map(store):
    async def body(bc):
        await bc.create_product(product(1))
        await bc.create_product(product(2, sku="sku-1"))  # SKUs are unique case-insensitively

    with pytest.raises(BigCommerceConflict) as info:
        run(store, body)
    assert info.value.status == 409
    assert "sku" in info.value.errors


def test_invalid_product_is_a_validation_error(store):
    with pytest.raises(BigCommerceValidationError) as info:
        run(store, lambda bc: bc.create_product({"name": "No price", "type": "physical", "weight": 1}))
    assert info.value.status == 422
    assert "price" in info.value.errors


def test_oversized_batch_is_payload_too_large(store):
    items = [{"id": i, "price": 1} for i in range(1, 12)]
    with pytest.raises(BigCommercePayloadTooLarge) as info:
        run(store, lambda bc: bc.request("PUT", "/v3/catalog/products", json=items))
    assert info.value.status == 413


# -- retries ------------------------------------------------------------------------------------


def test_every_call_completes_with_20_percent_server_errors(store, caplog):
    _, state, store_hash = store
    state.set_faults(store_hash, error_rate=0.2, statuses=(500, 502, 503, 504), seed=7)

    async def body(bc):
        created = [await bc.create_product(product(i)) for i in range(15)]
        found = await bc.get_products_by_skus([f"SKU-{i}" for i in range(15)])
        times = [await bc.get_time() for _ in range(15)]
        return created, found, times, bc.requests_made

    with caplog.at_level(logging.INFO, logger="connector.bigcommerce"):
        created, found, times, requests = run(store, body, retry_base=0.05)
    assert len(created) == 15 and len(found) == 15 and len(times) == 15
    assert sorted(p["sku"] for p in stored_products(state, store_hash)) == sorted(f"SKU-{i}" for i in range(15))
    failures = [e for e in state.stores[store_hash].log if e["status"] >= 500]
    assert failures, "the fault injection must have hit"
    assert requests > 31
    attempts = [r.attempts for r in caplog.records if r.name == "connector.bigcommerce" and hasattr(r, "attempts")]
    assert len([a for a in attempts if a >= 1]) >= len(failures)
    assert max(attempts) >= 2
    assert not any(TOKEN in r.getMessage() for r in caplog.records)


def test_429_waits_for_the_reset_then_succeeds(store):
    _, state, store_hash = store
    state.set_rate_limit(store_hash, 3, 1000)

    async def body(bc):
        return [await bc.get_time() for _ in range(7)]

    assert len(run(store, body)) == 7
    assert state.stores[store_hash].throttled >= 1  # without a governor the client meets the limit...
    assert all(e["status"] in (200, 429) for e in state.stores[store_hash].log)  # ...and only retries


def test_governor_avoids_429(store, redis_conn):
    _, state, store_hash = store
    state.set_rate_limit(store_hash, 3, 1000)
    governor = RateGovernor(redis_conn, store_hash, default_quota=150)

    async def body(bc):
        return [await bc.get_time() for _ in range(7)]

    assert len(run(store, body, governor=governor)) == 7
    assert state.stores[store_hash].throttled == 0
    assert governor.snapshot()["quota"] == 3


def test_create_after_timeout_after_apply_makes_no_duplicate(store, caplog):
    _, state, store_hash = store
    state.set_faults(store_hash, timeout_after_apply_rate=1.0)

    async def body(bc):
        return await bc.create_product(product(1)), bc.requests_made

    with caplog.at_level(logging.INFO, logger="connector.bigcommerce"):
        created, requests = run(store, body, timeout=0.5)
    stored = stored_products(state, store_hash)
    assert [p["sku"] for p in stored] == ["SKU-1"]
    assert created["id"] == stored[0]["id"]
    assert len(routes(state, store_hash, "POST", "/v3/catalog/products")) == 1
    assert requests == 2  # the POST that timed out, then the look-up by SKU


def test_creates_under_mixed_timeouts_are_each_stored_once(store):
    _, state, store_hash = store
    state.set_faults(store_hash, timeout_after_apply_rate=0.4, error_rate=0.1, seed=3)

    async def body(bc):
        return [await bc.create_product(product(i)) for i in range(10)]

    created = run(store, body, timeout=0.5)
    stored = stored_products(state, store_hash)
    assert sorted(p["sku"] for p in stored) == sorted(f"SKU-{i}" for i in range(10))
    assert sorted(p["id"] for p in created) == sorted(p["id"] for p in stored)


# -- batches and pages --------------------------------------------------------------------------


@pytest.fixture
def store_with_25(store):
    _, state, store_hash = store

    async def body(bc):
        return [(await bc.create_product(product(i)))["id"] for i in range(25)]

    ids = run(store, body)
    state.reset_log(store_hash)
    return (*store, ids)


def test_25_updates_go_in_3_requests(store_with_25):
    base_url, state, store_hash, ids = store_with_25
    items = [{"id": pid, "price": 20} for pid in ids]
    result = run((base_url, state, store_hash), lambda bc: bc.update_products(items))
    assert result.ok and len(result.data) == 25
    assert len(routes(state, store_hash, "PUT", "/v3/catalog/products")) == 3
    assert {p["price"] for p in stored_products(state, store_hash)} == {20}


def test_a_bad_item_is_isolated_and_the_rest_saved(store_with_25):
    base_url, state, store_hash, ids = store_with_25
    items = [{"id": pid, "price": 30} for pid in ids[:10]]
    items[6] = {"id": ids[6], "price": -5}  # refused: price >= 0
    items[8] = {"id": ids[8], "sku": "sku-0"}  # refused: another product's SKU
    result = run((base_url, state, store_hash), lambda bc: bc.update_products(items))
    assert {e.item["id"] for e in result.errors} == {ids[6], ids[8]}
    by_id = {e.item["id"]: e for e in result.errors}
    assert by_id[ids[6]].status == 422 and by_id[ids[6]].errors
    assert by_id[ids[8]].status == 409
    assert len(result.data) == 8
    prices = {p["id"]: p["price"] for p in stored_products(state, store_hash)}
    assert all(prices[pid] == 30 for pid in ids[:10] if pid not in (ids[6], ids[8]))
    assert prices[ids[6]] == 10


def test_iter_products_pages_through_everything(store_with_25):
    base_url, state, store_hash, ids = store_with_25

    async def body(bc):
        return [p["id"] async for p in bc.iter_products({"limit": 10})]

    assert sorted(run((base_url, state, store_hash), body)) == sorted(ids)
    assert len(routes(state, store_hash, "GET", "/v3/catalog/products")) == 3


def test_get_products_by_skus_chunks_and_ignores_case(store_with_25):
    base_url, state, store_hash, ids = store_with_25
    skus = [f"sku-{i}" for i in range(25)] + ["missing"]
    found = run((base_url, state, store_hash), lambda bc: bc.get_products_by_skus(skus))
    assert sorted(p["id"] for p in found) == sorted(ids)


def test_delete_and_assign_channels(store_with_25):
    base_url, state, store_hash, ids = store_with_25

    async def body(bc):
        await bc.assign_channels(ids[:5], 1)
        await bc.delete_products(ids[20:])

    run((base_url, state, store_hash), body)
    s = state.stores[store_hash]
    assert {(pid, 1) for pid in ids[:5]} <= s.assignments
    assert sorted(s.products) == sorted(ids[:20])
