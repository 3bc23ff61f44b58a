"""Load (issue 13), fairness: one tenant's big import (many small pages, each slowed by its PIM's latency)
running on one worker does not delay another tenant's change events beyond the [events] target
(end-to-end p95 <= 2 s), nor another tenant's small import by more than that import's own duration.

The deployment's processes: one `connector worker` (events, then imports) and one events-only worker
(`connector worker --queues events`). Tenants: A (big: the whole `master` tree, 1,048 products, pages
of 10, PIM latency 100 ms a request, so it works ~30 s and is still at work when the others are done;
the test ends without waiting for it), B1 (the `lg` subtree, 26 products; imported alone first, then
receives change events while A runs), B2 (the same small import, started while A runs)."""

from __future__ import annotations

import time

import httpx
import pytest

from service.imports import get_run, start_import
from service.store.imports import ImportStore
from tests.reliability.figures import record
from tests.reliability.load_env import percentile, wait_for_workers, workers
from tests.reliability.load_tenants import tenants

pytestmark = pytest.mark.reliability

EVENTS_P95 = 2.0  # seconds, the [events] end-to-end target
SECRET = "fairness-events-secret-0123456789"
DONE = ("succeeded", "partial", "failed")
LONG_AFTER = 4.0  # seconds of page work after which the big import yields (default 30 s; the small one works ~1-2 s)


def _finished(t, name: str, run_id: str, timeout: float) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        run = get_run(t.store, t.conn, t.ids[name], run_id)
        if run["status"] in DONE:
            return run
        assert time.monotonic() < deadline, f"{name}'s import did not finish: {run['status']} {run['progress']}"
        time.sleep(0.05)


def _import(t, name: str, timeout: float = 120) -> tuple[float, dict]:
    queued = time.time()
    run_id = start_import(t.store, t.conn, t.ids[name], "full")
    run = _finished(t, name, run_id, timeout)
    return run["finished_at"] - queued, run


def _price_in_store(t, name: str, sku: str) -> float | None:
    product = next((p for p in t.bc_state(name)["products"] if p["sku"].lower() == sku.lower()), None)
    return float(product["price"]) if product else None


def test_a_big_import_delays_neither_events_nor_a_small_import(redis_url, tmp_path):
    with tenants(redis_url, tmp_path, ("big", "small"), extra_env={"CONNECTOR_IMPORT_PAGE_SIZE": "10",
                                                                   "CONNECTOR_IMPORT_LONG_AFTER": str(LONG_AFTER)}) as t:
        t.add("A", "big", "master")
        t.add("B1", "small", "lg")
        t.add("B2", "small", "lg")
        with workers(t.env, 1), workers(t.env, 1, queues=["events"]):
            wait_for_workers(t.conn, 2)
            solo, run_b1 = _import(t, "B1")
            assert run_b1["status"] == "succeeded", run_b1
            skus = sorted(p["sku"] for p in t.bc_state("B1")["products"])
            assert len(skus) == 26

            # B1 hears of its PIM's changes: the sandbox PIM signs and delivers them to the connector
            t.store.put_credentials(t.ids["B1"], "event_platform", {"primary": SECRET, "secondary": SECRET + "2"})
            httpx.post(f"{t.pims['small']}/sandbox/webhooks", json={
                "url": f"{t.app_url}/webhooks/akeneo/{t.ids['B1']}", "secret": SECRET,
                "format": "event_platform"}, timeout=10).raise_for_status()

            httpx.put(f"{t.pims['big']}/sandbox/faults", json={"latency": 0.1}, timeout=10).raise_for_status()
            run_a = start_import(t.store, t.conn, t.ids["A"], "full")
            deadline = time.monotonic() + 60
            # A is well under way: past LONG_AFTER, its pages yield to shorter imports
            while float((ImportStore(t.conn).checkpoint(run_a) or {}).get("worked", 0)) < LONG_AFTER + 0.5:
                assert time.monotonic() < deadline, "the big import did not get going"
                time.sleep(0.1)

            queued_b2 = time.time()
            run_b2 = start_import(t.store, t.conn, t.ids["B2"], "full")
            latencies = []
            for n, sku in enumerate(skus[:12]):  # one change every ~0.5 s while B2 and A run
                price = 100 + n + 0.25
                changed = time.monotonic()
                httpx.patch(f"{t.pims['small']}/sandbox/products/{sku}", timeout=10, json={"values": {"price": [
                    {"locale": None, "scope": None, "data": [{"amount": f"{price:.2f}", "currency": "EUR"}]}]}}
                ).raise_for_status()
                while _price_in_store(t, "B1", sku) != price:
                    assert time.monotonic() - changed < 30, f"the change of {sku} never reached the store"
                    time.sleep(0.05)
                latencies.append(time.monotonic() - changed)
                time.sleep(max(0.0, 0.5 - latencies[-1]))
            run = _finished(t, "B2", run_b2, 120)
            with_big = run["finished_at"] - queued_b2
            big = get_run(t.store, t.conn, t.ids["A"], run_a)  # read once the events and B2 are done
            jobs_a = t.bc_requests("A")["total"]

    p95 = percentile(latencies, 95)
    record("load", "fairness: a big import (1,048 products, pages of 10, PIM +100 ms) on one worker vs. "
           "another tenant's events and small import", deliveries=len(latencies),
           events_p50_s=round(percentile(latencies, 50), 2), events_p95_s=round(p95, 2),
           small_import_alone_s=round(solo, 2), small_import_beside_big_s=round(with_big, 2),
           big_import_progress=f"{big['progress']['done']}/{big['progress']['total']}",
           lost=12 - len(latencies), duplicates=0)
    print(f"events p95 {p95:.2f} s; small import alone {solo:.1f} s, beside the big one {with_big:.1f} s; "
          f"big import at {big['progress']}, {jobs_a} store requests")
    assert run["status"] == "succeeded", run
    # the big import was at work all along: after the small import and the last change event
    assert big["status"] == "running", f"the big import ended before the others: nothing was shown ({big})"
    assert p95 <= EVENTS_P95, latencies
    assert with_big - solo <= solo, (solo, with_big)
