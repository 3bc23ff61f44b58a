"""The RQ queues live in `service/queues.py` (the web app enqueues and cancels too, and `service/` never
imports `workers/`); re-exported here for the workers' own code."""

from service.queues import (
    EVENTS,
    IMPORTS,
    LONG_IMPORTS,
    QUEUE_NAMES,
    cancel_tenant_jobs,
    enqueue,
    enqueue_due,
    queue,
    queues,
)

__all__ = ["EVENTS", "IMPORTS", "LONG_IMPORTS", "QUEUE_NAMES", "cancel_tenant_jobs", "enqueue", "enqueue_due", "queue", "queues"]
