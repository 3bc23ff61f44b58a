"""Shared set-up of the import tests: both sandboxes over real HTTP, a configured tenant, runs started the
way the imports API starts them, real RQ workers, and the EXPECTED catalog computed straight from the
icecat CSVs (never through the import code)."""

from __future__ import annotations

import contextlib
import csv
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import redis

from sandbox.bigcommerce import create_app as create_bc
from sandbox.pim import DEFAULT_CATALOG
from sandbox.pim import create_app as create_pim
from service.app import create_app
from service.crypto import SecretBox
from service.imports import get_run, start_import
from service.settings import load_settings
from service.store import Store
from tests.servers import free_port, serve

ROOT = Path(__file__).resolve().parents[1]
SECRET = "import-tests-secret-key-0123456789abcdef"
STORE_HASH = "imp0rt"
TOKEN = "import-token"


@dataclass
class Env:
    conn: redis.Redis
    redis_url: str
    store: Store
    tenant: str
    pim_url: str
    bc_url: str
    pim_app: object
    bc_app: object
    env: dict

    @property
    def bc_state(self):
        return self.bc_app.state.bc.store(STORE_HASH)

    def state(self) -> dict:
        return httpx.get(f"{self.bc_url}/sandbox/stores/{STORE_HASH}/state", timeout=30).json()

    def requests(self) -> dict:
        return httpx.get(f"{self.bc_url}/sandbox/stores/{STORE_HASH}/requests", timeout=30).json()

    def reset_requests(self) -> None:
        httpx.delete(f"{self.bc_url}/sandbox/stores/{STORE_HASH}/requests", timeout=30)
        httpx.delete(f"{self.pim_url}/sandbox/requests", timeout=30)

    def pim_requests(self) -> dict:
        return httpx.get(f"{self.pim_url}/sandbox/requests", timeout=30).json()

    def start(self, mode: str = "full") -> str:
        """POST /api/imports' own path: checks, a run document, `run_import` on the imports queue."""
        return start_import(self.store, self.conn, self.tenant, mode)

    def run(self, run_id: str) -> dict:
        """The run as GET /api/imports/{id} answers it."""
        return get_run(self.store, self.conn, self.tenant, run_id)

    def worker(self, *, burst: bool = True) -> subprocess.Popen:
        """A worker process (`connector worker`), in its own process group so it can be killed whole."""
        args = [sys.executable, "-m", "service.cli", "worker"] + (["--burst"] if burst else [])
        return subprocess.Popen(args, cwd=ROOT, env=self.env, start_new_session=True,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def work(self, timeout: float = 300) -> None:
        """Drain the queues with a burst worker process; fail on a hung worker."""
        proc = self.worker(burst=True)
        try:
            _, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
        assert proc.returncode == 0, err.decode()[-3000:]


@contextlib.contextmanager
def import_env(redis_url: str, tmp_path: Path, *, category: str = "master", options: dict | None = None,
               quota: tuple[int, int] = (1_000_000, 1000), extra_env: dict | None = None) -> Iterator[Env]:
    conn = redis.Redis.from_url(redis_url)
    conn.flushdb()
    pim_app = create_pim()
    bc_app = create_bc(stores=[(STORE_HASH, TOKEN)], rate_limit=quota)
    port = free_port()
    app_url = f"http://127.0.0.1:{port}"
    with serve(pim_app) as pim_url, serve(bc_app) as bc_url:
        env = {**os.environ, "REDIS_URL": redis_url, "SECRET_KEY": SECRET, "BC_API_URL": bc_url,
               "BC_LOGIN_URL": bc_url, "APP_URL": app_url, "DATA_DIR": str(tmp_path),
               "ALLOW_PRIVATE_URLS": "true", "LOG_LEVEL": "WARNING", "CONNECTOR_IMPORT_LEASE_TTL": "3",
               "CONNECTOR_IMPORT_RETRY_BASE": "0.5", **(extra_env or {})}
        # the connector's web app serves GET /media/{token}: BigCommerce downloads the images from it
        connector = create_app(load_settings({k: env[k] for k in ("REDIS_URL", "SECRET_KEY", "BC_API_URL",
                                                                 "APP_URL", "DATA_DIR", "ALLOW_PRIVATE_URLS")}))
        with serve(connector, port=port):
            yield _configured(conn, redis_url, pim_url, bc_url, pim_app, bc_app, env, category, options)


def _configured(conn, redis_url, pim_url, bc_url, pim_app, bc_app, env, category, options) -> Env:
    store = Store(conn, SecretBox(SECRET))
    tenant = store.create_tenant(pim_url=pim_url, store_hash=STORE_HASH)
    configure_tenant(store, tenant, pim_url, STORE_HASH, TOKEN, category, options)
    return Env(conn, redis_url, store, tenant, pim_url, bc_url, pim_app, bc_app, env)


def configure_tenant(store: Store, tenant: str, pim_url: str, store_hash: str, token: str, category: str,
                     options: dict | None = None) -> None:
    """Both connections tested and in force on the sandboxes, the main configuration, import settings."""
    store.put_credentials(tenant, "pim", {"url": pim_url, "client_id": "sandbox-client",
                                          "secret": "sandbox-secret", "username": "admin", "password": "admin"})
    store.put_credentials(tenant, "bigcommerce", {"access_token": token})
    store.put_section(tenant, "pim", {"url": pim_url, "client_id": "sandbox-client", "username": "admin",
                                      "connected": True})
    store.put_section(tenant, "bigcommerce", {"store_hash": store_hash, "connected": True})
    store.put_section(tenant, "main", {"locale": "en_US", "channel": "ecommerce", "category": category,
                                       "category_tree": "master"})
    store.put_section(tenant, "import", {"image_mode": "url", **(options or {})})


def wait_for(predicate, timeout: float = 120, every: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    raise AssertionError("condition not met in time")


# -- the expected store, from the CSVs alone -------------------------------------------------------------

def _rows(name: str) -> list[dict]:
    with open(DEFAULT_CATALOG / name, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f, delimiter=";"))


@dataclass
class Expected:
    simple: dict[str, int]  # SKU -> number of images (distinct image values whose file exists)
    models: dict[str, set[str]]  # root model code -> its variant SKUs


def expected_catalog(category: str = "master", *, families: set[str] | None = None) -> Expected:
    parents = {r["code"]: r["parent"] for r in _rows("categories.csv")}

    def subtree(code: str) -> bool:
        while code:
            if code == category:
                return True
            code = parents.get(code, "")
        return False

    image_attrs = [r["code"] for r in _rows("attributes.csv") if r["type"] == "pim_catalog_image"]
    models = {r["code"].lower(): r for r in _rows("product_models.csv")}

    def images(row: dict) -> int:
        found = []
        for attr in image_attrs:
            value = row.get(attr) or ""
            if value and value not in found and (DEFAULT_CATALOG / value).is_file():
                found.append(value)
        return len(found)

    simple: dict[str, int] = {}
    variants: dict[str, set[str]] = {}
    for row in _rows("products.csv"):
        if row["enabled"] != "1" or (families and row["family"] not in families):
            continue
        cats = [c for c in row["categories"].split(",") if c]
        if not row["parent"]:
            if any(subtree(c) for c in cats):
                simple[row["sku"]] = images(row)
            continue
        model = models[row["parent"].lower()]
        cats += [c for c in model["categories"].split(",") if c]
        if model["parent"]:
            model = models[model["parent"].lower()]
            cats += [c for c in model["categories"].split(",") if c]
        if any(subtree(c) for c in cats):
            variants.setdefault(model["code"], set()).add(row["sku"])
    return Expected(simple, variants)
