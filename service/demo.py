"""`connector demo`: the whole job on sandboxes, from nothing, in one command.

Starts an embedded Redis (its own, under DATA_DIR/demo), the sandbox PIM (icecat), the sandbox store, the
web app and a worker; installs the connector in the sandbox store as a BigCommerce app and configures it
through the public JSON API, as a merchant's browser would; runs a full import with a progress bar; prints a
summary and the URLs to look at; keeps everything running until Ctrl-C (or SIGTERM, SIGHUP). Killed
otherwise (SIGKILL, a crash), it takes every process it started with it (service/children.py).

The sandboxes run as their own processes (`python -m sandbox.pim`, `python -m sandbox.bigcommerce`): the
connector never imports them.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import secrets
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import jwt

from service.children import dies_with_us
from service.redis_conn import EmbeddedRedis, connect
from service.settings import Settings

APP_CLIENT_ID = "connector-demo"
APP_CLIENT_SECRET = "connector-demo-app-secret-0123456789"  # ≥ 32 bytes for HS256
STORE_HASH = "icecatdemo"
STORE_NAME = "Icecat Demo Store"
PIM_CLIENT = {"client_id": "sandbox-client", "secret": "sandbox-secret", "username": "admin",
              "password": "admin"}
MAIN = {"locale": "en_US", "channel": "ecommerce", "category": "master"}
SCOPES = "store_v2_products store_v2_information_read_only store_channel_settings_read_only"
FINAL = ("succeeded", "partial", "failed")
PLANS = ("standard", "plus", "pro", "enterprise", "unlimited")  # the sandbox store's (service/ never imports it)


class DemoError(Exception):
    """A step of the demo failed; the message says which and why."""


@dataclass
class Demo:
    """What the demo started: processes and URLs."""
    web: str
    pim: str
    store: str
    data_dir: Path
    children: list[subprocess.Popen] = field(default_factory=list)


def add_arguments(cmd: argparse.ArgumentParser) -> None:
    cmd.add_argument("--catalog", default=None, help="Akeneo catalog folder (default: the icecat demo catalog)")
    cmd.add_argument("--port", type=int, default=8000, help="the connector's web port (default 8000)")
    cmd.add_argument("--pim-port", type=int, default=8081, help="the sandbox PIM's port (default 8081)")
    cmd.add_argument("--store-port", type=int, default=8010, help="the sandbox store's port (default 8010)")
    limit = cmd.add_mutually_exclusive_group()
    limit.add_argument("--plan", choices=PLANS, default=None,
                       help="the sandbox store's BigCommerce plan, for its API rate limit: standard or plus "
                            "(150 requests / 30 s, the default), pro (450 / 30 s), enterprise (7,000,000 / 30 s), "
                            "unlimited (none)")
    limit.add_argument("--unlimited", action="store_true", help="the same as --plan unlimited: the quick run")
    limit.add_argument("--rate-limit", metavar="REQUESTS/MILLISECONDS", help="a rate limit of your own")
    cmd.add_argument("--exit-after-import", action="store_true",
                     help="print the summary and stop (exit code 1 if the import failed)")


def store_limit(args: argparse.Namespace) -> list[str]:
    """The sandbox store's arguments for the plan (or quota) chosen; its plans: sandbox/bigcommerce/plans.py."""
    if getattr(args, "rate_limit", None):
        return ["--rate-limit", args.rate_limit]
    return ["--plan", "unlimited" if args.unlimited else args.plan or "standard"]


# -- processes ---------------------------------------------------------------------------------------


