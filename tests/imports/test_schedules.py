"""Per-tenant delta schedules on RQ's scheduled jobs: arming, replacing and turning off through the API,
a tick that fires (a short interval with enqueue_in, moved when due as every worker moves it, then run),
stale ticks, and re-arming a lost tick."""

from __future__ import annotations

import datetime as dt
import time

import pytest
from rq import Queue
from rq.exceptions import NoSuchJobError
from rq.job import Job
from rq.registry import ScheduledJobRegistry

from service import imports
from service.queues import enqueue_due
from service.store.schedules import ScheduleStore
from tests.config_env import running_connector
from workers import context as worker_context
from workers.jobs.schedules import rearm_schedules, tick
from workers.worker import EventsWorker as InProcessWorker  # RQ's SimpleWorker, stopping promptly

SECRET = "config-test-secret-key-0123456789abcdef"  # the connector's of tests/config_env.py


@pytest.fixture(scope="module")
def service(tmp_path_factory, redis_url):
    with running_connector(tmp_path_factory.mktemp("schedules"), redis_url, "http://127.0.0.1:9") as running:
        yield running


@pytest.fixture
def worker_env(monkeypatch, redis_url, tmp_path):
    """Jobs build their context from the environment, as in the worker process."""
    for name, value in {"REDIS_URL": redis_url, "SECRET_KEY": SECRET, "DATA_DIR": str(tmp_path),
                        "ALLOW_PRIVATE_URLS": "true"}.items():
        monkeypatch.setenv(name, value)
    worker_context._settings.cache_clear()
    yield
    worker_context._settings.cache_clear()


def configured(client):
    """A tenant whose configuration is complete (start_import only checks what is stored)."""
    store, tenant = client.store, client.tenant
    store.put_credentials(tenant, "pim", {"url": "http://pim.example", "client_id": "c", "secret": "s",
                                          "username": "u", "password": "p"})
    store.put_section(tenant, "pim", {"url": "http://pim.example", "connected": True})
    store.put_credentials(tenant, "bigcommerce", {"access_token": "t"})
    store.put_section(tenant, "bigcommerce", {"store_hash": "abc123", "connected": True})
    store.put_section(tenant, "main", {"locale": "en_US", "channel": "ecommerce", "category": "master"})
    store.put_section(tenant, "status", {"first_import_done": True})


def scheduled(conn) -> dict[str, float]:
    registry = ScheduledJobRegistry(queue=Queue("imports", connection=conn))
    return {job_id: registry.get_expiration_time(Job.fetch(job_id, connection=conn)).timestamp()
            for job_id in registry.get_job_ids()}


def test_next_tick():
    at = dt.datetime(2026, 3, 1, 10, 20, 30, tzinfo=dt.UTC)
    assert imports.next_tick("hourly", "00:15", at) == dt.datetime(2026, 3, 1, 11, 15, tzinfo=dt.UTC)
    assert imports.next_tick("hourly", "07:45", at) == dt.datetime(2026, 3, 1, 10, 45, tzinfo=dt.UTC)
    assert imports.next_tick("daily", "10:20", at) == dt.datetime(2026, 3, 2, 10, 20, tzinfo=dt.UTC)
    assert imports.next_tick("daily", "23:59", at) == dt.datetime(2026, 3, 1, 23, 59, tzinfo=dt.UTC)
    assert imports.next_tick("daily", "00:00", dt.datetime(2026, 12, 31, 23, 0, tzinfo=dt.UTC)) == \
        dt.datetime(2027, 1, 1, tzinfo=dt.UTC)


