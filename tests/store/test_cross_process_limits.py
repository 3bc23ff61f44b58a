"""Limits that hold across processes: Akeneo's 4 requests in flight per connection, one PIM token per
tenant, exclusive leases, and Redis calls that never block an event loop."""

from __future__ import annotations

import asyncio
import socket
import threading
import time

import redis

from sandbox.pim import create_app as create_pim
from service.clients.akeneo import AkeneoClient
from service.crypto import SecretBox
from service.settings import load_settings
from service.store import Store
from service.store.imports import ImportStore, PageCommit
from service.store.leases import Lease, Slots
from service.store.rate_governor import RateGovernor
from tests.servers import serve
from workers.sync.context import open_sync_context

SECRET = "limits-test-secret-key-0123456789abcdef"


def test_two_clients_share_the_four_akeneo_slots(redis_conn, redis_url):
    """Two clients (two workers) on one connection: each alone may send 4, together still 4 in flight."""
    app = create_pim(max_concurrency=4)
    with serve(app) as url:
        async def main() -> tuple[int, int]:
            clients = [AkeneoClient(url, "sandbox-client", "sandbox-secret", "admin", "admin", max_attempts=1,
                                    allow_private_addresses=True, slots=Slots(redis.Redis.from_url(redis_url), "akeneo:test", 4))
                       for _ in range(2)]
            app.state.pim.set_faults(latency=0.05)  # requests overlap
            try:
                results = await asyncio.gather(*(c.get_page("/api/rest/v1/products-uuid", {"limit": 1})
                                                 for c in clients for _ in range(12)), return_exceptions=True)
            finally:
                for c in clients:
                    await c.aclose()
            refused = sum(1 for r in results if isinstance(r, Exception))
            return refused, sum(c.requests_made for c in clients)

        refused, made = asyncio.run(main())
    assert refused == 0  # max_attempts=1: a single 429 from the sandbox would have raised
    assert made == 24 + 2  # 24 reads and one token grant per client, nothing retried
    assert Slots(redis_conn, "akeneo:test", 4).in_use() == 0


def test_the_pim_token_is_granted_once_per_tenant(redis_conn, redis_url, tmp_path):
    app = create_pim()
    with serve(app) as url:
        store = Store(redis_conn, SecretBox(SECRET))
        tenant = store.create_tenant(pim_url=url, store_hash="lim1ts")
        store.put_credentials(tenant, "pim", {"url": url, "client_id": "sandbox-client", "secret": "sandbox-secret",
                                              "username": "admin", "password": "admin"})
        store.put_section(tenant, "pim", {"url": url, "client_id": "sandbox-client", "username": "admin",
                                          "connected": True})
        store.put_credentials(tenant, "bigcommerce", {"access_token": "t"})
        store.put_section(tenant, "bigcommerce", {"store_hash": "lim1ts", "connected": True})
        store.put_section(tenant, "main", {"locale": "en_US", "channel": "ecommerce", "category": "master"})
        settings = load_settings({"DATA_DIR": str(tmp_path), "SECRET_KEY": SECRET, "REDIS_URL": redis_url,
                                  "ALLOW_PRIVATE_URLS": "true"})

        async def one_job() -> None:  # each page job opens its own clients
            async with open_sync_context(settings, redis_conn, store, tenant, None) as ctx:
                await ctx.pim.get_page("/api/rest/v1/channels", {"limit": 1})

        for _ in range(3):
            asyncio.run(one_job())
        grants = app.state.pim.request_counts.get("POST /api/oauth/v1/token", 0)
    assert grants == 1
    raw = redis_conn.get(f"connector:tenant:{tenant}:pim-token")
    assert raw and b"access_token" not in raw  # encrypted at rest


def test_leases_are_exclusive_expire_and_belong_to_their_owner(redis_conn):
    first = Lease(redis_conn, "import:t1", owner="run-a", ttl_ms=300)
    second = Lease(redis_conn, "import:t1", owner="run-b", ttl_ms=300)
    assert first.acquire() and not second.acquire()
    assert not second.renew() and not second.release() and first.holder() == "run-a"
    assert first.acquire()  # re-entry by the same owner keeps it
    time.sleep(0.4)  # the owner died: the lease frees itself
    assert second.acquire() and not first.renew() and second.holder() == "run-b"


def test_page_commit_counts_once_and_caps_issues(redis_conn):
    imports = ImportStore(redis_conn)
    commit = PageCommit()
    commit.count("products", "created", 3)
    commit.errors = [{"item": f"p{i}", "message": "refused"} for i in range(6000)]
    imports.commit_page("r1", commit, {"step": 1})
    counts = imports.counts("r1")
    assert counts["products"]["created"] == 3 and counts["issues"]["errors"] == 6000
    assert len(imports.issues("r1", "errors", 10_000)) == 5000 and imports.checkpoint("r1") == {"step": 1}


class _SlowProxy:
    """A TCP proxy in front of Redis that holds every answer 200 ms: a slow network to Redis."""

    def __init__(self, delay: float = 0.2) -> None:
        self.delay = delay
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            client, _ = self.server.accept()
            upstream = socket.create_connection(("127.0.0.1", 6379))
            threading.Thread(target=self._pipe, args=(client, upstream, 0), daemon=True).start()
            threading.Thread(target=self._pipe, args=(upstream, client, self.delay), daemon=True).start()

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket, delay: float) -> None:
        try:
            while data := src.recv(65536):
                time.sleep(delay)
                dst.sendall(data)
        except OSError:
            pass


def test_the_rate_governor_never_blocks_the_event_loop(redis_url):
    proxy = _SlowProxy()
    db = redis_url.rsplit("/", 1)[1]
    slow = redis.Redis.from_url(f"redis://127.0.0.1:{proxy.port}/{db}")
    governor = RateGovernor(slow, "nonblocking")

    async def main() -> tuple[float, float]:
        lags: list[float] = []

        async def ticker() -> None:
            while True:
                before = time.monotonic()
                await asyncio.sleep(0.01)
                lags.append(time.monotonic() - before - 0.01)

        task = asyncio.create_task(ticker())
        started = time.monotonic()
        await asyncio.gather(governor.acquire(), governor.observe_async({}, 200))
        took = time.monotonic() - started
        task.cancel()
        return took, max(lags)

    took, worst_lag = asyncio.run(main())
    assert took >= 0.2  # Redis was slow...
    assert worst_lag < 0.1  # ...and the loop kept running meanwhile
