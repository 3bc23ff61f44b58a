"""Leases in Redis shared by every process: exclusive leases (one import per tenant, one channel
assignment per store) and counted leases (Akeneo's 4 requests in flight per connection).

A lease has an owner token and a TTL, so a process that dies frees it by expiry; renew and release
only act when the caller still owns it (compare-and-set in Lua, so two processes never both hold it).
Counted leases are first come, first served across processes: a waiter takes a place in line, a slot
freed goes to the first in line, and a give-back wakes them (a Redis list each blocks on), so a freed
slot is never idle while somebody waits, and no waiter (a page's read, a /media download) can starve
another by asking more often.
Keys: `connector:lease:{name}` (string), `connector:slots:{name}` (zset holder -> expiry ms) and, for the
waiters, `connector:slotq:{name}` (zset waiter -> place in line), `connector:slotw:{name}` (zset waiter ->
expiry ms: a waiter that stops asking leaves the line), `connector:slotseq:{name}` (the line's counter) and
`connector:slotwake:{name}:{waiter}` (list: the wake-up of one waiter).
The async helpers run the Redis calls in a thread with a timeout: no event loop ever blocks on Redis.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import secrets
import time
from collections.abc import AsyncIterator

import redis

PREFIX = "connector"
REDIS_TIMEOUT = 10.0  # seconds an async caller waits for one Redis call
RELEASE_RETRY_FIRST = 0.1  # seconds before a slot's failed release is tried again (doubling, at most 2 s)
RELEASE_RETRY_FOR = 15.0  # seconds a slot's release keeps trying while Redis is away

_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""

_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""

# counted lease, KEYS: holders, line, waiters' expiry, line counter; ARGV: size, holder TTL ms, owner,
# waiter TTL ms, wake key prefix. Drop expired holders and waiters; the owner takes a slot if fewer waiters
# are ahead of it than slots are free, else it keeps (or takes) its place in line. 1: taken.
_SLOT_ACQUIRE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local size, ttl, owner, wttl = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3], tonumber(ARGV[4])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local gone = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', now)
if #gone > 0 then
  redis.call('ZREM', KEYS[2], unpack(gone))
  redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now)
end
local free = size - redis.call('ZCARD', KEYS[1])
local rank = redis.call('ZRANK', KEYS[2], owner)
local ahead = rank
if not rank then ahead = redis.call('ZCARD', KEYS[2]) end
if ahead < free then
  if rank then
    redis.call('ZREM', KEYS[2], owner)
    redis.call('ZREM', KEYS[3], owner)
  end
  redis.call('DEL', ARGV[5] .. owner)
  redis.call('ZADD', KEYS[1], now + ttl, owner)
  redis.call('PEXPIRE', KEYS[1], ttl + 1000)
  return 1
end
if not rank then redis.call('ZADD', KEYS[2], redis.call('INCR', KEYS[4]), owner) end
redis.call('ZADD', KEYS[3], now + wttl, owner)
redis.call('PEXPIRE', KEYS[2], wttl + 1000)
redis.call('PEXPIRE', KEYS[3], wttl + 1000)
redis.call('PEXPIRE', KEYS[4], ttl + wttl)
return 0
"""

