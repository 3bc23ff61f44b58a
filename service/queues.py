"""The RQ queues, for every process: the web app enqueues, workers drain them.

Workers drain `events` before `imports` before `imports-long`: a change event never waits behind an
import page, and the pages of an import that has already worked LONG_AFTER seconds (a big one) move to
`imports-long`, so another tenant's small import runs between two of its pages instead of taking turns
with them (workers/jobs/imports.py). An events-only worker (`connector worker --queues events`) keeps
events from waiting for a running page at all. Jobs are
named by their dotted path ("workers.jobs.imports.run_import"), so `service/` never imports `workers/`;
every job carries `meta.tenant`, so a tenant's jobs can be found and cancelled.

Jobs put off with `enqueue_in` / `enqueue_at` (page retries, watchdogs, schedule ticks, event retries) are
moved onto their queue by `enqueue_due`, which every worker calls each second: not by RQ's scheduler,
whose lock a killed worker's scheduler keeps for 61 s and which RQ 3.0 asks for again only every 10
minutes. Each due job is moved exactly once, however many workers look at the same moment."""

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


def enqueue_due(conn: redis.Redis, names: tuple[str, ...] | list[str] = QUEUE_NAMES, *, limit: int = 500) -> int:
    """Move the scheduled jobs of the named queues whose time has come onto their queue (at most `limit`
    per queue and call); returns how many this call moved. What RQ's scheduler does, without its lock:
    each move is one transaction that runs only if the job was left untouched since it was read (WATCH on
    the job), so of several workers moving the same job at once exactly one does, and a job cancelled or
    rescheduled meanwhile is left alone."""
    moved = 0
    for name in names:
        q = queue(conn, name)
        registry = ScheduledJobRegistry(queue=q)
        for job_id in registry.get_jobs_to_schedule(chunk_size=limit):
            moved += _move_due(conn, q, registry, job_id)
    return moved


def _move_due(conn: redis.Redis, q: Queue, registry: ScheduledJobRegistry, job_id: str) -> bool:
    with conn.pipeline() as pipe:
        try:
            pipe.watch(Job.key_for(job_id))
            if pipe.zscore(registry.key, job_id) is None:
                return False  # another worker moved it (or it was cancelled) since we listed it
            try:
                job = Job.fetch(job_id, connection=conn)
            except NoSuchJobError:  # expired or deleted: nothing to run, drop its entry (as RQ's scheduler does)
                registry.remove(job_id)
                return False
            pipe.multi()
            # the same calls as RQ's scheduler (rq.scheduler.RQScheduler.enqueue_scheduled_jobs)
            q._enqueue_job(job, pipeline=pipe, at_front=bool(job.enqueue_at_front))
            registry.remove(job, pipeline=pipe)
            pipe.execute()
            return True
        except redis.WatchError:
            return False  # touched meanwhile: moved by another worker, cancelled or rescheduled


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
