"""A run's page jobs, as the bench reads them from RQ: how long each held its lease and what it waited on.

Each page job records `meta["worked"]` = {step, from, until, waits} (workers/jobs/imports.py); `waits` is the
job's `service.store.leases.WAITS`: task-seconds spent waiting for an Akeneo in-flight slot (`pim_slots`) and
for the BigCommerce quota (`bigcommerce_quota`). RQ keeps finished jobs for `result_ttl` (500 s by default), so
a long run is read while it goes (`PageWatch.poll`, from the bench's progress thread), not only at its end.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import redis
from rq.job import Job
from rq.registry import FinishedJobRegistry

from service.queues import IMPORTS, LONG_IMPORTS


class PageWatch:
    """Every finished page job of one run seen so far: the longest, and the waits of all."""

    def __init__(self, conn: redis.Redis, run_id: str, store_log: Callable[[], list[dict]] | None = None) -> None:
        """`store_log`: the sandbox store's latest requests ({route, method, time, seconds}), for the time the
        store spent on the longest page's creates (image downloads from /media included)."""
        self.conn, self.run_id, self.store_log = conn, run_id, store_log
        self.seen: set[str] = set()
        self.pages = 0
        self.worked = 0.0  # seconds the page jobs held the run's lease, summed (pages run one after another)
        self.first: float | None = None
        self.last: float | None = None
        self.longest: dict[str, Any] | None = None
        self.waits: dict[str, list[float]] = {}  # kind -> [seconds, waits]

    def poll(self) -> None:
        fresh = []
        for name in (IMPORTS, LONG_IMPORTS):
            ids = FinishedJobRegistry(name, connection=self.conn).get_job_ids()
            fresh += [i for i in ids if i not in self.seen]
        for job in Job.fetch_many(fresh, connection=self.conn):
            if job is None:
                continue
            self.seen.add(job.id)
            worked = (job.meta or {}).get("worked")
            if not worked or run_of(job) != self.run_id or "until" not in worked:
                continue
            self.pages += 1
            worked = {**worked, "seconds": worked["until"] - worked["from"], "job": job.id}
            self.worked += worked["seconds"]
            self.first = min(self.first or worked["from"], worked["from"])
            self.last = max(self.last or worked["until"], worked["until"])
            if self.longest is None or worked["seconds"] > self.longest["seconds"]:
                self.longest = worked
                self._store_time(worked)
            for kind, w in (worked.get("waits") or {}).items():
                entry = self.waits.setdefault(kind, [0.0, 0])
                entry[0] += w["seconds"]
                entry[1] += w["waits"]

    def _store_time(self, page: dict[str, Any]) -> None:
        if self.store_log is None:
            return
        try:
            entries = self.store_log()
        except Exception:  # noqa: BLE001 - a reading missed is a reading missed
            return
        if not entries or entries[0]["time"] > page["from"]:
            return  # the store's log (its last 1,000 requests) no longer reaches back to this page
        creates = [e for e in entries if page["from"] <= e["time"] <= page["until"]
                   and e["method"] == "POST" and e["route"] == "/v3/catalog/products"]
        page["creates"] = {"requests": len(creates), "seconds": sum(e.get("seconds", 0) for e in creates),
                           "longest": max((e.get("seconds", 0) for e in creates), default=0.0)}

    def describe(self) -> str:
        if self.longest is None:
            return "page jobs: none recorded"
        page = self.longest
        waits = page.get("waits") or {}
        parts = [f"{kind} {w['seconds']:.2f} task-s in {w['waits']} waits (longest {w['longest']:.2f} s)"
                 for kind, w in sorted(waits.items())] or ["no PIM slot or BigCommerce quota wait"]
        creates = page.get("creates")
        if creates:  # what the store took to answer them: mostly the image download from /media
            parts.append(f"the store's handling of its {creates['requests']} creates {creates['seconds']:.2f} "
                         f"task-s (longest {creates['longest']:.2f} s; image downloads from /media within, "
                         f"50 ms latency each not included)")
        total = ", ".join(f"{kind} {s:.1f} task-s in {int(n)} waits" for kind, (s, n) in sorted(self.waits.items()))
        span = (self.last or 0) - (self.first or 0)
        return (f"page jobs: {self.pages}, working {self.worked:.1f} s of the {span:.1f} s from the first page's start "
                f"to the last one's end ({span - self.worked:.1f} s between pages: RQ's dequeue, the fork of a work "
                f"horse, the next job's start)\n"
                f"           longest page {page['seconds']:.2f} s (step {page.get('step')}), waited on: "
                f"{'; '.join(parts)}\n           all pages waited on: {total or 'nothing'}")


def run_of(job: Job) -> str | None:
    """The run a page job belongs to: `run_page(tenant, run_id)` / `run_import(tenant, run_id)`."""
    try:
        args = job.args
    except Exception:  # noqa: BLE001 - a job whose arguments do not load is not one of ours
        return None
    return args[1] if len(args) > 1 else None
