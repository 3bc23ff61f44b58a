"""Load (issue 13): several workers (real `connector worker` processes) on one Redis never exceed a
store's quota (0 responses 429 from sandbox stores with a small quota) and never run two imports of one
tenant at once, even when a second run and duplicate first jobs are queued behind the API's back.

Two tenants (the `lg` subtree, 26 products, pages of 10), each its own store with a quota of 6 requests
a second; three workers; T1 also gets change events while it imports (events jobs and import pages on
different workers, on the same store). Every page job records the step it worked and when it held the
tenant's lease (`meta.worked`): for T1, no two such jobs overlap in time."""

from __future__ import annotations

import time

import httpx
import pytest
from rq import Queue
from rq.job import Job
from rq.registry import FinishedJobRegistry

from service.imports import COUNT_FIELDS, IMPORT_JOB, get_run, start_import
from service.store.events import EventStore
from service.store.imports import ImportStore
from tests.reliability.figures import record
from tests.reliability.load_env import wait_for_workers, workers
from tests.reliability.load_tenants import tenants

pytestmark = pytest.mark.reliability

QUOTA = (6, 1000)  # requests per window (ms): the imports alone would send several times that
SECRET = "workers-events-secret-0123456789"
DONE = ("succeeded", "partial", "failed")


def _second_run(t, tenant: str) -> str:
    """A run created and queued without the API's one-import-per-tenant check (a race it could lose)."""
    run_id = t.store.create_run(tenant, {
        "mode": "full", "requested_mode": "full", "trigger": "manual", "status": "queued", "started_at": None,
        "finished_at": None, "progress": {"done": 0, "total": 0},
        "counts": {"categories": dict.fromkeys(COUNT_FIELDS, 0), "products": dict.fromkeys(COUNT_FIELDS, 0)},
        "errors": [], "warnings": []})
    ImportStore(t.conn).mark_active(run_id, tenant)
    Queue("imports", connection=t.conn).enqueue(IMPORT_JOB, tenant, run_id, meta={"tenant": tenant},
                                                job_timeout=900, job_id=f"import-{run_id}")
    return run_id


