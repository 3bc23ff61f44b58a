"""The worker process: RQ on the queues `events` then `imports` (or only the ones named)."""

from __future__ import annotations

import logging

import redis
from rq import SimpleWorker, Worker

from workers.jobs.schedules import rearm_schedules
from workers.queues import EVENTS, queues

log = logging.getLogger("connector.worker")


def run_worker(conn: redis.Redis, *, burst: bool = False, name: str | None = None,
               queue_names: list[str] | None = None) -> bool:
    chosen = [q for q in queues(conn) if not queue_names or q.name in queue_names]
    # an events-only worker runs its jobs in its own process: event jobs are many and short (tenants take
    # turns, workers.jobs.events), and a fork per job cost ~20 ms of CPU each
    worker_class = SimpleWorker if [q.name for q in chosen] == [EVENTS] else Worker
    worker = worker_class(chosen, connection=conn, name=name)
    rearm_schedules(conn)  # a tick lost with a killed worker must not end a tenant's schedule
    from workers.jobs.imports import recover_imports  # imports left by a dead worker go on

    recover_imports(conn)
    log.info("worker started", extra={"queues": [q.name for q in worker.queues], "burst": burst})
    return worker.work(burst=burst, logging_level=logging.getLevelName(logging.getLogger().level),
                       with_scheduler=True)
