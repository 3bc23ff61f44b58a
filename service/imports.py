"""Starting imports, reading runs, the import settings, delta schedules and the clean-up action.

Everything here is synchronous (Redis and RQ calls): web handlers run it in a thread. `service/` never
imports `workers/`: jobs are enqueued by their dotted names.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import re
import time
from typing import Any

import redis
from rq import Queue
from rq.exceptions import InvalidJobOperation, NoSuchJobError
from rq.job import Job

from service.connections import readiness
from service.refusal import Refusal
from service.store import Store
from service.store.imports import ImportStore
from service.store.leases import Lease
from service.store.schedules import ScheduleStore

log = logging.getLogger("connector.imports")

QUEUE = "imports"
IMPORT_JOB = "workers.jobs.imports.run_import"
TICK_JOB = "workers.jobs.schedules.tick"
CLEANUP_JOB = "workers.jobs.cleanup.run_cleanup"
IMPORT_JOB_TIMEOUT = 900  # the chain's first job; every page job sets its own
TICK_JOB_TIMEOUT = 60
CLEANUP_JOB_TIMEOUT = 3600
MODES = ("full", "delta")
ACTIVE = ("queued", "running")
RECENT = 30
SETTINGS_SECTION = "import"  # read by the engine (workers.sync.context.ImportOptions.from_section)
EVERY = ("off", "hourly", "daily")
_HHMM = re.compile(r"^([01][0-9]|2[0-3]):([0-5][0-9])$")
COUNT_FIELDS = ("created", "updated", "unchanged", "hidden", "deleted", "failed")


class ImportRefused(Refusal):
    """The request cannot start anything now: always 409, `error` is the code, `extra` details."""

    def __init__(self, error: str, message: str, **extra: Any) -> None:
        super().__init__(409, error, message, **extra)


def active_run(store: Store, tenant: str) -> dict[str, Any] | None:
    """The tenant's queued or running import, if any (only the newest runs can be: one at a time)."""
    for run in store.list_runs(tenant, 5):
        if run.get("status") in ACTIVE and run.get("mode") in MODES:
            return run
    return None


def _start_lease(conn: redis.Redis, tenant: str) -> Lease:
    # serialises "check, create the run, enqueue" per tenant: two clicks never start two imports
    return Lease(conn, f"import-start:{tenant}", ttl_ms=15000)


