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
- mapping: the mapping changes (search keywords from the name: every product's desired state moves, no
  product's `updated` does), then a delta import, which runs as a full one: requests per product.
- quota: a fresh store whose limit binds (`--quota N/WINDOW_MS`), for at most `--time-limit` s:
  share of the quota used and 429 answers.
Peak RSS is the largest resident set of the worker or any of its work horses (psutil, every 0.1 s); "worker
CPU" is the CPU time of the worker and its horses (getrusage of the reaped children), which the load other
processes put on the machine does not change much, unlike the seconds.
Processes: the sandbox PIM (`python -m sandbox.pim`), the sandbox BigCommerce (`python -m sandbox.bigcommerce`)
and the connector's web (`connector web`: the `/media` route BigCommerce fetches images from) run as their own
uvicorn processes on free loopback ports, started and stopped by the bench and driven over their `/sandbox/`
admin routes; the measured process is the worker as the Procfile runs it, `connector worker` (`--burst`: one that exits once the queues are empty, labelled).
Redis: `REDIS_URL` when set, else an embedded Redis in a temporary directory.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import math
import os
import resource
import signal
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import psutil
import redis

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.catalog_gen import generate  # noqa: E402
from bench.pages import PageWatch  # noqa: E402
from sandbox.pim import DEFAULT_CATALOG  # noqa: E402
from sandbox.serving import free_port  # noqa: E402
from service.crypto import SecretBox  # noqa: E402
from service.imports import get_run, start_import  # noqa: E402
from service.redis_conn import EmbeddedRedis  # noqa: E402
from service.store import Store  # noqa: E402

SECRET = "bench-import-secret-key-0123456789abcdef"
TOKEN = "bench-token"
MILESTONE = 10_000  # products read between two RSS readings of the create run
FINAL = ("succeeded", "partial", "failed")


class Service:
    """A uvicorn process on a free loopback port, its output in a log file; stopped with the bench."""

    def __init__(self, name: str, argv: list[str], tmp: Path, env: dict | None = None,
                 ready_path: str = "/", start_timeout: float = 600) -> None:
        self.name, self.port = name, free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = open(tmp / f"{name}.log", "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen([sys.executable, *argv, "--port", str(self.port)], cwd=ROOT, env=env,
                                     stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + start_timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{name} exited with {self.proc.returncode}; see {self.log.name}")
            try:
                httpx.get(self.url + ready_path, timeout=2)
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{name} did not start in {start_timeout:.0f} s") from None
                time.sleep(0.2)
        self.ps = psutil.Process(self.proc.pid)

    def cpu(self) -> float:
        times = self.ps.cpu_times()
        return times.user + times.system

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


class Bench:
    def __init__(self, args, redis_url: str, catalog_dir: Path, tmp: Path, pim: Service, bc: Service,
                 app_url: str) -> None:
        self.args, self.redis_url, self.tmp, self.catalog_dir = args, redis_url, tmp, catalog_dir
        self.conn = redis.Redis.from_url(redis_url)
        self.pim, self.bc = pim, bc
        self.web: Service | None = None
        self.http = httpx.Client(timeout=60)
        self.store = Store(self.conn, SecretBox(SECRET))
        self.app_url = app_url
        self.env = self.connector_env()

    def connector_env(self) -> dict:
        return {**os.environ, "REDIS_URL": self.redis_url, "SECRET_KEY": SECRET, "BC_API_URL": self.bc.url,
                "APP_URL": self.app_url, "DATA_DIR": str(self.tmp), "ALLOW_PRIVATE_URLS": "true",
                "LOG_LEVEL": "WARNING"}

    # ---- the sandboxes' admin routes

    def bc_admin(self, method: str, path: str, body: dict | None = None) -> dict:
        answer = self.http.request(method, f"{self.bc.url}/sandbox/stores{path}", json=body)
        answer.raise_for_status()
        return answer.json() if answer.content else {}

    def bc_log(self, store_hash: str) -> dict:
        return self.bc_admin("GET", f"/{store_hash}/requests")

    def pim_total(self) -> int:
        answer = self.http.get(f"{self.pim.url}/sandbox/requests")
        answer.raise_for_status()
        return answer.json()["total"]

    def configure(self, store_hash: str) -> str:
        self.bc_admin("POST", "", {"hash": store_hash, "token": TOKEN})
        pim_url = self.pim.url
        store = self.store
        tenant = store.create_tenant(pim_url=pim_url, store_hash=store_hash)
        store.put_credentials(tenant, "pim", {"url": pim_url, "client_id": "sandbox-client",
                                              "secret": "sandbox-secret", "username": "admin", "password": "admin"})
        store.put_credentials(tenant, "bigcommerce", {"access_token": TOKEN})
        store.put_section(tenant, "pim", {"url": pim_url, "connected": True})
        store.put_section(tenant, "bigcommerce", {"store_hash": store_hash, "connected": True})
        store.put_section(tenant, "main", {"locale": "en_US", "channel": "ecommerce", "category": "master"})
        store.put_section(tenant, "import", {"image_mode": self.args.image_mode})
        return tenant

    def run(self, tenant: str, mode: str, store_hash: str, time_limit: float) -> dict:
        """One import with one worker process; returns the run and what it cost."""
        self.bc_admin("DELETE", f"/{store_hash}/requests")
        self.http.delete(f"{self.pim.url}/sandbox/requests").raise_for_status()
        sandbox_cpu = self.pim.cpu() + self.bc.cpu()
        web_cpu = self.web.cpu() if self.web is not None else 0.0
        run_id = start_import(self.store, self.conn, tenant, mode)
        started = time.monotonic()
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        # as the Procfile runs it (`connector worker`), or `--burst`: exits once the queues are empty
        command = [sys.executable, "-m", "service.cli", "worker", *(["--burst"] if self.args.burst else [])]
        if self.args.profile:  # py-spy (pip install py-spy): wall-clock samples of the worker and its horses
            command = [str(Path(sys.executable).with_name("py-spy")), "record", "--subprocesses", "--idle",
                       "--format", "raw", "--rate", "50", "-o", f"{self.args.profile}.{mode}.txt", "--", *command]
        worker = subprocess.Popen(command, cwd=ROOT,
                                  env=self.env, start_new_session=True, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)
        peak = {"rss": 0, "milestones": []}
        pages = PageWatch(self.conn, run_id, lambda: self.bc_log(store_hash)["requests"])
        stop = threading.Event()
        threading.Thread(target=_watch_rss, args=(worker.pid, peak, stop), daemon=True).start()
        threading.Thread(target=self._watch_progress, args=(tenant, run_id, peak, pages, stop), daemon=True).start()
        finished, ended = self._wait(worker, tenant, run_id, started + time_limit)
        seconds = (ended or time.monotonic()) - started
        stopping = time.monotonic()
        if worker.poll() is None:  # a long-running worker (or a run out of time): stopped as `connector run` does
            os.killpg(worker.pid, signal.SIGTERM if finished else signal.SIGKILL)
            try:
                worker.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(worker.pid, signal.SIGKILL)
                worker.wait()
        stop_seconds = time.monotonic() - stopping
        after = resource.getrusage(resource.RUSAGE_CHILDREN)  # the worker and the horses it reaped
        stop.set()
        pages.poll()
        run = get_run(self.store, self.conn, tenant, run_id)
        log = self.bc_log(store_hash)
        pim_log = self.http.get(f"{self.pim.url}/sandbox/requests").json()
        writes = sum(n for k, n in log["counts"].items() if not k.startswith("GET "))
        return {"run": run, "seconds": seconds, "stop_seconds": stop_seconds,
                "finished": finished and run["status"] in ("succeeded", "partial"),
                "bc_requests": sum(log["counts"].values()), "bc_writes": writes, "log": log,
                "throttled": log["throttled"], "pim_requests": pim_log["total"], "pim_log": pim_log,
                "pim_throttled": pim_log.get("throttled", 0), "pages": pages,
                "rss_mb": peak["rss"] / 2**20, "milestones": peak["milestones"],
                "worker_cpu": (after.ru_utime - children.ru_utime) + (after.ru_stime - children.ru_stime),
                "sandbox_cpu": self.pim.cpu() + self.bc.cpu() - sandbox_cpu,
                "web_cpu": (self.web.cpu() - web_cpu) if self.web is not None else 0.0}

    def _wait(self, worker: subprocess.Popen, tenant: str, run_id: str, deadline: float) -> tuple[bool, float | None]:
        """Until the run ends (a burst worker: until it exits); (finished in time, when the run was seen ended)."""
        ended = None
        while time.monotonic() < deadline:
            if ended is None and get_run(self.store, self.conn, tenant, run_id)["status"] in FINAL:
                ended = time.monotonic()
                if not self.args.burst:
                    return True, ended
            if worker.poll() is not None:  # a burst worker is done (or a worker died): the run is what it is
                return ended is not None or get_run(self.store, self.conn, tenant, run_id)["status"] in FINAL, \
                    time.monotonic()
            time.sleep(0.05)
        return False, None

    def _watch_progress(self, tenant: str, run_id: str, peak: dict, pages: PageWatch, stop: threading.Event) -> None:
        """The peak RSS so far each time another MILESTONE products were read: flat means not growing with N;
        the finished page jobs, before RQ forgets them."""
        mark = MILESTONE
        while not stop.wait(1.0):
            try:
                pages.poll()
                done = get_run(self.store, self.conn, tenant, run_id)["progress"]["done"]
            except Exception:  # noqa: BLE001 - a reading missed is a reading missed
                continue
            while done >= mark:
                peak["milestones"].append((mark, peak["rss"] / 2**20))
                mark += MILESTONE


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


def out(text: str) -> None:
    """Print, every line labelled with what departs from the production shape (`--no-limits`, `--burst`)."""
    tag = SHAPE["tag"]
    print("\n".join(f"{tag}{line}" if tag else line for line in text.split("\n")), flush=True)


SHAPE = {"tag": ""}


def _report(label: str, result: dict, products_in_store: int) -> None:
    run, counts = result["run"], result["run"]["counts"]["products"]
    written = counts["created"] + counts["updated"] + counts["unchanged"] + counts["hidden"]
    state = "" if result["finished"] else " (TIME LIMIT: partial)"
    began, ended = run.get("started_at"), run.get("finished_at")
    run_seconds = (ended - began) if began and ended else None
    line = (f"{label:<10} {result['seconds']:7.1f} s  {written / max(result['seconds'], 1e-9):7.1f} products/s  "
            f"created {counts['created']} updated {counts['updated']} unchanged {counts['unchanged']} "
            f"failed {counts['failed']}{state}\n")
    if run_seconds:  # the import itself: first page job to the run's end, without the worker's own start-up
        line += (f"           run {run_seconds:.1f} s: {written / max(run_seconds, 1e-9):.1f} products/s; the "
                 f"seconds above run from the worker's start to the run's end ({result['seconds'] - run_seconds:.1f} s "
                 f"more: the worker's start-up); stopping the worker took {result['stop_seconds']:.1f} s\n")
    per = counts["created"] or counts["updated"] or 0
    unit = "created" if counts["created"] else "updated"
    line += f"           BigCommerce: {result['bc_requests']} requests ({result['bc_writes']} writes)"
    if per:
        line += f", {result['bc_requests'] / per:.3f} per {unit} product"
    if counts["unchanged"] and not counts["created"] and not counts["updated"]:
        line += (f", {result['bc_writes'] / counts['unchanged']:.3f} writes and "
                 f"{(result['bc_requests'] - result['bc_writes']) / counts['unchanged']:.4f} reads "
                 f"per unchanged product")
    line += f"; 429s {result['throttled']}\n           BigCommerce by route: " + _routes(result["log"]["counts"], per, unit)
    handler = result["log"].get("seconds") or {}
    if handler:  # the store's own time per route (injected latency excluded): image downloads are in creates
        line += "\n           BigCommerce handler time: " + ", ".join(
            f"{route} {sec:.1f} s (longest {result['log']['longest'].get(route, 0):.2f} s)"
            for route, sec in sorted(handler.items(), key=lambda kv: -kv[1])[:3])
    read = max(run["progress"]["done"], 1)
    pim_counts = (result["pim_log"] or {}).get("counts") or {}
    line += (f"\n           Akeneo: {result['pim_requests']} requests, {100 * result['pim_requests'] / read:.2f} per "
             f"100 products read; 429s {result['pim_throttled']}; by route: {_routes(pim_counts, 0, '')}\n"
             f"           {result['pages'].describe()}\n"
             f"           peak worker RSS {result['rss_mb']:.0f} MB; store holds {products_in_store} products\n"
             f"           CPU: worker {result['worker_cpu']:.1f} s ({1000 * result['worker_cpu'] / max(written, 1):.2f} s "
             f"per 1,000 products), sandboxes {result['sandbox_cpu']:.1f} s, connector web (/media) "
             f"{result['web_cpu']:.1f} s")
    if result["milestones"]:
        line += "\n           peak RSS by products read: " + ", ".join(
            f"{n:,}: {mb:.0f} MB" for n, mb in result["milestones"])
    out(line)


def _routes(counts: dict[str, int], per: int, unit: str, top: int = 6) -> str:
    ranked = sorted(counts.items(), key=lambda kv: -kv[1])
    text = ", ".join(f"{route} {n}" + (f" ({n / per:.3f}/{unit})" if per else "") for route, n in ranked[:top])
    rest = sum(n for _, n in ranked[top:])
    return text + (f", {len(ranked) - top} other routes {rest}" if rest else "")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--products", type=int, default=0, help="a generated catalog of N products (0: icecat)")
    parser.add_argument("--latency", type=float, default=0.05, help="seconds per request, both platforms")
    parser.add_argument("--scenarios", default="create,unchanged,update,mapping,quota")
    parser.add_argument("--catalog", help="an Akeneo fixture folder (default: the icecat demo catalog)")
    parser.add_argument("--update-share", type=float, default=0.1)
    parser.add_argument("--plan", default="unlimited", help="the store's BigCommerce plan for create, unchanged "
                        "and update (sandbox/bigcommerce/plans.py; default unlimited)")
    parser.add_argument("--quota", default="150/30000", help="N/WINDOW_MS for the quota scenario")
    parser.add_argument("--time-limit", type=float, default=3600, help="seconds per scenario")
    parser.add_argument("--image-mode", choices=("url", "upload"), default="url")
    parser.add_argument("--no-limits", action="store_true", help="the sandbox PIM without Akeneo SaaS's limits "
                        "(not the production shape: every line printed says so)")
    parser.add_argument("--burst", action="store_true", help="`connector worker --burst` instead of the "
                        "Procfile's `connector worker` (not the production shape: every line printed says so)")
    parser.add_argument("--profile", metavar="PREFIX", help="run the worker under py-spy, samples in PREFIX.MODE.txt")
    args = parser.parse_args()
    scenarios = args.scenarios.split(",")
    departures = [flag for flag, on in (("--no-limits", args.no_limits), ("--burst", args.burst)) if on]
    SHAPE["tag"] = f"[{' '.join(departures)}] " if departures else ""

    tmp = Path(tempfile.mkdtemp(prefix="bench-import-"))
    embedded = None
    url = os.environ.get("REDIS_URL")
    if not url:
        embedded = EmbeddedRedis(tmp / "redis")
        url = embedded.start()
    catalog_dir = Path(args.catalog) if args.catalog else DEFAULT_CATALOG
    if args.products:
        catalog_dir = tmp / "catalog"
        made = generate(catalog_dir, args.products)
        out(f"generated catalog: {made}")
    pim_shape = "PIM without limits" if args.no_limits else \
        "PIM with Akeneo SaaS's limits (4 in flight per connection, 10 per instance, 100 requests/s)"
    out(f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores, load average "
        f"{os.getloadavg()[0]:.1f}, catalog {'icecat' if not args.products else f'generated {args.products}'}; "
        f"{pim_shape}; latency {args.latency * 1000:.0f} ms on both platforms; store plan {args.plan}; "
        f"`connector worker{' --burst' if args.burst else ''}`; `connector web` serving /media; images "
        f"{args.image_mode}; logs in {tmp}")
    try:
        _scenarios(args, scenarios, url, catalog_dir, tmp)
    finally:
        if embedded is not None:
            embedded.stop()
    out(f"{datetime.now(UTC):%H:%M} UTC, load average {os.getloadavg()[0]:.1f}")


def _scenarios(args, scenarios: list[str], url: str, catalog_dir: Path, tmp: Path) -> None:
    redis.Redis.from_url(url).flushdb()
    services: list[Service] = []
    with contextlib.ExitStack() as stack:
        stack.callback(lambda: [s.stop() for s in reversed(services)])
        pim = Service("pim", ["-m", "sandbox.pim", "--catalog", str(catalog_dir), "--log-level", "warning",
                              *(["--no-limits"] if args.no_limits else [])], tmp, ready_path="/api/rest/v1")
        services.append(pim)
        bc = Service("bigcommerce", ["-m", "sandbox.bigcommerce", "--plan", args.plan], tmp,
                     ready_path="/sandbox/stores/none/requests")
        services.append(bc)
        app_url = "http://127.0.0.1:9"
        bench = Bench(args, url, catalog_dir, tmp, pim, bc, app_url)
        if args.image_mode == "url":  # the connector's GET /media route, where BigCommerce fetches the images
            web = Service("web", ["-m", "service.cli", "web"], tmp, env=bench.connector_env(), ready_path="/healthz")
            services.append(web)
            bench.app_url, bench.web = web.url, web
            bench.env = bench.connector_env()
        _run_scenarios(bench, args, scenarios)


def _run_scenarios(bench: Bench, args, scenarios: list[str]) -> None:
    hash_ = "benchimport"
    tenant = bench.configure(hash_)
    bench.bc_admin("PUT", f"/{hash_}/faults", {"latency": args.latency})
    bench.http.put(f"{bench.pim.url}/sandbox/faults", json={"latency": args.latency}).raise_for_status()
    if "create" in scenarios:
        result = bench.run(tenant, "full", hash_, args.time_limit)
        _report("create", result, result["log"]["products"])
        if not result["finished"]:  # the run is left "running": nothing else can start on this tenant
            out("           unchanged and update skipped: the create did not finish in its time limit")
            scenarios = [s for s in scenarios if s == "quota"]
    if "unchanged" in scenarios:
        result = bench.run(tenant, "full", hash_, args.time_limit)
        _report("unchanged", result, result["log"]["products"])
    if "update" in scenarios:
        changed = _change_prices(bench, args.update_share)
        result = bench.run(tenant, "delta", hash_, args.time_limit)
        out(f"           ({changed} simple products changed in the PIM)")
        _report("update", result, result["log"]["products"])
    if "mapping" in scenarios:
        _change_mapping(bench, tenant)
        result = bench.run(tenant, "delta", hash_, args.time_limit)
        out(f"           (mapping changed: search keywords from the name; the delta ran as "
            f"{result['run'].get('mode')})")
        _report("mapping", result, result["log"]["products"])
    if "quota" in scenarios:
        quota, window = (int(x) for x in args.quota.split("/"))
        qhash = "benchquota"
        qtenant = bench.configure(qhash)
        bench.bc_admin("PUT", f"/{qhash}/rate-limit", {"quota": quota, "window_ms": window})
        bench.bc_admin("PUT", f"/{qhash}/faults", {"latency": args.latency})
        result = bench.run(qtenant, "full", qhash, args.time_limit)
        log = result["log"]
        served = sum(log["counts"].values()) - result["throttled"]
        span = (log["last_at"] - log["first_at"]) * 1000 if log["first_at"] and log["last_at"] else window
        span = span or window
        allowed = quota * math.ceil(span / window)  # the sandbox's fixed windows, from the first request
        _report("quota", result, log["products"])
        out(f"           quota {quota}/{window / 1000:g} s over {span / 1000:.0f} s of requests: used "
            f"{served / (quota * span / window):.1%} of the rate, {served / allowed:.1%} of the windows "
            f"started ({served}/{allowed}); {log['products']} products in the store, "
            f"{served / max(log['products'], 1):.3f} requests each; 429s {result['throttled']}")


def _change_mapping(bench: Bench, tenant: str) -> None:
    """Save the mapping in force with one field more, as the mapping page would."""
    import asyncio

    from service.settings import load_settings
    from service.store.mapping import save_mapping
    from service.sync_context import build_context
    from workers.sync.context import open_sync_context

    settings = load_settings({k: bench.env[k] for k in ("REDIS_URL", "SECRET_KEY", "BC_API_URL", "APP_URL",
                                                        "DATA_DIR", "ALLOW_PRIVATE_URLS")})

    async def in_force() -> dict:
        async with open_sync_context(settings, bench.conn, bench.store, tenant, None) as ctx:
            return (await build_context(ctx.store, tenant, settings, pim=ctx.pim, bc=ctx.bc)).mapping.to_json()

    doc = asyncio.run(in_force())
    doc["fields"]["search_keywords"] = "name"
    save_mapping(bench.store, tenant, doc)


def _change_prices(bench: Bench, share: float) -> int:
    """Give a share of the simple products a new EUR price, through the sandbox PIM's own edit route (as a PIM
    user would: `updated` bumped). Simple products = the catalog's rows without a parent, in file order."""
    with open(bench.catalog_dir / "products.csv", newline="", encoding="utf-8") as f:
        simple = [row["sku"] for row in csv.DictReader(f, delimiter=";") if not row.get("parent")]
    step = max(int(1 / share), 1) if share > 0 else len(simple) + 1
    changed = 0
    with httpx.Client(base_url=bench.pim.url, timeout=60) as http:
        for i, sku in enumerate(simple):
            if i % step:
                continue
            body = {"values": {"price": [{"locale": None, "scope": None,
                                          "data": [{"amount": f"{i % 90 + 5}.25", "currency": "EUR"}]}]}}
            answer = http.patch(f"/sandbox/products/{sku}", content=json.dumps(body),
                                headers={"Content-Type": "application/json"})
            answer.raise_for_status()
            changed += 1
    return changed


if __name__ == "__main__":
    main()
