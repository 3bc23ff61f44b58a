"""The debounced per-tenant event sync: `sync_events(tenant)` on the `events` queue.

The webhook enqueues it when it marks the first item dirty while no job is queued or running (the
`events:job` flag, set atomically with the dirty items). The job then drains the tenant's dirty set:
it takes the items that are due (quiet for QUIET seconds, or dirty for MAX_WAIT: bursts for one
product coalesce), syncs them from their current PIM state through `workers.sync.dirty.sync_dirty`,
and removes each item only if no event touched it meanwhile (else it is due again, once). It stops
when the set is empty (atomically dropping the flag, so a concurrent delivery enqueues a new job).

One job per tenant at a time (lease `connector:lease:events:{tenant}`); a second copy exits at once.
A crash leaves the items dirty: `recover_events` (when a worker starts) gives each tenant with waiting
items a job again once the dead job's lease has run out; between restarts, a delivery after the flag
expired enqueues one too (service/store/events.py).
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import threading
import time
from datetime import timedelta

import redis
from rq import get_current_job

from service.settings import knob
from service.store import Store
from service.store.embed import ItemSyncs
from service.store.events import EventStore
from service.store.leases import Lease
from service.store.ledger import StoreLedger
from service.store.rate_governor import RateGovernor
from workers.context import JobContext, job_context
from workers.queues import EVENTS, queue
from workers.sync.context import NotConfigured, open_sync_context
from workers.sync.dirty import DirtyResult, sync_dirty

log = logging.getLogger("connector.jobs.events")

JOB_TIMEOUT = 600  # the web enqueues with the same value (service/events/policy.py)
BUDGET = knob("CONNECTOR_EVENTS_JOB_BUDGET")  # seconds, then a fresh job goes on
BATCH = 200  # items per sync batch
IDLE_POLL = 0.05  # seconds between looks at the due set while items wait for their debounce
TURN_IDLE = 0.02  # seconds a job waits for a due item before it gives the worker to another tenant's job
TURN_WORK = 0.1  # seconds of syncing after which a job gives the worker to another tenant's job
RETRY_DELAY = 5  # seconds (times the attempt) before a failed batch is tried again by a new job
MAX_ATTEMPTS = 4
FILL = 10  # products per BigCommerce batch write (PUT /v3/catalog/products takes 10)
LINGER_MAX = knob("CONNECTOR_EVENTS_LINGER")  # seconds a small batch may wait to fill
TIGHT = 0.5  # share of the store's window quota left under which small batches linger
LEASE_TTL_MS = int(knob("CONNECTOR_EVENTS_LEASE_TTL") * 1000)  # renewed every third


def sync_events(tenant: str, attempt: int = 0) -> None:
    ctx = job_context()
    events = EventStore(ctx.redis)
    job = get_current_job()
    lease = Lease(ctx.redis, f"events:{tenant}", owner=job.id if job else secrets.token_hex(6), ttl_ms=LEASE_TTL_MS)
    if not lease.acquire():
        return  # the job holding it drains the set, and re-checks it before it ends
    stop = threading.Event()
    beat = threading.Thread(target=_heartbeat, args=(lease, events, tenant, stop), daemon=True)
    beat.start()
    try:
        successor = _drain(ctx, events, tenant, attempt)
    finally:
        stop.set()
        beat.join(timeout=5)
        lease.release()
    if successor is not None:  # enqueued after the release: on another worker it must find the lease free
        _again(ctx, tenant, *successor)


def _heartbeat(lease: Lease, events: EventStore, tenant: str, stop: threading.Event) -> None:
    while not stop.wait(LEASE_TTL_MS / 3000):
        try:
            lease.renew()
            events.renew_job_flag(tenant)
        except Exception:  # a missed beat only risks a second job, which exits on the lease
            log.warning("events heartbeat failed", exc_info=True)


def _others_waiting(ctx: JobContext) -> bool:
    """Another tenant's event job waits for this worker: take turns rather than drain or sleep on."""
    return queue(ctx.redis, EVENTS).count > 0


def _governor(ctx: JobContext, tenant: str) -> RateGovernor | None:
    section = ctx.store.get_section(tenant, "bigcommerce")
    store_hash = section.get("store_hash") or (ctx.store.tenant(tenant) or {}).get("store_hash")
    return RateGovernor(ctx.redis, store_hash) if store_hash else None


