"""Imports as a chain of page-sized RQ jobs.

`run_import(tenant, run_id)` (enqueued by service.imports.start_import) and every `run_page` after it
do ONE step of workers.sync.engine and commit the checkpoint (cursor, counts, issues) in one Redis
transaction after the page's load succeeded, then enqueue the next page. Guarantees:

- one import per tenant at a time: each page holds the lease `connector:lease:import:{tenant}`
  (renewed by a heartbeat thread while it works, short TTL so a killed worker frees it soon);
- exactly one chain: the checkpoint names the job expected next (`next_job`); any other job for the
  run (a duplicate, a stale retry) exits without touching anything;
- fair between tenants: every page goes to the back of its queue, so tenants' pages take turns; once
  a run has worked LONG_AFTER seconds its pages go to `imports-long`, which workers serve only when
  `imports` is empty, so a small import started beside a big one waits for one page, not one per page;
- re-entrant: a worker killed mid-page leaves the checkpoint at the page's start; the watchdog
  (`recover_imports`, run when a worker starts and scheduled behind every page) re-enqueues the
  page once the lease has expired. The page is redone; creates adopt by SKU and the id map is
  written per product, so nothing is duplicated and finished pages are never redone.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import threading
import time
from datetime import timedelta
from typing import Any

import redis
from rq import get_current_job
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus

from service.clients.akeneo_errors import AkeneoAuthError, AkeneoError, AkeneoUnreachable
from service.clients.bigcommerce_errors import BigCommerceAuthError, BigCommerceError, BigCommerceUnreachable
from service.crypto import SecretBox
from service.settings import knob, load_settings
from service.store import Store
from service.store.imports import ImportStore, PageCommit
from service.store.leases import WAITS, Lease, waits_so_far
from service.store.ledger import StoreLedger
from workers.context import job_context
from workers.queues import IMPORTS, LONG_IMPORTS, queue
from workers.sync.context import NotConfigured, open_sync_context
from workers.sync.engine import first_checkpoint, run_step

log = logging.getLogger("connector.jobs.imports")

PAGE_TIMEOUT = int(knob("CONNECTOR_IMPORT_PAGE_TIMEOUT"))  # RQ job_timeout per page
LEASE_TTL = knob("CONNECTOR_IMPORT_LEASE_TTL")  # seconds; renewed every third
WATCH_INTERVAL = max(2 * LEASE_TTL, 5.0)  # seconds between two looks of a run's watchdog
RECOVER_GUARD_MS = 2000  # a dead page is re-enqueued once, however many processes notice it at once
MAX_PAGE_ATTEMPTS = int(knob("CONNECTOR_IMPORT_MAX_ATTEMPTS"))  # tries of one page, then failed
RETRY_BASE = knob("CONNECTOR_IMPORT_RETRY_BASE")  # seconds before a failed page's retry
# seconds of page work after which a run's pages yield to shorter imports (a big import: hours of pages)
LONG_AFTER = knob("CONNECTOR_IMPORT_LONG_AFTER")


def _lease(conn: redis.Redis, tenant: str, owner: str) -> Lease:
    return Lease(conn, f"import:{tenant}", owner=owner, ttl_ms=int(LEASE_TTL * 1000))


def run_import(tenant: str, run_id: str) -> None:
    """The first job of a run (its id is the run's first `next_job`)."""
    run_page(tenant, run_id)


def run_page(tenant: str, run_id: str) -> None:
    """One step of the run: the one the checkpoint says, whatever step this job was meant for."""
    ctx = job_context()
    conn, store = ctx.redis, ctx.store
    imports = ImportStore(conn, store.box)
    job = get_current_job()
    job_id = job.id if job is not None else f"direct-{secrets.token_hex(6)}"
    checkpoint = imports.checkpoint(run_id)
    run = store.get_run(tenant, run_id)
    if run is None or run.get("status") in ("succeeded", "partial", "failed"):
        imports.mark_finished(run_id)
        return
    if checkpoint is None:
        checkpoint = _start(store, imports, tenant, run_id, run, job_id)
    elif checkpoint.get("next_job") not in (job_id, None):
        log.info("import page job superseded", extra={"run": run_id, "job": job_id})
        return
    lease = _lease(conn, tenant, f"{run_id}:{job_id}")
    if not lease.acquire():
        holder = lease.holder() or ""
        if holder.startswith(f"{run_id}:"):
            return  # another job of this run is alive: this one is a duplicate
        # another run of this tenant is still working: come back later
        queue(conn, _page_queue(checkpoint)).enqueue_in(timedelta(seconds=max(LEASE_TTL / 2, 1)), run_page,
                                                        tenant, run_id,
                                        job_id=job_id, job_timeout=PAGE_TIMEOUT, meta={"tenant": tenant})
        return
    stop = threading.Event()
    beat = threading.Thread(target=_heartbeat, args=(lease, stop), daemon=True)
    beat.start()
    try:
        # re-read under the lease: a previous holder may have committed meanwhile
        checkpoint = imports.checkpoint(run_id) or checkpoint
        if checkpoint.get("next_job") not in (job_id, None):
            return
        if job is not None:  # which step this job worked, and when it held the lease (the run's page history)
            WAITS.clear()  # what this page waits on (PIM slots, BigCommerce quota), recorded with its history
            job.meta["worked"] = {"step": checkpoint.get("step"), "from": time.time()}
            job.save_meta()
        try:
            next_checkpoint = _step(ctx, tenant, run_id, checkpoint, imports, store, lease)
        except Exception as exc:  # the page is retried from its checkpoint, a bounded number of times
            next_checkpoint = None
            _retry_later(conn, store, imports, tenant, run_id, checkpoint, exc)
    finally:
        stop.set()
        beat.join(timeout=5)
        if job is not None and "worked" in job.meta:
            job.meta["worked"]["until"] = time.time()
            job.meta["worked"]["waits"] = waits_so_far()
            with contextlib.suppress(redis.RedisError):
                job.save_meta()
        lease.release()
    if next_checkpoint is not None and next_checkpoint.get("phase") != "done":
        _enqueue(conn, tenant, run_id, next_checkpoint)


def _start(store: Store, imports: ImportStore, tenant: str, run_id: str, run: dict, job_id: str) -> dict:
    mode = "full" if run.get("mode") != "delta" else "delta"
    status = store.get_section(tenant, "status")
    since = None
    ledger = store.ledger(tenant)  # the delta bookmark is the store's: a new store gets a full import
    last = ledger.bookmark() if ledger else None
    if mode == "delta":
        if status.get("next_import") == "full" or not last:
            mode = "full"  # a guarded setting changed, or nothing was imported into this store yet
        else:
            since = last
    checkpoint = {**first_checkpoint(mode, since), "next_job": job_id,
                  "store_hash": ledger.store_hash if ledger else None}
    imports.set_checkpoint(run_id, checkpoint)
    imports.mark_active(run_id, tenant)
    store.update_run(tenant, run_id, status="running", started_at=time.time(), effective_mode=mode,
                     progress={"done": 0, "total": 0})
    return checkpoint


def _retry_later(conn: redis.Redis, store: Store, imports: ImportStore, tenant: str, run_id: str,
                 checkpoint: dict, exc: Exception) -> None:
    attempts = int(checkpoint.get("attempts", 0)) + 1
    log.warning("import page failed", extra={"run": run_id, "step": checkpoint.get("step"), "attempt": attempts,
                                             "error": f"{type(exc).__name__}: {exc}"})
    why = reason(exc)
    if attempts > MAX_PAGE_ATTEMPTS:
        _finish(store, imports, tenant, run_id, checkpoint, "failed",
                f"The import stopped: {why}, {MAX_PAGE_ATTEMPTS + 1} times in a row. What was sent is kept; "
                "start the import again once this is fixed: nothing is sent twice.")
        return
    # the history says what happened, also when the run succeeds in the end
    run = store.get_run(tenant, run_id) or {}
    store.update_run(tenant, run_id, retries=int(run.get("retries") or 0) + 1,
                     last_retry={"at": time.time(), "attempt": attempts, "reason": why})
    new_job = _job_id(run_id, int(checkpoint.get("step", 0)))
    imports.set_checkpoint(run_id, {**checkpoint, "next_job": new_job, "attempts": attempts,
                                    "last_error": f"{type(exc).__name__}: {exc}"[:500]})
    delay = min(RETRY_BASE * 2 ** (attempts - 1), 600)
    queue(conn, _page_queue(checkpoint)).enqueue_in(timedelta(seconds=delay), run_page, tenant, run_id, job_id=new_job,
                                    job_timeout=PAGE_TIMEOUT, meta={"tenant": tenant})


def reason(exc: BaseException) -> str:
    """A failed page's cause in the merchant's words (the run's message; the log keeps the details)."""
    status = getattr(exc, "status", None)
    if isinstance(exc, AkeneoUnreachable):
        return f"the PIM could not be reached ({_NETWORK.get(exc.kind, exc.kind)})"
    if isinstance(exc, AkeneoAuthError):
        return "the PIM refused the connection's credentials: check them on the configuration page"
    if isinstance(exc, BigCommerceUnreachable):
        return f"BigCommerce could not be reached ({_NETWORK.get(exc.kind, exc.kind)})"
    if isinstance(exc, BigCommerceAuthError):
        return "BigCommerce refused the store's access token: install the app again or save a new token"
    side = "the PIM" if isinstance(exc, AkeneoError) else "BigCommerce" if isinstance(exc, BigCommerceError) else None
    if side and status == 429:
        return f"{side} kept asking us to slow down (too many requests)"
    if side and status and status >= 500:
        return f"{side} kept failing (HTTP {status}, an error on its side)"
    if side:
        return f"{side} refused a request (HTTP {status}): {str(exc)[:200]}"
    if isinstance(exc, redis.RedisError):
        return "the connector's database did not answer"
    return f"an unexpected error ({type(exc).__name__}: {str(exc)[:200]})"


_NETWORK = {"refused": "connection refused", "timeout": "no answer in time", "dns": "its address is unknown",
            "tls": "its certificate was refused", "reset": "the connection was cut"}


def _heartbeat(lease: Lease, stop: threading.Event) -> None:
    while not stop.wait(LEASE_TTL / 3):
        with contextlib.suppress(redis.RedisError):
            lease.renew()


def _step(ctx: Any, tenant: str, run_id: str, checkpoint: dict, imports: ImportStore, store: Store,
          lease: Lease) -> dict | None:
    commit = PageCommit()
    began = time.monotonic()
    try:
        nxt = asyncio.run(_async_step(ctx, tenant, run_id, checkpoint, commit))
    except NotConfigured as exc:
        _finish(store, imports, tenant, run_id, checkpoint, "failed", str(exc))
        return None
    # on any other exception the job fails; the watchdog re-enqueues the page (bounded by `attempts`)
    nxt = {**nxt, "step": checkpoint["step"] + 1, "next_job": _job_id(run_id, checkpoint["step"] + 1),
           "attempts": 0, "worked": round(float(checkpoint.get("worked", 0)) + time.monotonic() - began, 3)}
    nxt.pop("last_error", None)
    still_ours = lease.renew() or (lease.acquire() and (imports.checkpoint(run_id) or {}).get("next_job")
                                   == checkpoint.get("next_job"))
    if not still_ours:  # starved past the lease and the watchdog gave the page to another job
        log.warning("import page lost its lease; not committed", extra={"run": run_id})
        return None
    imports.commit_page(run_id, commit, nxt)
    if nxt["phase"] == "done":
        counts = imports.counts(run_id)
        status = "partial" if counts["issues"]["errors"] or counts["products"]["failed"] else "succeeded"
        _finish(store, imports, tenant, run_id, nxt, status, None)
    else:
        _publish(store, imports, tenant, run_id)
    return nxt


async def _async_step(ctx: Any, tenant: str, run_id: str, checkpoint: dict, commit: PageCommit) -> dict:
    async with open_sync_context(ctx.settings, ctx.redis, ctx.store, tenant, run_id) as sync:
        if checkpoint.get("store_hash") not in (None, sync.store_hash):
            # what this run read and decided was for another store: it ends here, never mixing the two
            raise NotConfigured("the BigCommerce store was changed during this import: start a new import")
        return await run_step(sync, checkpoint, commit)


def _job_id(run_id: str, step: int) -> str:
    return f"import-{run_id}-{step}-{secrets.token_hex(3)}"


def _page_queue(checkpoint: dict) -> str:
    """`imports` until the run has worked LONG_AFTER seconds, then `imports-long` (served after `imports`)."""
    return LONG_IMPORTS if float(checkpoint.get("worked", 0)) >= LONG_AFTER else IMPORTS


def _enqueue(conn: redis.Redis, tenant: str, run_id: str, checkpoint: dict) -> None:
    """The page the checkpoint names (`next_job`), at the back of its queue."""
    queue(conn, _page_queue(checkpoint)).enqueue(run_page, tenant, run_id, job_id=checkpoint["next_job"],
                                                 job_timeout=PAGE_TIMEOUT, meta={"tenant": tenant})
    _watch(conn, tenant, run_id)


def _watch(conn: redis.Redis, tenant: str, run_id: str) -> None:
    """One watchdog job per unfinished run, every WATCH_INTERVAL: a run whose worker died goes on even
    when no worker restarts (a restart recovers at once)."""
    if Lease(conn, f"import-watch:{run_id}", owner="watch", ttl_ms=int(WATCH_INTERVAL * 2000)).take():
        queue(conn, IMPORTS).enqueue_in(timedelta(seconds=WATCH_INTERVAL), check_run, tenant, run_id,
                                        job_timeout=60, meta={"tenant": tenant})


def _publish(store: Store, imports: ImportStore, tenant: str, run_id: str, **changes: Any) -> None:
    # counters only: issues stay in their capped lists (service.imports.run_document reads them live)
    counts = imports.counts(run_id)
    store.update_run(tenant, run_id, counts={"categories": counts["categories"], "products": counts["products"]},
                     progress=counts["progress"], **changes)


def _finish(store: Store, imports: ImportStore, tenant: str, run_id: str, checkpoint: dict, status: str,
            message: str | None) -> None:
    changes: dict[str, Any] = {"status": status, "finished_at": time.time()}
    if message:
        changes["message"] = message
    _publish(store, imports, tenant, run_id, **changes)
    if status in ("succeeded", "partial"):
        if checkpoint.get("store_hash"):
            ledger = StoreLedger(store.redis, tenant, checkpoint["store_hash"])
            ledger.set_bookmark(float(checkpoint.get("started_at") or time.time()))
            if checkpoint.get("mode") == "full" and checkpoint.get("inputs"):
                ledger.set_evaluated(checkpoint["inputs"])  # every product was checked with these
        section = store.get_section(tenant, "status")
        if checkpoint.get("mode") == "full":
            section.pop("next_import", None)
        store.put_section(tenant, "status", {**section, "first_import_done": True,
                                             "last_import": {"id": run_id, "status": status}})
    imports.mark_finished(run_id)


# -- the watchdog ----------------------------------------------------------------------------------

def check_run(tenant: str, run_id: str) -> str:
    """The watchdog: re-enqueue a run's page when nobody works on it (its worker died), then look again
    later while the run is unfinished."""
    ctx = job_context()
    Lease(ctx.redis, f"import-watch:{run_id}", owner="watch").release()
    outcome = _recover(ctx.redis, ctx.store, tenant, run_id)
    if outcome not in ("finished", "failed"):
        _watch(ctx.redis, tenant, run_id)
    return outcome


def recover_imports(conn: redis.Redis, *, schedule_busy: bool = True) -> int:
    """At worker start, and from every worker's watch thread (workers/worker.py): pick up every run left
    without a living page job. Returns how many. `schedule_busy`: a run whose dead job still holds the
    lease gets a watchdog job for when it runs out (the watch thread just looks again)."""
    active = ImportStore(conn).active_runs()
    if not active:
        return 0
    settings = load_settings()
    store = Store(conn, SecretBox(settings.secret_key, settings.secret_key_fallbacks))
    picked = 0
    for run_id, tenant in active.items():
        outcome = _recover(conn, store, tenant, run_id)
        picked += outcome == "re-enqueued"
        if outcome == "busy" and schedule_busy:  # its lease has not run out yet: look again when it has
            queue(conn, IMPORTS).enqueue_in(timedelta(milliseconds=_lease(conn, tenant, "-").remaining_ms() + 500),
                                            check_run, tenant, run_id, job_timeout=60, meta={"tenant": tenant})
    return picked


def lease_wait_ms(conn: redis.Redis) -> int:
    """Milliseconds until the longest import lease of an unfinished run runs out (0: none is held)."""
    return max((_lease(conn, tenant, "-").remaining_ms() for tenant in ImportStore(conn).active_runs().values()),
               default=0)


def _recover(conn: redis.Redis, store: Store, tenant: str, run_id: str) -> str:
    imports = ImportStore(conn, store.box)
    checkpoint = imports.checkpoint(run_id)
    run = store.get_run(tenant, run_id)
    if run is None or run.get("status") in ("succeeded", "partial", "failed"):
        imports.mark_finished(run_id)
        return "finished"
    if checkpoint is None:  # queued, never started: its first job must still exist
        if _job_status(conn, f"import-{run_id}") in (JobStatus.QUEUED, JobStatus.SCHEDULED, JobStatus.DEFERRED,
                                                     JobStatus.STARTED):
            return "queued"
        queue(conn, IMPORTS).enqueue(run_import, tenant, run_id, job_id=f"import-{run_id}-r{secrets.token_hex(3)}",
                                     job_timeout=PAGE_TIMEOUT, meta={"tenant": tenant})
        return "re-enqueued"
    nxt = checkpoint.get("next_job")
    if _lease(conn, tenant, "watchdog").holder() is not None:
        return "busy"  # a page job works (or died less than a lease ago)
    if _job_status(conn, nxt) in (JobStatus.QUEUED, JobStatus.SCHEDULED, JobStatus.DEFERRED):
        return "queued"
    # free lease and the expected job not waiting: it died (a job that only just started and has not
    # taken the lease yet finds the checkpoint naming another job, and leaves). One process re-enqueues
    # it: the watchdog job, a starting worker and the workers' watch threads may all look at once.
    if not Lease(conn, f"import-recover:{run_id}", owner="recover", ttl_ms=RECOVER_GUARD_MS).take():
        return "busy"
    attempts = int(checkpoint.get("attempts", 0)) + 1
    if attempts > MAX_PAGE_ATTEMPTS:
        _finish(store, imports, tenant, run_id, checkpoint, "failed",
                f"The import stopped: the worker running one of its pages stopped {MAX_PAGE_ATTEMPTS} times "
                "(it crashed or was restarted). What was sent is kept; start the import again: nothing is "
                "sent twice.")
        return "failed"
    new_job = _job_id(run_id, int(checkpoint.get("step", 0)))
    checkpoint = {**checkpoint, "next_job": new_job, "attempts": attempts}
    imports.set_checkpoint(run_id, checkpoint)
    # the history says this page was worked again, as a failed page's retry does (`_retry_later`)
    store.update_run(tenant, run_id, retries=int(run.get("retries") or 0) + 1,
                     last_retry={"at": time.time(), "attempt": attempts,
                                 "reason": "the worker running this page stopped (it crashed or was restarted)"})
    _enqueue(conn, tenant, run_id, checkpoint)
    log.warning("import page re-enqueued", extra={"run": run_id, "step": checkpoint.get("step")})
    return "re-enqueued"


def _job_status(conn: redis.Redis, job_id: str | None) -> Any:
    if not job_id:
        return None
    try:
        return Job.fetch(job_id, connection=conn).get_status()
    except NoSuchJobError:
        return None
