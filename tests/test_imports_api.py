"""The imports API over real HTTP: start (configuration checks, one import per tenant, the job it
enqueues), runs as interface.md shapes them, import settings; with the sandboxes behind the configuration."""

from __future__ import annotations

import threading

import pytest
from rq import Queue
from rq.job import Job

from service.store.imports import ImportStore, PageCommit
from tests.servers import serve
from tests.test_config_support import (
    BC_CLIENT,
    BC_TOKEN,
    STORE,
    bc_sandbox_app,
    client_of,
    pim_sandbox,
    running_connector,
)
from workers.sync.context import ImportOptions

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


@pytest.fixture
def client(service, redis_conn):
    with client_of(service) as c:
        yield c


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
