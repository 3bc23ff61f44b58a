"""Flooding clients for tests/reliability/test_load_flood.py, each run in a process of its own (a spawned process, so it
competes with the server as a real client would, not with the test's own load generator for one GIL).

Each is one sequential client sending as fast as the server answers, from `start` (wall clock) for
`seconds`, and returns what it was answered. They run at a lower priority (nice 10): a flood comes from
clients elsewhere, so on this machine they must not take the CPU from the server they flood (they still get
every cycle it leaves)."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import time
import uuid
from collections import Counter
from typing import Any

import httpx

EVENTS_PER_DELIVERY = 100  # the most one delivery may carry (service/events/formats.MAX_EVENTS)


def _wait_until(start: float) -> None:
    os.nice(10)
    time.sleep(max(0.0, start - time.time()))


def _batch() -> bytes:
    return json.dumps([{"specversion": "1.0", "id": str(uuid.uuid4()), "source": "pim",
                        "type": "com.akeneo.pim.v1.product.updated", "subject": "x", "time": "2026-12-02T10:00:00Z",
                        "data": {"product": {"uuid": str(uuid.uuid4())}}} for _ in range(EVENTS_PER_DELIVERY)]).encode()


def flood_events(base: str, tenant: str, secret: str, start: float, seconds: float) -> dict[str, Any]:
    """Deliveries of 100 new events each, validly signed with the tenant's secret."""
    statuses: Counter = Counter()
    retry_after: set[str] = set()
    _wait_until(start)
    with httpx.Client(base_url=base, timeout=10) as client:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            body = _batch()
            signature = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
            try:
                response = client.post(f"/webhooks/akeneo/{tenant}", content=body, headers={
                    "Content-Type": "application/cloudevents+json", "X-AKENEO-SIGNATURE-PRIMARY": signature})
            except httpx.HTTPError:
                statuses[0] += 1
                continue
            statuses[response.status_code] += 1
            if response.status_code == 429:
                retry_after.add(response.headers.get("Retry-After", ""))
    return {"statuses": dict(statuses), "retry_after": sorted(retry_after), "seconds": seconds}


def flood_entries(base: str, pim: str, cookie: str, start: float, seconds: float) -> dict[str, Any]:
    """`GET /?pim=` with one PIM session cookie, again and again (a reload loop)."""
    statuses: Counter = Counter()
    _wait_until(start)
    with httpx.Client(base_url=base, timeout=10) as client:
        client.cookies.set("BAPID", cookie)
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            try:
                statuses[client.get("/", params={"pim": pim}).status_code] += 1
            except httpx.HTTPError:
                statuses[0] += 1
    return {"statuses": dict(statuses), "seconds": seconds}
