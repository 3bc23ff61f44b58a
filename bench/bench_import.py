"""Import benchmark: the whole engine (RQ worker process, Redis, both sandboxes over HTTP).

    .venv/bin/python bench/bench_import.py                        # icecat
    .venv/bin/python bench/bench_import.py --products 100000      # a generated catalog (bench/catalog_gen.py)
    .venv/bin/python bench/bench_import.py --scenarios quota --quota 50/5000 --time-limit 60

Scenarios (in order, each on the store the previous one left):
- create: a full import into an empty store, BigCommerce sandbox without limit and `--latency` seconds
  per request (50 ms by default): products/s, BigCommerce requests per created product, Akeneo
  requests per 100 products, peak worker RSS.
- unchanged: a second full import: BigCommerce (write) requests per unchanged product.
- update: `--update-share` of the simple products get a new price in the PIM, then a delta import:
  requests per updated product.
- quota: a fresh store whose limit binds (`--quota N/WINDOW_MS`), for at most `--time-limit` s:
  share of the quota used and 429 answers.
Peak RSS is the largest resident set of the worker or any of its work horses (psutil, every 0.1 s).
Redis: `REDIS_URL` when set, else an embedded Redis in a temporary directory.
"""

from __future__ import annotations

import argparse
import math
import os
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import psutil
import redis

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.catalog_gen import generate  # noqa: E402
from sandbox.bigcommerce import create_app as create_bc  # noqa: E402
from sandbox.pim import DEFAULT_CATALOG  # noqa: E402
from sandbox.pim import create_app as create_pim  # noqa: E402
from sandbox.serving import free_port, serve  # noqa: E402
from service.app import create_app as create_connector  # noqa: E402
from service.crypto import SecretBox  # noqa: E402
from service.imports import get_run, start_import  # noqa: E402
from service.redis_conn import EmbeddedRedis  # noqa: E402
from service.settings import load_settings  # noqa: E402
from service.store import Store  # noqa: E402

SECRET = "bench-import-secret-key-0123456789abcdef"
TOKEN = "bench-token"
UNLIMITED = (10_000_000, 1000)


class Bench:
    def __init__(self, args, redis_url: str, catalog_dir: Path, tmp: Path) -> None:
        self.args, self.redis_url, self.tmp = args, redis_url, tmp
        self.conn = redis.Redis.from_url(redis_url)
        self.pim_app = create_pim(catalog_dir)
        self.bc_app = create_bc(rate_limit=UNLIMITED)
        self.store = Store(self.conn, SecretBox(SECRET))
        self.app_url = "http://127.0.0.1:9"

    def configure(self, store_hash: str, pim_url: str, bc_url: str) -> str:
        bc = self.bc_app.state.bc
        if store_hash not in bc.stores:
            bc.create_store(store_hash, TOKEN)
        store = self.store
        tenant = store.create_tenant(pim_url=pim_url, store_hash=store_hash)
        store.put_credentials(tenant, "pim", {"url": pim_url, "client_id": "sandbox-client",
                                              "secret": "sandbox-secret", "username": "admin", "password": "admin"})
        store.put_credentials(tenant, "bigcommerce", {"access_token": TOKEN})
        store.put_section(tenant, "pim", {"url": pim_url, "connected": True})
        store.put_section(tenant, "bigcommerce", {"store_hash": store_hash, "connected": True})
        store.put_section(tenant, "main", {"locale": "en_US", "channel": "ecommerce", "category": "master"})
        store.put_section(tenant, "import", {"image_mode": self.args.image_mode})
        self.env = {**os.environ, "REDIS_URL": self.redis_url, "SECRET_KEY": SECRET, "BC_API_URL": bc_url,
                    "APP_URL": self.app_url, "DATA_DIR": str(self.tmp), "ALLOW_PRIVATE_URLS": "true",
                    "LOG_LEVEL": "WARNING"}
        return tenant

    def run(self, tenant: str, mode: str, store_hash: str, time_limit: float) -> dict:
        """One import with one worker process; returns the run and what it cost."""
        bc = self.bc_app.state.bc
        bc.reset_log(store_hash)
        pim_before = _pim_total(self.pim_app)
        run_id = start_import(self.store, self.conn, tenant, mode)
        started = time.monotonic()
        worker = subprocess.Popen([sys.executable, "-m", "service.cli", "worker", "--burst"], cwd=ROOT,
                                  env=self.env, start_new_session=True, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)
        peak = {"rss": 0}
        stop = threading.Event()
        threading.Thread(target=_watch_rss, args=(worker.pid, peak, stop), daemon=True).start()
        finished = True
        try:
            worker.wait(timeout=time_limit)
        except subprocess.TimeoutExpired:
            finished = False
            os.killpg(worker.pid, 9)
            worker.wait()
        seconds = time.monotonic() - started
        stop.set()
        run = get_run(self.store, self.conn, tenant, run_id)
        log = bc.stores[store_hash]
        writes = sum(n for k, n in log.counts.items() if not k.startswith("GET "))
        return {"run": run, "seconds": seconds, "finished": finished and run["status"] in ("succeeded", "partial"),
                "bc_requests": sum(log.counts.values()), "bc_writes": writes,
                "throttled": log.throttled, "pim_requests": _pim_total(self.pim_app) - pim_before,
                "rss_mb": peak["rss"] / 2**20}


