"""Leases in Redis shared by every process: exclusive leases (one import per tenant, one channel
assignment per store) and counted leases (Akeneo's 4 requests in flight per connection).

A lease has an owner token and a TTL, so a process that dies frees it by expiry; renew and release
only act when the caller still owns it (compare-and-set in Lua, so two processes never both hold it).
Keys: `connector:lease:{name}` (string) and `connector:slots:{name}` (zset owner -> expiry ms).
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

# counted lease: drop expired holders, then take a slot if fewer than ARGV[1] are held
_SLOT_ACQUIRE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[1]) then
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[3])
  redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]) + 1000)
  return 1
end
return 0
"""


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
    """A counted lease: at most `size` holders of `connector:slots:{name}` at once, across processes.

    Each holder expires after `ttl_ms` (a process killed mid-request frees its slot by itself).
    `acquire()` / `release()` match asyncio.Semaphore's shape, so a client can use either.
    """

    def __init__(self, conn: redis.Redis, name: str, size: int, *, ttl_ms: int = 120000, poll: float = 0.02) -> None:
        self.redis = conn
        self.key = f"{PREFIX}:slots:{name}"
        self.size = size
        self.ttl_ms = ttl_ms
        self.poll = poll
        self._take = conn.register_script(_SLOT_ACQUIRE)
        self._held: list[str] = []
        self._pending: set[asyncio.Task] = set()

    def try_take(self, owner: str) -> bool:
        return bool(self._take(keys=[self.key], args=[self.size, self.ttl_ms, owner]))

    def give_back(self, owner: str) -> None:
        self.redis.zrem(self.key, owner)

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
        while not await run_sync(self.try_take, owner):
            await asyncio.sleep(self.poll + random.uniform(0, self.poll))
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
