"""Several configured tenants on shared sandboxes for the load tests: each tenant its own sandbox store
(one BigCommerce sandbox), PIMs shared or not, the connector's web app serving media and webhooks."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import redis

from sandbox.bigcommerce import create_app as create_bc
from sandbox.pim import create_app as create_pim
from service.app import create_app
from service.crypto import SecretBox
from service.settings import load_settings
from service.store import Store
from tests.import_env import configure_tenant
from tests.reliability.load_env import process_env
from tests.servers import free_port, serve

SECRET = "load-tenants-secret-key-0123456789abcdef"


@dataclass
class Tenants:
    conn: redis.Redis
    store: Store
    bc_url: str
    app_url: str
    pims: dict[str, str]  # name -> base URL
    env: dict  # for `connector worker` processes
    ids: dict[str, str] = field(default_factory=dict)  # name -> tenant id
    hashes: dict[str, str] = field(default_factory=dict)  # name -> store hash

    def add(self, name: str, pim: str, category: str, *, options: dict | None = None) -> str:
        store, pim_url, hash_ = self.store, self.pims[pim], f"st{name}"
        httpx.post(f"{self.bc_url}/sandbox/stores", json={"hash": hash_, "token": f"tok-{name}"},
                   timeout=10).raise_for_status()
        tenant = store.create_tenant(store_hash=hash_)
        configure_tenant(store, tenant, pim_url, hash_, f"tok-{name}", category, options)
        self.ids[name], self.hashes[name] = tenant, hash_
        return tenant

    def bc_state(self, name: str) -> dict:
        return httpx.get(f"{self.bc_url}/sandbox/stores/{self.hashes[name]}/state", timeout=30).json()

    def bc_requests(self, name: str) -> dict:
        return httpx.get(f"{self.bc_url}/sandbox/stores/{self.hashes[name]}/requests", timeout=30).json()


@contextlib.contextmanager
def tenants(redis_url: str, tmp_path: Path, pims: tuple[str, ...], *, quota: tuple[int, int] = (1_000_000, 1000),
            extra_env: dict | None = None) -> Iterator[Tenants]:
    conn = redis.Redis.from_url(redis_url)
    conn.flushdb()
    port = free_port()
    app_url = f"http://127.0.0.1:{port}"
    with contextlib.ExitStack() as stack:
        pim_urls = {name: stack.enter_context(serve(create_pim())) for name in pims}
        bc_url = stack.enter_context(serve(create_bc(rate_limit=quota)))
        env = process_env(redis_url, tmp_path, SECRET, BC_API_URL=bc_url, BC_LOGIN_URL=bc_url, APP_URL=app_url,
                          CONNECTOR_IMPORT_LEASE_TTL="3", CONNECTOR_IMPORT_RETRY_BASE="0.5", **(extra_env or {}))
        connector = create_app(load_settings({k: env[k] for k in ("REDIS_URL", "SECRET_KEY", "BC_API_URL",
                                                                 "APP_URL", "DATA_DIR", "ALLOW_PRIVATE_URLS")}))
        stack.enter_context(serve(connector, port=port))
        yield Tenants(conn, Store(conn, SecretBox(SECRET)), bc_url, app_url, pim_urls, env)
