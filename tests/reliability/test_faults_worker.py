"""A worker killed with SIGKILL (issue 13 [hardening]): mid-import, then mid-event-burst, on one tenant.

Real RQ worker processes (`connector worker`), both sandboxes over HTTP, prices changed in the PIM before
and during the faults; the store is compared with the PIM's own products (tests/faults_env.compare).
tests/sync/test_import_resume.py covers the big catalog and a surviving second worker; this module adds
prices (nothing stale), the event burst and the figures.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
import redis
from rq.job import Job
from rq.registry import ScheduledJobRegistry

from service.store.events import EventStore
from service.store.imports import ImportStore
from tests.faults_env import compare, kill_worker, own_redis, set_prices
from tests.import_env import ROOT, STORE_HASH, expected_catalog, import_env, wait_for
from tests.reliability.figures import record

pytestmark = pytest.mark.reliability

CATEGORY = "pc_monitors"  # 122 simple products: two import pages
EVENT_SECRET = "faults-worker-event-secret-0123456789"


def test_worker_killed_mid_import_and_mid_event_burst(redis_url, tmp_path):
    extra = {"CONNECTOR_EVENTS_LEASE_TTL": "3"}  # a dead job's lease runs out in 3 s (60 s in life)
    with import_env(redis_url, tmp_path, category=CATEGORY, extra_env=extra) as env:
        skus = sorted(expected_catalog(CATEGORY).simple)
        set_prices(env, skus, 100)
        imports, events = ImportStore(env.conn), EventStore(env.conn)

        # -- mid-import ------------------------------------------------------------------------
        env.bc_app.state.bc.set_faults(STORE_HASH, latency=0.02)  # pages long enough to be caught mid-way
        started = time.monotonic()
        run_id = env.start("full")
        worker = env.worker(burst=False)
        try:
            def mid_page() -> bool:
                committed = imports.counts(run_id)["products"]["created"]
                return (imports.checkpoint(run_id) or {}).get("phase") == "simple" and \
                    len(env.bc_state.products) >= committed + 10
            wait_for(mid_page, timeout=60, every=0.05)
        finally:
            killed = kill_worker(worker)
        assert killed >= 2  # the worker and the work horse running the page
        in_store, committed = len(env.bc_state.products), imports.counts(run_id)["products"]["created"]
        assert in_store > committed and env.run(run_id)["status"] == "running"
        env.bc_app.state.bc.set_faults(STORE_HASH)
        worker = env.worker(burst=False)  # a supervisor restarts it; it picks the run up when the lease is out
        try:
            wait_for(lambda: env.run(run_id)["status"] not in ("queued", "running"), timeout=60, every=0.2)
            run = env.run(run_id)
            assert run["status"] == "succeeded", run
            diff = compare(env, CATEGORY)
            assert diff.exact and diff.products == len(skus), diff.details
            counts = run["counts"]["products"]
            # each product counted once; those the killed attempt created without recording them are
            # adopted by SKU on the redo and counted as updated (tests/sync/test_import_resume.py: the same)
            assert counts["created"] + counts["updated"] == len(skus) and counts["failed"] == 0, counts
            record("faults", "worker SIGKILL mid-import", runs=1, ended=run["status"], products=diff.products,
                   lost=diff.lost, duplicates=diff.duplicates, stale=diff.stale,
                   adopted_on_redo=counts["updated"], seconds=round(time.monotonic() - started, 1))
        finally:
            kill_worker(worker)

        # -- mid-event-burst -------------------------------------------------------------------
        env.store.put_credentials(env.tenant, "event_platform", {"primary": EVENT_SECRET, "secondary": EVENT_SECRET})
        hook = httpx.post(f"{env.pim_url}/sandbox/webhooks", json={
            "url": f"{env.env['APP_URL']}/webhooks/akeneo/{env.tenant}", "secret": EVENT_SECRET,
            "format": "event_platform"})
        assert hook.status_code == 201, hook.text
        env.bc_app.state.bc.set_faults(STORE_HASH, latency=0.25)  # the burst's sync takes a few seconds
        env.reset_requests()
        started = time.monotonic()
        burst = skus[:60]
        with ThreadPoolExecutor(4) as pool:  # 60 price changes: 60 signed deliveries to the connector
            list(pool.map(lambda s: set_prices(env, [s], 500 + skus.index(s)), burst))
        wait_for(lambda: events.waiting(env.tenant) >= len(burst), timeout=20, every=0.05)
        worker = env.worker(burst=False)
        try:
            def writing() -> bool:
                counts = env.requests()["counts"]
                return any(k.startswith("PUT /v3/catalog/products") for k in counts)
            wait_for(writing, timeout=30, every=0.05)
        finally:
            killed = kill_worker(worker)
        assert killed >= 2
        waiting_at_kill = events.waiting(env.tenant)
        assert waiting_at_kill > 0  # the kill left the batch unfinished
        # the PIM keeps changing while no worker runs: the newest price must win
        later = set_prices(env, burst[:20], 900)
        env.bc_app.state.bc.set_faults(STORE_HASH)
        worker = env.worker(burst=False)
        try:
            wait_for(lambda: events.waiting(env.tenant) == 0, timeout=45, every=0.2)
        finally:
            kill_worker(worker)
        diff = compare(env, CATEGORY)
        assert diff.exact, diff.details
        held = {p["sku"]: float(p["price"]) for p in env.state()["products"]}
        assert all(held[s] == price for s, price in later.items())
        summary = events.summary(env.tenant)
        assert summary["waiting"] == 0 and summary["last_hour"]["applied"] >= len(burst)
        record("faults", "worker SIGKILL mid-event-burst", deliveries=summary["last_hour"]["received"],
               changes=len(burst) + len(later), waiting_at_kill=waiting_at_kill, lost=diff.lost,
               duplicates=diff.duplicates, stale=diff.stale, seconds=round(time.monotonic() - started, 1))


def test_worker_tree_killed_then_redis_restarted_the_import_finishes_without_rqs_scheduler_lock(tmp_path):
    """Was (issue 18): the killed worker's RQ scheduler lock outlives it (61 s) and RQ 3.0 asks for it
    again only in its 10-minute maintenance, so a page retry put off with `enqueue_in` waited past its time
    with no scheduler to move it. Every worker now moves due jobs itself, without that lock."""
    with own_redis(tmp_path / "redis") as server, import_env(server.url, tmp_path, category=CATEGORY) as env:
        imports = ImportStore(env.conn)
        env.bc_app.state.bc.set_faults(STORE_HASH, latency=0.02)  # pages long enough to be caught mid-way
        started = time.monotonic()
        run_id = env.start("full")
        logs = tmp_path / "workers.log"

        def worker() -> subprocess.Popen:  # its log in a file: a pipe nobody reads would block it
            with logs.open("ab") as log:
                return subprocess.Popen([sys.executable, "-m", "service.cli", "worker"], cwd=ROOT, env=env.env,
                                        start_new_session=True, stdout=subprocess.DEVNULL, stderr=log)
        workers = [worker()]

        def mid_page(floor: int) -> bool:
            committed = imports.counts(run_id)["products"]["created"] + imports.counts(run_id)["products"]["updated"]
            return (imports.checkpoint(run_id) or {}).get("phase") == "simple" and \
                len(env.bc_state.products) >= max(committed, floor) + 10
        try:
            wait_for(lambda: mid_page(0), timeout=60, every=0.05)
            assert kill_worker(workers[0]) >= 2  # the worker, its work horse (and RQ's scheduler, if it runs one)
            workers.append(worker())  # a supervisor restarts it at once
            # the new worker takes the page over once the dead job's lease has run out (3 s here)...
            in_store = len(env.bc_state.products)
            wait_for(lambda: mid_page(in_store), timeout=60, every=0.05)
            # ...and Redis restarts under it: the page fails and is retried later (`enqueue_in`)
            server.restart(down_for=2.0)
            restarted = time.monotonic()
            env.bc_app.state.bc.set_faults(STORE_HASH)

            def finished() -> bool:
                if workers[-1].poll() is not None:  # a supervisor restarts a dead worker: so does the test
                    workers.append(worker())
                with contextlib.suppress(redis.RedisError):
                    return env.run(run_id)["status"] not in ("queued", "running")
                return False
            try:
                wait_for(finished, timeout=120, every=0.25)
            except AssertionError:
                raise AssertionError(f"the run did not finish within 2 minutes of the restart: {_waiting(env, run_id)}; "
                                     f"workers' log: {logs.read_text()[-1500:]}") from None
            took = time.monotonic() - restarted
        finally:
            for worker in workers:
                kill_worker(worker)
        run = env.run(run_id)
        assert run["status"] == "succeeded", run
        # the killed worker's page was worked again (counted by the recovery); the restart's failed page is
        # put off with `enqueue_in`, or, when its own bookkeeping met Redis still down, recovered and counted
        assert int(run.get("retries") or 0) >= 1, run
        diff = compare(env, CATEGORY)
        assert diff.exact and diff.products == len(expected_catalog(CATEGORY).simple), diff.details
        record("faults", "worker tree SIGKILL, then Redis restart mid-import", runs=1, ended=run["status"],
               products=diff.products, lost=diff.lost, duplicates=diff.duplicates, stale=diff.stale,
               retries=int(run.get("retries") or 0), worker_restarts=len(workers) - 2,
               seconds_after_restart=round(took, 1), seconds=round(time.monotonic() - started, 1))


def _waiting(env, run_id: str) -> dict:
    """What a stalled run waits for: its next job's status, the scheduled jobs and RQ's scheduler locks."""
    checkpoint = ImportStore(env.conn).checkpoint(run_id) or {}
    nxt = checkpoint.get("next_job")
    status = Job.fetch(nxt, connection=env.conn).get_status() if nxt and env.conn.exists(f"rq:job:{nxt}") else None
    scheduled = {name: ScheduledJobRegistry(name, connection=env.conn).get_job_ids()
                 for name in ("events", "imports", "imports-long")}
    return {"next_job": nxt, "status": status, "attempts": checkpoint.get("attempts"), "scheduled": scheduled,
            "scheduler_locks": [k.decode() for k in env.conn.keys("rq:scheduler-lock:*")], "at": time.time()}
