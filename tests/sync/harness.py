"""`Shop`: the real parts of one tenant for the model-based test, reset in a blink between examples.

Servers start once per test module (the sandbox PIM on the small catalog of tests/sync/catalog.py, the
sandbox BigCommerce, the connector's web app: it receives the change events and serves /media/ to the
store); each example then gets a fresh PIM state, a new store hash, a flushed Redis and a new tenant
configured through the Store API (as tests/import_env.py does) with the mapping saved the way
PUT /api/mapping saves it. Jobs (imports, the events worker) run in this process on an RQ SimpleWorker
over the real Redis; the PIM is edited through its merchant routes, the store by hand through its API."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import itertools
import json
import os
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import redis

from sandbox.bigcommerce import create_app as create_bc
from sandbox.pim import create_app as create_pim
from sandbox.pim.state import build_state
from service.app import create_app
from service.crypto import SecretBox
from service.embed import sync as embed_sync
from service.imports import get_run, start_import
from service.settings import load_settings
from service.store import Store
from service.store.mapping import save_mapping
from tests.import_env import configure_tenant
from tests.servers import free_port, serve
from tests.sync.catalog import write_catalog
from workers.worker import EventsWorker as InProcessWorker  # RQ's SimpleWorker, stopping promptly

SECRET = "converge-tests-secret-key-0123456789abcdef"
EVENT_SECRET = "converge-event-secret-0123456789"
TOKEN = "converge-token"
MAIN_CATEGORY = "shop"
LOCALE, CHANNEL = "en_US", "ecommerce"

# the mapping in force at the start of every example (mutations change it through `set_mapping`)
MAPPING: dict[str, Any] = {
    "name": "name", "sku": "sku", "description": "description", "price": "price", "sale_price": "sale_price",
    "weight": "weight", "brand": "brand", "gtin": "ean", "search_keywords": "keywords", "warranty": "warranty",
    "visibility": "enabled", "images": ["picture", "picture_2"], "custom_fields": ["material", "composition"],
    "variant_sku": "sku", "variant_price": "price", "variant_weight": "weight",
}
SETTINGS: dict[str, Any] = {"enabled_only": True, "completeness": None, "families": [], "removed": "hide"}
_ENV_KEYS = ("REDIS_URL", "SECRET_KEY", "BC_API_URL", "BC_LOGIN_URL", "APP_URL", "DATA_DIR", "ALLOW_PRIVATE_URLS",
             "LOG_LEVEL", "CONNECTOR_IMPORT_LEASE_TTL", "CONNECTOR_IMPORT_RETRY_BASE", "CONNECTOR_EVENTS_LINGER")


@dataclass
class Servers:
    redis_url: str
    catalog_dir: Path
    pim_app: Any
    bc_app: Any
    pim_url: str
    bc_url: str
    app_url: str


@contextlib.contextmanager
def servers(redis_url: str, tmp: Path) -> Iterator[Servers]:
    """Both sandboxes and the connector's web app over loopback HTTP; this process's environment is the
    worker's while they run (the jobs read their settings from it), restored afterwards."""
    catalog_dir = write_catalog(tmp / "catalog")
    pim_app = create_pim(catalog_dir)
    bc_app = create_bc(rate_limit=(1_000_000, 1000))
    port = free_port()
    app_url = f"http://127.0.0.1:{port}"
    saved = {k: os.environ.get(k) for k in _ENV_KEYS}
    with serve(pim_app) as pim_url, serve(bc_app) as bc_url:
        os.environ.update({"REDIS_URL": redis_url, "SECRET_KEY": SECRET, "BC_API_URL": bc_url, "BC_LOGIN_URL": bc_url,
                           "APP_URL": app_url, "DATA_DIR": str(tmp), "ALLOW_PRIVATE_URLS": "true",
                           "LOG_LEVEL": "WARNING", "CONNECTOR_IMPORT_LEASE_TTL": "3",
                           "CONNECTOR_IMPORT_RETRY_BASE": "0.2", "CONNECTOR_EVENTS_LINGER": "0"})
        _forget_settings()
        try:
            connector = create_app(load_settings())
            with serve(connector, port=port):
                yield Servers(redis_url, catalog_dir, pim_app, bc_app, pim_url, bc_url, app_url)
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
            _forget_settings()


