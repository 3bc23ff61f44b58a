"""The imports API over real HTTP: start (configuration checks, one import per tenant, the job it
enqueues), runs as interface.md shapes them, import settings; with the sandboxes behind the configuration."""

from __future__ import annotations

import asyncio
import threading

import httpx
import pytest
from rq import Queue
from rq.job import Job

from service.clients.akeneo import AkeneoClient
from service.clients.bigcommerce import BigCommerceClient
from service.store.imports import ImportStore, PageCommit
from tests.config_env import (
    BC_CLIENT,
    BC_TOKEN,
    PIM_CLIENT,
    PIM_PASSWORD,
    PIM_SECRET,
    PIM_USER,
    STORE,
    bc_sandbox_app,
    client_of,
    pim_sandbox,
    running_connector,
)
from tests.servers import serve
from tests.sync.test_categories import Job as CategoryJob
from tests.sync.test_categories import Main
from workers import context as worker_context
from workers.sync.categories import sync_categories
from workers.sync.context import ImportOptions
from workers.worker import EventsWorker as InProcessWorker  # RQ's SimpleWorker, stopping promptly

RUN_KEYS = {"id", "mode", "status", "created_at", "started_at", "finished_at", "progress", "counts", "errors",
            "warnings"}
COUNT_KEYS = {"created", "updated", "unchanged", "hidden", "deleted", "failed"}


@pytest.fixture(scope="module")
def pim_url():
    with serve(pim_sandbox()) as url:
        yield url


@pytest.fixture(scope="module")
def bc_url():
    with serve(bc_sandbox_app()) as url:
        yield url


@pytest.fixture(scope="module")
def service(tmp_path_factory, redis_url, bc_url):
    with running_connector(tmp_path_factory.mktemp("imports"), redis_url, bc_url) as running:
        yield running


def configure(client, pim_url, *, main=True):
    client.connect_pim(pim_url)
    bc = client.put("/api/config/bigcommerce", {"store_hash": STORE, "client_id": BC_CLIENT, "access_token": BC_TOKEN})
    assert bc.status_code == 200 and bc.json()["connected"], bc.text
    if main:
        saved = client.put("/api/config/main", {"locale": "en_US", "channel": "ecommerce", "category": "master"})
        assert saved.status_code == 200, saved.text


def post(client, body):
    return client.http.post("/api/imports", json=body)


def queued_jobs(conn) -> list[Job]:
    return [j for j in Job.fetch_many(Queue("imports", connection=conn).get_job_ids(), connection=conn) if j]


def test_incomplete_configuration_is_409_and_names_what_is_missing(client, pim_url, redis_conn):
    response = post(client, {"mode": "full"})
    assert response.status_code == 409
    assert response.json()["error"] == "configuration_incomplete"
    assert response.json()["missing"] == ["pim", "bigcommerce", "main"]
    configure(client, pim_url, main=False)
    response = post(client, {"mode": "full"})
    assert response.status_code == 409 and response.json()["missing"] == ["main"]
    assert client.get("/api/imports").json() == {"items": []} and queued_jobs(redis_conn) == []


