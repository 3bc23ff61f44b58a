"""A BigCommerce request-rate governor shared through Redis by every process working on one store.

BigCommerce counts requests per store (every app on it shares the quota) and answers 429 once the
window's quota is spent. Each process asks `acquire()` before a request and reports the response's
`X-Rate-Limit-*` headers to `observe()`. Two limits are enforced atomically in Lua, on Redis's clock
(so the hosts' clocks never matter):

- a sliding log of the requests we granted: at most `quota` in any `window + margin` span. The margin
  absorbs the spread between "granted here" and "counted there" (network, event-loop delays); a
  sliding log also satisfies a server that counts in fixed windows.
- the server's own count: after each response, `Requests-Left` minus the grants the server may not
  have seen yet becomes a budget until `Time-Reset-Ms`. This catches traffic from other apps.

A 429 pauses everybody until the reset the server gave. Keys: `bc:rate:{store_hash}:*`, all with TTLs.

The async methods (`acquire`, `observe_async`) run the same Lua on a redis.asyncio twin of the
connection (service.store.leases.async_twin) with a timeout, so an event loop never blocks on Redis and
a grant is sent without a thread hop in between (under load a hop delays requests past the server's
window edge); the sync ones (`try_acquire`, `observe`) are for sync callers.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Mapping

import redis

from service.store.leases import async_twin, note_wait

KEY_PREFIX = "bc:rate"
STATE_TTL_MS = 24 * 3600 * 1000  # quota/window outlive a quiet night; refreshed on every response
NO_HEADERS_429_PAUSE_MS = 1000  # a 429 without rate headers means platform load: back off briefly
MIN_MARGIN_MS = 100
MARGIN_RATIO = 0.03
REDIS_TIMEOUT = 10.0  # seconds an async caller waits for one governor call
loop_time = time.monotonic

_ACQUIRE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local pause = tonumber(redis.call('GET', KEYS[3]) or '0')
if pause > now then return {pause - now, now} end
local st = redis.call('HMGET', KEYS[2], 'quota', 'window', 'budget', 'reset_at')
local quota = tonumber(st[1]) or tonumber(ARGV[1])
local window = tonumber(st[2]) or tonumber(ARGV[2])
local horizon = window + math.max(tonumber(ARGV[3]), math.floor(window * tonumber(ARGV[4])))
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - horizon)
if redis.call('ZCARD', KEYS[1]) >= quota then
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return {math.max(tonumber(oldest[2]) + horizon - now, 1), now}
end
local budget = tonumber(st[3])
local reset_at = tonumber(st[4])
if budget and reset_at and reset_at > now then
  if budget <= 0 then return {reset_at - now, now} end
  redis.call('HINCRBY', KEYS[2], 'budget', -1)
end
local seq = redis.call('INCR', KEYS[4])
redis.call('ZADD', KEYS[1], now, now .. ':' .. seq)
redis.call('PEXPIRE', KEYS[1], horizon + 1000)
redis.call('PEXPIRE', KEYS[4], tonumber(ARGV[5]))
return {0, seq}
"""

_OBSERVE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local quota = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local left = tonumber(ARGV[3])
local reset_ms = tonumber(ARGV[4])
local status = tonumber(ARGV[5])
local ticket = tonumber(ARGV[6])
if quota > 0 then redis.call('HSET', KEYS[2], 'quota', quota) end
if window > 0 then redis.call('HSET', KEYS[2], 'window', window) end
if left >= 0 and reset_ms >= 0 then
  -- grants after this request's own may have reached the server after it answered: not yet counted
  local unseen
  if ticket >= 0 then
    unseen = math.max(tonumber(redis.call('GET', KEYS[4]) or '0') - ticket, 0)
  else
    unseen = redis.call('ZCOUNT', KEYS[1], now - 2000, '+inf')
  end
  local budget = left - unseen
  local new_reset = now + reset_ms
  local cur = redis.call('HMGET', KEYS[2], 'budget', 'reset_at', 'seen_ticket')
  local cur_budget = tonumber(cur[1])
  local cur_reset = tonumber(cur[2])
  local seen_ticket = tonumber(cur[3]) or -1
  local apply = true
  -- same server window still running: only a newer answer (a later ticket) replaces the estimate.
  -- Each estimate over-counts by the requests in flight when it was made; taking the minimum of all
  -- of them would add those errors up and leave a fifth of the quota unused.
  if cur_budget and cur_reset and cur_reset > now and new_reset <= cur_reset + 250 then
    new_reset = math.max(new_reset, cur_reset)
    if ticket >= 0 then
      apply = ticket > seen_ticket
    else
      budget = math.min(budget, cur_budget)
    end
  end
  if apply then
    redis.call('HSET', KEYS[2], 'budget', budget, 'reset_at', new_reset, 'left', left,
               'seen_ticket', math.max(ticket, seen_ticket))
  end
end
if status == 429 then
  local wait = reset_ms
  if wait < 0 then wait = tonumber(ARGV[7]) end
  local until_ms = now + math.max(wait, 1)
  local pause = tonumber(redis.call('GET', KEYS[3]) or '0')
  if until_ms > pause then redis.call('SET', KEYS[3], until_ms, 'PX', until_ms - now + 1000) end
  redis.call('HSET', KEYS[2], 'budget', 0, 'reset_at', until_ms)
  redis.call('HINCRBY', KEYS[2], 'rejected', 1)
