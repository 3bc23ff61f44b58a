"""The platforms misbehaving during an import (issue 13 [hardening]), each run by a real RQ worker process:

- the store: a 429 storm (another app spending the store's quota), 5xx, and lost answers (the write is
  applied, the answer never comes: the client gives up after CONNECTOR_BC_TIMEOUT);
- the PIM: throttling (its own 429s), 5xx, and gone (connections refused, open ones cut) for longer than
  the client's retry budget, then back: the page is retried from its checkpoint and the run succeeds;
  gone for longer than the run's own budget: the run fails with a reason the merchant understands, and a
  new run finishes the job.

"A minute" is scaled down through the knobs (CONNECTOR_IMPORT_RETRY_BASE, CONNECTOR_IMPORT_MAX_ATTEMPTS,
CONNECTOR_BC_TIMEOUT); the code path is the one a minute takes. The store is compared with the PIM's
own products every time (tests/faults_env.compare).
"""

from __future__ import annotations

import threading
import time
from urllib.parse import urlsplit

import httpx
import pytest

from service.store.imports import ImportStore
from tests.faults_env import Gate, compare, kill_worker, set_prices
from tests.import_env import STORE_HASH, TOKEN, expected_catalog, import_env, wait_for
from tests.reliability.figures import record

pytestmark = pytest.mark.reliability

CATEGORY = "pc_monitors"  # 122 simple products: two import pages


def _finished(env, run_id: str, timeout: float) -> dict:
    wait_for(lambda: env.run(run_id)["status"] not in ("queued", "running"), timeout=timeout, every=0.2)
    return env.run(run_id)


def test_store_429_storm_5xx_and_lost_answers(redis_url, tmp_path):
    extra = {"CONNECTOR_BC_TIMEOUT": "2"}  # a lost answer is given up after 2 s (30 s in life)
    with import_env(redis_url, tmp_path, category=CATEGORY, extra_env=extra) as env:
        skus = expected_catalog(CATEGORY).simple
        set_prices(env, skus, 200)
        bc = env.bc_app.state.bc
        bc.set_rate_limit(STORE_HASH, 40, 1000)  # 40 requests a second, shared with the neighbour below
        bc.set_faults(STORE_HASH, error_rate=0.08, statuses=(500, 502, 503, 504), timeout_after_apply_rate=0.05,
                      timeout_delay=10.0, seed=13)
        stop, neighbour = threading.Event(), {"sent": 0, "429": 0}

        def noisy_neighbour() -> None:  # another app of the store, spending the quota without care
            with httpx.Client(timeout=10, headers={"X-Auth-Token": TOKEN}) as client:
                while not stop.is_set():
                    status = client.get(f"{env.bc_url}/stores/{STORE_HASH}/v2/time").status_code
                    neighbour["sent"] += 1
                    neighbour["429"] += status == 429
                    time.sleep(0.01)

        started = time.monotonic()
        storm = threading.Thread(target=noisy_neighbour, daemon=True)
        storm.start()
        run_id = env.start("full")
        worker = env.worker(burst=False)
        try:
            run = _finished(env, run_id, timeout=120)
        finally:
            stop.set()
            storm.join(timeout=10)
            kill_worker(worker)
        log = env.requests()["requests"]
        ours = [r for r in log if r["route"] != "/v2/time"]
        throttled = sum(r["status"] == 429 for r in ours)
        failed = sum(r["status"] >= 500 for r in ours)
        assert run["status"] == "succeeded", run
        assert neighbour["429"] > 0 and failed > 0  # the storm and the faults did happen
        diff = compare(env, CATEGORY)
        assert diff.exact and diff.products == len(skus), diff.details
        record("faults", "store: 429 storm, 5xx and lost answers", runs=1, ended=run["status"],
               products=diff.products, answered_429=throttled, neighbour_429=neighbour["429"], answered_5xx=failed,
               lost=diff.lost, duplicates=diff.duplicates, stale=diff.stale,
               seconds=round(time.monotonic() - started, 1))


def test_pim_throttling_failing_and_gone(redis_url, tmp_path):
    extra = {"CONNECTOR_IMPORT_RETRY_BASE": "0.3", "CONNECTOR_IMPORT_MAX_ATTEMPTS": "3"}  # ~2 s of retries
    with import_env(redis_url, tmp_path, category=CATEGORY, extra_env=extra) as env:
        gate = Gate(urlsplit(env.pim_url).port)
        gate.open()
        creds = env.store.get_credentials(env.tenant, "pim")
        env.store.put_credentials(env.tenant, "pim", {**creds, "url": gate.url})
        env.store.put_section(env.tenant, "pim", {**env.store.get_section(env.tenant, "pim"), "url": gate.url})
        skus = expected_catalog(CATEGORY).simple
        set_prices(env, skus, 300)
        pim = env.pim_app.state
        imports = ImportStore(env.conn)
        worker = env.worker(burst=False)
        try:
            # gone when the run starts, for ~1.5 s: a refused connection fails the client at once (its own
            # retries are for 429/5xx/timeouts), so the step is retried from its checkpoint by the job;
            # then throttling (Akeneo's own 429 + Retry-After) and 5xx for the rest of the run
            pim.throttle.rate_limit = 20
            pim.pim.set_faults(error_rate=0.1, statuses=(500, 502, 503))
            started = time.monotonic()
            gate.close()
            run_id = env.start("full")
            wait_for(lambda: (imports.checkpoint(run_id) or {}).get("attempts", 0) >= 1, timeout=30, every=0.05)
            time.sleep(max(0.0, started + 1.5 - time.monotonic()))
            gate.open()
            run = _finished(env, run_id, timeout=90)
            assert run["status"] == "succeeded", run
            assert run.get("retries", 0) >= 1 and "PIM could not be reached" in run["last_retry"]["reason"], run
            counts = pim.pim.request_counts
            diff = compare(env, CATEGORY)
            assert diff.exact and diff.products == len(skus), diff.details
            record("faults", "PIM: gone 1.5 s, then throttling and 5xx", runs=1, ended=run["status"],
                   products=diff.products, page_retries=run["retries"], lost=diff.lost,
                   duplicates=diff.duplicates, stale=diff.stale, pim_requests=sum(counts.values()),
                   seconds=round(time.monotonic() - started, 1))

            # gone for longer than the run's own budget: failed, with a reason, and resumable
            pim.throttle.rate_limit = None
            pim.pim.set_faults()
            set_prices(env, sorted(skus)[:30], 700)  # the PIM moves on meanwhile
            started = time.monotonic()
            gate.close()
            failed_id = env.start("full")
            failed = _finished(env, failed_id, timeout=60)
            gone_for = time.monotonic() - started
            gate.open()
            assert failed["status"] == "failed", failed
            message = failed["message"]
            assert "the PIM could not be reached (connection refused)" in message, message
            assert "start the import again" in message and "Error" not in message, message
            again_id = env.start("full")
            again = _finished(env, again_id, timeout=60)
            assert again["status"] == "succeeded", again
            diff = compare(env, CATEGORY)
            assert diff.exact and diff.products == len(skus), diff.details
            record("faults", "PIM gone past the run's retry budget, then a new run", runs=2,
                   ended=f"{failed['status']}, then {again['status']}", gone_seconds=round(gone_for, 1),
                   lost=diff.lost, duplicates=diff.duplicates, stale=diff.stale,
                   seconds=round(time.monotonic() - started, 1))
        finally:
            kill_worker(worker)
            gate.close()
