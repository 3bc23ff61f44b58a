"""What the webhook does, as one blocking function the route runs in one thread call (`receive`): the
tenant's secrets (one round trip), the signature, the acceptance (one Lua call: the tenant's event rate,
the backlog, the legacy replay guard, dedupe, dirty items) and the enqueue of the tenant's sync job when
none is queued. Past the tenant's rate or a full bound: 429 with Retry-After and nothing recorded.

One thread hop and two Redis round trips per delivery: under CPU contention every hop between the event
loop, a pool thread and Redis costs a scheduler wake-up, and the acknowledgement p99 is made of those."""

from __future__ import annotations

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
from service.store.events import EVENTS_PER_SECOND, Accepted, EventStore

MAX_BODY = 1024 * 1024  # a legacy request carries up to 10 full product documents
RETRY_AFTER = 5  # seconds, on 429 for a full backlog (the rate limit says its own wait)
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
THROTTLED = {
    "rate": f"More than {EVENTS_PER_SECOND} events a second for this connection: send the rest after Retry-After.",
    "replay_guard_full": "Too many signed requests for this connection in the last 10 minutes: send them later.",
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


def count_rejected(conn: redis.Redis, tenant: str) -> None:
    EventStore(conn).count(tenant, "rejected")


def accept(conn: redis.Redis, tenant: str, pairs: Iterable[tuple[str, str]], *, requested: bool = False,
           signature: str = "") -> Accepted:
    """Record the events (or, `requested`, a merchant's Sync now); enqueue the tenant's sync job if none
    is queued or running. `signature`: a legacy request's, claimed once in the same call."""
    events = EventStore(conn)
    result = events.accept(tenant, pairs, requested=requested, signature=signature)
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
    retry_after: int = 0  # seconds, sent as Retry-After on 429


def receive(store: Store, conn: redis.Redis, tenant: str, headers: Mapping[str, str], body: bytes,
            now: float) -> Outcome:
    """One delivery, verified before anything is written: 404 unknown tenant (after the same HMAC work),
    401 bad / missing / stale / replayed signature (only a `rejected` counter is written), 400 a body
    that is not the format's JSON, 429 past the tenant's event rate or the backlog bound (nothing recorded,
    Retry-After says when), else 200."""
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
    if failure is not None:
        return _refused(conn, tenant, fmt, failure)
    # the same signed legacy request twice within its 5 minutes is a replay, not a redelivery
    signature = headers.get(LEGACY_SIGNATURE, "").strip().lower() if fmt == "legacy" else ""
    result = accept(conn, tenant, pairs, signature=signature)
    if result.refused == "replayed":
        return _refused(conn, tenant, fmt, "replayed")
    if result.refused == "backlog":
        return Outcome(429, "backlog", "Too many changes are waiting for this connection: send them later.",
                       {"waiting": result.waiting}, retry_after=result.retry_after or RETRY_AFTER)
    if result.throttled:
        log.debug("webhook throttled", extra={"tenant": tenant, "reason": result.refused})  # a flood: no log flood
        return Outcome(429, "too_many_events", THROTTLED[result.refused], retry_after=result.retry_after or 1)
    return Outcome(200, extra={"accepted": result.accepted, "duplicates": result.duplicates})


def _refused(conn: redis.Redis, tenant: str, fmt: str | None, failure: str) -> Outcome:
    count_rejected(conn, tenant)
    log.info("webhook refused", extra={"tenant": tenant, "format": fmt, "reason": failure})
    return Outcome(401, "unauthorized", REFUSALS[failure])