def _spawn(argv: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    # Own sessions: Ctrl-C reaches only the demo, which stops its children once, in order. A demo killed
    # without stopping them (SIGKILL, a crash) takes them with it: they must not hold the ports.
    return subprocess.Popen(argv, env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT,
                            start_new_session=True, preexec_fn=dies_with_us())


def _wait_http(url: str, child: subprocess.Popen, log: Path, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if child.poll() is not None:
            raise DemoError(f"{url} did not start (exit {child.returncode}); see {log}")
        with contextlib.suppress(httpx.HTTPError):
            httpx.get(url, timeout=1.0)
            return
        time.sleep(0.1)
    raise DemoError(f"{url} did not answer within {timeout:.0f} s; see {log}")


def _port_free(port: int) -> bool:
    import socket
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


@contextlib.contextmanager
def started(settings: Settings, args: argparse.Namespace) -> Iterator[Demo]:
    """Redis, both sandboxes, the web app and a worker; stopped (in reverse) on exit."""
    for port in (args.port, args.pim_port, args.store_port):
        if not _port_free(port):
            raise DemoError(f"port {port} is in use (another demo still running?); pick others with "
                            "--port, --pim-port, --store-port")
    data_dir = Path(settings.data_dir) / "demo"
    logs = data_dir / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    redis_server = EmbeddedRedis(data_dir)
    redis_url = redis_server.url if redis_server.running() else redis_server.start()
    # A second run starts from a clean slate: the sandboxes are in memory, so what the last run stored in
    # the demo's own Redis (tenant, id maps) would point at a store that no longer exists.
    connect(redis_url).flushdb()
    py = sys.executable
    web = f"http://127.0.0.1:{args.port}"
    pim = f"http://127.0.0.1:{args.pim_port}"
    store = f"http://127.0.0.1:{args.store_port}"
    secret_file = data_dir / "secret_key"
    if not secret_file.exists():
        secret_file.write_text(secrets.token_urlsafe(32))
        secret_file.chmod(0o600)
    env = {**os.environ, "REDIS_URL": redis_url, "DATA_DIR": str(data_dir), "SECRET_KEY": secret_file.read_text(),
           "APP_URL": web, "BC_CLIENT_ID": APP_CLIENT_ID, "BC_CLIENT_SECRET": APP_CLIENT_SECRET,
           "BC_API_URL": store, "BC_LOGIN_URL": store, "PIM_URLS": pim, "ALLOW_PRIVATE_URLS": "true",
           "EVENT_PLATFORM_URL": f"{pim}/event-platform/api/v1",  # the sandbox PIM's Event Platform
           "PYTHONUNBUFFERED": "1"}
    env.pop("SECRET_KEY_FALLBACKS", None)
    demo = Demo(web=web, pim=pim, store=store, data_dir=data_dir)
    try:
        pim_argv = [py, "-m", "sandbox.pim", "--port", str(args.pim_port)]
        if args.catalog:
            pim_argv += ["--catalog", args.catalog]
        store_argv = [py, "-m", "sandbox.bigcommerce", "--port", str(args.store_port),
                      "--app", f"{APP_CLIENT_ID}:{APP_CLIENT_SECRET}"]
        store_argv += store_limit(args)
        for name, argv, probe in (("pim", pim_argv, f"{pim}/user/login"),
                                  ("store", store_argv, f"{store}/sandbox/stores/none/storefront"),
                                  ("web", [py, "-m", "service.cli", "web", "--port", str(args.port)], f"{web}/healthz"),
                                  ("worker", [py, "-m", "service.cli", "worker"], None)):
            log = logs / f"{name}.log"
            child = _spawn(argv, env, log)
            demo.children.append(child)
            if probe:
                _wait_http(probe, child, log)
        yield demo
    finally:
        for child in reversed(demo.children):
            if child.poll() is None:
                os.killpg(child.pid, signal.SIGTERM)
        for child in reversed(demo.children):
            try:
                child.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(child.pid, signal.SIGKILL)
        redis_server.stop()


# -- the merchant's steps, through the public API ----------------------------------------------------------


class Merchant:
    """The demo's merchant: installs the app and configures it through the JSON API, like the page does."""

    def __init__(self, demo: Demo) -> None:
        self.demo = demo
        self.http = httpx.Client(base_url=demo.web, timeout=60.0)
        self.headers: dict[str, str] = {}
        self.realtime = "off"

    def _check(self, response: httpx.Response, step: str) -> dict[str, Any]:
        if response.status_code >= 400:
            raise DemoError(f"{step}: HTTP {response.status_code} {response.text[:300]}")
        return response.json() if response.content else {}

    def install_app(self) -> None:
        created = httpx.post(f"{self.demo.store}/sandbox/stores",
                             json={"hash": STORE_HASH, "token": secrets.token_hex(8), "name": STORE_NAME})
        if created.status_code not in (201, 409):
            raise DemoError(f"creating the sandbox store: HTTP {created.status_code} {created.text[:200]}")
        code = httpx.post(f"{self.demo.store}/sandbox/auth-codes", json={
            "client_id": APP_CLIENT_ID, "store_hash": STORE_HASH, "scope": SCOPES,
            "user": {"id": 1, "username": "demo", "email": "demo@example.com"},
            "redirect_uri": f"{self.demo.web}/bc/auth"}).json()["code"]
        response = self.http.get("/bc/auth", params={"code": code, "scope": SCOPES,
                                                     "context": f"stores/{STORE_HASH}", "account_uuid": "demo"})
        if response.status_code != 200:
            raise DemoError(f"installing the app: HTTP {response.status_code} {response.text[:300]}")
        self.login()

    def login(self) -> None:
        loaded = self.http.get("/bc/load", params={"signed_payload_jwt": load_jwt()})
        if loaded.status_code != 200:
            raise DemoError(f"opening the app: HTTP {loaded.status_code}")
        token = next(v for k, v in loaded.cookies.items() if k.endswith("connector_session"))
        self.http.cookies.clear()
        self.headers = {"Authorization": f"Bearer {token}"}
        session = self._check(self.http.get("/api/session", headers=self.headers), "reading the session")
        self.headers["X-CSRF-Token"] = session["csrf_token"]

    def put(self, path: str, body: dict, step: str) -> dict[str, Any]:
        return self._check(self.http.put(path, json=body, headers=self.headers), step)

    def get(self, path: str, step: str) -> dict[str, Any]:
        return self._check(self.http.get(path, headers=self.headers), step)

    def configure(self) -> None:
        result = self.put("/api/config/pim", {"url": self.demo.pim, **PIM_CLIENT}, "saving the PIM connection")
        if not result.get("connected"):
            raise DemoError(f"the PIM connection failed its test: {result.get('message')} {result.get('hints')}")
        self.put("/api/config/main", {**MAIN, "confirm": False}, "saving the main configuration")
        mapping = self.get("/api/mapping", "reading the default mapping")
        self.put("/api/mapping", mapping, "saving the default mapping")
        # the page's "Real-time updates" switch: the connector subscribes itself through the Event Platform
        realtime = self.put("/api/config/events/realtime", {"enabled": True}, "turning real-time updates on")
        state = realtime.get("realtime") or {}
        if not state.get("enabled"):
            raise DemoError(f"real-time updates could not be turned on: {realtime}")
        self.realtime = f"{state.get('status') or 'requested'} (webhook {realtime.get('webhook_url')})"
        # the page's "Add the connector to the PIM": its UI extensions (a page, product tabs, a grid action)
        response = self.http.post("/api/embed/install", headers=self.headers)
        self._check(response, "adding the connector to the PIM")

    def start_import(self, mode: str = "full") -> str:
        response = self.http.post("/api/imports", json={"mode": mode}, headers=self.headers)
        return self._check(response, "starting the import")["id"]

    def run(self, run_id: str) -> dict[str, Any]:
        return self.get(f"/api/imports/{run_id}", "reading the import's progress")


def load_jwt(user_id: int = 1) -> str:
    """A control-panel load for the demo store, signed as BigCommerce signs it (the demo owns the app secret)."""
    now = int(time.time())
    return jwt.encode({"aud": APP_CLIENT_ID, "iss": "bc", "iat": now, "nbf": now - 5, "exp": now + 86400,
                       "jti": uuid.uuid4().hex, "sub": f"stores/{STORE_HASH}",
                       "user": {"id": user_id, "email": "demo@example.com", "locale": "en-US"},
                       "owner": {"id": 1, "email": "demo@example.com"}, "url": "/", "channel_id": 1},
                      APP_CLIENT_SECRET, algorithm="HS256")


# -- progress and summary --------------------------------------------------------------------------------


def follow(merchant: Merchant, run_id: str, poll: float = 0.5) -> dict[str, Any]:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    columns = (TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
               TextColumn("{task.fields[counts]}"), TimeElapsedColumn())
    with Progress(*columns, transient=False) as bar:
        task = bar.add_task("full import", total=None, counts="queued")
        while True:
            run = merchant.run(run_id)
            progress = run.get("progress") or {}
            products = (run.get("counts") or {}).get("products") or {}
            counts = " ".join(f"{k} {v}" for k, v in products.items() if v) or run["status"]
            bar.update(task, completed=progress.get("done", 0), total=progress.get("total") or None, counts=counts)
            if run["status"] in FINAL:
                return run
            time.sleep(poll)


_ITEM_PARTS = re.compile(r"'[^']*'|\"[^\"]*\"|\b[\w.-]*\d[\w.-]*\b")


def reason(message: str) -> str:
    """A message with its item-specific parts (quoted values, codes with digits) blanked, to group by."""
    return _ITEM_PARTS.sub("…", message)


def summary(demo: Demo, run: dict[str, Any], seconds: float) -> str:
    state = httpx.get(f"{demo.store}/sandbox/stores/{STORE_HASH}/state", timeout=60).json()
    requests = httpx.get(f"{demo.store}/sandbox/stores/{STORE_HASH}/requests", timeout=60).json()
    products = state.get("products", [])
    # every BigCommerce product has a base variant; only those with option values are the PIM's variants
    variants = sum(1 for p in products for v in p.get("variants") or [] if v.get("option_values"))
    images = sum(len(p.get("images") or []) for p in products)
    categories = len(state.get("categories", []))
    no_price = sum(1 for w in run.get("warnings", []) if "price" in w["message"].lower())
    count = int(requests.get("total", 0))
    lines = [f"Import {run['status']} in {seconds:.0f} s (mapping version {run.get('mapping_version')}).",
             f"  store: {len(products)} products, {variants} variants, {categories} categories, {images} images",
             f"  BigCommerce requests: {count} ({count / max(1, len(products)):.2f} per product, "
             f"{requests.get('throttled', 0)} answered 429); by route: " + ", ".join(
                 f"{route} {n}" for route, n in Counter(requests.get("counts") or {}).most_common(4)),
             f"  products without a price in the store's currency (created hidden at 0): {no_price}"]
    for title, items in (("warnings", run.get("warnings", [])), ("failures", run.get("errors", []))):
        if items:
            lines.append(f"  {title} ({len(items)}), by reason:")
            for text, n in Counter(reason(i["message"]) for i in items).most_common(12):
                lines.append(f"    {n:>5} × {text}")
    return "\n".join(lines)


def directions(demo: Demo, realtime: str) -> str:
    return "\n".join([
        "",
        f"Real-time updates: {realtime}",
        f"Configuration page (a demo session is open): {demo.web}/bc/load?signed_payload_jwt={load_jwt()}",
        f"  or log in to the sandbox PIM (admin / admin): {demo.pim}/user/login?next={demo.web}/?pim={demo.pim}",
        f"Inside the PIM (log in as admin / admin): the connector's page {demo.pim}/sandbox/ui, a product's "
        f"BigCommerce tab {demo.pim}/sandbox/ui/products/AKNSTK, \"Send to BigCommerce\" in the grid "
        f"{demo.pim}/sandbox/ui/products",
        f"Storefront (every imported product): {demo.store}/sandbox/stores/{STORE_HASH}/storefront",
        "Change a product in the PIM and watch the store follow within seconds (reload the storefront):",
        f"  the sandbox PIM's edit form: {demo.pim}/sandbox/products/AKNSTK/edit (any identifier)",
        f"  or: curl -X PATCH {demo.pim}/sandbox/products/<identifier> -H 'Content-Type: application/json' "
        "-d '{\"values\": {\"name\": [{\"locale\": null, \"scope\": null, \"data\": \"New name\"}]}}'",
        f"Logs: {demo.data_dir / 'logs'}    Ctrl-C stops everything.",
    ])


def run_demo(settings: Settings, args: argparse.Namespace) -> int:
    stopping = False

    def stop(signum: int, frame) -> None:  # noqa: ARG001
        nonlocal stopping
        stopping = True
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGHUP, stop)  # the terminal was closed
    # Ctrl-C, also when the demo was started from a shell that ignores SIGINT in background commands (Python
    # then leaves it ignored, and "Ctrl-C stops everything" would stop nothing)
    signal.signal(signal.SIGINT, stop)
    try:
        with started(settings, args) as demo:
            print(f"Sandbox PIM {demo.pim}, sandbox store {demo.store}, connector {demo.web}", flush=True)
            merchant = Merchant(demo)
            merchant.install_app()
            merchant.configure()
            began = time.monotonic()
            run = follow(merchant, merchant.start_import("full"))
            print(summary(demo, run, time.monotonic() - began), flush=True)
            print(directions(demo, merchant.realtime), flush=True)
            if args.exit_after_import:
                return 0 if run["status"] in ("succeeded", "partial") else 1
            while not stopping:
                if any(child.poll() is not None for child in demo.children):
                    raise DemoError(f"a process stopped; see {demo.data_dir / 'logs'}")
                time.sleep(0.5)
    except KeyboardInterrupt:
        print("\ndemo stopped", flush=True)
        return 0
    except DemoError as exc:
        print(f"connector demo: {exc}", file=sys.stderr)
        return 1
    return 0
