"""The worker process: RQ on the queues `events` then `imports`."""

from __future__ import annotations

import logging

import redis
from rq import Worker

from workers.jobs.schedules import rearm_schedules
from workers.queues import queues

log = logging.getLogger("connector.worker")


def _warm_up() -> None:
    """What every job process would otherwise build again after RQ forks it: the modules the jobs import
    lazily and the TLS context (each page job would pay ~0.1 s of CPU for them)."""
    import service.sync_context  # noqa: F401
    import service.transform.product  # noqa: F401
    import workers.jobs.cleanup  # noqa: F401
    import workers.jobs.events  # noqa: F401
    import workers.jobs.imports  # noqa: F401
    import workers.sync.dirty  # noqa: F401
    from service.net import tls_context

    tls_context()


def run_worker(conn: redis.Redis, *, burst: bool = False, name: str | None = None) -> bool:
    _warm_up()
    worker = Worker(queues(conn), connection=conn, name=name)
    rearm_schedules(conn)  # a tick lost with a killed worker must not end a tenant's schedule
    from workers.jobs.imports import recover_imports  # imports left by a dead worker go on

    recover_imports(conn)
    log.info("worker started", extra={"queues": [q.name for q in worker.queues], "burst": burst})
    return worker.work(burst=burst, logging_level=logging.getLevelName(logging.getLogger().level),
                       with_scheduler=True)
