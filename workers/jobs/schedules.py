"""Scheduled delta imports: one tick per tenant, armed by `service.imports.arm` with `enqueue_at` and
moved onto the queue when due by every worker (`service.queues.enqueue_due`, which needs no scheduler
lock); the tick arms the next one first, then starts a delta import. A tick of an older schedule
generation does nothing (the schedule changed)."""

from __future__ import annotations

import datetime as dt
import logging

import redis
from rq.exceptions import NoSuchJobError
from rq.job import Job

from service import imports
from service.store.schedules import ScheduleStore
from workers.context import job_context

log = logging.getLogger("connector.schedules")


def tick(tenant: str, generation: int) -> str:
    ctx = job_context()
    schedules = ScheduleStore(ctx.redis)
    doc = schedules.get(tenant)
    if doc["generation"] != generation or doc["every"] == "off" or not ctx.store.tenant_exists(tenant):
        return "stale"
    imports.arm(ctx.redis, tenant, generation)  # the next tick first: a failing import never ends the schedule
    try:
        run_id = imports.start_import(ctx.store, ctx.redis, tenant, "delta", trigger="schedule")
        result = f"started {run_id}"
    except imports.ImportRefused as exc:
        result = f"skipped: {exc.error}"
    schedules.ticked(tenant, dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), result)
    log.info("schedule tick", extra={"tenant": tenant, "result": result})
    return result


def rearm_schedules(conn: redis.Redis) -> int:
    """Arm again every schedule whose tick was lost (deleted, failed, or its worker killed mid-tick).
    Called when a worker starts; returns how many were re-armed."""
    schedules = ScheduleStore(conn)
    count = 0
    for tenant in schedules.tenants():
        doc = schedules.get(tenant)
        if doc["every"] == "off":  # the tenant was deleted (its keys went with it)
            schedules.forget(tenant)
            continue
        try:
            status = Job.fetch(doc["job_id"], connection=conn).get_status() if doc["job_id"] else None
        except NoSuchJobError:
            status = None
        lost = status not in ("scheduled", "queued", "started", "deferred")
        if lost and imports.arm(conn, tenant, doc["generation"]) is not None:
            count += 1
    return count
