"""Load (issue 13): 200 Event Platform deliveries per second across 20 tenants, against `connector web`
under real uvicorn in its own process and an events worker on the same Redis. Every delivery must be
acknowledged (200), none lost, each processed once; within 100 ms at p99 (measured by the sender) is
asserted by the reliability run (RELIABILITY_FULL=1, a quiet machine) and printed by the suite's run.

5 % of the events are delivered a second time (the Event Platform retries); those must be answered 200
as duplicates and never reach the processing twice. Each event names its own product, so the number of
items the workers processed must equal the number of distinct events. The tenants have no PIM
configured: the sync job drops each item with its reason ("not synced: ...") and counts it — the
processing proper (PIM read, BigCommerce write) is proved by tests/events/test_sync.py.

The generator (tests/reliability/load_env.send_paced) never falls further behind on a busy machine: at most
CONCURRENCY requests in flight, nothing sent past its time, what it could not send on time reported as
its shortfall (which the Event Platform would send again), not as the server's loss; it stops with the
plan. Latencies count from each request's send.

Duration: RELIABILITY_LOAD_SECONDS, else 30 s under RELIABILITY_FULL=1 (scripts/reliability), else 10 s."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import os
import time
import uuid

import pytest
import redis

from service.crypto import SecretBox
from service.store import Store
from service.store.events import EventStore
from tests.reliability.figures import record
from tests.reliability.load_env import (
    FULL,
    Request,
    percentile,
    process_env,
    send_paced,
    wait_for_workers,
    web,
    workers,
)

pytestmark = pytest.mark.reliability

SECRET = "load-tests-secret-key-0123456789abcdef"
RATE = 200  # deliveries per second
TENANTS = 20
SECONDS = float(os.environ.get("RELIABILITY_LOAD_SECONDS") or (30 if FULL else 10))
RETRIED_EVERY = 20  # one event in 20 is delivered twice
ACK_P99_MS = 100
CONCURRENCY = 64  # requests in flight at most (20 ms of answers at 200/s would need 4)
MIN_SENT = 0.5  # below this share of the plan sent, the machine was too busy to measure anything


def _event(product: str) -> bytes:
    return json.dumps({"specversion": "1.0", "id": str(uuid.uuid4()), "source": "pim",
                       "type": "com.akeneo.pim.v1.product.updated", "subject": product,
                       "time": "2026-12-02T10:00:00Z", "data": {"product": {"uuid": product}}}).encode()


def test_200_deliveries_per_second_across_20_tenants(redis_url, redis_conn, tmp_path):
    store = Store(redis_conn, SecretBox(SECRET))
    secrets_by_tenant = {}
    for n in range(TENANTS):
        tenant = store.create_tenant(pim_url=f"https://pim-{n}.example.com")
        secret = f"primary-{n}-{uuid.uuid4().hex}"
        store.put_credentials(tenant, "event_platform", {"primary": secret, "secondary": uuid.uuid4().hex})
        secrets_by_tenant[tenant] = secret
    tenants = list(secrets_by_tenant)

    total = int(RATE * SECONDS)
    plan: list[Request] = []
    for i in range(total):
        tenant = tenants[i % TENANTS]
        body = _event(str(uuid.uuid4()))
        plan.append(_delivery(i / RATE, tenant, body, secrets_by_tenant[tenant]))
    # the Event Platform's retries: the same delivery again, a little later (within the same rate)
    plan += [Request(r.offset + 0.5, r.method, r.path, r.kwargs, r.tag) for r in plan[::RETRIED_EVERY]]

    env = process_env(redis_url, tmp_path, SECRET)
    conn = redis.Redis.from_url(redis_url)
    with web(env) as base, workers(env, 1, queues=["events"]):
        wait_for_workers(conn, 1)  # a worker's own start-up (imports, recovery) is not the webhook's load
        paced = asyncio.run(send_paced(base, plan, concurrency=CONCURRENCY))
        events = EventStore(redis.Redis.from_url(redis_url))
        deadline = time.monotonic() + 60
        while any(events.waiting(t) or events.job_flag(t) for t in tenants):
            assert time.monotonic() < deadline, "the events worker did not drain the tenants' dirty sets"
            time.sleep(0.2)

    answers = paced.answers
    statuses = [a.status for a in answers]
    latencies = [a.ms for a in answers] or [0.0]
    p50, p99 = percentile(latencies, 50), percentile(latencies, 99)
    # what the server acknowledged: each event id once per tenant, the rest are redeliveries (duplicates)
    acked = [a.request.tag for a in answers if a.status == 200]
    unique = {t: len({event for tenant, event in set(acked) if tenant == t}) for t in tenants}
    summaries = {t: events.summary(t)["last_hour"] for t in tenants}
    received = sum(s["received"] for s in summaries.values())
    duplicate = sum(s["duplicate"] for s in summaries.values())
    # each item a distinct product: items processed (dropped with their reason, counted "failed") per tenant
    processed = {t: s["failed"] for t, s in summaries.items()}
    lost = sum(max(unique[t] - processed[t], 0) for t in tenants)
    twice = sum(max(processed[t] - unique[t], 0) for t in tenants)
    late = percentile([a.late_ms for a in answers] or [0.0], 99)
    record("load", f"webhooks: {RATE}/s for {SECONDS:g} s across {TENANTS} tenants (5 % redelivered)",
           deliveries=len(answers), p50_ms=round(p50, 1), p99_ms=round(p99, 1),
           max_ms=round(max(latencies), 1), non_200=sum(1 for s in statuses if s != 200),
           processed=sum(processed.values()), lost=lost, duplicates=twice, shortfall=len(paced.unsent),
           generator_late_p99_ms=round(late, 1), generator_s=round(paced.seconds, 1))
    print(f"{len(answers)} deliveries sent of {len(plan)} planned (generator shortfall {len(paced.unsent)}, "
          f"sent p99 {late:.1f} ms late, {paced.seconds:.1f} s): p50 {p50:.1f} ms, p99 {p99:.1f} ms, "
          f"max {max(latencies):.1f} ms; received {received}, duplicate {duplicate}, processed {sum(processed.values())}")
    # a busy CI box may leave the generator short (what it could not send, the Event Platform sends again):
    # the properties below hold on what was sent; the reliability run also requires the plan sent
    assert len(answers) >= (MIN_SENT * len(plan) if FULL else 1), \
        f"the generator sent only {len(answers)} of {len(plan)}: the machine was too busy to measure the server"
    assert statuses.count(200) == len(answers), {s: statuses.count(s) for s in set(statuses)}
    assert received == sum(unique.values()) and duplicate == len(acked) - len(set(acked))
    assert lost == 0 and twice == 0, (processed, unique)
    # the 100 ms bound is a speed figure: held by the reliability run (scripts/reliability, a quiet machine) and
    # bench/bench_events.py; in the suite, on a shared CI box whose sender is descheduled for whole stretches,
    # the figure is printed and recorded, and what must hold everywhere is above (all answered, none lost or twice)
    if not FULL:
        return
    assert p99 <= ACK_P99_MS, f"acknowledgement p99 {p99:.1f} ms > {ACK_P99_MS} ms (the generator was {late:.0f} ms " \
        f"late at p99, load average {os.getloadavg()})"


def _delivery(offset: float, tenant: str, body: bytes, secret: str) -> Request:
    signature = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return Request(offset, "POST", f"/webhooks/akeneo/{tenant}", {"content": body, "headers": {
        "Content-Type": "application/cloudevents+json", "X-AKENEO-SIGNATURE-PRIMARY": signature,
        "X-AKENEO-SIGNATURE-ALGORITHM": "HmacSHA256"}}, tag=(tenant, json.loads(body)["id"]))
