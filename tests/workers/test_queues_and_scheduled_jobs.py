"""A real RQ worker on a real Redis: the events queue is drained before imports, imports before the
pages of long imports; an events-only worker serves nothing else; due scheduled jobs are moved by every
worker, once, without RQ's scheduler lock."""

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import redis
from rq import Queue
from rq.job import Job
from rq.registry import ScheduledJobRegistry

from tests.faults_env import kill_worker
from tests.import_env import ROOT, wait_for
from workers.jobs import maintenance
from workers.queues import EVENTS, IMPORTS, LONG_IMPORTS, QUEUE_NAMES, enqueue_due, queue, queues
from workers.worker import run_worker


def test_worker_drains_events_before_imports(redis_conn):
    assert [q.name for q in queues(redis_conn)] == [EVENTS, IMPORTS, LONG_IMPORTS]
    long = queue(redis_conn, LONG_IMPORTS).enqueue(maintenance.ping, "long")
    imported = queue(redis_conn, IMPORTS).enqueue(maintenance.ping, "import")
    event = queue(redis_conn, EVENTS).enqueue(maintenance.ping, "event")
    run_worker(redis_conn, burst=True)
    long, imported, event = (Job.fetch(j.id, connection=redis_conn) for j in (long, imported, event))
    assert event.return_value() == "event" and imported.return_value() == "import" and long.return_value() == "long"
    assert event.ended_at <= imported.started_at and imported.ended_at <= long.started_at
    assert Queue(EVENTS, connection=redis_conn).count == 0


def test_an_events_worker_serves_events_only(redis_conn):
    imported = queue(redis_conn, IMPORTS).enqueue(maintenance.ping, "import")
    event = queue(redis_conn, EVENTS).enqueue(maintenance.ping, "event")
    run_worker(redis_conn, burst=True, queue_names=[EVENTS])
    assert Job.fetch(event.id, connection=redis_conn).return_value() == "event"
    assert Job.fetch(imported.id, connection=redis_conn).get_status() == "queued"


def test_due_jobs_are_moved_once_however_many_workers_look_at_once(redis_conn, redis_url):
    """`enqueue_due` (what RQ's scheduler did, without its lock): of several workers moving the same due jobs
    at once, exactly one moves each; jobs not yet due stay scheduled."""
    past = datetime.now(UTC) - timedelta(seconds=5)
    due = {name: [queue(redis_conn, name).enqueue_at(past, maintenance.ping, f"{name}-{i}").id for i in range(40)]
           for name in QUEUE_NAMES}
    later = queue(redis_conn, IMPORTS).enqueue_in(timedelta(hours=1), maintenance.ping, "later")
    with ThreadPoolExecutor(6) as pool:  # six processes' worth of connections, all looking at once
        moved = list(pool.map(lambda _: enqueue_due(redis.Redis.from_url(redis_url)), range(6)))
    assert sum(moved) == sum(len(ids) for ids in due.values())
    for name, ids in due.items():
        waiting = Queue(name, connection=redis_conn).get_job_ids()
        assert sorted(waiting) == sorted(ids), name  # each once, none left behind
        assert all(Job.fetch(i, connection=redis_conn).get_status() == "queued" for i in ids)
    assert ScheduledJobRegistry(IMPORTS, connection=redis_conn).get_job_ids() == [later.id]
    # a job cancelled after it was listed is not moved
    cancelled = queue(redis_conn, EVENTS).enqueue_at(past, maintenance.ping, "cancelled")
    cancelled.cancel()
    assert enqueue_due(redis_conn) == 0 and cancelled.id not in Queue(EVENTS, connection=redis_conn).get_job_ids()


def test_a_worker_runs_due_jobs_while_a_killed_workers_scheduler_lock_is_still_held(redis_conn, redis_url, tmp_path):
    """Was (issue 18): a killed worker's RQ scheduler keeps its locks for 61 s, and a worker started
    meanwhile had no scheduler for 10 minutes (RQ 3.0 asks again in its maintenance), so page retries,
    watchdogs, schedule ticks (`enqueue_at`) and event retries (`enqueue_in`) waited that long."""
    for name in QUEUE_NAMES:  # as the killed worker's scheduler left them (rq.scheduler: interval + 60 s)
        redis_conn.set(f"rq:scheduler-lock:{name}", "killed-workers-scheduler", ex=61)
    env = {"PATH": os.environ["PATH"], "REDIS_URL": redis_url, "DATA_DIR": str(tmp_path),
           "SECRET_KEY": "worker-test-secret-key-0123456789", "LOG_LEVEL": "WARNING"}
    worker = subprocess.Popen([sys.executable, "-m", "service.cli", "worker"], cwd=ROOT, env=env,
                              start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        soon = datetime.now(UTC) + timedelta(seconds=2)
        jobs = [queue(redis_conn, EVENTS).enqueue_in(timedelta(seconds=1), maintenance.ping, "event retry"),
                queue(redis_conn, IMPORTS).enqueue_at(soon, maintenance.ping, "schedule tick"),
                queue(redis_conn, LONG_IMPORTS).enqueue_in(timedelta(seconds=1), maintenance.ping, "page retry")]
        wait_for(lambda: all(Job.fetch(j.id, connection=redis_conn).get_status() == "finished" for j in jobs),
                 timeout=15, every=0.1)
    finally:
        kill_worker(worker)
    assert [Job.fetch(j.id, connection=redis_conn).return_value() for j in jobs] == [
        "event retry", "schedule tick", "page retry"]