def _linger(governor: RateGovernor | None, size: int) -> float:
    """Seconds a batch of `size` due items may wait for more. While the store's quota is plentiful,
    none: every change goes at once. As it runs low, up to LINGER_MAX, so that a steady stream of
    changes shares batch writes (10 products a request) instead of spending the window one product a
    request and then waiting for the next window (a change would then wait up to 30 s)."""
    if governor is None or size >= FILL or LINGER_MAX <= 0:
        return 0.0
    left, quota = governor.headroom()
    share = left / quota if quota > 0 else 1.0
    if share >= TIGHT:
        return 0.0
    return LINGER_MAX * (1 - share / TIGHT)


def _drain(ctx: JobContext, events: EventStore, tenant: str, attempt: int) -> tuple[float, int] | None:
    """Work the tenant's dirty set; returns (delay, attempt) of the job that goes on, or None when done."""
    started = time.monotonic()
    idle_since: float | None = None
    governor = _governor(ctx, tenant)
    while True:
        if time.monotonic() - started > BUDGET:
            return 0, attempt  # a fresh job keeps the timeout honest on long backlogs
        batch = events.due(tenant, BATCH)
        when = None
        if batch:
            linger = _linger(governor, len(batch))
            oldest = events.next_due(tenant) if linger else None
            if oldest is not None and time.time() < oldest + linger:
                batch, when = {}, min(oldest + linger, time.time() + IDLE_POLL)  # look again for more
        if not batch:
            when = when or events.next_due(tenant)
            if when is None:
                if events.finish(tenant):
                    return None
                continue
            # items wait for their debounce: sleep, unless other tenants' jobs wait for the worker (then
            # hand over to the back of the queue once a short look found nothing due, so idle jobs of
            # several tenants do not bounce the worker between them)
            idle_since = idle_since or time.monotonic()
            others = _others_waiting(ctx)
            if others and time.monotonic() - idle_since >= TURN_IDLE:
                return 0, attempt
            time.sleep(min(max(when - time.time(), 0.0), TURN_IDLE if others else IDLE_POLL * 20) or IDLE_POLL)
            continue
        idle_since = None
        turn = time.monotonic()
        try:
            result = asyncio.run(_sync(ctx, tenant, batch))
        except NotConfigured as exc:
            # nothing can be synced until the merchant finishes the configuration: drop, say why
            events.done(tenant, batch)
            _record_failure(events, tenant, batch, f"not synced: {exc}")
            continue
        except Exception as exc:
            log.exception("event batch failed", extra={"tenant": tenant, "items": len(batch)})
            reason = f"{type(exc).__name__}: {exc}"[:300]
            if attempt + 1 >= MAX_ATTEMPTS:
                # given up on these: the scheduled delta import catches them up
                events.done(tenant, batch)
                _record_failure(events, tenant, batch, reason + " — left to the next delta import")
                attempt = 0
                continue
            _record_failure(events, tenant, batch, reason + " — retried shortly")
            events.clear_job_flag(tenant)
            return RETRY_DELAY * (attempt + 1), attempt + 1
        attempt = 0
        events.done(tenant, batch)
        _record(events, tenant, batch, result)
        # a batch that took a while ends the turn: one tenant's stream never holds the others up
        if time.monotonic() - turn >= TURN_WORK and _others_waiting(ctx):
            return 0, attempt


async def _sync(ctx: JobContext, tenant: str, batch: dict[str, str]) -> DirtyResult:
    uuids = [i.partition(":")[2] for i in batch if i.startswith("product:")]
    identifiers = [i.partition(":")[2] for i in batch if i.startswith("identifier:")]
    models = [i.partition(":")[2] for i in batch if i.startswith("model:")]
    run_id = f"events-{secrets.token_hex(6)}"
    async with open_sync_context(ctx.settings, ctx.redis, ctx.store, tenant, run_id) as sctx:
        try:
            result = await sync_dirty(sctx, uuids=uuids, identifiers=identifiers, model_codes=models,
                                      categories="categories" in batch)
        finally:
            await asyncio.to_thread(sctx.imports.mark_finished, run_id)  # the batch's cached context
        keys = [i for i in batch if i.startswith(("product:", "model:"))]
        await asyncio.to_thread(_record_items, sctx.ledger, ctx.redis, tenant, run_id, keys, result)
        return result


