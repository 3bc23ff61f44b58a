"""Change events: webhook acknowledgement latency and end-to-end latency (a change in the sandbox PIM to
the product changed in the sandbox store), at 1 and 20 changes per second.

    .venv/bin/python bench/bench_events.py                  # ~1 min: import, ack run, 1/s and 20/s runs
    .venv/bin/python bench/bench_events.py --seconds 20     # longer end-to-end runs

Set-up: both sandboxes in this process (loopback uvicorn; the PIM with Akeneo SaaS's limits, 4 requests in
flight per connection, 10 per instance, 100 per second: `--no-limits` lifts them and labels every line it
prints), the connector's web process and one worker
(`connector web`, `connector worker`) as child processes, Redis from `REDIS_URL` or an embedded one.
The icecat `master` tree is imported first (unlimited quota), then the store gets the standard
BigCommerce quota (150 requests / 30 s) and the tenant switches "Real-time updates" on through the API,
so every change travels: sandbox PIM → sandbox Event Platform (signed CloudEvent) → webhook → dirty set
→ RQ job → PIM read → BigCommerce write.

- ack: N signed CloudEvents posted one after another straight to the webhook (the path the Event
  Platform takes), each for a product that exists; latency = request sent → 200 received.
- end-to-end: price PATCHes in the sandbox PIM at the given rate, each on a different product with a
  unique amount; latency = PATCH sent → the store's product shows that price (polled every 10 ms in
  the store sandbox's own state).
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
import redis

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sandbox.bigcommerce import create_app as create_bc  # noqa: E402
from sandbox.pim import create_app as create_pim  # noqa: E402
from sandbox.pim.__main__ import SAAS_CONNECTION_CONCURRENCY, SAAS_INSTANCE_CONCURRENCY, SAAS_RATE_LIMIT  # noqa: E402
from sandbox.serving import free_port, serve  # noqa: E402
from service.access.sessions import Sessions  # noqa: E402
from service.crypto import SecretBox  # noqa: E402
from service.imports import start_import  # noqa: E402
from service.redis_conn import EmbeddedRedis  # noqa: E402
from service.settings import load_settings  # noqa: E402
from service.store import Store  # noqa: E402
from service.store.sessions import SessionStore  # noqa: E402

SECRET_KEY = "bench-events-secret-key-0123456789abcdef"
STORE_HASH, TOKEN = "benchev", "bench-token"
TAG = {"text": ""}  # "[--no-limits] " when the PIM runs without its limits: not the production shape


def say(text: str) -> None:
    print(f"{TAG['text']}{text}", flush=True)


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))]


def price_of(bc_app, sku: str) -> float | None:
    for product in bc_app.state.bc.store(STORE_HASH).products.values():
        if str(product.get("sku", "")).lower() == sku:
            return float(product.get("price") or 0)
    return None


def wait(predicate, timeout: float, every: float = 0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    raise SystemExit("timed out")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--acks", type=int, default=300, help="webhook posts for the ack latency")
    parser.add_argument("--seconds", type=float, default=8.0, help="length of each end-to-end run")
    parser.add_argument("--no-limits", action="store_true", help="the sandbox PIM without Akeneo SaaS's limits")
    args = parser.parse_args()
    TAG["text"] = "[--no-limits] " if args.no_limits else ""

    tmp = Path(tempfile.mkdtemp(prefix="bench-events-"))
    embedded = None
    redis_url = os.environ.get("REDIS_URL")
    if not redis_url:
        embedded = EmbeddedRedis(tmp)
        redis_url = embedded.start()
    conn = redis.Redis.from_url(redis_url)
    limits = {} if args.no_limits else {"rate_limit": SAAS_RATE_LIMIT, "max_concurrency": SAAS_CONNECTION_CONCURRENCY,
                                        "max_instance_concurrency": SAAS_INSTANCE_CONCURRENCY}
    pim_app = create_pim(**limits)
    say(f"sandbox PIM limits: {limits or 'none (--no-limits)'}")
    bc_app = create_bc(stores=[(STORE_HASH, TOKEN)], rate_limit=(1_000_000, 1000))
    children: list[subprocess.Popen] = []
    try:
        with serve(pim_app) as pim_url, serve(bc_app) as bc_url:
            port = free_port()
            app_url = f"http://127.0.0.1:{port}"
            env = {**os.environ, "REDIS_URL": redis_url, "SECRET_KEY": SECRET_KEY, "BC_API_URL": bc_url,
                   "BC_LOGIN_URL": bc_url, "APP_URL": app_url, "DATA_DIR": str(tmp), "ALLOW_PRIVATE_URLS": "true",
                   "LOG_LEVEL": "WARNING", "EVENT_PLATFORM_URL": f"{pim_url}/event-platform/api/v1"}
            settings = load_settings(env)
            store = Store(conn, SecretBox(SECRET_KEY))
            tenant = store.create_tenant(pim_url=pim_url, store_hash=STORE_HASH)
            store.put_credentials(tenant, "pim", {"url": pim_url, "client_id": "sandbox-client",
                                                  "secret": "sandbox-secret", "username": "admin",
                                                  "password": "admin"})
            store.put_credentials(tenant, "bigcommerce", {"access_token": TOKEN})
            store.put_section(tenant, "pim", {"url": pim_url, "client_id": "sandbox-client", "username": "admin",
                                              "connected": True})
            store.put_section(tenant, "bigcommerce", {"store_hash": STORE_HASH, "connected": True})
            store.put_section(tenant, "main", {"locale": "en_US", "channel": "ecommerce", "category": "master",
                                               "category_tree": "master"})
            store.put_section(tenant, "import", {"image_mode": "upload"})
            cli = [sys.executable, "-m", "service.cli"]
            started = time.monotonic()
            start_import(store, conn, tenant, "full")
            subprocess.run([*cli, "worker", "--burst"], cwd=ROOT, env=env, check=True)
            say(f"import of the master tree: {time.monotonic() - started:.1f} s, "
                  f"{len(bc_app.state.bc.store(STORE_HASH).products)} products in the store")
            httpx.put(f"{bc_url}/sandbox/stores/{STORE_HASH}/rate-limit", json={"plan": "standard"})

            children.append(subprocess.Popen([*cli, "web", "--host", "127.0.0.1", "--port", str(port)], cwd=ROOT,
                                             env=env, stdout=subprocess.DEVNULL))
            children.append(subprocess.Popen([*cli, "worker"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL))
            wait(lambda: _up(app_url), 30)
            token, session = Sessions(SessionStore(conn), settings).issue(tenant, {"id": 1, "email": "b@example.com"},
                                                                          "bigcommerce")
            headers = {"Authorization": f"Bearer {token}", "X-CSRF-Token": session.csrf_token, "X-Tenant": tenant}
            switched = httpx.put(f"{app_url}/api/config/events/realtime", json={"enabled": True}, headers=headers,
                                 timeout=30)
            assert switched.status_code == 200, switched.text
            secret = store.get_credentials(tenant, "event_platform")["primary"]

            pim_store = pim_app.state.pim.store
            skus = sorted(p["identifier"] for p in pim_store.products.values()
                          if not p.get("parent") and price_of(bc_app, p["identifier"].lower()) is not None)
            ack(app_url, tenant, secret, [pim_store.product(s)["uuid"] for s in skus], args.acks)
            wait(lambda: conn.hlen(f"connector:tenant:{tenant}:events:dirty") == 0, 120)
            rounds = iter(range(1, 10_000))
            for rate in (1, 20):
                end_to_end(pim_url, bc_app, skus, rate, args.seconds, next(rounds))
            summary = httpx.get(f"{app_url}/api/events", headers=headers, timeout=30).json()
            say(f"last hour: {summary['last_hour']}")
            say(f"sandbox PIM: {pim_app.state.throttle.throttled} requests answered 429 during the whole bench")
    finally:
        for child in children:
            child.terminate()
        for child in children:
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                child.kill()
        if embedded is not None:
            embedded.stop()


def _up(url: str) -> bool:
    try:
        return httpx.get(f"{url}/healthz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def ack(app_url: str, tenant: str, secret: str, uuids: list[str], n: int) -> None:
    latencies = []
    with httpx.Client(timeout=10) as client:
        for i in range(n):
            body = json.dumps({"specversion": "1.0", "id": str(uuid.uuid4()), "source": "bench",
                               "type": "com.akeneo.pim.v1.product.updated", "subject": "x",
                               "time": "2026-12-01T00:00:00Z", "data": {"product": {"uuid": uuids[i % len(uuids)]}}},
                              separators=(",", ":")).encode()
            signature = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
            start = time.perf_counter()
            response = client.post(f"{app_url}/webhooks/akeneo/{tenant}", content=body,
                                   headers={"X-AKENEO-SIGNATURE-PRIMARY": signature})
            latencies.append((time.perf_counter() - start) * 1000)
            assert response.status_code == 200, response.text
    say(f"ack latency over {n} deliveries: p50 {pct(latencies, 50):.1f} ms, p99 {pct(latencies, 99):.1f} ms, "
          f"max {max(latencies):.1f} ms")


def end_to_end(pim_url: str, bc_app, skus: list[str], rate: float, seconds: float, round_no: int) -> None:
    count = max(1, int(rate * seconds))
    targets = skus[:count] if count <= len(skus) else (skus * (count // len(skus) + 1))[:count]
    pending: dict[str, tuple[float, float]] = {}  # sku -> (price, sent at)
    latencies: list[float] = []
    store = bc_app.state.bc.store(STORE_HASH)
    requests_before, throttled_before = store.counts.total(), store.throttled
    start = time.monotonic()
    with httpx.Client(timeout=10) as client:
        for i, sku in enumerate(targets):
            while time.monotonic() < start + i / rate:  # keep watching the store between changes
                _collect(bc_app, pending, latencies)
                time.sleep(min(0.01, max(0.0, start + i / rate - time.monotonic())))
            amount = round(100 + round_no + i / 1000, 3)
            body = {"values": {"price": [{"locale": None, "scope": None,
                                          "data": [{"amount": f"{amount:.3f}", "currency": "EUR"}]}]}}
            sent = time.monotonic()
            assert client.patch(f"{pim_url}/sandbox/products/{sku}", json=body).status_code == 200
            pending[sku.lower()] = (amount, sent)
            _collect(bc_app, pending, latencies)
    deadline = time.monotonic() + 60
    while pending and time.monotonic() < deadline:
        _collect(bc_app, pending, latencies)
        time.sleep(0.01)
    took = time.monotonic() - start
    say(f"end-to-end at {rate:g} change/s ({count} changes over {took:.1f} s): "
          f"p50 {pct(latencies, 50) * 1000:.0f} ms, p95 {pct(latencies, 95) * 1000:.0f} ms, "
          f"max {max(latencies) * 1000 if latencies else float('nan'):.0f} ms, not arrived {len(pending)}; "
          f"BigCommerce {store.counts.total() - requests_before} requests "
          f"({(store.counts.total() - requests_before) / count:.2f} per change), "
          f"{store.throttled - throttled_before} answered 429")


def _collect(bc_app, pending: dict[str, tuple[float, float]], latencies: list[float]) -> None:
    now = time.monotonic()
    wanted = set(pending)
    for product in list(bc_app.state.bc.store(STORE_HASH).products.values()):
        sku = str(product.get("sku", "")).lower()
        if sku in wanted and abs(float(product.get("price") or 0) - pending[sku][0]) < 1e-6:
            latencies.append(now - pending.pop(sku)[1])


if __name__ == "__main__":
    main()