def test_start_enqueues_the_engine_job_once_and_shapes_the_run(client, pim_url, redis_conn):
    configure(client, pim_url)
    response = post(client, {"mode": "delta"})
    assert response.status_code == 202, response.text
    run_id = response.json()["id"]
    assert set(response.json()) == {"id"}

    [job] = queued_jobs(redis_conn)
    assert job.func_name == "workers.jobs.imports.run_import" and job.args == (client.tenant, run_id)
    assert job.meta["tenant"] == client.tenant and job.timeout and job.origin == "imports"

    run = client.get(f"/api/imports/{run_id}").json()
    assert set(run) >= RUN_KEYS
    assert run["status"] == "queued" and run["mode"] == "full"  # a delta before the first import is a full one
    assert run["progress"] == {"done": 0, "total": 0} and run["errors"] == [] and run["warnings"] == []
    assert set(run["counts"]) == {"categories", "products"}
    assert all(set(c) == COUNT_KEYS for c in run["counts"].values())
    assert ImportStore(redis_conn).active_runs() == {run_id: client.tenant}

    again = post(client, {"mode": "full"})
    assert again.status_code == 409 and again.json()["error"] == "import_running" and again.json()["run"] == run_id
    assert len(queued_jobs(redis_conn)) == 1

    # the engine's live counters and issues show through
    commit = PageCommit()
    commit.count("products", "created", 7)
    commit.count("categories", "unchanged", 66)
    commit.done = 7
    commit.errors.append({"item": "product 123", "field": "price", "message": "BigCommerce refused the price"})
    commit.warnings += [{"item": f"product {i}", "message": "no weight: sent as 0"} for i in range(3)]
    imports = ImportStore(redis_conn)
    imports.add_total(run_id, 100)
    imports.commit_page(run_id, commit, {"phase": "simple"})
    client.store.update_run(client.tenant, run_id, status="running", started_at=1700000000.0)
    run = client.get(f"/api/imports/{run_id}").json()
    assert run["status"] == "running" and run["progress"] == {"done": 7, "total": 100}
    assert run["counts"]["products"]["created"] == 7 and run["counts"]["categories"]["unchanged"] == 66
    assert run["errors"] == [{"item": "product 123", "field": "price", "message": "BigCommerce refused the price"}]
    assert len(run["warnings"]) == 3

    client.store.update_run(client.tenant, run_id, status="succeeded", finished_at=1700000100.0)
    client.store.put_section(client.tenant, "status", {"first_import_done": True})
    delta = post(client, {"mode": "delta"})
    assert delta.status_code == 202
    assert client.get(f"/api/imports/{delta.json()['id']}").json()["mode"] == "delta"


def test_guarded_change_turns_the_next_delta_into_a_full_import(client, pim_url):
    configure(client, pim_url)
    client.store.put_section(client.tenant, "status", {"first_import_done": True, "next_import": "full"})
    run_id = post(client, {"mode": "delta"}).json()["id"]
    assert client.get(f"/api/imports/{run_id}").json()["mode"] == "full"


