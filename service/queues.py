"""The RQ queues, for every process: the web app enqueues, workers drain them.

Workers drain `events` before `imports` before `imports-long`: a change event never waits behind an
import page, and the pages of an import that has already worked LONG_AFTER seconds (a big one) move to
`imports-long`, so another tenant's small import runs between two of its pages instead of taking turns
with them (workers/jobs/imports.py). An events-only worker (`connector worker --queues events`) keeps
events from waiting for a running page at all. Jobs are
named by their dotted path ("workers.jobs.imports.run_import"), so `service/` never imports `workers/`;
every job carries `meta.tenant`, so a tenant's jobs can be found and cancelled."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from typing import Any

import redis
from rq import Queue
from rq.command import send_stop_job_command
from rq.exceptions import InvalidJobOperation, NoSuchJobError
from rq.job import Job, JobStatus
from rq.registry import ScheduledJobRegistry, StartedJobRegistry

EVENTS = "events"
IMPORTS = "imports"
LONG_IMPORTS = "imports-long"
QUEUE_NAMES = (EVENTS, IMPORTS, LONG_IMPORTS)  # a worker's priority order


def queue(conn: redis.Redis, name: str) -> Queue:
    if name not in QUEUE_NAMES:
        raise ValueError(f"unknown queue {name!r}")
    return Queue(name, connection=conn)


def queues(conn: redis.Redis) -> list[Queue]:
    return [Queue(name, connection=conn) for name in QUEUE_NAMES]


def enqueue(conn: redis.Redis, name: str, func: str | Callable[..., Any], *args: Any, tenant: str,
            job_timeout: int, **kwargs: Any) -> Job:
    """Enqueue a job for a tenant. `func` is the job's dotted name (code in `service/` cannot import the
    job; workers may pass the function). `job_timeout` is required: a job without one runs RQ's default."""
    return queue(conn, name).enqueue(func, *args, meta={"tenant": tenant}, job_timeout=job_timeout, **kwargs)


def cancel_tenant_jobs(conn: redis.Redis, tenant: str) -> int:
    """Cancel the tenant's queued and scheduled jobs and stop its running ones; returns how many."""
    count = 0
    for q in queues(conn):
        ids = set(q.get_job_ids()) | set(ScheduledJobRegistry(queue=q).get_job_ids())
        running = set(StartedJobRegistry(queue=q).get_job_ids())
        for job in Job.fetch_many(list(ids | running), connection=conn):
            if job is None or job.meta.get("tenant") != tenant:
                continue
            if job.id in running:
                with contextlib.suppress(InvalidJobOperation, NoSuchJobError):
                    send_stop_job_command(conn, job.id)
            else:
                job.cancel()
            count += 1
    return count


def wait_tenant_jobs_stopped(conn: redis.Redis, tenant: str, timeout: float = 5.0) -> bool:
    """Wait (at most `timeout` s) until none of the tenant's jobs is running; False if one still is."""
    deadline = time.monotonic() + timeout
    while True:
        running = [job for q in queues(conn)
                   for job in Job.fetch_many(StartedJobRegistry(queue=q).get_job_ids(), connection=conn)
                   if job is not None and job.meta.get("tenant") == tenant
                   and job.get_status() == JobStatus.STARTED]
        if not running:
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
