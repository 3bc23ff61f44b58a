"""The sandboxes count what a benchmark reports: the PIM its 429 answers, the store the time it spent on
each route (the injected latency left out: what is left is the work, image downloads included)."""

from __future__ import annotations

import uuid

import httpx

from sandbox.bigcommerce import create_app as create_bc
from sandbox.pim import create_app as create_pim
from tests.servers import serve


def _token(base: str) -> str:
    answer = httpx.post(f"{base}/api/oauth/v1/token", auth=("sandbox-client", "sandbox-secret"),
                        json={"grant_type": "password", "username": "admin", "password": "admin"})
    answer.raise_for_status()
    return answer.json()["access_token"]


def test_the_pim_counts_the_requests_it_answered_429():
    app = create_pim(rate_limit=3)  # 3 requests per second on the instance
    with serve(app) as base:
        token = _token(base)  # one of the three
        statuses = [httpx.get(f"{base}/api/rest/v1/channels", headers={"Authorization": f"Bearer {token}"}
                              ).status_code for _ in range(4)]
        counts = httpx.get(f"{base}/sandbox/requests").json()
        assert statuses.count(429) == counts["throttled"] >= 2
        httpx.delete(f"{base}/sandbox/requests")
        assert httpx.get(f"{base}/sandbox/requests").json()["throttled"] == 0


def test_the_store_logs_its_own_time_per_route_without_the_injected_latency():
    app = create_bc()
    hash_ = "c" + uuid.uuid4().hex[:9]
    app.state.bc.create_store(hash_, "tok")
    app.state.bc.set_faults(hash_, latency=0.2)
    with serve(app) as base:
        httpx.get(f"{base}/stores/{hash_}/v3/catalog/products", headers={"X-Auth-Token": "tok"}).raise_for_status()
        log = httpx.get(f"{base}/sandbox/stores/{hash_}/requests").json()
    route = "GET /v3/catalog/products"
    assert log["counts"] == {route: 1}
    assert 0 <= log["seconds"][route] < 0.2  # the 0.2 s of latency is not the store's work
    assert log["longest"][route] == log["seconds"][route] == log["requests"][-1]["seconds"]
