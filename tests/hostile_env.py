"""Set-up of the hostile-input tests (tests/access/test_forged_requests.py, tests/web/test_openapi_fuzz.py):
both sandboxes and the connector over real HTTP, and tenants connected to them the way a passed connection
test leaves them."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass

from sandbox.bigcommerce import create_app as create_bc
from sandbox.pim import create_app as create_pim
from service.app import create_app
from service.settings import load_settings
from tests.servers import free_port, serve

SECRET = "hostile-tests-secret-key-0123456789abcdef"
STORES = (("h0stile", "hostile-token-a"), ("h0stil2", "hostile-token-b"))
APP_CLIENT_ID, APP_CLIENT_SECRET = "hostile-app-client", "hostile-app-secret-0123456789abcdef0123456789"


@dataclass
class Service:
    app: object
    base: str
    pim_url: str
    bc_url: str
    tenant: str

    def session_headers(self, tenant: str | None = None) -> dict[str, str]:
        token, session = self.app.state.sessions.issue(tenant or self.tenant, {"id": 1, "email": "m@example.com"},
                                                       "bigcommerce")
        return {"Authorization": f"Bearer {token}", "X-CSRF-Token": session.csrf_token}

    def connected_tenant(self, store_index: int = 0) -> str:
        """A tenant whose PIM and store connections passed their tests, with its main configuration."""
        store = self.app.state.store
        store_hash, token = STORES[store_index]
        tenant = store.create_tenant(store_hash=store_hash)
        store.put_credentials(tenant, "pim", {"url": self.pim_url, "client_id": "sandbox-client",
                                              "secret": "sandbox-secret", "username": "admin", "password": "admin"})
        store.put_credentials(tenant, "bigcommerce", {"access_token": token})
        store.put_section(tenant, "pim", {"url": self.pim_url, "client_id": "sandbox-client", "username": "admin",
                                          "connected": True})
        store.put_section(tenant, "bigcommerce", {"store_hash": store_hash, "connected": True})
        store.put_section(tenant, "main", {"locale": "en_US", "channel": "ecommerce", "category": "master",
                                           "category_tree": "master"})
        return tenant


@contextlib.contextmanager
def connected_service(data_dir, redis_url: str, **extra_env: str) -> Iterator[Service]:
    pim_app, bc_app = create_pim(), create_bc(stores=list(STORES))
    port = free_port()
    with serve(pim_app) as pim_url, serve(bc_app) as bc_url:
        settings = load_settings({
            "REDIS_URL": redis_url, "SECRET_KEY": SECRET, "BC_API_URL": bc_url, "DATA_DIR": str(data_dir),
            "APP_URL": f"http://127.0.0.1:{port}", "ALLOW_PRIVATE_URLS": "true",
            "EVENT_PLATFORM_URL": f"{pim_url}/event-platform/api/v1", "BC_LOGIN_URL": bc_url,
            "BC_CLIENT_ID": APP_CLIENT_ID, "BC_CLIENT_SECRET": APP_CLIENT_SECRET, "PIM_URLS": pim_url, **extra_env})
        app = create_app(settings)
        with serve(app, port=port) as base:
            service = Service(app, base, pim_url, bc_url, "")
            service.tenant = service.connected_tenant()
            yield service