def _record_items(ledger: StoreLedger, conn, tenant: str, run_id: str, keys: list[str], result: DirtyResult) -> None:
    """Each item's outcome and issues, for the PIM's product tab (service/store/embed.ItemSyncs): items the
    PIM has or that we sent, never one the PIM does not know (404) and we never had, so the record is
    bounded by the size of the PIM and of the store's id map."""
    if not keys:
        return
    states = ledger.product_states(keys)
    errors, warnings = result.commit.errors, result.commit.warnings
    skipped, gone = set(result.skipped), set(result.gone)
    entries = {}
    for key in keys:
        state = states.get(key) or {}
        labels = {str(state.get("sku") or "").lower(), key.partition(":")[2].lower()} - {""}
        if len(keys) == 1:  # one item: every issue of the batch is its own
            mine_e, mine_w = errors, warnings
        else:
            mine_e = [e for e in errors if str(e.get("item", "")).lower() in labels]
            mine_w = [w for w in warnings if str(w.get("item", "")).lower() in labels]
        if key in gone and not state and not mine_e:
            continue  # neither in the PIM nor ever sent (an event named something that does not exist): the
            # record would grow with whatever ids events carry, and no PIM tab can show it
        if key in skipped:
            outcome = "skipped"
        elif state.get("r") == run_id:
            outcome = state.get("o") or "updated"
        elif mine_e:
            outcome = "failed"
        else:
            outcome = "unchanged" if state else "synced"
        entries[key] = {"at": round(time.time(), 3), "run": run_id, "via": "event", "outcome": outcome,
                        "errors": mine_e, "warnings": mine_w}
    ItemSyncs(conn).record(tenant, entries)


def _record(events: EventStore, tenant: str, batch: dict[str, str], result: DirtyResult) -> None:
    counts = result.commit.counts
    applied = sum(counts.get(f"products.{k}", 0) for k in ("created", "updated", "hidden", "deleted"))
    events.count(tenant, "applied", applied)
    events.count(tenant, "unchanged", counts.get("products.unchanged", 0))
    events.count(tenant, "skipped", len(result.skipped))
    events.count(tenant, "failed", counts.get("products.failed", 0))
    if result.categories_synced:
        events.count(tenant, "applied", 1)
    for error in result.commit.errors[:20]:
        events.fail(tenant, str(error.get("item", "")), str(error.get("message", ""))[:300])


def _record_failure(events: EventStore, tenant: str, batch: dict[str, str], reason: str) -> None:
    events.count(tenant, "failed", len(batch))
    events.fail(tenant, f"{len(batch)} items" if len(batch) > 1 else next(iter(batch)), reason)


def _again(ctx: JobContext, tenant: str, delay: float, attempt: int = 0) -> None:
    q = queue(ctx.redis, EVENTS)
    if delay <= 0:
        q.enqueue(sync_events, tenant, attempt, job_timeout=JOB_TIMEOUT, meta={"tenant": tenant}, result_ttl=60)
    else:
        q.enqueue_in(timedelta(seconds=delay), sync_events, tenant, attempt, job_timeout=JOB_TIMEOUT,
                     meta={"tenant": tenant}, result_ttl=60)


def recover_events(conn: redis.Redis, store: Store, *, unflagged_only: bool = False) -> int:
    """At worker start: every tenant with items waiting and no living job (its lease is free) gets a sync
    job. Returns the milliseconds until the longest lease still held runs out (0: none), so the worker
    can look again then: a job that died with the previous worker holds its lease until it expires.
    `unflagged_only` (the workers' periodic watch): only tenants whose job flag has expired too, so a job
    that merely waits in the queue is not enqueued again."""
    events = EventStore(conn)
    wait_ms = 0
    for tenant in store.tenants():
        if not events.waiting(tenant) or (unflagged_only and events.job_flag(tenant)):
            continue
        left = Lease(conn, f"events:{tenant}").remaining_ms()
        if left:
            wait_ms = max(wait_ms, left)
            continue
        events.renew_job_flag(tenant)  # a job is queued: deliveries meanwhile need not enqueue another
        queue(conn, EVENTS).enqueue(sync_events, tenant, job_timeout=JOB_TIMEOUT, meta={"tenant": tenant},
                                    result_ttl=60)
    return wait_ms
