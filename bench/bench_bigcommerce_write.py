"""Write throughput of the BigCommerce client + rate governor against the sandbox store on loopback.

Creates N products, each with inline variants (one POST per product), then assigns them to
channel 1, through `BigCommerceClient` paced by `RateGovernor`. Prints requests made, seconds,
products per second, quota utilisation and the sandbox's 429 count for each run.

    .venv/bin/python bench/bench_bigcommerce_write.py                 # default quota + unlimited
    .venv/bin/python bench/bench_bigcommerce_write.py --plan pro      # 450 / 30 s
    .venv/bin/python bench/bench_bigcommerce_write.py --quota 30 --window-ms 3000 --products 150
    .venv/bin/python bench/bench_bigcommerce_write.py --unlimited --products 1000

Quota utilisation = requests the sandbox served / what its fixed windows allowed while the run
lasted (quota x windows started). A run that ends early in a window cannot fill that window, so
the default N (280 products + 3 assignment calls) is sized to fill two 30 s windows.
Redis: `REDIS_URL` when set, else an embedded Redis in a temporary directory.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

import redis

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sandbox.bigcommerce import create_app  # noqa: E402
from sandbox.bigcommerce.plans import PLANS as STORE_PLANS  # noqa: E402
from sandbox.serving import serve  # noqa: E402
from service.clients.bigcommerce import BigCommerceClient  # noqa: E402
from service.redis_conn import EmbeddedRedis  # noqa: E402
from service.store.rate_governor import RateGovernor  # noqa: E402

PLANS = {name: (plan.quota, plan.window_ms) for name, plan in STORE_PLANS.items() if plan.enforced}
SIZES = ["S", "M", "L", "XL", "XXL", "3XL"]


def product(run: str, i: int, variants: int) -> dict:
    sku = f"B{run}-{i:05d}"
    body = {
        "name": f"Bench product {run} {i}",
        "type": "physical",
        "sku": sku,
        "weight": 1,
        "price": 10 + i % 7,
        "custom_url": {"url": f"/bench-{sku.lower()}/", "is_customized": True},
    }
    if variants:
        body["variants"] = [
            {
                "sku": f"{sku}-{SIZES[v % len(SIZES)]}",
                "price": 10 + v,
                "option_values": [{"option_display_name": "Size", "label": SIZES[v % len(SIZES)]}],
            }
            for v in range(variants)
        ]
    return body


async def write(api_url: str, store_hash: str, governor: RateGovernor | None, args) -> dict:
    run = uuid.uuid4().hex[:6]
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(args.products):
        queue.put_nowait(i)
    ids: list[int] = []
    async with BigCommerceClient(store_hash, "bench-token", api_url=api_url, governor=governor) as bc:

        async def task() -> None:
            while not queue.empty():
                i = queue.get_nowait()
                ids.append((await bc.create_product(product(run, i, args.variants)))["id"])

        started = time.perf_counter()
        await asyncio.gather(*(task() for _ in range(args.concurrency)))
        await bc.assign_channels(ids, 1)
        seconds = time.perf_counter() - started
        return {"requests": bc.requests_made, "seconds": seconds, "products": len(ids)}


def bench(api_url: str, app, conn: redis.Redis, label: str, quota: tuple[int, int], unlimited: bool, args) -> None:
    store_hash = f"bench{uuid.uuid4().hex[:8]}"
    state = app.state.bc
    state.create_store(store_hash, token="bench-token")
    state.set_rate_limit(store_hash, quota[0], quota[1], unlimited=unlimited)
    # raw speed: no pacing at all (an unlimited store announces the lifted quota: sandbox/bigcommerce/plans.py)
    governor = None if unlimited else RateGovernor(conn, store_hash, default_quota=quota[0],
                                                   default_window_ms=quota[1])
    result = asyncio.run(write(api_url, store_hash, governor, args))
    log = state.stores[store_hash].log
    served = sum(1 for e in log if e["status"] < 400)
    throttled = sum(1 for e in log if e["status"] == 429)
    seconds = result["seconds"]
    line = (
        f"{label:<28} {args.products:>5} products x {args.variants} variants: {result['requests']:>5} requests "
        f"in {seconds:6.1f} s, {result['products'] / seconds:7.1f} products/s"
    )
    if unlimited:
        line += f", {result['requests'] / seconds:7.1f} requests/s, 429s: {throttled}"
    else:
        allowed = quota[0] * math.ceil(seconds * 1000 / quota[1])
        line += f", quota used {served / allowed:5.1%} ({served}/{allowed}), 429s: {throttled}"
    print(line, flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--products", type=int, default=280)
    parser.add_argument("--variants", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--plan", choices=sorted(PLANS), help="a BigCommerce plan's quota")
    parser.add_argument("--quota", type=int, help="requests per window (overrides --plan)")
    parser.add_argument("--window-ms", type=int, default=30000)
    parser.add_argument("--unlimited", action="store_true", help="only the unlimited (raw speed) run")
    args = parser.parse_args()

    runs: list[tuple[str, tuple[int, int], bool]] = []
    if not args.unlimited:
        quota = (args.quota, args.window_ms) if args.quota else PLANS[args.plan or "standard"]
        runs.append((f"quota {quota[0]}/{quota[1] / 1000:g} s", quota, False))
    if args.unlimited or not (args.quota or args.plan):
        runs.append(("unlimited", PLANS["standard"], True))

    embedded = None
    url = os.environ.get("REDIS_URL")
    if not url:
        embedded = EmbeddedRedis(Path(tempfile.mkdtemp(prefix="bench-bc-")))
        url = embedded.start()
    app = create_app()
    try:
        with serve(app) as api_url:
            conn = redis.Redis.from_url(url)
            for label, quota, unlimited in runs:
                bench(api_url, app, conn, label, quota, unlimited, args)
    finally:
        if embedded is not None:
            embedded.stop()


if __name__ == "__main__":
    main()
