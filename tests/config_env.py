"""Shared setup for the configuration tests: sandboxes, the connector, sessions that talk HTTP."""

from __future__ import annotations

import contextlib
import copy
import secrets
import string

import httpx
from starlette.applications import Starlette
from starlette.responses import HTMLResponse
from starlette.routing import Route

from sandbox.bigcommerce import create_app as create_bc
from sandbox.pim.app import create_app as create_pim
from service.app import create_app
from service.settings import load_settings
from tests.servers import serve

PIM_CLIENT = "4_2ya5mfbc7z0g0s8c4k0gcck0kks4oksk0owcsowk4k0wc4c4ok"
PIM_SECRET = "3eq9oq2v1cissowcckcgw4oo4woosc00k48wgwokkgso0kkkg4"
PIM_USER = "bigcommerce_connector_1234"
PIM_PASSWORD = "d7f3b2a1c9e8"
NOPERM_USER = "connector_without_rights"
STORE = "abc123"
OTHER_STORE = "zzz999"


def bc_like(n: int = 31) -> str:
    """A value shaped like a BigCommerce access token or client ID: lower-case alphanumerics."""
    return "".join(secrets.choice(string.ascii_lowercase + string.digits) for _ in range(n))


BC_TOKEN = bc_like()
BC_CLIENT = bc_like()
BC_SECRET = secrets.token_hex(32)
BC_NO_PRODUCTS = bc_like()
BC_NO_INFO = bc_like()


def pim_sandbox():
    app = create_pim(client_id=PIM_CLIENT, secret=PIM_SECRET, username=PIM_USER, password=PIM_PASSWORD)
    state = app.state.pim
    state.add_user(NOPERM_USER, PIM_PASSWORD, permissions="none")
    # A channel on another tree with a single locale (copied catalog: the cached one is shared).
    state.catalog = copy.copy(state.catalog)
    b2b = {"code": "b2b", "currencies": ["EUR"], "locales": ["en_US"], "category_tree": "sales",
           "conversion_units": {}, "labels": {"en_US": "B2B"}}
    state.catalog.channels = [*state.catalog.channels, b2b]
    state.store.channels["b2b"] = b2b
    return app


def bc_sandbox_app():
    app = create_bc(stores=[(STORE, BC_TOKEN), (OTHER_STORE, bc_like())])
    state = app.state.bc
    state.add_token(STORE, BC_NO_PRODUCTS, scopes=("store_v2_information_read_only",))
    state.add_token(STORE, BC_NO_INFO, scopes=("store_v2_products",))
    return app


def not_akeneo_app():
    async def page(request):
        return HTMLResponse("<!doctype html><title>Welcome</title><p>Our shop</p>")

    return Starlette(routes=[Route("/{path:path}", page, methods=["GET", "POST"])])


def connector(tmp_path, redis_url, bc_url):
    settings = load_settings({"DATA_DIR": str(tmp_path), "SECRET_KEY": "config-test-secret-key-0123456789abcdef",
                              "REDIS_URL": redis_url, "ALLOW_PRIVATE_URLS": "true", "BC_API_URL": bc_url,
                              "APP_URL": "https://connector.example.com"})
    return create_app(settings)


class Client:
    """One merchant: a fresh tenant and a session, talking HTTP to the connector."""

    def __init__(self, app, base_url: str, tenant: str | None = None) -> None:
        self.app = app
        self.store = app.state.store
        self.tenant = tenant or self.store.create_tenant()
        self.token, self.session = app.state.sessions.issue(self.tenant, {"id": 1, "email": "m@example.com"}, "bigcommerce")
        self.http = httpx.Client(base_url=base_url, timeout=60, headers={
            "Authorization": f"Bearer {self.token}", "X-CSRF-Token": self.session.csrf_token,
            "X-Tenant": self.tenant})

    def get(self, path: str, **kw) -> httpx.Response:
        return self.http.get(path, **kw)

    def put(self, path: str, body=None, **kw) -> httpx.Response:
        return self.http.put(path, json=body, **kw) if body is not None else self.http.put(path, **kw)

    def pim_body(self, pim_url: str, **changes) -> dict:
        return {"url": pim_url, "client_id": PIM_CLIENT, "secret": PIM_SECRET, "username": PIM_USER,
                "password": PIM_PASSWORD, **changes}

    def connect_pim(self, pim_url: str) -> dict:
        response = self.put("/api/config/pim", self.pim_body(pim_url))
        assert response.status_code == 200 and response.json()["connected"], response.text
        return response.json()

    def first_import_done(self) -> None:
        self.store.put_section(self.tenant, "status", {"first_import_done": True})


@contextlib.contextmanager
def running_connector(data_dir, redis_url, bc_url):
    """The connector under uvicorn: yields (app, base URL)."""
    app = connector(data_dir, redis_url, bc_url)
    with serve(app) as url:
        yield app, url


@contextlib.contextmanager
def client_of(service):
    """A merchant's session on a fresh tenant of a running connector."""
    app, url = service
    c = Client(app, url)
    try:
        yield c
    finally:
        c.http.close()