def test_several_workers_keep_the_quota_and_one_import_per_tenant(redis_url, tmp_path):
    with tenants(redis_url, tmp_path, ("pim",), quota=QUOTA, extra_env={"CONNECTOR_IMPORT_PAGE_SIZE": "10"}) as t:
        t1, t2 = t.add("T1", "pim", "lg"), t.add("T2", "pim", "lg")
        t.store.put_credentials(t1, "event_platform", {"primary": SECRET, "secondary": SECRET + "2"})
        runs = {"T1": [start_import(t.store, t.conn, t1, "full")], "T2": [start_import(t.store, t.conn, t2, "full")]}
        runs["T1"].append(_second_run(t, t1))
        for n in range(2):  # duplicates of the first job, as a retried enqueue would make
            Queue("imports", connection=t.conn).enqueue(IMPORT_JOB, t1, runs["T1"][0], meta={"tenant": t1},
                                                        job_timeout=900, job_id=f"import-{runs['T1'][0]}-dup{n}")
        with workers(t.env, 3):
            wait_for_workers(t.conn, 3)
            deadline = time.monotonic() + 60
            while len(t.bc_state("T1")["products"]) < 5:
                assert time.monotonic() < deadline, "T1's import wrote nothing"
                time.sleep(0.1)
            # T1's PIM changes reach the connector while T1 imports: events jobs and pages on one store
            httpx.post(f"{t.pims['pim']}/sandbox/webhooks", json={
                "url": f"{t.app_url}/webhooks/akeneo/{t1}", "secret": SECRET, "format": "event_platform"},
                timeout=10).raise_for_status()
            changed = sorted(p["sku"] for p in t.bc_state("T1")["products"])[:5]
            for n, sku in enumerate(changed):
                httpx.patch(f"{t.pims['pim']}/sandbox/products/{sku}", timeout=10, json={"values": {"price": [
                    {"locale": None, "scope": None, "data": [{"amount": f"{50 + n}.37", "currency": "EUR"}]}]}}
                ).raise_for_status()
            final = {}
            deadline = time.monotonic() + 150
            for name, ids in runs.items():
                for run_id in ids:
                    while (run := get_run(t.store, t.conn, t.ids[name], run_id))["status"] not in DONE:
                        assert time.monotonic() < deadline, f"{name}'s run {run_id} did not finish: {run['status']}"
                        time.sleep(0.2)
                    final[run_id] = run
            events = EventStore(t.conn)
            while {p["sku"]: float(p["price"]) for p in t.bc_state("T1")["products"] if p["sku"] in changed} != \
                    {sku: 50.37 + n for n, sku in enumerate(changed)}:
                assert time.monotonic() < deadline, "T1's changes did not reach its store"
                time.sleep(0.2)
            while events.waiting(t1) or events.job_flag(t1):
                assert time.monotonic() < deadline, "T1's events were not drained"
                time.sleep(0.1)

        throttled = {name: t.bc_requests(name)["throttled"] for name in ("T1", "T2")}
        logs = {name: t.bc_requests(name) for name in ("T1", "T2")}
        requests = {name: log["total"] for name, log in logs.items()}
        # the busiest window of each store, from the sandbox's own request log
        busiest = max(sum(1 for r in log["requests"] if at <= r["time"] < at + QUOTA[1] / 1000)
                      for log in logs.values() for at in (r["time"] for r in log["requests"]))
        stores = {name: [p["sku"].lower() for p in t.bc_state(name)["products"]] for name in ("T1", "T2")}
        ids = []
        for name in ("imports", "imports-long"):
            ids += FinishedJobRegistry(name, connection=t.conn).get_job_ids()
        pages = sorted((j.meta["worked"]["from"], j.meta["worked"]["until"], j.args[1], j.meta["worked"]["step"])
                       for j in Job.fetch_many(ids, connection=t.conn)
                       if j is not None and j.args and j.args[0] == t1 and "until" in j.meta.get("worked", {}))
        overlaps, busy_until = 0, None
        for started, ended, _, _ in pages:  # sorted by start: each must begin after every earlier one ended
            overlaps += busy_until is not None and started < busy_until
            busy_until = ended if busy_until is None else max(busy_until, ended)
        summary = events.summary(t1)["last_hour"]
        deliveries = httpx.get(f"{t.pims['pim']}/sandbox/webhooks/deliveries", timeout=10).json()["deliveries"]
        delivered = sum(1 for d in deliveries if d["status"] == 200)

    duplicates = sum(len(skus) - len(set(skus)) for skus in stores.values())
    lost = sum(max(26 - len(set(skus)), 0) for skus in stores.values()) + max(delivered - summary["received"], 0)
    record("load", f"several workers: 3 workers, 2 tenants, quota {QUOTA[0]} requests / {QUOTA[1]} ms, a second run and duplicate "
           "jobs queued for T1, change events during its import",
           store_requests=sum(requests.values()), busiest_window=busiest, responses_429=sum(throttled.values()), t1_pages=len(pages),
           t1_pages_overlapping=overlaps, deliveries=delivered, lost=lost, duplicates=duplicates)
    print(f"store requests {requests}, busiest window {busiest}/{QUOTA[0]}, 429s {throttled}; T1 pages {len(pages)}, overlapping {overlaps}; "
          f"events {summary}")
    assert all(run["status"] == "succeeded" for run in final.values()), final
    assert throttled == {"T1": 0, "T2": 0} and busiest <= QUOTA[0]
    assert overlaps == 0, pages
    assert {p[2] for p in pages} == set(runs["T1"])  # both runs of T1 worked, one after the other
    assert lost == 0 and duplicates == 0, stores
    assert len(deliveries) == delivered == summary["received"] == len(changed) and summary["failed"] == 0, \
        (deliveries, summary)