def test_concurrent_starts_make_one_run(client, pim_url, redis_conn):
    configure(client, pim_url)
    statuses: list[int] = []
    barrier = threading.Barrier(6)

    def start():
        barrier.wait()
        statuses.append(post(client, {"mode": "full"}).status_code)

    threads = [threading.Thread(target=start) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(statuses) == [202] + [409] * 5
    assert len(client.get("/api/imports").json()["items"]) == 1 and len(queued_jobs(redis_conn)) == 1


def test_history_is_newest_first_and_keeps_at_least_30(client, pim_url):
    configure(client, pim_url)
    ids = []
    for _ in range(33):
        run_id = post(client, {"mode": "full"}).json()["id"]
        client.store.update_run(client.tenant, run_id, status="succeeded")
        ids.append(run_id)
    items = client.get("/api/imports").json()["items"]
    assert [r["id"] for r in items] == list(reversed(ids))[:30]
    assert all(set(r) >= RUN_KEYS for r in items)


def test_runs_of_another_tenant_are_not_found(service, client, pim_url):
    configure(client, pim_url)
    run_id = post(client, {"mode": "full"}).json()["id"]
    with client_of(service) as other:
        assert other.get(f"/api/imports/{run_id}").status_code == 404
        assert other.get("/api/imports").json() == {"items": []}
    assert client.get("/api/imports/not-a-run").status_code == 404
    assert client.get("/api/imports/r0123456789abcdef").status_code == 404


@pytest.mark.parametrize("body", [{}, {"mode": "partial"}, {"mode": None}, []])
def test_bad_mode_is_422(client, body):
    response = client.http.post("/api/imports", json=body)
    assert response.status_code == 422


def test_start_needs_the_csrf_token(client):
    response = client.http.post("/api/imports", json={"mode": "full"}, headers={"X-CSRF-Token": "wrong"})
    assert response.status_code == 403


# --- import settings -----------------------------------------------------------------------------


def test_import_settings_defaults_save_and_reach_the_engine(client):
    doc = client.get("/api/config/imports").json()
    assert doc["settings"] == {"enabled_only": True, "completeness": None, "families": [], "removed": "hide",
                               "schedule": {"every": "off", "at": "02:00"}}
    assert doc["schedule"]["every"] == "off" and doc["schedule"]["next_at"] is None
    assert doc["missing"] == ["pim", "bigcommerce", "main"]

    saved = client.put("/api/config/imports", {"enabled_only": False, "completeness": 80,
                                               "families": ["camcorders", "webcams"], "removed": "delete"})
    assert saved.status_code == 200, saved.text
    assert saved.json()["settings"]["completeness"] == 80
    options = ImportOptions.from_section(client.store.get_section(client.tenant, "import"))
    assert options.enabled_only is False and options.completeness == 80
    assert options.families == ("camcorders", "webcams") and options.removed == "delete"
    # a partial save keeps the rest
    client.put("/api/config/imports", {"completeness": None})
    options = ImportOptions.from_section(client.store.get_section(client.tenant, "import"))
    assert options.completeness is None and options.removed == "delete"


@pytest.mark.parametrize("body, field", [
    ({"enabled_only": "yes"}, "enabled_only"), ({"completeness": 101}, "completeness"),
    ({"completeness": True}, "completeness"), ({"families": "webcams"}, "families"),
    ({"families": ["bad code"]}, "families"), ({"removed": "hidden"}, "removed"),
    ({"schedule": {"every": "weekly"}}, "schedule.every"), ({"schedule": {"every": "daily", "at": "24:00"}},
                                                             "schedule.at"),
    ({"schedule": "daily"}, "schedule"), ({"colour": "red"}, "colour")])
def test_invalid_import_settings_are_422_and_save_nothing(client, body, field):
    response = client.put("/api/config/imports", body)
    assert response.status_code == 422 and field in response.json()["fields"]
    assert client.store.get_section(client.tenant, "import") == {}


# --- clean-up after a confirmed guarded change ---------------------------------------------------


@pytest.fixture
def worker_env(monkeypatch, redis_url, bc_url, tmp_path):
    """Jobs build their context from the environment, as in the worker process."""
    for name, value in {"REDIS_URL": redis_url, "SECRET_KEY": "config-test-secret-key-0123456789abcdef",
                        "DATA_DIR": str(tmp_path), "ALLOW_PRIVATE_URLS": "true", "BC_API_URL": bc_url}.items():
        monkeypatch.setenv(name, value)
    worker_context._settings.cache_clear()
    yield
    worker_context._settings.cache_clear()


def fill_store(client, pim_url, bc_url, redis_conn, n=25):
    """What an import made: the category tree and n products (each with a variant), in the id maps."""

    async def go():
        async with AkeneoClient(pim_url, PIM_CLIENT, PIM_SECRET, PIM_USER, PIM_PASSWORD,
                                allow_private_addresses=True) as pim, \
                BigCommerceClient(STORE, BC_TOKEN, api_url=bc_url) as bc:
            cats = await sync_categories(CategoryJob(client.tenant, pim, bc, Main("en_US", "ecommerce", "master"), redis_conn,
                                                      store_hash=STORE))
            made = {}
            for i in range(n):
                product = await bc.create_product({
                    "name": f"Cleanup {client.tenant} {i}", "type": "physical", "weight": 1, "price": 5,
                    "sku": f"CL-{client.tenant}-{i}", "categories": [cats.ids["cameras"]],
                    "variants": [{"sku": f"CL-{client.tenant}-{i}-V", "price": 5,
                                  "option_values": [{"option_display_name": "Size", "label": "M"}]}]},
                    include="variants")
                made[f"product:{client.tenant}-{i}"] = product
            return cats, made

    cats, made = asyncio.run(go())
    ledger = client.store.ledger(client.tenant)
    for key, product in made.items():
        ledger.map_product(key, product["id"], {"v": {f"uuid-{v['sku']}": {"id": v["id"], "sku": v["sku"]}
                                                     for v in product["variants"]}})
    return cats, made


def run_jobs(redis_conn):
    InProcessWorker([Queue("imports", connection=redis_conn)], connection=redis_conn).work(burst=True)


def bc_state(bc_url):
    return httpx.get(f"{bc_url}/sandbox/stores/{STORE}/state").json()


def mine(state, client):
    return [p for p in state["products"] if p["sku"].startswith(f"CL-{client.tenant}-")]


def guarded_change(client, field="category"):
    client.store.put_section(client.tenant, "status", {"first_import_done": True, "next_import": "full"})
    client.store.record_config_change(client.tenant, {"changed": [field]})


def test_cleanup_is_offered_only_after_a_confirmed_change(client, pim_url):
    configure(client, pim_url)
    refused = client.http.post("/api/imports/cleanup", json={"action": "hide"})
    assert refused.status_code == 409 and refused.json()["error"] == "nothing_to_clean"
    guarded_change(client, "store_hash")
    other = client.http.post("/api/imports/cleanup", json={"action": "delete"})
    assert other.status_code == 409 and other.json()["error"] == "other_store"
    guarded_change(client)
    assert client.http.post("/api/imports/cleanup", json={"action": "erase"}).status_code == 422
    running = post(client, {"mode": "full"})
    assert running.status_code == 202
    busy = client.http.post("/api/imports/cleanup", json={"action": "hide"})
    assert busy.status_code == 409 and busy.json()["error"] == "import_running"


def test_cleanup_hide_then_the_next_sync_shows_what_is_in_scope(client, pim_url, bc_url, redis_conn, worker_env):
    configure(client, pim_url)
    cats, made = fill_store(client, pim_url, bc_url, redis_conn)
    guarded_change(client)
    httpx.delete(f"{bc_url}/sandbox/stores/{STORE}/requests")
    started = client.http.post("/api/imports/cleanup", json={"action": "hide"})
    assert started.status_code == 202, started.text
    assert client.get("/api/config/imports").json()["cleanup"]["state"] == "queued"
    again = client.http.post("/api/imports/cleanup", json={"action": "hide"})
    assert again.status_code == 409 and again.json()["error"] == "cleanup_running"
    run_jobs(redis_conn)

    section = client.get("/api/config/imports").json()["cleanup"]
    assert section["state"] == "succeeded" and section["counts"] == {"products": 25, "categories": 66, "failed": 0}
    state = bc_state(bc_url)
    assert len(mine(state, client)) == 25 and not any(p["is_visible"] for p in mine(state, client))
    tree = [c for c in state["categories"] if c["category_id"] in set(cats.ids.values())]
    assert len(tree) == 66 and not any(c["is_visible"] for c in tree)
    # unmapped: the next full import adopts them by SKU and sends them again
    assert client.store.ledger(client.tenant).product_ids(made) == {}
    assert client.store.ledger(client.tenant).variant_owners([f"uuid-CL-{client.tenant}-0-V"]) == {}
    counts = httpx.get(f"{bc_url}/sandbox/stores/{STORE}/requests").json()["counts"]
    # batched: 25 products in 3 PUTs of 10, 66 categories in 2 PUTs of 50
    assert counts.get("PUT /v3/catalog/products") == 3 and counts.get("PUT /v3/catalog/trees/categories") == 2
    assert client.store.ledger(client.tenant).category_ids() == {}

    # the category sync shows again what is in the subtree, with the same ids

    async def resync():
        async with AkeneoClient(pim_url, PIM_CLIENT, PIM_SECRET, PIM_USER, PIM_PASSWORD,
                                allow_private_addresses=True) as pim, \
                BigCommerceClient(STORE, BC_TOKEN, api_url=bc_url) as bc:
            return await sync_categories(CategoryJob(client.tenant, pim, bc, Main("en_US", "ecommerce", "master"), redis_conn,
                                                      store_hash=STORE))

    shown = asyncio.run(resync())
    assert shown.ids == cats.ids and shown.counts["updated"] == 66
    assert all(c["is_visible"] for c in bc_state(bc_url)["categories"] if c["category_id"] in set(cats.ids.values()))


def test_cleanup_delete_removes_products_variants_and_categories(client, pim_url, bc_url, redis_conn, worker_env):
    configure(client, pim_url)
    cats, made = fill_store(client, pim_url, bc_url, redis_conn, n=12)
    guarded_change(client, "locale")
    assert client.http.post("/api/imports/cleanup", json={"action": "delete"}).status_code == 202
    run_jobs(redis_conn)
    assert client.get("/api/config/imports").json()["cleanup"]["state"] == "succeeded"
    state = bc_state(bc_url)
    assert mine(state, client) == []
    assert not {c["category_id"] for c in state["categories"]} & set(cats.ids.values())
    assert client.store.ledger(client.tenant).product_ids(made) == {}
    assert client.store.ledger(client.tenant).category_states() == {}
    # still a full import next: the new setting's products are created then
    assert client.store.get_section(client.tenant, "status")["next_import"] == "full"