end
redis.call('PEXPIRE', KEYS[2], tonumber(ARGV[8]))
return now
"""

# KEYS as _ACQUIRE; ARGV: default quota, default window, min margin, margin ratio. Read-only.
# Returns {requests the next grants may still use, quota}.
_HEADROOM = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local quota = tonumber(ARGV[1])
local pause = tonumber(redis.call('GET', KEYS[3]) or '0')
local st = redis.call('HMGET', KEYS[2], 'quota', 'window', 'budget', 'reset_at')
quota = tonumber(st[1]) or quota
if pause > now then return {0, quota} end
local window = tonumber(st[2]) or tonumber(ARGV[2])
local horizon = window + math.max(tonumber(ARGV[3]), math.floor(window * tonumber(ARGV[4])))
local left = quota - redis.call('ZCOUNT', KEYS[1], now - horizon, '+inf')
local budget, reset_at = tonumber(st[3]), tonumber(st[4])
if budget and reset_at and reset_at > now then left = math.min(left, budget) end
return {math.max(left, 0), quota}
"""


def _int_header(headers: Mapping[str, str], name: str) -> int:
    value = headers.get(name)
    if value is None:
        return -1
    try:
        return max(int(float(value)), 0)
    except ValueError:
        return -1


class RateGovernor:
    """Paces requests to one BigCommerce store across every process that shares `redis`."""

    def __init__(
        self,
        redis: redis.Redis,
        store_hash: str,
        *,
        default_quota: int = 150,
        default_window_ms: int = 30000,
    ) -> None:
        self.redis = redis
        self.store_hash = store_hash
        self.default_quota = default_quota
        self.default_window_ms = default_window_ms
        prefix = f"{KEY_PREFIX}:{store_hash}"
        self.keys = [f"{prefix}:log", f"{prefix}:state", f"{prefix}:pause", f"{prefix}:seq"]
        self._acquire = redis.register_script(_ACQUIRE)
        self._observe = redis.register_script(_OBSERVE)
        self._headroom = redis.register_script(_HEADROOM)

    def try_acquire(self) -> tuple[int, int]:
        """One attempt: (0, ticket) when granted, else (milliseconds to wait, redis now). The ticket is
        the grant's sequence number: `observe` uses it to count the grants its answer cannot reflect."""
        wait, now = self._acquire(
            keys=self.keys,
            args=[self.default_quota, self.default_window_ms, MIN_MARGIN_MS, MARGIN_RATIO, STATE_TTL_MS],
        )
        return int(wait), int(now)

    def headroom(self) -> tuple[int, int]:
        """(requests still free in the current window, the window's quota), without taking one: callers
        that can wait (the events job) batch more when the quota runs low."""
        left, quota = self._headroom(keys=self.keys, args=[self.default_quota, self.default_window_ms,
                                                             MIN_MARGIN_MS, MARGIN_RATIO])
        return int(left), int(quota)

    def _twin(self):
        client = async_twin(self.redis)
        if getattr(self, "_twin_client", None) is not client:
            self._twin_client = client
            self._acquire_async = client.register_script(_ACQUIRE)
            self._observe_lua_async = client.register_script(_OBSERVE)
        return client

    async def acquire(self) -> int:
        """Wait until a request may go; returns its ticket for `observe`."""
        began = None  # set once the quota made us wait (leases.WAITS: what a page job waited on)
        while True:
            self._twin()
            wait, now = await asyncio.wait_for(self._acquire_async(
                keys=self.keys,
                args=[self.default_quota, self.default_window_ms, MIN_MARGIN_MS, MARGIN_RATIO, STATE_TTL_MS],
            ), REDIS_TIMEOUT)
            wait, now = int(wait), int(now)
            if wait == 0:
                if began is not None:
                    note_wait("bigcommerce_quota", loop_time() - began)
                return now
            began = loop_time() if began is None else began
            # a little jitter so the processes woken by the same expiry do not race in lockstep
            await asyncio.sleep(wait / 1000 + random.uniform(0, 0.01))

    def observe(self, headers: Mapping[str, str], status: int, *, ticket: int | None = None) -> None:
        """Record a response's rate headers; a 429 pauses every process until the server's reset."""
        self._observe(keys=self.keys, args=self._observe_args(headers, status, ticket))

    @staticmethod
    def _observe_args(headers: Mapping[str, str], status: int, ticket: int | None) -> list:
        headers = {k.lower(): v for k, v in headers.items()}
        return [
            _int_header(headers, "x-rate-limit-requests-quota"),
            _int_header(headers, "x-rate-limit-time-window-ms"),
            _int_header(headers, "x-rate-limit-requests-left"),
            _int_header(headers, "x-rate-limit-time-reset-ms"),
            status,
            -1 if ticket is None else ticket,
            NO_HEADERS_429_PAUSE_MS,
            STATE_TTL_MS,
        ]

    async def observe_async(self, headers: Mapping[str, str], status: int, *, ticket: int | None = None) -> None:
        """`observe` without blocking the event loop, bounded by REDIS_TIMEOUT."""
        self._twin()
        await asyncio.wait_for(self._observe_lua_async(keys=self.keys, args=self._observe_args(headers, status, ticket)),
                               REDIS_TIMEOUT)

    def snapshot(self) -> dict[str, int]:
        """The shared state as integers (quota, window, budget, reset_at, left, rejected, in_window)."""
        raw = self.redis.hgetall(self.keys[1])
        state = {k.decode(): int(v) for k, v in raw.items()}
        state["in_window"] = int(self.redis.zcard(self.keys[0]))
        pause = self.redis.get(self.keys[2])
        state["pause_until"] = int(pause) if pause else 0
        return state
