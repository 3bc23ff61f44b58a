"""Faults of Redis itself (issue 13 [hardening]), each on a redis-server of the test's own (tests/faults_env.py):

- stalled (SIGSTOP) and unreachable (killed): the web answers 503 within seconds, never hangs; webhooks
  answer 503 so the sender retries; once Redis is back, nothing is half-written (a delivery whose script
  ran while its caller timed out still gets its sync job when the sender retries);
- restarted mid-import (SIGKILL, append-only file, fsync every second): the import goes on and the store
  ends exactly as the PIM says.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
import signal
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
import redis
from rq import Queue

from service.app import create_app
from service.events import policy
from service.redis_conn import connect
from service.settings import load_settings
from service.store.events import PENDING_GRACE, EventStore
from service.store.imports import ImportStore
from service.store.leases import Slots
from tests.faults_env import compare, own_redis, set_prices
from tests.import_env import STORE_HASH, expected_catalog, import_env, wait_for
from tests.reliability.figures import record
from tests.servers import serve

pytestmark = pytest.mark.reliability

SECRET = "faults-redis-secret-0123456789abcdef"
EVENT_SECRET = "faults-event-secret-0123456789"


def _event(tenant: str, event_id: str, product_uuid: str) -> tuple[bytes, dict]:
    body = json.dumps({"specversion": "1.0", "id": event_id, "source": "http://pim.test", "subject": "x",
                       "type": "com.akeneo.pim.v1.product.updated", "time": "2026-12-02T00:00:00Z",
                       "data": {"product": {"uuid": product_uuid}}}).encode()
    signature = hmac.new(EVENT_SECRET.encode(), body, hashlib.sha256).hexdigest()
    return body, {"X-AKENEO-SIGNATURE-PRIMARY": signature, "Content-Type": "application/json"}


def _timed(method: str, url: str, **kwargs) -> tuple[int, float]:
    started = time.monotonic()
    try:
        status = httpx.request(method, url, timeout=30, **kwargs).status_code
    except httpx.TimeoutException:
        status = 0
    return status, time.monotonic() - started


def test_stalled_or_unreachable_redis_answers_503_in_seconds_and_leaves_nothing_half_written(tmp_path):
    with own_redis(tmp_path / "redis") as server:
        settings = load_settings({"REDIS_URL": server.url, "SECRET_KEY": SECRET, "DATA_DIR": str(tmp_path),
                                  "APP_URL": "http://127.0.0.1:1", "LOG_LEVEL": "ERROR"})
        app = create_app(settings)  # its own connection, made by service.redis_conn.connect
        store = app.state.store
        tenant = store.create_tenant(pim_url="http://pim.test")
        store.put_credentials(tenant, "event_platform", {"primary": EVENT_SECRET, "secondary": EVENT_SECRET + "2"})
        token, _ = app.state.sessions.issue(tenant, {"id": 7, "username": "julia"}, "bigcommerce")
        bearer = {"Authorization": f"Bearer {token}"}
        product = str(uuid.uuid4())
        check = redis.Redis.from_url(server.url)
        with serve(app) as url:
            hook = f"{url}/webhooks/akeneo/{tenant}"
            assert httpx.get(f"{url}/api/session", headers=bearer).status_code == 200
            # a delivery while all is well (a running service has its scripts loaded in Redis)
            warm, warm_headers = _event(tenant, f"warm-{uuid.uuid4()}", str(uuid.uuid4()))
            assert httpx.post(hook, content=warm, headers=warm_headers).status_code == 200
            # ... and synced since: nothing waiting, no job
            check.delete(*(f"connector:tenant:{tenant}:events:{k}" for k in ("dirty", "due", "job")))
            Queue("events", connection=check).empty()

            def round_of_requests(label: str) -> dict[str, tuple[int, float]]:
                # at once, more than the default thread pool's 6 workers: a hung Redis call would hold them
                body, headers = _event(tenant, f"{label}-{uuid.uuid4()}", product)
                calls = [("GET", f"{url}/api/session", {"headers": bearer}),
                         ("GET", f"{url}/api/imports", {"headers": bearer}),
                         ("GET", f"{url}/api/config", {"headers": bearer}),
                         ("GET", f"{url}/readyz", {}),
                         ("HEAD", hook, {}),
                         ("POST", hook, {"content": body, "headers": headers})] * 2
                with ThreadPoolExecutor(len(calls)) as pool:
                    answers = list(pool.map(lambda c: _timed(c[0], c[1], **c[2]), calls))
                return {f"{c[0]} {c[1].removeprefix(url)} #{i}": a for i, (c, a) in enumerate(zip(calls, answers, strict=True))}

            # stalled: the process is there (TCP connects) but answers nothing
            stalled_at = time.monotonic()
            event_id = f"stalled-{uuid.uuid4()}"
            body, headers = _event(tenant, event_id, product)
            server.stall()
            try:
                stalled = round_of_requests("stalled")
                lost_delivery = _timed("POST", hook, content=body, headers=headers)
                alive = _timed("GET", f"{url}/healthz")
            finally:
                server.resume()
            assert {name: s for name, (s, _) in stalled.items() if s != 503} == {}, stalled
            assert lost_delivery[0] == 503 and alive[0] == 200
            worst_stalled = max(t for _, t in [*stalled.values(), lost_delivery])
            assert worst_stalled < 8, stalled

            # Over HTTP the stall caught the delivery at its first read (the tenant's secrets). The worse
            # moment is the acceptance script itself: sent, run by Redis when it resumes, its caller gone
            # (timed out, answered 503). policy.accept is the webhook's own call, on its own connection:
            other = str(uuid.uuid4())
            late_body, late_headers = _event(tenant, f"late-{uuid.uuid4()}", other)
            late_id = "ep:" + json.loads(late_body)["id"]
            web_conn = connect(server.url)
            web_conn.ping()  # connected (a new connection's handshake would be what times out)
            server.stall()
            try:
                with pytest.raises(redis.TimeoutError):
                    policy.accept(web_conn, tenant, [(late_id, f"product:{other}")])
            finally:
                server.resume()
            ran = EventStore(check).was_seen(tenant, late_id)

            # back: the sender retries the deliveries it got a 503 for; each item has its sync job
            assert httpx.get(f"{url}/api/session", headers=bearer).status_code == 200
            retried = httpx.post(hook, content=body, headers=headers)
            assert retried.status_code == 200, retried.text
            # a retry comes minutes later in life (Akeneo: 5, 10, 20 min); here past the flag's grace
            time.sleep(max(0.0, PENDING_GRACE + 0.2 - (time.monotonic() - stalled_at)))
            retried = httpx.post(hook, content=late_body, headers=late_headers)
            assert retried.status_code == 200, retried.text
            assert retried.json()["duplicates"] == (1 if ran else 0)
            dirty = check.hgetall(f"connector:tenant:{tenant}:events:dirty")
            due = check.zrange(f"connector:tenant:{tenant}:events:due", 0, -1)
            jobs = [j for j in Queue("events", connection=check).get_jobs() if j.meta.get("tenant") == tenant]
            assert set(dirty) == set(due) == {f"product:{product}".encode(), f"product:{other}".encode()}
            assert jobs, "a dirty item without a queued sync job: it would wait for the next change"
            assert check.get(f"connector:tenant:{tenant}:events:job") == b"1"

            # unreachable: refused at once
            server.kill()
            try:
                down = round_of_requests("down")
            finally:
                server.start()
            assert {name: s for name, (s, _) in down.items() if s != 503} == {}, down
            worst_down = max(t for _, t in down.values())
            assert worst_down < 5, down
            # the same process serves again once Redis is back; what was written before is still there (AOF)
            assert httpx.get(f"{url}/api/session", headers=bearer).status_code == 200
            body, headers = _event(tenant, f"after-{uuid.uuid4()}", product)
            assert httpx.post(hook, content=body, headers=headers).status_code == 200
            assert set(check.hkeys(f"connector:tenant:{tenant}:events:dirty")) == set(
                check.zrange(f"connector:tenant:{tenant}:events:due", 0, -1))
        record("faults", "Redis stalled (SIGSTOP): web and webhooks", requests=len(stalled) + 1,
               answered_503=sum(s == 503 for s, _ in [*stalled.values(), lost_delivery]),
               worst_seconds=round(worst_stalled, 2), lost=0 if jobs else 1,
               script_ran_after_timeout=int(bool(ran)))
        record("faults", "Redis unreachable (killed): web and webhooks", requests=len(down),
               answered_503=sum(s == 503 for s, _ in down.values()), worst_seconds=round(worst_down, 2))


# Restarts land with requests in flight: before this was mended, releases of the shared Akeneo slots
# sent while Redis was down were lost, and with all 4 lost every process waited out their 120 s TTL.
@pytest.mark.parametrize("created", [30, 60])
def test_redis_restarted_mid_import_the_run_goes_on_and_the_store_ends_as_the_pim_says(tmp_path, created):
    category = "pc_monitors"  # 122 products: two pages of 100
    with own_redis(tmp_path / "redis") as server, import_env(server.url, tmp_path, category=category) as env:
        prices = set_prices(env, expected_catalog(category).simple, 100)
        env.bc_app.state.bc.set_faults(STORE_HASH, latency=0.02)  # a page long enough to be caught mid-way
        started = time.monotonic()
        run_id = env.start("full")
        imports = ImportStore(env.conn)
        workers = [env.worker(burst=False)]
        restarts = 0
        try:
            def mid_page() -> bool:
                checkpoint = imports.checkpoint(run_id) or {}
                return checkpoint.get("phase") == "simple" and len(env.bc_state.products) >= created
            wait_for(mid_page, timeout=60, every=0.05)
            server.restart(down_for=1.0)  # SIGKILL: whatever the last second wrote may be gone
            env.bc_app.state.bc.set_faults(STORE_HASH)

            def finished() -> bool:
                nonlocal restarts
                if workers[-1].poll() is not None:  # a supervisor restarts a dead worker: so does the test
                    restarts += 1
                    workers.append(env.worker(burst=False))
                with contextlib.suppress(redis.RedisError):
                    return env.run(run_id)["status"] not in ("queued", "running")
                return False
            wait_for(finished, timeout=90, every=0.25)
        finally:
            for worker in workers:
                if worker.poll() is None:
                    os.killpg(worker.pid, signal.SIGKILL)
                    worker.wait()
        run = env.run(run_id)
        assert run["status"] == "succeeded", run
        diff = compare(env, category)
        assert diff.exact, diff.details
        assert diff.products == len(prices)
        record("faults", f"Redis restarted (SIGKILL, AOF) mid-import, {created} products in the store", runs=1, ended=run["status"],
               products=diff.products, lost=diff.lost, duplicates=diff.duplicates, stale=diff.stale,
               worker_restarts=restarts, seconds=round(time.monotonic() - started, 1))


def test_a_slot_released_while_redis_restarts_is_freed_once_it_is_back(tmp_path):
    """The Akeneo in-flight slots are given back in the background; a give-back that meets a Redis
    restart is tried again, so the slot is free at once, not after its 120 s TTL."""
    with own_redis(tmp_path / "redis", fsync="always") as server:  # the slots taken survive the restart
        conn = connect(server.url)
        slots = Slots(conn, "akeneo:restart", 4)
        assert all(slots.try_take(f"owner-{i}") for i in range(4))
        assert not slots.try_take("one-too-many")
        restart = threading.Thread(target=server.restart, kwargs={"down_for": 1.0})
        restart.start()
        try:
            wait_for(lambda: server.process.poll() is not None, timeout=10, every=0.02)  # Redis is down
            with pytest.raises(redis.RedisError):
                slots.give_back("owner-0")  # the plain give-back is lost
            started = time.monotonic()
            for i in range(4):
                slots.give_back_patiently(f"owner-{i}")
            waited = time.monotonic() - started
        finally:
            restart.join()
        assert slots.in_use() == 0
        assert slots.try_take("next")
        assert 0.3 < waited < 15, waited  # it waited for Redis, not for the slots' TTL
        record("faults", "Akeneo slots given back while Redis restarts", slots=4, freed=4,
               seconds=round(waited, 2), lost=0, duplicates=0)
