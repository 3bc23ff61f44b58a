"""Change events in Redis: de-duplication, the per-tenant dirty set, the debounced sync job's flag and
the figures the configuration page shows.

Keys (documented in docs/architecture.md, "Events"):
- `connector:tenant:{t}:events:seen`    zset  event id digest -> when accepted: ids already accepted, kept
                                              SEEN_TTL, at most SEEN_MAX (the oldest forgotten first)
- `connector:tenant:{t}:events:replay`  zset  legacy signature digest -> when used: kept REPLAY_TTL, at most
                                              REPLAY_MAX (past it, 429: a guard never forgets early)
- `connector:tenant:{t}:events:rate`    hash  the tenant's token bucket {tokens, at}: EVENTS_PER_SECOND,
                                              EVENTS_BURST (past it, 429 with the wait in Retry-After)
- `connector:tenant:{t}:events:dirty`   hash  item ("product:<uuid>", "model:<code>", "categories")
                                              -> "first-seen:last-seen" (epoch seconds)
- `connector:tenant:{t}:events:due`     zset  item -> when the job may sync it (debounce)
- `connector:tenant:{t}:events:job`     string (TTL JOB_FLAG_TTL): a sync job is queued or running
- `connector:tenant:{t}:events:last`    string epoch seconds of the last accepted delivery
- `connector:tenant:{t}:events:stats:{minute}` hash (TTL 2 h) received, duplicate, applied, unchanged,
                                              skipped, failed, rejected, requested (Sync now / PIM actions)
- `connector:tenant:{t}:events:failures` list  newest first, FAILURES_KEPT JSON {at, item, reason}
- `connector:tenant:{t}:events:context` string (TTL CONTEXT_TTL) zlib JSON transform context for events
Every key sits under the tenant's prefix, so deleting the tenant deletes them. Each is bounded per tenant
whatever the PIM (or whoever holds its secret) sends: see "Bounds" in docs/architecture.md.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import redis

PREFIX = "connector"
SEEN_TTL = 2 * 3600  # the Event Platform retries after 5, 10 and 20 minutes: ids are kept well past that
REPLAY_TTL = 600  # a legacy request is accepted for 5 minutes: its signature is remembered for longer
JOB_FLAG_TTL = 120  # a job renews it while it works; a dead job frees it by expiry
PENDING_GRACE = 2.0  # seconds a job flag may wait for its enqueue's confirmation before another delivery re-enqueues
STATS_TTL = 2 * 3600
FAILURES_KEPT = 50
CONTEXT_TTL = 120
QUIET = 0.25  # seconds without a new event for an item before it is synced (bursts coalesce)
MAX_WAIT = 1.5  # ... but never later than this after its first event, however busy
CATEGORY_QUIET = 1.0
CATEGORY_MAX_WAIT = 5.0
MAX_BACKLOG = 20000  # items waiting per tenant; past it deliveries get 429 (the Event Platform slows down)
# The tenant's acceptance rate, in events (a delivery costs at least 1): the Event Platform delivers at most
# 100 events/s per subscription and slows down on 429, then resends (docs: platform-facts.md, "Event Platform
# management"), so this refuses only what a flood sends beyond it, and loses nothing the platform sends.
EVENTS_PER_SECOND = 100
EVENTS_BURST = 1000  # a burst of 10 s at that rate (at least the 100 events one delivery may carry)
SEEN_MAX = 50000  # ids remembered per tenant: the whole SEEN_TTL below 7 events/s, 8 min at the full rate
REPLAY_MAX = 20000  # legacy signatures remembered per tenant within REPLAY_TTL (33 requests/s)
ID_DIGEST = 12  # bytes of BLAKE2b kept per event id / signature: any id costs the same few bytes
STAT_FIELDS = ("received", "duplicate", "applied", "unchanged", "skipped", "failed", "rejected", "requested")

# KEYS: dirty, due, job flag, last, stats bucket, seen ids (zset), rate bucket (hash), legacy signatures (zset).
# ARGV: now, seen ttl, max backlog, quiet, max wait, category quiet, category max wait, pending grace, the
# counter ('received' for PIM events, 'requested' for a merchant's "Sync now"), seen cap, events per second
# (0: no rate limit), burst, legacy signature digest ('' for none), replay ttl, replay cap, then (event id
# digest, item) pairs.
# Returns {accepted, duplicates, refused, enqueue, waiting, retry after (ms)}; refused: 0 no, 1 backlog full,
# 2 over the tenant's rate, 3 a legacy signature already used, 4 the legacy signatures' guard is full.
# Order: rate, backlog, replay, then the events; a refused delivery records nothing (its tokens are kept).
_ACCEPT = """
local now = tonumber(ARGV[1])
local rate, burst = tonumber(ARGV[11]), tonumber(ARGV[12])
local cost = math.max(1, (#ARGV - 15) / 2)
local tokens = burst
if rate > 0 then
  local state = redis.call('HMGET', KEYS[7], 'tokens', 'at')
  if state[1] then
    tokens = math.min(burst, tonumber(state[1]) + math.max(0, now - tonumber(state[2])) * rate)
  end
  if tokens < cost then
    return {0, 0, 2, 0, redis.call('HLEN', KEYS[1]), math.ceil((cost - tokens) / rate * 1000)}
  end
end
local backlog = redis.call('HLEN', KEYS[1])
if backlog >= tonumber(ARGV[3]) then
  return {0, 0, 1, 0, backlog, 0}
end
if ARGV[13] ~= '' then
  redis.call('ZREMRANGEBYSCORE', KEYS[8], '-inf', now - tonumber(ARGV[14]))
  if redis.call('ZSCORE', KEYS[8], ARGV[13]) then
    return {0, 0, 3, 0, backlog, 0}
  end
  if redis.call('ZCARD', KEYS[8]) >= tonumber(ARGV[15]) then
    local oldest = redis.call('ZRANGE', KEYS[8], 0, 0, 'WITHSCORES')
    return {0, 0, 4, 0, backlog, math.ceil((tonumber(oldest[2]) + tonumber(ARGV[14]) - now) * 1000)}
  end
  redis.call('ZADD', KEYS[8], now, ARGV[13])
  redis.call('EXPIRE', KEYS[8], tonumber(ARGV[14]))
end
if rate > 0 then
  redis.call('HSET', KEYS[7], 'tokens', tostring(tokens - cost), 'at', ARGV[1])
  redis.call('EXPIRE', KEYS[7], math.ceil(burst / rate) + 1)
end
-- seen ids: one sorted set per tenant (score: when accepted), forgotten after the ttl, at most the cap
-- (past it the oldest go first: a redelivery of one of those is synced again, which changes nothing)
local seen_ttl = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[6], '-inf', now - seen_ttl)
local accepted, duplicates, ids = 0, 0, 0
for i = 16, #ARGV, 2 do
  local id, item = ARGV[i], ARGV[i + 1]
  local fresh = true
  if id ~= '' then
    fresh = redis.call('ZADD', KEYS[6], 'NX', now, id) == 1
    ids = ids + 1
  end
  if fresh then
    accepted = accepted + 1
    if item ~= '' then
      local quiet, max_wait = tonumber(ARGV[4]), tonumber(ARGV[5])
      if item == 'categories' then quiet, max_wait = tonumber(ARGV[6]), tonumber(ARGV[7]) end
      local first = now
      local cur = redis.call('HGET', KEYS[1], item)
      if cur then first = tonumber(string.match(cur, '^([^:]+)')) end
      redis.call('HSET', KEYS[1], item, string.format('%.3f:%.3f', first, now))
      redis.call('ZADD', KEYS[2], math.min(now + quiet, first + max_wait), item)
    end
  else
    duplicates = duplicates + 1
  end
end
if ids > 0 then
  local excess = redis.call('ZCARD', KEYS[6]) - tonumber(ARGV[10])
  if excess > 0 then redis.call('ZPOPMIN', KEYS[6], excess) end
  redis.call('EXPIRE', KEYS[6], seen_ttl)
end
redis.call('HINCRBY', KEYS[5], ARGV[9], accepted)
if duplicates > 0 then redis.call('HINCRBY', KEYS[5], 'duplicate', duplicates) end
redis.call('EXPIRE', KEYS[5], 7200)
if accepted > 0 and ARGV[9] == 'received' then redis.call('SET', KEYS[4], tostring(now)) end
-- the flag is 'pending:<when>' from here until the caller confirms its enqueue ('1', also the job's own
-- renewal). A pending flag older than the grace means the enqueue never happened (the caller timed out
-- on a stalled Redis after this script ran): this delivery, even a retried duplicate, enqueues again.
-- Items left dirty with no flag at all (a job died and its flag expired) get a job the same way.
local enqueue = 0
if redis.call('HLEN', KEYS[1]) > 0 then
  local flag = redis.call('GET', KEYS[3])
  local stuck = flag and string.sub(flag, 1, 8) == 'pending:' and now - tonumber(string.sub(flag, 9)) > tonumber(ARGV[8])
  if not flag or stuck then
    redis.call('SET', KEYS[3], 'pending:' .. ARGV[1], 'EX', 120)
    enqueue = 1
  end
end
return {accepted, duplicates, 0, enqueue, redis.call('HLEN', KEYS[1]), 0}
"""

# KEYS: dirty, due; ARGV: now, then (item, value seen by the job) pairs.
# An item whose value changed meanwhile (a new event during the sync) stays dirty, due again after QUIET.
_DONE = """
local now = tonumber(ARGV[1])
for i = 3, #ARGV, 2 do
  local item, seen = ARGV[i], ARGV[i + 1]
  local cur = redis.call('HGET', KEYS[1], item)
  if cur == seen then
    redis.call('HDEL', KEYS[1], item)
    redis.call('ZREM', KEYS[2], item)
  elseif cur then
    redis.call('HSET', KEYS[1], item, string.format('%.3f:%.3f', now, now))
    redis.call('ZADD', KEYS[2], now + tonumber(ARGV[2]), item)
  end
end
return 1
"""

# KEYS: dirty, job flag. The job ends only when nothing is waiting (atomic with the web's SET NX).
_FINISH = """
if redis.call('HLEN', KEYS[1]) == 0 then
  redis.call('DEL', KEYS[2])
  return 1
end
return 0
"""


REFUSALS = {1: "backlog", 2: "rate", 3: "replayed", 4: "replay_guard_full"}


@dataclass(frozen=True)
class Accepted:
    accepted: int
    duplicates: int
    over_backlog: bool
    enqueue: bool
    waiting: int
    refused: str | None = None  # "backlog", "rate" (429), "replayed" (401), "replay_guard_full" (429)
    retry_after: int = 0  # whole seconds until the limit admits it again (0: the caller's own default)

    @property
    def throttled(self) -> bool:
        """Refused past a limit (429): nothing was recorded; sent again later it is accepted."""
        return self.refused in ("backlog", "rate", "replay_guard_full")


def digest(value: str) -> bytes:
    """What is kept of an event id or a signature: a short BLAKE2b digest, the same size for any input."""
    return hashlib.blake2b(value.encode("utf-8", "surrogatepass"), digest_size=ID_DIGEST).digest()


class EventStore:
    def __init__(self, conn: redis.Redis) -> None:
        self.redis = conn
        self._accept = conn.register_script(_ACCEPT)
        self._done = conn.register_script(_DONE)
        self._finish = conn.register_script(_FINISH)

    @staticmethod
    def _t(tenant: str, *parts: str) -> str:
        return ":".join((PREFIX, "tenant", tenant, "events", *parts))

    @staticmethod
    def _minute(at: float) -> int:
        return int(at // 60)

    # -- the webhook side ---------------------------------------------------------------------------
    def accept(self, tenant: str, events: Iterable[tuple[str, str]], now: float | None = None, *,
               requested: bool = False, signature: str = "") -> Accepted:
        """Record (event id, item) pairs: ids already seen are duplicates; new items become dirty and due
        after the debounce. `enqueue` tells the caller to enqueue the tenant's sync job (no job is queued
        or running). Nothing is recorded when refused: past the tenant's event rate (PIM events only),
        the backlog's bound, or (`signature`, a legacy request's) a signature already used or a full guard.
        `requested`: the merchant asked (Sync now, a PIM action), counted apart from the PIM's events and
        not their last arrival; not rate-limited (it carries no event id, so it adds to the backlog only)."""
        now = time.time() if now is None else now
        args: list[Any] = [f"{now:.3f}", SEEN_TTL, MAX_BACKLOG, QUIET, MAX_WAIT, CATEGORY_QUIET, CATEGORY_MAX_WAIT,
                           PENDING_GRACE, "requested" if requested else "received", SEEN_MAX,
                           0 if requested else EVENTS_PER_SECOND, EVENTS_BURST,
                           digest(signature) if signature else "", REPLAY_TTL, REPLAY_MAX]
        for event_id, item in events:
            args += [digest(event_id) if event_id else "", item]
        keys = [self._t(tenant, "dirty"), self._t(tenant, "due"), self._t(tenant, "job"), self._t(tenant, "last"),
                self._t(tenant, "stats", str(self._minute(now))), self._t(tenant, "seen"), self._t(tenant, "rate"),
                self._t(tenant, "replay")]
        accepted, duplicates, refused, enqueue, waiting, wait_ms = self._accept(keys=keys, args=args)
        reason = REFUSALS.get(int(refused))
        return Accepted(int(accepted), int(duplicates), reason == "backlog", bool(enqueue), int(waiting), reason,
                        max(1, math.ceil(int(wait_ms) / 1000)) if int(wait_ms) > 0 else 0)

    def was_seen(self, tenant: str, event_id: str) -> bool:
        """This event id was accepted (and is still remembered)."""
        return self.redis.zscore(self._t(tenant, "seen"), digest(event_id)) is not None

    def seen_count(self, tenant: str) -> int:
        return int(self.redis.zcard(self._t(tenant, "seen")))

    def count(self, tenant: str, field: str, n: int = 1, now: float | None = None) -> None:
        if n:
            key = self._t(tenant, "stats", str(self._minute(time.time() if now is None else now)))
            pipe = self.redis.pipeline()
            pipe.hincrby(key, field, n)
            pipe.expire(key, STATS_TTL)
            pipe.execute()

    # -- the job side -------------------------------------------------------------------------------
    def due(self, tenant: str, limit: int, now: float | None = None) -> dict[str, str]:
        """Items due now (at most `limit`), with the value to hand back to `done`."""
        now = time.time() if now is None else now
        items = [m.decode() for m in self.redis.zrangebyscore(self._t(tenant, "due"), "-inf", now, 0, limit)]
        if not items:
            return {}
        values = self.redis.hmget(self._t(tenant, "dirty"), items)
        orphans = [i for i, v in zip(items, values, strict=True) if v is None]
        if orphans:  # due without a dirty entry (cannot happen through the scripts): never loop on it
            self.redis.zrem(self._t(tenant, "due"), *orphans)
        return {i: v.decode() for i, v in zip(items, values, strict=True) if v is not None}

    def next_due(self, tenant: str) -> float | None:
        first = self.redis.zrange(self._t(tenant, "due"), 0, 0, withscores=True)
        return float(first[0][1]) if first else None

    def done(self, tenant: str, snapshot: Mapping[str, str], now: float | None = None) -> None:
        if not snapshot:
            return
        args: list[Any] = [f"{time.time() if now is None else now:.3f}", QUIET]
        for item, value in snapshot.items():
            args += [item, value]
        self._done(keys=[self._t(tenant, "dirty"), self._t(tenant, "due")], args=args)

    def finish(self, tenant: str) -> bool:
        """Drop the job flag if nothing waits; False when new items arrived (the job goes on)."""
        return bool(self._finish(keys=[self._t(tenant, "dirty"), self._t(tenant, "job")]))

    def renew_job_flag(self, tenant: str) -> None:
        self.redis.set(self._t(tenant, "job"), "1", ex=JOB_FLAG_TTL)

    def job_flag(self, tenant: str) -> bool:
        return bool(self.redis.exists(self._t(tenant, "job")))

    def confirm_job_flag(self, tenant: str) -> None:
        """The enqueue after `accept` went through (a job already running may have renewed it)."""
        self.redis.set(self._t(tenant, "job"), "1", xx=True, keepttl=True)

    def clear_job_flag(self, tenant: str) -> None:
        self.redis.delete(self._t(tenant, "job"))

    def fail(self, tenant: str, item: str, reason: str, now: float | None = None) -> None:
        now = time.time() if now is None else now
        pipe = self.redis.pipeline()
        pipe.lpush(self._t(tenant, "failures"), json.dumps({"at": round(now, 3), "item": item, "reason": reason}))
        pipe.ltrim(self._t(tenant, "failures"), 0, FAILURES_KEPT - 1)
        pipe.expire(self._t(tenant, "failures"), STATS_TTL)  # the page shows the last hour only
        pipe.execute()

    # -- the transform context, cached for a few batches ---------------------------------------------
    def get_context(self, tenant: str) -> dict | None:
        blob = self.redis.get(self._t(tenant, "context"))
        return json.loads(zlib.decompress(blob)) if blob else None

    def put_context(self, tenant: str, doc: dict) -> None:
        blob = zlib.compress(json.dumps(doc, separators=(",", ":")).encode(), 6)
        self.redis.set(self._t(tenant, "context"), blob, ex=CONTEXT_TTL)

    def drop_context(self, tenant: str) -> None:
        self.redis.delete(self._t(tenant, "context"))

    # -- what the page shows --------------------------------------------------------------------------
    def waiting(self, tenant: str) -> int:
        return int(self.redis.hlen(self._t(tenant, "dirty")))

    def waiting_items(self, tenant: str, items: Iterable[str]) -> list[str]:
        """Which of these items are dirty (queued for the sync job)."""
        items = list(items)
        if not items:
            return []
        flags = self.redis.hmget(self._t(tenant, "dirty"), items)
        return [i for i, f in zip(items, flags, strict=True) if f is not None]

    def summary(self, tenant: str, now: float | None = None) -> dict[str, Any]:
        """{last_event_at, waiting, last_hour: {received, ...}, failures: [...]} for the configuration page."""
        now = time.time() if now is None else now
        minute = self._minute(now)
        pipe = self.redis.pipeline()
        pipe.get(self._t(tenant, "last"))
        pipe.hlen(self._t(tenant, "dirty"))
        for m in range(minute - 59, minute + 1):
            pipe.hgetall(self._t(tenant, "stats", str(m)))
        pipe.lrange(self._t(tenant, "failures"), 0, FAILURES_KEPT - 1)
        out = pipe.execute()
        last, waiting, buckets, failures = out[0], out[1], out[2:-1], out[-1]
        totals = dict.fromkeys(STAT_FIELDS, 0)
        for bucket in buckets:
            for k, v in bucket.items():
                name = k.decode()
                if name in totals:
                    totals[name] += int(v)
        recent = [json.loads(f) for f in failures]
        return {"last_event_at": float(last) if last else None, "waiting": int(waiting), "last_hour": totals,
                "failures": [f for f in recent if f.get("at", 0) >= now - 3600]}
