"""Exactly once under failure: a worker killed with SIGKILL mid-page, and 10 % injected 5xx plus
lost answers (applied, then no answer), end with the same store: every product once, none missing."""

from __future__ import annotations

import time
from collections import Counter

from service.store.imports import ImportStore
from tests.faults_env import kill_worker
from tests.import_env import STORE_HASH, expected_catalog, import_env, wait_for


def _check_store(env, category: str) -> None:
    expected = expected_catalog(category)
    state = env.state()
    skus = [p["sku"].lower() for p in state["products"]]
    variant_skus = [v["sku"].lower() for p in state["products"] for v in p["variants"] if v["option_values"]]
    assert [s for s, n in Counter(skus + variant_skus).items() if n > 1] == []
    wanted_models = {m.lower() for m in expected.models}
    model_skus = {s.removesuffix("-model") for s in skus if s.removesuffix("-model") in wanted_models}
    assert set(skus) - model_skus - {f"{m}-model" for m in model_skus} == {s.lower() for s in expected.simple}
    assert model_skus == wanted_models
    assert sorted(variant_skus) == sorted(s.lower() for v in expected.models.values() for s in v)
    by_sku = {p["sku"].lower(): p for p in state["products"]}
    for sku, images in expected.simple.items():  # an image is never posted twice
        assert len(by_sku[sku.lower()]["images"]) == images, sku
    assert all(p["channels"] == [1] for p in state["products"])


def test_worker_killed_mid_import_resumes_without_duplicates(redis_url, tmp_path):
    with import_env(redis_url, tmp_path, category="master") as env:
        env.bc_app.state.bc.set_faults(STORE_HASH, latency=0.01)  # pages long enough to be caught mid-way
        run_id = env.start("full")
        imports = ImportStore(env.conn)
        worker = env.worker(burst=False)
        try:
            def mid_page() -> bool:
                checkpoint = imports.checkpoint(run_id) or {}
                committed = imports.counts(run_id)["products"]["created"]
                return checkpoint.get("step", 0) >= 3 and len(env.bc_state.products) >= committed + 10
            wait_for(mid_page, timeout=180, every=0.05)
        finally:
            kill_worker(worker)  # the worker and its work horse: the page really stops mid-way
        step = imports.checkpoint(run_id)["step"]
        in_store, committed = len(env.bc_state.products), imports.counts(run_id)["products"]["created"]
        assert in_store > committed  # the kill left a page half loaded
        assert env.run(run_id)["status"] == "running"
        env.bc_app.state.bc.set_faults(STORE_HASH)
        time.sleep(3.5)  # the dead worker's lease (CONNECTOR_IMPORT_LEASE_TTL=3) runs out
        env.work()  # a new worker picks the run up when it starts
        run = env.run(run_id)
        assert run["status"] == "succeeded", run
        assert imports.checkpoint(run_id)["step"] > step
        counts = run["counts"]["products"]
        assert counts["created"] + counts["updated"] == 999 + 49 and counts["failed"] == 0, counts
        _check_store(env, "master")


def test_injected_faults_and_lost_answers_give_the_same_store(redis_url, tmp_path):
    category = "tvs_projectors"
    # a lost answer is held 10 s: the worker gives up on it after 4 s and looks the create up by SKU
    with import_env(redis_url, tmp_path, category=category, extra_env={"CONNECTOR_BC_TIMEOUT": "4"}) as env:
        env.bc_app.state.bc.set_faults(STORE_HASH, error_rate=0.1, statuses=(500, 502, 503, 504),
                                       timeout_after_apply_rate=0.05, timeout_delay=10.0, seed=7)
        env.pim_app.state.pim.set_faults(error_rate=0.1, statuses=(500, 502, 503))
        run_id = env.start("full")
        env.work(timeout=600)
        run = env.run(run_id)
        assert run["status"] == "succeeded", run
        throttled = env.requests()
        assert sum(1 for r in throttled["requests"] if r.get("status", 200) >= 500) > 5  # faults did happen
        _check_store(env, category)
        # and the id map is right: with the faults gone, a full run changes nothing
        env.bc_app.state.bc.set_faults(STORE_HASH)
        env.pim_app.state.pim.set_faults()
        env.reset_requests()
        run_id = env.start("full")
        env.work()
        assert env.run(run_id)["counts"]["products"]["unchanged"] == len(env.state()["products"])
        writes = {k: v for k, v in env.requests()["counts"].items() if not k.startswith("GET ")}
        assert writes == {}


def test_a_surviving_worker_takes_over_a_killed_workers_page(redis_url, tmp_path):
    """Two workers; the one running a page dies: the other's watchdog re-enqueues it, no restart needed."""
    from rq import Worker
    from rq.job import Job

    category = "tvs_projectors"
    with import_env(redis_url, tmp_path, category=category) as env:
        env.bc_app.state.bc.set_faults(STORE_HASH, latency=0.03)
        run_id = env.start("full")
        imports = ImportStore(env.conn)
        workers = [env.worker(burst=False), env.worker(burst=False)]
        try:
            def mid_page() -> str | None:
                checkpoint = imports.checkpoint(run_id) or {}
                if checkpoint.get("phase") != "simple" or checkpoint.get("step", 0) < 2:
                    return None
                if len(env.bc_state.products) < imports.counts(run_id)["products"]["created"] + 10:
                    return None
                return Job.fetch(checkpoint["next_job"], connection=env.conn).worker_name
            name = wait_for(mid_page, timeout=180, every=0.05)
            pid = next(w.pid for w in Worker.all(connection=env.conn) if w.name == name)
            victim = next(w for w in workers if w.pid == pid)
            kill_worker(victim)
            env.bc_app.state.bc.set_faults(STORE_HASH)
            wait_for(lambda: env.run(run_id)["status"] not in ("queued", "running"), timeout=180, every=0.5)
        finally:
            for w in workers:
                kill_worker(w)
        run = env.run(run_id)
        assert run["status"] == "succeeded", run
        _check_store(env, category)
