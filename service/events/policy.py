"""What the webhook does with Redis, as blocking functions the route runs in a thread (one call each):
the tenant's secrets, the replay guard, and the acceptance (dedupe, dirty items, backlog, enqueue)."""

from __future__ import annotations

from collections.abc import Iterable

import redis

from service.crypto import DecryptionError
from service.queues import EVENTS, enqueue
from service.store import Store
from service.store.events import Accepted, EventStore

MAX_BODY = 1024 * 1024  # a legacy request carries up to 10 full product documents
RETRY_AFTER = 5  # seconds, on 429
JOB = "workers.jobs.events.sync_events"
JOB_TIMEOUT = 600  # seconds: one job drains the tenant's dirty set batch by batch

REFUSALS = {
    "missing": "No Akeneo signature header: expected X-AKENEO-SIGNATURE-PRIMARY (Event Platform) or "
               "X-Akeneo-Request-Signature with X-Akeneo-Request-Timestamp (Events API).",
    "bad": "The signature does not match this connection's secret.",
    "stale": "The request timestamp is more than 5 minutes old (or in the future).",
    "replayed": "This signed request was already received.",
}


def tenant_secrets(store: Store, tenant: str) -> tuple[bool, dict[str, list[str]]]:
    """(the tenant exists, {"event_platform": [...], "legacy": [...]}). The secret pasted by hand (the
    manual way) is valid for both formats; the two the connector generated, for the Event Platform."""
    if not tenant or len(tenant) > 64 or not store.tenant_exists(tenant):
        return False, {}
    try:
        manual = (store.get_credentials(tenant, "events") or {}).get("secret")
        generated = store.get_credentials(tenant, "event_platform") or {}
    except DecryptionError:
        return True, {}
    own = [s for s in (generated.get("primary"), generated.get("secondary")) if s]
    return True, {"event_platform": own + ([manual] if manual else []), "legacy": [manual] if manual else []}


def claim_replay(conn: redis.Redis, tenant: str, digest: str) -> bool:
    return EventStore(conn).claim_replay(tenant, digest)


def count_rejected(conn: redis.Redis, tenant: str) -> None:
    EventStore(conn).count(tenant, "rejected")


def accept(conn: redis.Redis, tenant: str, pairs: Iterable[tuple[str, str]]) -> Accepted:
    """Record the events; enqueue the tenant's sync job if none is queued or running."""
    events = EventStore(conn)
    result = events.accept(tenant, pairs)
    if result.enqueue:
        try:
            enqueue(conn, EVENTS, JOB, tenant, tenant=tenant, job_timeout=JOB_TIMEOUT,
                    result_ttl=60, failure_ttl=3600)
        except redis.RedisError:
            events.clear_job_flag(tenant)  # the next delivery tries again
            raise
        events.confirm_job_flag(tenant)
    return result