# KEYS as _SLOT_ACQUIRE; ARGV: size, owner, wake key prefix. The owner leaves (its slot or its place in
# line); the first waiters, as many as slots are free, are woken.
_SLOT_RELEASE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local removed = redis.call('ZREM', KEYS[1], ARGV[2])
redis.call('ZREM', KEYS[2], ARGV[2])
redis.call('ZREM', KEYS[3], ARGV[2])
redis.call('DEL', ARGV[3] .. ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local free = tonumber(ARGV[1]) - redis.call('ZCARD', KEYS[1])
if free > 0 then
  for _, waiter in ipairs(redis.call('ZRANGE', KEYS[2], 0, free - 1)) do
    local key = ARGV[3] .. waiter
    redis.call('LPUSH', key, 1)
    redis.call('LTRIM', key, 0, 0)
    redis.call('PEXPIRE', key, 10000)
  end
end
return removed
"""


# What this process waited for, by kind ("pim_slots", "bigcommerce_quota"): [seconds, waits, longest].
# Summed over concurrent tasks (task-seconds, not wall time). A page job records it in its RQ job's meta.
WAITS: dict[str, list[float]] = {}


def note_wait(kind: str, seconds: float) -> None:
    entry = WAITS.setdefault(kind, [0.0, 0, 0.0])
    entry[0] += seconds
    entry[1] += 1
    entry[2] = max(entry[2], seconds)


def waits_so_far() -> dict[str, dict[str, float]]:
    return {kind: {"seconds": round(s, 3), "waits": int(n), "longest": round(m, 3)}
            for kind, (s, n, m) in WAITS.items()}


_TWINS: dict[int, tuple[asyncio.AbstractEventLoop, object, object]] = {}
_TWIN_KEYS = ("host", "port", "db", "username", "password", "path", "socket_connect_timeout",
              "ssl_keyfile", "ssl_certfile", "ssl_cert_reqs", "ssl_ca_certs", "ssl_check_hostname")


def async_twin(conn: redis.Redis):
    """A redis.asyncio client to the same server and database as `conn`, for the running event loop
    (asyncio connections belong to one loop; each page job runs its own). Where every millisecond
    between a Redis answer and the next send counts (the rate governor), this beats a thread hop."""
    import redis.asyncio as aredis

    loop = asyncio.get_running_loop()
    pool = conn.connection_pool
    cached = _TWINS.get(id(conn))
    if cached is not None and cached[0] is loop and cached[2] is pool:
        return cached[1]
    kwargs = {k: v for k, v in pool.connection_kwargs.items() if k in _TWIN_KEYS and v is not None}
    kwargs["socket_timeout"] = REDIS_TIMEOUT
    if issubclass(pool.connection_class, redis.UnixDomainSocketConnection):
        cls = aredis.UnixDomainSocketConnection
    elif issubclass(pool.connection_class, redis.SSLConnection):
        cls = aredis.SSLConnection
    else:
        cls = aredis.Connection
    client = aredis.Redis(connection_pool=aredis.ConnectionPool(connection_class=cls, **kwargs))
    _TWINS[id(conn)] = (loop, client, pool)
    return client


async def run_sync(func, *args, timeout: float = REDIS_TIMEOUT, **kwargs):
    """Run a blocking Redis call off the event loop, bounded by `timeout` seconds."""
    return await asyncio.wait_for(asyncio.to_thread(func, *args, **kwargs), timeout)


class Lease:
    """An exclusive lease `connector:lease:{name}` held by `owner` for `ttl_ms`."""

    def __init__(self, conn: redis.Redis, name: str, owner: str | None = None, ttl_ms: int = 60000) -> None:
        self.redis = conn
        self.key = f"{PREFIX}:lease:{name}"
        self.owner = owner or secrets.token_hex(8)
        self.ttl_ms = ttl_ms
        self._renew = conn.register_script(_RENEW)
        self._release = conn.register_script(_RELEASE)

    def acquire(self) -> bool:
        """Take the lease if it is free (or already ours: re-entry after a crash keeps the owner)."""
        if self.redis.set(self.key, self.owner, nx=True, px=self.ttl_ms):
            return True
        return bool(self._renew(keys=[self.key], args=[self.owner, self.ttl_ms]))

    def take(self) -> bool:
        """Take the lease only if nobody (the same owner included) holds it."""
        return bool(self.redis.set(self.key, self.owner, nx=True, px=self.ttl_ms))

    def renew(self) -> bool:
        return bool(self._renew(keys=[self.key], args=[self.owner, self.ttl_ms]))

    def release(self) -> bool:
        return bool(self._release(keys=[self.key], args=[self.owner]))

    def holder(self) -> str | None:
        raw = self.redis.get(self.key)
        return raw.decode() if raw else None

    def remaining_ms(self) -> int:
        return max(int(self.redis.pttl(self.key)), 0)

    async def hold(self, *, wait: float = 120.0, poll: float = 0.05) -> bool:
        """Async: wait up to `wait` seconds for the lease; True when taken."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait
        while True:
            if await run_sync(self.acquire):
                return True
            if loop.time() >= deadline:
                return False
            await asyncio.sleep(poll + random.uniform(0, poll))

    @contextlib.asynccontextmanager
    async def held(self, *, wait: float = 120.0) -> AsyncIterator[None]:
        if not await self.hold(wait=wait):
            raise TimeoutError(f"lease {self.key} still held by another process after {wait:.0f} s")
        try:
            yield
        finally:
            await run_sync(self.release)


class Slots:
    """A counted lease: at most `size` holders of `connector:slots:{name}` at once, across processes,
    served in the order the waiters came (module docstring).

    Each holder expires after `ttl_ms` (a process killed mid-request frees its slot by itself); a waiter
    keeps its place while it asks at least every `waiter_ttl_ms` (it asks again each `poll` seconds at
    the latest, at once when woken). `acquire()` / `release()` match asyncio.Semaphore's shape, so a
    client can use either.
    """

    def __init__(self, conn: redis.Redis, name: str, size: int, *, ttl_ms: int = 120000, poll: float = 0.25,
                 waiter_ttl_ms: int = 2000) -> None:
        self.redis = conn
        self.key = f"{PREFIX}:slots:{name}"
        self.keys = [self.key, f"{PREFIX}:slotq:{name}", f"{PREFIX}:slotw:{name}", f"{PREFIX}:slotseq:{name}"]
        self.wake_prefix = f"{PREFIX}:slotwake:{name}:"
        self.size = size
        self.ttl_ms = ttl_ms
        self.poll = poll
        self.waiter_ttl_ms = max(waiter_ttl_ms, int(poll * 4000))  # a waiter asks several times per TTL
        self._take = conn.register_script(_SLOT_ACQUIRE)
        self._give = conn.register_script(_SLOT_RELEASE)
        self._held: list[str] = []
        self._pending: set[asyncio.Task] = set()
        self.waited = 0.0  # seconds this object's acquire() calls waited, in total (the bench reports it)
        self.longest_wait = 0.0

    def try_take(self, owner: str) -> bool:
        """Take a slot if it is `owner`'s turn; otherwise `owner` keeps (or takes) its place in line."""
        return bool(self._take(keys=self.keys, args=[self.size, self.ttl_ms, owner, self.waiter_ttl_ms,
                                                      self.wake_prefix]))

    def give_back(self, owner: str) -> None:
        """Free `owner`'s slot (or its place in line) and wake the waiters first in line."""
        self._give(keys=self.keys, args=[self.size, owner, self.wake_prefix])

    def give_back_patiently(self, owner: str) -> None:
        """give_back, tried again while Redis is away (a restart, a failover): a release lost there
        would keep the slot until its TTL, and with all of them lost every process waits that long."""
        delay = RELEASE_RETRY_FIRST
        deadline = time.monotonic() + RELEASE_RETRY_FOR
        while True:
            try:
                self.give_back(owner)
                return
            except redis.RedisError:
                if time.monotonic() + delay > deadline:
                    raise
                time.sleep(delay)
                delay = min(delay * 2, 2.0)

    async def acquire(self) -> bool:
        owner = secrets.token_hex(8)
        client = async_twin(self.redis)  # no thread hop between a wake-up and the take
        if getattr(self, "_twin_client", None) is not client:
            self._twin_client = client
            self._take_async = client.register_script(_SLOT_ACQUIRE)
        args = [self.size, self.ttl_ms, owner, self.waiter_ttl_ms, self.wake_prefix]
        began = time.monotonic()
        queued = False
        try:
            while not await asyncio.wait_for(self._take_async(keys=self.keys, args=args), REDIS_TIMEOUT):
                queued = True
                # woken by a give-back when our turn comes; `poll` bounds the wait for slots freed by expiry
                await asyncio.wait_for(client.blpop([self.wake_prefix + owner], timeout=self.poll),
                                       REDIS_TIMEOUT + self.poll)
        except BaseException:
            # cancelled or failed while waiting: leave the line (and the slot, if the take went through
            # unanswered), or the waiters behind would wait for our place to expire
            with contextlib.suppress(RuntimeError):  # a loop closing: the place expires by itself
                task = asyncio.get_running_loop().create_task(
                    run_sync(self.give_back_patiently, owner, timeout=RELEASE_RETRY_FOR + REDIS_TIMEOUT))
                self._pending.add(task)
                task.add_done_callback(self._pending.discard)
            raise
        if queued:
            waited = time.monotonic() - began
            self.waited += waited
            self.longest_wait = max(self.longest_wait, waited)
            note_wait("pim_slots", waited)
        self._held.append(owner)
        return True

    def release(self) -> None:
        """Synchronous like asyncio.Semaphore.release: the Redis call runs in a background task
        (a lost release only delays the slot until its TTL)."""
        if not self._held:
            return
        owner = self._held.pop()
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self.give_back_patiently(owner)
            return
        task = loop.create_task(run_sync(self.give_back_patiently, owner, timeout=RELEASE_RETRY_FOR + REDIS_TIMEOUT))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def drain(self) -> None:
        """Wait for pending releases (before a job's event loop ends)."""
        if self._pending:
            await asyncio.gather(*self._pending, return_exceptions=True)

    def in_use(self) -> int:
        return int(self.redis.zcard(self.key))
