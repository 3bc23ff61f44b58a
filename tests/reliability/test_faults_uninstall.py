"""The BigCommerce app uninstalled while an import runs (issue 13 [hardening]): `/bc/uninstall` with a valid
signed_payload_jwt stops the import cleanly, leaves no job running, queued or scheduled for the tenant, no
key of the tenant in Redis, and no write reaches the store afterwards. A real RQ worker, both sandboxes."""

from __future__ import annotations

import time

import httpx
import pytest
from rq import Queue
from rq.job import Job, JobStatus
from rq.registry import ScheduledJobRegistry, StartedJobRegistry

from service.app import create_app
from service.settings import load_settings
from service.store.imports import ImportStore
from tests.access.test_sessions import CLIENT_ID, CLIENT_SECRET, signed_payload
from tests.faults_env import kill_worker
from tests.import_env import STORE_HASH, import_env, wait_for
from tests.reliability.figures import record
from tests.servers import serve

pytestmark = pytest.mark.reliability

LIVE = (JobStatus.QUEUED, JobStatus.STARTED, JobStatus.SCHEDULED, JobStatus.DEFERRED)
WRITES = ("POST", "PUT", "DELETE")


def _live_jobs(conn, tenant: str) -> list[str]:
    found = []
    for name in ("events", "imports"):
        q = Queue(name, connection=conn)
        ids = set(q.get_job_ids()) | set(ScheduledJobRegistry(queue=q).get_job_ids()) | set(
            StartedJobRegistry(queue=q).get_job_ids())
        for job in Job.fetch_many(sorted(ids), connection=conn):
            if job is not None and job.meta.get("tenant") == tenant and job.get_status() in LIVE:
                found.append(f"{job.func_name} {job.get_status()}")
    return found


def _writes(env) -> int:
    return sum(n for route, n in env.requests()["counts"].items() if route.split(" ")[0] in WRITES)


def test_uninstall_during_an_import_stops_it_and_leaves_nothing_for_the_tenant(redis_url, tmp_path):
    with import_env(redis_url, tmp_path, category="pc_monitors") as env:
        settings = load_settings({**{k: env.env[k] for k in ("REDIS_URL", "SECRET_KEY", "BC_API_URL", "BC_LOGIN_URL",
                                                              "APP_URL", "DATA_DIR", "ALLOW_PRIVATE_URLS")},
                                  "BC_CLIENT_ID": CLIENT_ID, "BC_CLIENT_SECRET": CLIENT_SECRET})
        imports = ImportStore(env.conn)
        env.bc_app.state.bc.set_faults(STORE_HASH, latency=0.03)
        run_id = env.start("full")
        worker = env.worker(burst=False)
        try:
            with serve(create_app(settings)) as url:
                wait_for(lambda: (imports.checkpoint(run_id) or {}).get("phase") == "simple"
                         and len(env.bc_state.products) >= 20, timeout=60, every=0.05)
                assert _live_jobs(env.conn, env.tenant)  # the page job is running
                started = time.monotonic()
                gone = httpx.get(f"{url}/bc/uninstall", params={"signed_payload_jwt": signed_payload(STORE_HASH)},
                                 timeout=30)
                answered = time.monotonic() - started
                at_answer = _writes(env)
                assert gone.status_code == 204, gone.text
            # the running page is stopped: nothing of the tenant's runs or queues is alive a moment later
            wait_for(lambda: not _live_jobs(env.conn, env.tenant), timeout=15, every=0.1)
            stopped = time.monotonic() - started
            # requests sent before the stop may still be answered (the sandbox logs a request when it
            # answers it): after a second, the store must hear nothing more. A job still running would
            # go on writing (122 products, 16 creates in flight).
            time.sleep(max(0.0, started + answered + 1.0 - time.monotonic()))
            writes = _writes(env)
            in_flight = writes - at_answer
            time.sleep(2)
            writes_after = _writes(env) - writes
            assert writes_after == 0
            assert _live_jobs(env.conn, env.tenant) == []
            assert worker.poll() is None  # the worker itself lives on for other tenants
            left = sorted(k.decode() for k in env.conn.scan_iter(f"connector:tenant:{env.tenant}:*"))
            assert left == []
            assert run_id.encode() not in env.conn.hkeys("connector:imports:active")
            assert not env.conn.exists(f"connector:lease:import:{env.tenant}", f"connector:run:{run_id}",
                                       f"connector:run:{run_id}:checkpoint")
            assert env.store.tenant_for_store(STORE_HASH) is None
        finally:
            kill_worker(worker)
        record("faults", "uninstall during an import", runs=1, ended="stopped", jobs_left=0,
               writes_after_stop=writes_after, answered_in_flight=in_flight, keys_left=len(left), answer_seconds=round(answered, 2),
               stopped_seconds=round(stopped, 2))