def start_import(store: Store, conn: redis.Redis, tenant: str, mode: str, *, trigger: str = "manual") -> str:
    """Check readiness (service.connections) and the one-import-per-tenant rule, create the run (status queued) and
    enqueue `workers.jobs.imports.run_import(tenant, run_id)` on `imports`. Returns the run id.
    A delta before the first import, or after a confirmed guarded change, is run as a full import."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}")
    ready = readiness(store, tenant)
    if not ready.ready:
        raise ImportRefused("configuration_incomplete", "Before an import: " + "; ".join(ready.in_words()) + ".",
                            missing=ready.missing)
    lease = _start_lease(conn, tenant)
    if not lease.acquire():
        raise ImportRefused("import_running", "An import is being started for this store right now.")
    try:
        running = active_run(store, tenant)
        if running is not None:
            raise ImportRefused("import_running", f"An import is already {running['status']} "
                                f"(started by {running.get('trigger', 'manual')}); wait for it to finish.",
                                run=running["id"])
        status = store.get_section(tenant, "status")
        effective = mode
        if mode == "delta" and (not status.get("first_import_done") or status.get("next_import") == "full"):
            effective = "full"
        run_id = store.create_run(tenant, {
            "mode": effective, "requested_mode": mode, "trigger": trigger, "status": "queued",
            "started_at": None, "finished_at": None, "progress": {"done": 0, "total": 0},
            "counts": {"categories": dict.fromkeys(COUNT_FIELDS, 0), "products": dict.fromkeys(COUNT_FIELDS, 0)},
            "errors": [], "warnings": []})
        ImportStore(conn).mark_active(run_id, tenant)
        Queue(QUEUE, connection=conn).enqueue(
            IMPORT_JOB, tenant, run_id, meta={"tenant": tenant, "run_id": run_id}, job_timeout=IMPORT_JOB_TIMEOUT,
            job_id=f"import-{run_id}", description=f"{effective} import of {tenant}")
        log.info("import queued", extra={"tenant": tenant, "run_id": run_id, "mode": effective, "trigger": trigger})
        return run_id
    finally:
        lease.release()


# -- run documents (interface.md: GET /api/imports/{id}) ---------------------------------------------


def _issues(items: list[dict]) -> list[dict]:
    out = []
    for issue in items:
        doc = {"item": str(issue.get("item", "")), "message": str(issue.get("message", ""))}
        if issue.get("field"):
            doc["field"] = str(issue["field"])
        out.append(doc)
    return out


def run_document(conn: redis.Redis, run: dict[str, Any], *, issues_limit: int = 1000) -> dict[str, Any]:
    """The public shape of a run: the run record merged with the engine's live counters and issues."""
    imports = ImportStore(conn)
    live = imports.counts(run["id"])
    stored_counts = run.get("counts") or {}
    counts = {}
    for section in ("categories", "products"):
        base = dict.fromkeys(COUNT_FIELDS, 0)
        base.update({k: int(v) for k, v in (stored_counts.get(section) or {}).items() if k in COUNT_FIELDS})
        for name, n in live[section].items():
            if name in COUNT_FIELDS and n:
                base[name] = int(n)
        counts[section] = base
    stored_progress = run.get("progress") or {}
    progress = {"done": max(int(stored_progress.get("done") or 0), live["progress"]["done"]),
                "total": max(int(stored_progress.get("total") or 0), live["progress"]["total"])}
    errors = imports.issues(run["id"], "errors", issues_limit) or list(run.get("errors") or [])[:issues_limit]
    warnings = imports.issues(run["id"], "warnings", issues_limit) or list(run.get("warnings") or [])[:issues_limit]
    totals = live.get("issues") or {}
    return {
        "id": run["id"], "mode": run.get("effective_mode") or run.get("mode"), "status": run.get("status", "queued"),
        "created_at": run.get("created_at"), "started_at": run.get("started_at"),
        "finished_at": run.get("finished_at"), "progress": progress, "counts": counts,
        "errors": _issues(errors), "warnings": _issues(warnings),
        "errors_total": max(int(totals.get("errors") or 0), len(errors)),
        "warnings_total": max(int(totals.get("warnings") or 0), len(warnings)),
        "trigger": run.get("trigger", "manual"), "message": run.get("message"),
        "mapping_version": run.get("mapping_version"),
        # pages retried after a failure (the PIM or the store failing, gone, throttling): what happened
        "retries": int(run.get("retries") or 0), "last_retry": run.get("last_retry"),
    }


def get_run(store: Store, conn: redis.Redis, tenant: str, run_id: str) -> dict[str, Any] | None:
    run = store.get_run(tenant, run_id)
    return run_document(conn, run) if run is not None else None


def list_runs(store: Store, conn: redis.Redis, tenant: str, limit: int = RECENT,
              issues_limit: int = 5) -> list[dict[str, Any]]:
    """Newest first; each run with its first few issues (the full lists come with the single run)."""
    return [run_document(conn, run, issues_limit=issues_limit) for run in store.list_runs(tenant, limit)]


# -- import settings (section "import") --------------------------------------------------------------

DEFAULTS: dict[str, Any] = {"enabled_only": True, "completeness": None, "families": [], "removed": "hide",
                            "schedule": {"every": "off", "at": "02:00"}}


def import_settings(store: Store, tenant: str) -> dict[str, Any]:
    doc = store.get_section(tenant, SETTINGS_SECTION)
    schedule = {**DEFAULTS["schedule"], **(doc.get("schedule") or {})}
    return {"enabled_only": bool(doc.get("enabled_only", True)), "completeness": doc.get("completeness"),
            "families": list(doc.get("families") or []), "removed": doc.get("removed") or "hide",
            "schedule": schedule}