def _pim_total(app) -> int:
    return sum(app.state.pim.request_counts.values())


def _watch_rss(pid: int, peak: dict, stop: threading.Event) -> None:
    try:
        root = psutil.Process(pid)
    except psutil.Error:
        return
    while not stop.is_set():
        try:
            for proc in [root, *root.children(recursive=True)]:
                peak["rss"] = max(peak["rss"], proc.memory_info().rss)
        except psutil.Error:
            pass
        stop.wait(0.1)


def _report(label: str, result: dict, products_in_store: int) -> None:
    run, counts = result["run"], result["run"]["counts"]["products"]
    written = counts["created"] + counts["updated"] + counts["unchanged"] + counts["hidden"]
    state = "" if result["finished"] else " (TIME LIMIT: partial)"
    line = (f"{label:<10} {result['seconds']:7.1f} s  {written / max(result['seconds'], 1e-9):7.1f} products/s  "
            f"created {counts['created']} updated {counts['updated']} unchanged {counts['unchanged']} "
            f"failed {counts['failed']}{state}\n"
            f"           BigCommerce: {result['bc_requests']} requests ({result['bc_writes']} writes)")
    if counts["created"]:
        line += f", {result['bc_requests'] / counts['created']:.3f} per created product"
    if counts["updated"] and not counts["created"]:
        line += f", {result['bc_requests'] / counts['updated']:.3f} per updated product"
    if counts["unchanged"] and not counts["created"] and not counts["updated"]:
        line += f", {result['bc_writes'] / counts['unchanged']:.3f} writes per unchanged product"
    read = max(run["progress"]["done"], 1)
    line += (f"; 429s {result['throttled']}\n           Akeneo: {result['pim_requests']} requests, "
             f"{100 * result['pim_requests'] / read:.2f} per 100 products read; peak worker RSS "
             f"{result['rss_mb']:.0f} MB; store holds {products_in_store} products")
    print(line, flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--products", type=int, default=0, help="a generated catalog of N products (0: icecat)")
    parser.add_argument("--latency", type=float, default=0.05, help="BigCommerce sandbox latency, seconds")
    parser.add_argument("--scenarios", default="create,unchanged,update,quota")
    parser.add_argument("--update-share", type=float, default=0.1)
    parser.add_argument("--quota", default="150/30000", help="N/WINDOW_MS for the quota scenario")
    parser.add_argument("--time-limit", type=float, default=3600, help="seconds per scenario")
    parser.add_argument("--image-mode", choices=("url", "upload"), default="url")
    args = parser.parse_args()
    scenarios = args.scenarios.split(",")

    tmp = Path(tempfile.mkdtemp(prefix="bench-import-"))
    embedded = None
    url = os.environ.get("REDIS_URL")
    if not url:
        embedded = EmbeddedRedis(tmp / "redis")
        url = embedded.start()
    catalog_dir = DEFAULT_CATALOG
    if args.products:
        catalog_dir = tmp / "catalog"
        made = generate(catalog_dir, args.products)
        print(f"generated catalog: {made}", flush=True)
    print(f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores, catalog "
          f"{'icecat' if not args.products else f'generated {args.products}'}, BigCommerce latency "
          f"{args.latency * 1000:.0f} ms, images {args.image_mode}", flush=True)
    bench = Bench(args, url, catalog_dir, tmp)
    redis.Redis.from_url(url).flushdb()
    port = free_port()
    connector = None
    if args.image_mode == "url":  # the connector's GET /media route, where BigCommerce fetches the images
        bench.app_url = f"http://127.0.0.1:{port}"
        connector = create_connector(load_settings({"REDIS_URL": url, "SECRET_KEY": SECRET, "DATA_DIR": str(tmp),
                                                    "APP_URL": bench.app_url, "ALLOW_PRIVATE_URLS": "true"}))
    with serve(bench.pim_app) as pim_url, serve(bench.bc_app) as bc_url, \
            (serve(connector, port=port) if connector is not None else _null()):
        hash_ = "benchimport"
        tenant = bench.configure(hash_, pim_url, bc_url)
        bc = bench.bc_app.state.bc
        bc.set_faults(hash_, latency=args.latency)
        if "create" in scenarios:
            result = bench.run(tenant, "full", hash_, args.time_limit)
            _report("create", result, len(bc.stores[hash_].products))
        if "unchanged" in scenarios:
            result = bench.run(tenant, "full", hash_, args.time_limit)
            _report("unchanged", result, len(bc.stores[hash_].products))
        if "update" in scenarios:
            changed = _change_prices(bench.pim_app, args.update_share)
            result = bench.run(tenant, "delta", hash_, args.time_limit)
            print(f"           ({changed} simple products changed in the PIM)")
            _report("update", result, len(bc.stores[hash_].products))
        if "quota" in scenarios:
            quota, window = (int(x) for x in args.quota.split("/"))
            qhash = "benchquota"
            qtenant = bench.configure(qhash, pim_url, bc_url)
            bc.set_rate_limit(qhash, quota, window)
            bc.set_faults(qhash, latency=args.latency)
            result = bench.run(qtenant, "full", qhash, args.time_limit)
            log = bc.stores[qhash].log
            served = sum(bc.stores[qhash].counts.values()) - result["throttled"]
            span = (log[-1]["time"] - log[0]["time"]) * 1000 if len(log) > 1 else window
            allowed = quota * math.ceil(span / window)  # the sandbox's fixed windows, from the first request
            _report("quota", result, len(bc.stores[qhash].products))
            print(f"           quota {quota}/{window / 1000:g} s over {span / 1000:.0f} s of requests: used "
                  f"{served / (quota * span / window):.1%} of the rate, {served / allowed:.1%} of the windows "
                  f"started ({served}/{allowed}); {len(bc.stores[qhash].products)} products in the store, "
                  f"{served / max(len(bc.stores[qhash].products), 1):.3f} requests each; 429s {result['throttled']}",
                  flush=True)
    if embedded is not None:
        embedded.stop()


def _change_prices(pim_app, share: float) -> int:
    """Give a share of the simple products a new EUR price (as a PIM edit would: `updated` bumped)."""
    state = pim_app.state.pim
    simple = [p for p in state.store.products.values() if not p.get("parent")]
    step = max(int(1 / share), 1) if share > 0 else len(simple) + 1
    changed = 0
    now = state.now_dt()
    for i, product in enumerate(simple):
        if i % step:
            continue
        product["values"]["price"] = [{"locale": None, "scope": None,
                                       "data": [{"amount": f"{i % 90 + 5}.25", "currency": "EUR"}]}]
        product["updated"] = now
        changed += 1
    return changed


class _null:
    def __enter__(self):
        return None

    def __exit__(self, *exc):
        return False


if __name__ == "__main__":
    main()