def test_api_arms_replaces_and_cancels_the_schedule(client, redis_conn):
    before = time.time()
    doc = client.put("/api/config/imports", {"schedule": {"every": "hourly", "at": "00:17"}}).json()
    [(first_id, first_at)] = scheduled(redis_conn).items()
    job = Job.fetch(first_id, connection=redis_conn)
    assert job.func_name == "workers.jobs.schedules.tick" and job.meta["tenant"] == client.tenant
    expected = imports.next_tick("hourly", "00:17", dt.datetime.fromtimestamp(before, dt.UTC))
    assert abs(first_at - expected.timestamp()) < 1
    assert doc["schedule"]["every"] == "hourly" and doc["schedule"]["next_at"].startswith(expected.isoformat()[:16])

    client.put("/api/config/imports", {"schedule": {"every": "daily", "at": "03:30"}})
    [(second_id, second_at)] = scheduled(redis_conn).items()
    assert second_id != first_id
    with pytest.raises(NoSuchJobError):
        Job.fetch(first_id, connection=redis_conn)
    assert dt.datetime.fromtimestamp(second_at, dt.UTC).strftime("%H:%M") == "03:30"

    # saving other settings leaves the armed tick alone
    client.put("/api/config/imports", {"completeness": 50})
    assert list(scheduled(redis_conn)) == [second_id]

    off = client.put("/api/config/imports", {"schedule": {"every": "off"}}).json()
    assert scheduled(redis_conn) == {} and off["schedule"]["next_at"] is None
    assert ScheduleStore(redis_conn).tenants() == []


def test_a_tick_fires_starts_a_delta_and_arms_the_next(client, redis_conn, worker_env):
    configured(client)
    client.put("/api/config/imports", {"schedule": {"every": "hourly", "at": "00:05"}})
    generation = ScheduleStore(redis_conn).get(client.tenant)["generation"]
    hourly_id = next(iter(scheduled(redis_conn)))
    imports.cancel_tick(redis_conn, hourly_id)
    soon = imports.arm(redis_conn, client.tenant, generation, delay=dt.timedelta(seconds=1))
    assert soon is not None and soon.id in scheduled(redis_conn)
    time.sleep(1.2)
    worker = InProcessWorker([Queue("imports", connection=redis_conn)], connection=redis_conn)
    assert enqueue_due(redis_conn, ["imports"]) == 1  # what every worker does each second: the tick is due
    worker.work(burst=True, max_jobs=1)

    assert Job.fetch(soon.id, connection=redis_conn).return_value().startswith("started r")
    [run] = client.store.list_runs(client.tenant)
    assert run["mode"] == "delta" and run["trigger"] == "schedule" and run["status"] == "queued"
    queued = Queue("imports", connection=redis_conn).get_job_ids()
    assert queued == [f"import-{run['id']}"]
    # the next tick is armed at the next hourly time
    [(next_id, next_at)] = scheduled(redis_conn).items()
    assert next_id != soon.id and dt.datetime.fromtimestamp(next_at, dt.UTC).minute == 5
    assert 0 < next_at - time.time() <= 3600

    # a tick while that import is still queued skips, and keeps the schedule going
    assert tick(client.tenant, generation) == "skipped: import_running"
    assert len(client.store.list_runs(client.tenant)) == 1
    assert ScheduleStore(redis_conn).get(client.tenant)["last_result"] == "skipped: import_running"


def test_a_tick_of_a_replaced_schedule_does_nothing(client, redis_conn, worker_env):
    configured(client)
    client.put("/api/config/imports", {"schedule": {"every": "hourly", "at": "00:05"}})
    old = ScheduleStore(redis_conn).get(client.tenant)["generation"]
    client.put("/api/config/imports", {"schedule": {"every": "daily", "at": "04:00"}})
    armed = dict(scheduled(redis_conn))
    assert tick(client.tenant, old) == "stale"
    assert client.store.list_runs(client.tenant) == [] and scheduled(redis_conn) == armed


def test_a_lost_tick_is_rearmed_when_a_worker_starts(client, redis_conn):
    client.put("/api/config/imports", {"schedule": {"every": "daily", "at": "05:45"}})
    [(job_id, at)] = scheduled(redis_conn).items()
    Job.fetch(job_id, connection=redis_conn).delete()
    assert scheduled(redis_conn) == {}
    assert rearm_schedules(redis_conn) == 1
    assert list(scheduled(redis_conn).values()) == [at]
    assert rearm_schedules(redis_conn) == 0  # armed: nothing to do