def read_import_settings(body: dict[str, Any], current: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """A PUT body (any subset of the fields) over the current settings: (values, errors by field)."""
    errors: dict[str, str] = {}
    values = {**current, "schedule": dict(current["schedule"])}
    known = {"enabled_only", "completeness", "families", "removed", "schedule"}
    for name in body:
        if name not in known:
            errors[name] = "is not an import setting (enabled_only, completeness, families, removed, schedule)"
    if "enabled_only" in body:
        if isinstance(body["enabled_only"], bool):
            values["enabled_only"] = body["enabled_only"]
        else:
            errors["enabled_only"] = "must be true or false"
    if "completeness" in body:
        value = body["completeness"]
        if value is None:
            values["completeness"] = None
        elif isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 100:
            values["completeness"] = value
        else:
            errors["completeness"] = "must be null (off) or a whole percentage from 0 to 100"
    if "families" in body:
        families = body["families"]
        if (isinstance(families, list) and len(families) <= 500
                and all(isinstance(f, str) and re.fullmatch(r"[A-Za-z0-9_]{1,100}", f) for f in families)):
            values["families"] = list(dict.fromkeys(families))
        else:
            errors["families"] = "must be a list of family codes (letters, digits, underscores; at most 500)"
    if "removed" in body:
        if body["removed"] in ("hide", "delete"):
            values["removed"] = body["removed"]
        else:
            errors["removed"] = 'must be "hide" or "delete"'
    if "schedule" in body:
        schedule = body["schedule"]
        if not isinstance(schedule, dict):
            errors["schedule"] = 'must be {"every": "off"|"hourly"|"daily", "at": "HH:MM"}'
        else:
            every, at = schedule.get("every", values["schedule"]["every"]), schedule.get("at", values["schedule"]["at"])
            if every not in EVERY:
                errors["schedule.every"] = 'must be "off", "hourly" or "daily"'
            if not isinstance(at, str) or not _HHMM.match(at):
                errors["schedule.at"] = 'must be a time "HH:MM" (UTC, 24 hours)'
            if not any(k.startswith("schedule") for k in errors):
                values["schedule"] = {"every": every, "at": at}
            extra = set(schedule) - {"every", "at"}
            if extra:
                errors["schedule"] = f"has unknown fields: {', '.join(sorted(extra))}"
    return values, errors


def save_import_settings(store: Store, conn: redis.Redis, tenant: str, values: dict[str, Any]) -> dict[str, Any]:
    """Store the settings; a changed schedule cancels the armed tick and arms the new one."""
    before = import_settings(store, tenant)
    store.put_section(tenant, SETTINGS_SECTION, {**store.get_section(tenant, SETTINGS_SECTION), **values,
                                                 "saved_at": time.time()})
    if values["schedule"] != before["schedule"] or (
            values["schedule"]["every"] != "off" and ScheduleStore(conn).get(tenant)["job_id"] is None):
        apply_schedule(conn, tenant, values["schedule"]["every"], values["schedule"]["at"])
    return import_settings(store, tenant)


# -- schedules: RQ's scheduler (enqueue_at), one armed tick per tenant --------------------------------


def next_tick(every: str, at: str, now: dt.datetime) -> dt.datetime:
    """The next time (UTC, after `now`) a schedule fires: hourly at the minutes of `at`, daily at `at`."""
    hours, minutes = (int(x) for x in at.split(":"))
    now = now.astimezone(dt.UTC)
    if every == "hourly":
        candidate = now.replace(minute=minutes, second=0, microsecond=0)
        return candidate if candidate > now else candidate + dt.timedelta(hours=1)
    if every == "daily":
        candidate = now.replace(hour=hours, minute=minutes, second=0, microsecond=0)
        return candidate if candidate > now else candidate + dt.timedelta(days=1)
    raise ValueError(f"no tick for schedule {every!r}")


def cancel_tick(conn: redis.Redis, job_id: str | None) -> None:
    if not job_id:
        return
    try:
        job = Job.fetch(job_id, connection=conn)
    except NoSuchJobError:
        return
    if job.get_status() in ("scheduled", "queued", "deferred"):
        with contextlib.suppress(InvalidJobOperation):  # cancelled by someone else meanwhile
            job.cancel()
        job.delete()


def arm(conn: redis.Redis, tenant: str, generation: int, *, delay: dt.timedelta | None = None,
        now: dt.datetime | None = None) -> Job | None:
    """Schedule the tenant's next tick with RQ (`enqueue_at`; `enqueue_in` with `delay`, for tests and
    for re-arming at once). None when the schedule is off or changed meanwhile."""
    schedules = ScheduleStore(conn)
    doc = schedules.get(tenant)
    if doc["every"] == "off" or doc["generation"] != generation:
        return None
    queue = Queue(QUEUE, connection=conn)
    moment = now or dt.datetime.now(dt.UTC)
    when = moment + delay if delay is not None else next_tick(doc["every"], doc["at"], moment)
    # one id per generation and slot: a tick retried after a crash arms the same job, not a second one
    job_id = f"schedule-{tenant}-{generation}-{int(when.timestamp())}"
    kwargs = dict(meta={"tenant": tenant, "schedule": generation}, job_timeout=TICK_JOB_TIMEOUT, job_id=job_id,
                  description=f"scheduled delta import of {tenant}")
    if delay is not None:
        job = queue.enqueue_in(delay, TICK_JOB, tenant, generation, **kwargs)
    else:
        job = queue.enqueue_at(when, TICK_JOB, tenant, generation, **kwargs)
    if not schedules.armed(tenant, generation, job.id, when.timestamp()):
        cancel_tick(conn, job.id)  # the schedule changed while we armed: this tick is void
        return None
    return job


def apply_schedule(conn: redis.Redis, tenant: str, every: str, at: str) -> dict[str, Any]:
    """Replace the tenant's schedule: the armed tick is cancelled, a new one armed unless off."""
    schedules = ScheduleStore(conn)
    old = schedules.get(tenant)
    generation = schedules.change(tenant, every, at)
    cancel_tick(conn, old["job_id"])
    if every != "off":
        arm(conn, tenant, generation)
    return schedules.get(tenant)


def schedule_status(conn: redis.Redis, tenant: str) -> dict[str, Any]:
    doc = ScheduleStore(conn).get(tenant)
    next_at = doc.get("next_at")
    return {"every": doc["every"], "at": doc["at"],
            "next_at": dt.datetime.fromtimestamp(next_at, dt.UTC).isoformat() if next_at else None,
            "last_tick": doc.get("last_tick"), "last_result": doc.get("last_result")}


# -- clean-up after a confirmed guarded change ----------------------------------------------------------

CLEANUP_SECTION = "cleanup"


def start_cleanup(store: Store, conn: redis.Redis, tenant: str, action: str) -> str:
    """Enqueue `workers.jobs.cleanup.run_cleanup(tenant, action)`: hide or delete in the store what the
    connector created before the last confirmed guarded change. Allowed only while that change waits
    for its full import, with no import or clean-up under way, and not after a store change (the
    connector can no longer reach the old store)."""
    if action not in ("hide", "delete"):
        raise ValueError("action must be hide or delete")
    status = store.get_section(tenant, "status")
    if status.get("next_import") != "full":
        raise ImportRefused("nothing_to_clean", "A clean-up is offered after a confirmed change of the PIM, the "
                            "locale, the channel or the main category, until the next full import ran.")
    changes = store.config_changes(tenant, 1)
    if changes and "store_hash" in (changes[0].get("changed") or []):
        raise ImportRefused("other_store", "The last change was the store itself: the connector no longer has "
                            "access to the old store, so it cannot clean it up. Remove the products there by hand.")
    if "bigcommerce" in readiness(store, tenant).missing:
        raise ImportRefused("configuration_incomplete", "Connect the BigCommerce store first.",
                            missing=["bigcommerce"])
    lease = _start_lease(conn, tenant)
    if not lease.acquire():
        raise ImportRefused("import_running", "An import is being started for this store right now.")
    try:
        running = active_run(store, tenant)
        if running is not None:
            raise ImportRefused("import_running", "Wait for the running import to finish before a clean-up.",
                                run=running["id"])
        current = store.get_section(tenant, CLEANUP_SECTION)
        if current.get("state") in ("queued", "running"):
            raise ImportRefused("cleanup_running", "A clean-up is already under way.", job=current.get("job_id"))
        job_id = f"cleanup-{tenant}-{int(time.time() * 1000)}"
        store.put_section(tenant, CLEANUP_SECTION, {"job_id": job_id, "action": action, "state": "queued",
                                                    "queued_at": time.time(), "counts": {}})
        Queue(QUEUE, connection=conn).enqueue(
            CLEANUP_JOB, tenant, action, job_id=job_id, meta={"tenant": tenant}, job_timeout=CLEANUP_JOB_TIMEOUT,
            description=f"clean-up ({action}) of {tenant}")
        return job_id
    finally:
        lease.release()