def _forget_settings() -> None:
    from workers.context import _settings  # the jobs' settings, cached per process

    _settings.cache_clear()


_STORES = itertools.count(1)


class Refused(Exception):
    """The PIM answered 422: the edit changed nothing."""


class Shop:
    """One tenant: a fresh PIM, store and Redis per `reset()`; syncs run to the end before returning."""

    def __init__(self, srv: Servers) -> None:
        self.srv = srv
        self.conn = redis.Redis.from_url(srv.redis_url)
        self.pim = httpx.Client(base_url=srv.pim_url, timeout=30)
        self.http = httpx.Client(timeout=30)
        self.mapping: dict[str, Any] = dict(MAPPING)
        self.settings: dict[str, Any] = dict(SETTINGS)
        self.store_hash = ""
        self.tenant = ""
        self.store = Store(self.conn, SecretBox(SECRET))

    # ---- set-up

    def reset(self) -> None:
        state = build_state(self.srv.catalog_dir)
        state.add_connection("sandbox-client", "sandbox-secret")
        state.add_user("admin", "admin")
        self.srv.pim_app.state.pim = state
        # the previous examples' stores go: the sandbox's image route looks ids up across stores
        self.srv.bc_app.state.bc.stores.clear()
        self.store_hash = f"cv{next(_STORES)}x{uuid.uuid4().hex[:6]}"
        self.srv.bc_app.state.bc.create_store(self.store_hash, TOKEN)
        self.conn.flushdb()
        self.tenant = self.store.create_tenant(pim_url=self.srv.pim_url, store_hash=self.store_hash)
        self.mapping, self.settings = dict(MAPPING), dict(SETTINGS)
        configure_tenant(self.store, self.tenant, self.srv.pim_url, self.store_hash, TOKEN, MAIN_CATEGORY,
                         {"image_mode": "url", **self.settings})
        self.store.put_credentials(self.tenant, "event_platform", {"primary": EVENT_SECRET})
        self.set_mapping(self.mapping)

    def set_mapping(self, fields: dict[str, Any]) -> None:
        """Saved as PUT /api/mapping saves it (a new version)."""
        self.mapping = dict(fields)
        save_mapping(self.store, self.tenant, {"fields": dict(fields), "families": {}}, by="converge-test")

    def set_settings(self, **changes: Any) -> None:
        """The import settings, as PUT /api/import-settings stores them."""
        self.settings.update(changes)
        section = self.store.get_section(self.tenant, "import")
        self.store.put_section(self.tenant, "import", {**section, **changes})

    # ---- syncs

    def drain(self) -> None:
        """Run every queued job in this process (the connector's in-process worker class: RQ's SimpleWorker, burst), moving scheduled jobs that fell
        due (retries) until nothing is left to run now."""
        from workers.queues import enqueue_due, queues

        chosen = queues(self.conn)
        names = [q.name for q in chosen]
        for _ in range(100):
            enqueue_due(self.conn, names)
            if not any(q.count for q in chosen):
                return
            started = time.monotonic()
            InProcessWorker(chosen, connection=self.conn).work(burst=True, with_scheduler=False,
                                                            logging_level="WARNING")
            if time.monotonic() - started > 5:
                print(f"[harness] a burst of jobs took {time.monotonic() - started:.1f} s")
        raise AssertionError("the queues never emptied")

    def _import(self, mode: str) -> dict:
        run_id = start_import(self.store, self.conn, self.tenant, mode)
        self.drain()
        run = get_run(self.store, self.conn, self.tenant, run_id)
        assert run["status"] in ("succeeded", "partial", "failed"), run
        return run

    def full(self) -> dict:
        return self._import("full")

    def delta(self) -> dict:
        return self._import("delta")

    def event(self, kind: str, item: str) -> None:
        """A signed Event Platform delivery (`product.updated`, `product.removed`, `product_model.updated`,
        `product_model.removed`) naming a product uuid or a model code, then the events worker drained."""
        data = {"product_model": {"code": item}} if kind.startswith("product_model") else {"product": {"uuid": item}}
        body = json.dumps({"specversion": "1.0", "id": str(uuid.uuid4()), "source": self.srv.pim_url,
                           "type": f"com.akeneo.pim.v1.{kind.replace('_', '-')}", "subject": item,
                           "time": "2026-12-01T00:00:00Z", "data": data}).encode()
        signature = hmac.new(EVENT_SECRET.encode(), body, hashlib.sha256).hexdigest()
        answer = self.http.post(f"{self.srv.app_url}/webhooks/akeneo/{self.tenant}", content=body,
                                headers={"X-AKENEO-SIGNATURE-PRIMARY": signature})
        assert answer.status_code == 200, answer.text
        self.drain()

    def sync_now(self, item: str) -> None:
        """The product tab's "Sync now" (POST /api/embed/sync's enqueue): `item` is a uuid or a model code."""
        key = f"product:{item.lower()}" if _is_uuid(item) else f"model:{item}"
        embed_sync.enqueue(self.conn, self.tenant, [key])
        self.drain()

    # ---- the PIM, edited as a merchant does (sandbox/pim admin and edit routes)

    def pim_state(self) -> Any:
        return self.srv.pim_app.state.pim

    def _ok(self, answer: httpx.Response) -> dict:
        if answer.status_code == 422:  # the PIM refused the edit (a category gone, a value not allowed...)
            raise Refused(answer.text)
        assert answer.status_code in (200, 201, 204), (answer.request.url, answer.status_code, answer.text)
        return answer.json() if answer.content else {}

    def patch_product(self, identifier: str, body: dict) -> dict:
        return self._ok(self.pim.patch(f"/sandbox/products/{identifier}", json=body))

    def patch_model(self, code: str, body: dict) -> dict:
        return self._ok(self.pim.patch(f"/sandbox/product-models/{code}", json=body))

    def create_product(self, body: dict) -> dict:
        return self._ok(self.pim.post("/sandbox/products", json=body))

    def delete_product(self, identifier: str) -> dict:
        return self._ok(self.pim.delete(f"/sandbox/products/{identifier}"))

    def delete_model(self, code: str) -> dict:
        return self._ok(self.pim.delete(f"/sandbox/product-models/{code}"))

    def rename_product(self, identifier: str, new: str) -> dict:
        return self._ok(self.pim.post(f"/sandbox/products/{identifier}/rename", json={"identifier": new}))

    def patch_category(self, code: str, body: dict) -> dict:
        return self._ok(self.pim.patch(f"/sandbox/categories/{code}", json=body))

    def delete_category(self, code: str) -> dict:
        return self._ok(self.pim.delete(f"/sandbox/categories/{code}"))

    def label_attribute(self, code: str, label: str) -> dict:
        return self._ok(self.pim.patch(f"/sandbox/attributes/{code}", json={"labels": {LOCALE: label}}))

    def label_option(self, attribute: str, code: str, label: str) -> dict:
        return self._ok(self.pim.patch(f"/sandbox/attributes/{attribute}/options/{code}",
                                       json={"labels": {LOCALE: label}}))

    # ---- the store

    def state(self) -> dict:
        return self._ok(self.http.get(f"{self.srv.bc_url}/sandbox/stores/{self.store_hash}/state"))

    def image_digest(self, image_id: int) -> str:
        answer = self.http.get(f"{self.srv.bc_url}/sandbox/images/{image_id}")
        assert answer.status_code == 200, answer.text
        return hashlib.sha256(answer.content).hexdigest()

    def delete_store_product(self, product_id: int) -> None:
        """The merchant deletes a product by hand in the store's control panel (the catalog API's DELETE)."""
        answer = self.http.delete(f"{self.srv.bc_url}/stores/{self.store_hash}/v3/catalog/products/{product_id}",
                                  headers={"X-Auth-Token": TOKEN, "Accept": "application/json"})
        assert answer.status_code == 204, answer.text


def _is_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True
