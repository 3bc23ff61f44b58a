"""What the benchmarks report beside their seconds: every line labelled when the shape is not production's,
the page jobs' history read from RQ (the longest page and what it waited on), the waits a process records."""

from __future__ import annotations

import asyncio
import time

from rq import Queue
from rq.job import Job
from rq.registry import FinishedJobRegistry

from bench import bench_import
from bench.pages import PageWatch
from service.queues import IMPORTS
from service.store import leases
from service.store.rate_governor import RateGovernor


def test_every_printed_line_says_the_shape_is_not_production(capsys):
    bench_import.SHAPE["tag"] = "[--no-limits --burst] "
    try:
        bench_import.out("create   7.0 s\n           run 6.5 s\n           BigCommerce: 1086 requests")
    finally:
        bench_import.SHAPE["tag"] = ""
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3 and all(line.startswith("[--no-limits --burst] ") for line in lines)


def test_production_shape_lines_carry_no_label(capsys):
    bench_import.out("create   7.0 s\n           run 6.5 s")
    assert not any(line.startswith("[") for line in capsys.readouterr().out.splitlines())


def _finished_page(conn, run_id: str, began: float, seconds: float, waits: dict) -> None:
    job = Job.create("workers.jobs.imports.run_page", args=("tenant-1", run_id), connection=conn,
                     origin=IMPORTS, meta={"worked": {"step": 3, "from": began, "until": began + seconds,
                                                      "waits": waits}})
    job.save()
    FinishedJobRegistry(IMPORTS, connection=conn).add(job, -1)


def test_the_longest_page_and_what_every_page_waited_on_are_read_from_rq(redis_conn):
    now = time.time()
    slots = {"pim_slots": {"seconds": 0.5, "waits": 3, "longest": 0.3}}
    quota = {"bigcommerce_quota": {"seconds": 4.0, "waits": 2, "longest": 2.5}}
    _finished_page(redis_conn, "run-a", now, 1.0, slots)
    _finished_page(redis_conn, "run-a", now + 1, 6.0, quota)
    _finished_page(redis_conn, "run-other", now, 60.0, {})  # another run's page: not counted
    log = [{"method": "POST", "route": "/v3/catalog/products", "time": now - 5, "seconds": 9.0},  # before it
           {"method": "POST", "route": "/v3/catalog/products", "time": now + 2, "seconds": 0.25},
           {"method": "GET", "route": "/v3/catalog/products", "time": now + 2.5, "seconds": 0.1},
           {"method": "POST", "route": "/v3/catalog/products", "time": now + 3, "seconds": 0.5}]
    watch = PageWatch(redis_conn, "run-a", store_log=lambda: log)
    watch.poll()
    watch.poll()  # a page seen once is counted once
    assert watch.pages == 2
    assert watch.longest["seconds"] == 6.0
    assert watch.longest["creates"] == {"requests": 2, "seconds": 0.75, "longest": 0.5}
    assert watch.waits == {"pim_slots": [0.5, 3], "bigcommerce_quota": [4.0, 2]}
    text = watch.describe()
    assert "longest page 6.00 s" in text and "bigcommerce_quota 4.00 task-s in 2 waits" in text
    assert Queue(IMPORTS, connection=redis_conn).count == 0


def test_a_request_held_by_the_quota_is_recorded_as_a_quota_wait(redis_conn):
    leases.WAITS.clear()
    governor = RateGovernor(redis_conn, "waits")
    # the store says: nothing left in this window, which ends in 50 ms
    governor.observe({"X-Rate-Limit-Requests-Quota": "150", "X-Rate-Limit-Requests-Left": "0",
                      "X-Rate-Limit-Time-Reset-Ms": "50", "X-Rate-Limit-Time-Window-Ms": "30000"}, 200)
    asyncio.run(governor.acquire())
    recorded = leases.waits_so_far()
    assert recorded["bigcommerce_quota"]["waits"] == 1
    assert recorded["bigcommerce_quota"]["seconds"] > 0
    assert "pim_slots" not in recorded


def test_a_slot_taken_at_once_records_no_wait(redis_conn):
    leases.WAITS.clear()
    slots = leases.Slots(redis_conn, "akeneo:nowait", 4)

    async def take_and_give_back() -> None:
        await slots.acquire()
        slots.release()
        await slots.drain()

    asyncio.run(take_and_give_back())
    assert leases.waits_so_far() == {}
