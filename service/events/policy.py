"""What the webhook does, as one blocking function the route runs in one thread call (`receive`): the
tenant's secrets (one round trip), the signature, the replay guard (legacy only), the acceptance (one Lua
call: dedupe, dirty items, backlog) and the enqueue of the tenant's sync job when none is queued.

One thread hop and two Redis round trips per delivery: under CPU contention every hop between the event
loop, a pool thread and Redis costs a scheduler wake-up, and the acknowledgement p99 is made of those."""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import redis

from service.crypto import DecryptionError
from service.events.formats import BadPayload, event_platform_items, legacy_items
from service.events.signatures import LEGACY_SIGNATURE, detect_format, verify_event_platform, verify_legacy
from service.queues import EVENTS, enqueue
from service.store import Store
from service.store.events import Accepted, EventStore

MAX_BODY = 1024 * 1024  # a legacy request carries up to 10 full product documents
RETRY_AFTER = 5  # seconds, on 429
JOB = "workers.jobs.events.sync_events"
JOB_TIMEOUT = 600  # seconds: one job drains the tenant's dirty set batch by batch

log = logging.getLogger("connector.webhooks")

_DUMMY_SECRET = secrets.token_hex(32)  # HMAC work for unknown tenants, so they cost the same time

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
    if not tenant or len(tenant) > 64:
        return False, {}
    try:
        exists, stored = store.tenant_credentials(tenant, ("events", "event_platform"))
    except DecryptionError:
        return True, {}
    if not exists:
        return False, {}
    manual = stored.get("events", {}).get("secret")
    generated = stored.get("event_platform", {})
    own = [s for s in (generated.get("primary"), generated.get("secondary")) if s]
    return True, {"event_platform": own + ([manual] if manual else []), "legacy": [manual] if manual else []}


def claim_replay(conn: redis.Redis, tenant: str, digest: str) -> bool:
    return EventStore(conn).claim_replay(tenant, digest)


def count_rejected(conn: redis.Redis, tenant: str) -> None:
    EventStore(conn).count(tenant, "rejected")


def accept(conn: redis.Redis, tenant: str, pairs: Iterable[tuple[str, str]], *, requested: bool = False) -> Accepted:
    """Record the events (or, `requested`, a merchant's Sync now); enqueue the tenant's sync job if none
    is queued or running."""
    events = EventStore(conn)
    result = events.accept(tenant, pairs, requested=requested)
    if result.enqueue:
        try:
            enqueue(conn, EVENTS, JOB, tenant, tenant=tenant, job_timeout=JOB_TIMEOUT,
                    result_ttl=60, failure_ttl=3600)
        except redis.RedisError:
            events.clear_job_flag(tenant)  # the next delivery tries again
            raise
        events.confirm_job_flag(tenant)
    return result


@dataclass(frozen=True)
class Outcome:
    """What the route answers: a status, an error code and message (None on 200), and extra fields."""
    status: int
    error: str | None = None
    message: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def receive(store: Store, conn: redis.Redis, tenant: str, headers: Mapping[str, str], body: bytes,
            now: float) -> Outcome:
    """One delivery, verified before anything is written: 404 unknown tenant (after the same HMAC work),
    401 bad / missing / stale / replayed signature (only a `rejected` counter is written), 400 a body
    that is not the format's JSON, 429 over the backlog bound (nothing recorded), else 200."""
    known, tenant_secrets_ = tenant_secrets(store, tenant)
    fmt = detect_format(headers)
    candidates = tenant_secrets_.get(fmt or "", []) if known else []
    if fmt == "event_platform":
        valid = verify_event_platform(headers, body, candidates or [_DUMMY_SECRET])
        failure = None if valid and candidates else "bad"
    elif fmt == "legacy":
        failure = verify_legacy(headers, body, candidates or [_DUMMY_SECRET], now)
        failure = failure or (None if candidates else "bad")
    else:
        verify_event_platform({}, body, [_DUMMY_SECRET])
        failure = "missing"
    if not known:
        return Outcome(404, "not_found", "No such connection.")
    pairs: list[tuple[str, str]] = []
    if failure is None:
        try:
            pairs = event_platform_items(body) if fmt == "event_platform" else legacy_items(body)
        except BadPayload as exc:  # signed garbage: refused before anything (the replay guard too) is written
            return Outcome(400, "bad_payload", str(exc))
    if failure is None and fmt == "legacy":
        # the same signed request twice within its 5 minutes is a replay, not a redelivery
        digest = hashlib.sha256(headers.get(LEGACY_SIGNATURE, "").strip().lower().encode()).hexdigest()
        if not claim_replay(conn, tenant, digest):
            failure = "replayed"
    if failure is not None:
        count_rejected(conn, tenant)
        log.info("webhook refused", extra={"tenant": tenant, "format": fmt, "reason": failure})
        return Outcome(401, "unauthorized", REFUSALS[failure])
    result = accept(conn, tenant, pairs)
    if result.over_backlog:
        return Outcome(429, "backlog", "Too many changes are waiting for this connection: send them later.",
                       {"waiting": result.waiting})
    return Outcome(200, extra={"accepted": result.accepted, "duplicates": result.duplicates})
