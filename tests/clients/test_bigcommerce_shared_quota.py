"""Acceptance: two worker processes share one store's quota through the Redis rate governor.

The sandbox store allows 30 requests per 3000 ms. Both processes hammer it for 20 s through
`BigCommerceClient` + `RateGovernor`; the sandbox must never answer 429 and at least 85 % of the
quota must be used.
"""

from __future__ import annotations

import asyncio
import math
import multiprocessing
import time

import redis

from sandbox.bigcommerce import create_app
from service.clients.bigcommerce import BigCommerceClient
from service.store.rate_governor import RateGovernor
from tests.servers import serve

QUOTA, WINDOW_MS, RUN_SECONDS, TASKS_PER_PROCESS = 30, 3000, 20.0, 4


def worker(api_url: str, redis_url: str, start_at: float, results) -> None:
    """One process: several concurrent tasks issuing reads until the deadline."""

    async def run() -> int:
        governor = RateGovernor(redis.Redis.from_url(redis_url), "shared", default_quota=150)
        async with BigCommerceClient("shared", "tok", api_url=api_url, governor=governor) as bc:
            await asyncio.sleep(max(0.0, start_at - time.time()))
            deadline = start_at + RUN_SECONDS
            done = 0

            async def task() -> None:
                nonlocal done
                while time.time() < deadline:
                    await bc.get_time()
                    done += 1

            await asyncio.gather(*(task() for _ in range(TASKS_PER_PROCESS)))
            return done

    results.put(asyncio.run(run()))


def test_two_processes_share_quota(redis_url, redis_conn):
    app = create_app(rate_limit=(QUOTA, WINDOW_MS))
    app.state.bc.create_store("shared", token="tok")
    ctx = multiprocessing.get_context("spawn")
    results = ctx.Queue()
    with serve(app) as base_url:
        start_at = time.time() + 3  # both processes are importing; start together
        processes = [ctx.Process(target=worker, args=(base_url, redis_url, start_at, results)) for _ in range(2)]
        for process in processes:
            process.start()
        counts = [results.get(timeout=RUN_SECONDS + 60) for _ in processes]
        for process in processes:
            process.join(timeout=10)
        log = list(app.state.bc.stores["shared"].log)
    throttled = sum(1 for entry in log if entry["status"] == 429)
    served = sum(1 for entry in log if entry["status"] == 200)
    # tasks waiting for the governor at the deadline still send one last call: count only the run
    in_run = sum(1 for e in log if e["status"] == 200 and start_at <= e["time"] < start_at + RUN_SECONDS)
    # The store's windows start with the first request (at start_at): the run touches this many.
    capacity = QUOTA * math.ceil(RUN_SECONDS * 1000 / WINDOW_MS)
    used = in_run / capacity
    print(f"\n429 responses: {throttled}; quota used: {used:.1%} ({in_run} of {capacity:.0f} in {RUN_SECONDS:.0f} s;"
          f" per process {counts})")
    assert all(p.exitcode == 0 for p in processes)
    assert sum(counts) == served  # every call each process made was answered once, without retry
    assert throttled == 0
    assert used >= 0.85
