"""Load (issue 18): one tenant floods the connector; the others do not notice, and Redis does not grow.

`connector web` under real uvicorn in its own process, a general worker and an events worker, the sandbox
PIM and store. Tenant F (linked to the sandbox PIM) floods from two processes of its own, each one
sequential client sending as fast as it is answered:
- change events: deliveries of 100 new, validly signed events (the most one delivery may carry);
- `GET /?pim=` with one PIM session cookie (a reload loop).
Meanwhile ten other tenants' deliveries arrive at 50 a second (tests/reliability/load_env.send_paced), tenant S runs a
full import (the `lg` subtree, 26 products) and loads its configuration page and `GET /api/config` twice a
second; the same traffic without the flood first, for a third of the time, is the baseline. Required: F gets 429 with Retry-After past its event rate and what it had accepted stays within
EVENTS_BURST + EVENTS_PER_SECOND x seconds; its visits share one session; the others' deliveries are all
answered 200 and processed once, within OTHERS_P99_MS at p99; S's import succeeds and its pages answer 200.

`test_a_tenant_at_every_cap`: every per-tenant structure that grows with what a tenant sends, filled to its
cap with the longest inputs allowed, measured with Redis's MEMORY USAGE: the bytes per tenant at the limits
(the README's figure); past the caps nothing grows.

Duration: RELIABILITY_LOAD_SECONDS, else 30 s under RELIABILITY_FULL=1 (scripts/reliability), else 10 s."""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context

import httpx
import pytest
import redis

from service.access.sessions import Sessions
from service.crypto import SecretBox
from service.imports import get_run, start_import
from service.settings import load_settings
from service.store import Store
from service.store import embed as embed_store
from service.store.events import (
    EVENTS_BURST,
    EVENTS_PER_SECOND,
    MAX_BACKLOG,
    REPLAY_MAX,
    SEEN_MAX,
    STAT_FIELDS,
    EventStore,
)
from service.store.sessions import SESSIONS_MAX, SessionStore
from tests.reliability.figures import record
from tests.reliability.flood_clients import EVENTS_PER_DELIVERY, flood_entries, flood_events
from tests.reliability.load_env import FULL, Request, percentile, send_paced, wait_for_workers, web, workers
from tests.reliability.load_tenants import tenants
from tests.reliability.test_load_webhooks import _delivery, _event

pytestmark = pytest.mark.reliability

SECONDS = float(os.environ.get("RELIABILITY_LOAD_SECONDS") or (30 if FULL else 10))
OTHERS, OTHERS_RATE = 10, 50  # tenants, deliveries a second between them
PAGES_EVERY = 0.5  # seconds, S's page and its configuration
OTHERS_P99_MS = 1000  # the others' acknowledgement p99 while F floods: a fifth of the Event Platform's 5 s
SECRET = "flood-events-secret-0123456789"
DONE = ("succeeded", "partial", "failed")
BOUND_BYTES = 26 * 1024 * 1024  # a tenant at every cap, longest inputs (test_a_tenant_at_every_cap; README)


def _tenant_bytes(conn: redis.Redis, tenant: str) -> int:
    """Redis's own count of the bytes of a tenant's keys and its session records."""
    keys = list(conn.scan_iter(match=f"connector:tenant:{tenant}:*", count=1000))
    sids = conn.smembers(f"connector:tenant:{tenant}:sessions")
    keys += [f"connector:session:{s.decode()}".encode() for s in sids]
    return sum(conn.memory_usage(k, samples=0) or 0 for k in keys)


def test_one_tenant_flooding_leaves_the_others_working(redis_url, tmp_path):
    with tenants(redis_url, tmp_path, ("pim",)) as t:
        pim = t.pims["pim"]
        flooder = t.store.create_tenant(pim_url=pim)  # the tenant the PIM's users land on
        t.store.put_credentials(flooder, "event_platform", {"primary": SECRET, "secondary": SECRET + "2"})
        small = t.add("S", "pim", "lg")
        others = {}
        for n in range(OTHERS):
            tenant = t.store.create_tenant(pim_url=f"https://pim-{n}.example.com")
            others[tenant] = f"other-{n}-{uuid.uuid4().hex}"
            t.store.put_credentials(tenant, "event_platform", {"primary": others[tenant], "secondary": "x" * 20})
        settings = load_settings({"REDIS_URL": redis_url, "SECRET_KEY": t.env["SECRET_KEY"],
                                  "DATA_DIR": str(tmp_path)})
        page_token, _ = Sessions(SessionStore(t.conn), settings).issue(small, {"id": 1}, "bigcommerce")
        bearer = {"headers": {"Authorization": f"Bearer {page_token}"}}
        cookie = httpx.post(f"{pim}/sandbox/sessions", json={"username": "admin"}, timeout=10).json()["cookie"]

        def plan(seconds: float) -> list[Request]:
            names = list(others)
            out = [_delivery(i / OTHERS_RATE, names[i % OTHERS], _event(str(uuid.uuid4())), others[names[i % OTHERS]])
                   for i in range(int(seconds * OTHERS_RATE))]
            for k in range(int(seconds / PAGES_EVERY)):
                out += [Request(k * PAGES_EVERY, "GET", "/", bearer, tag="page"),
                        Request(k * PAGES_EVERY + 0.1, "GET", "/api/config", bearer, tag="config")]
            return out

        env = {**t.env, "PIM_URLS": pim}
        events = EventStore(t.conn)
        spawn = get_context("spawn")
        with web(env) as base, workers(env, 1), workers(env, 1, queues=["events"]), \
                ProcessPoolExecutor(2, mp_context=spawn) as pool:
            wait_for_workers(t.conn, 2)
            baseline = asyncio.run(send_paced(base, plan(SECONDS / 3)))
            before = _tenant_bytes(t.conn, flooder)
            start = time.time() + 3  # the flooding processes are up by then
            floods = [pool.submit(flood_events, base, flooder, SECRET, start, SECONDS),
                      pool.submit(flood_entries, base, pim, cookie, start, SECONDS)]
            time.sleep(max(0.0, start - time.time()))
            run_id = start_import(t.store, t.conn, small, "full")
            paced = asyncio.run(send_paced(base, plan(SECONDS)))
            flood_ev, flood_entry = (f.result(timeout=SECONDS + 30) for f in floods)
            flooded_bytes = _tenant_bytes(t.conn, flooder)
            deadline = time.monotonic() + 120
            while (run := get_run(t.store, t.conn, small, run_id))["status"] not in DONE:
                assert time.monotonic() < deadline, f"S's import did not finish: {run['status']} {run['progress']}"
                time.sleep(0.2)
            while any(events.waiting(o) or events.job_flag(o) for o in others):
                assert time.monotonic() < deadline, "the events worker did not drain the other tenants"
                time.sleep(0.2)
            in_store = len(t.bc_state("S")["products"])
            sessions = SessionStore(t.conn).count(flooder)

    deliveries = [a for a in paced.answers if isinstance(a.request.tag, tuple)]
    pages = [a for a in paced.answers if a.request.tag in ("page", "config")]
    calm = [a for a in baseline.answers if isinstance(a.request.tag, tuple)]
    acked = {a.request.tag for a in deliveries + calm if a.status == 200}
    processed = sum(events.summary(o)["last_hour"]["failed"] for o in others)  # dropped with their reason
    p99 = percentile([a.ms for a in deliveries] or [0.0], 99)
    calm_p99 = percentile([a.ms for a in calm] or [0.0], 99)
    pages_p99 = percentile([a.ms for a in pages] or [0.0], 99)
    ev = flood_ev["statuses"]
    accepted_events = ev.get(200, 0) * EVENTS_PER_DELIVERY
    allowed = EVENTS_BURST + EVENTS_PER_SECOND * SECONDS
    visits = sum(flood_entry["statuses"].values())
    record("load", f"flood: one tenant sends 100-event deliveries and reloads GET /?pim= as fast as it can for "
           f"{SECONDS:g} s, beside {OTHERS} tenants' deliveries ({OTHERS_RATE}/s), a full import and pages",
           deliveries=len(deliveries) + len(calm), p99_ms=round(p99, 1), p99_without_flood_ms=round(calm_p99, 1),
           non_200=sum(1 for a in deliveries + calm if a.status != 200),
           lost=max(len(acked) - processed, 0), duplicates=max(processed - len(acked), 0),
           shortfall=len(paced.unsent) + len(baseline.unsent), flood_deliveries=sum(ev.values()), flood_429=ev.get(429, 0),
           flood_events_accepted=accepted_events, flood_events_per_s=round(accepted_events / SECONDS, 1),
           flood_visits=visits, flood_sessions=sessions, flood_tenant_bytes=flooded_bytes - before,
           import_status=run["status"], pages=len(pages), pages_p99_ms=round(pages_p99, 1))
    print(f"flood: {ev} (Retry-After {flood_ev['retry_after']}), {accepted_events} events accepted "
          f"(allowed {allowed:g}), +{flooded_bytes - before} bytes; {visits} visits {flood_entry['statuses']} -> "
          f"{sessions} session(s); others: {len(deliveries)} deliveries p99 {p99:.1f} ms (without the flood "
          f"{calm_p99:.1f} ms; shortfall "
          f"{len(paced.unsent)}), processed {processed}/{len(acked)}; S: import {run['status']} ({in_store} "
          f"products), pages p99 {pages_p99:.1f} ms")
    # the flooder: refused past its rate, told when to come back, and bounded
    assert ev.get(429, 0) > 0 and set(ev) <= {200, 429}, ev
    assert flood_ev["retry_after"] and all(1 <= int(r) <= 2 for r in flood_ev["retry_after"])
    assert accepted_events <= allowed + EVENTS_PER_DELIVERY, (accepted_events, allowed)
    assert flooded_bytes - before < 2 * 1024 * 1024
    assert visits > 50 and set(flood_entry["statuses"]) == {200} and sessions == 1
    # the others: every delivery sent was acknowledged and processed once, promptly; S's work went on
    if FULL:  # the reliability run, on a quiet machine: the generator must have sent what it planned
        assert len(deliveries) >= 0.5 * (len(deliveries) + len(paced.unsent)), "the machine was too busy to measure"
    assert {a.status for a in deliveries + calm} == {200} and processed == len(acked)
    # the others do not notice the flood: within OTHERS_P99_MS, or, on a shared CI box already slower than that
    # without any flood, within twice the baseline measured the same way a moment before (the absolute bound
    # is the reliability run's: scripts/reliability)
    bound = OTHERS_P99_MS if FULL else max(OTHERS_P99_MS, 2 * calm_p99)
    assert p99 <= bound, f"the other tenants' p99 {p99:.1f} ms during the flood ({calm_p99:.1f} ms without; " \
        f"the generator was {percentile([a.late_ms for a in deliveries], 99):.0f} ms late at p99, load {os.getloadavg()})"
    assert run["status"] == "succeeded" and in_store == 26, run
    assert pages and {a.status for a in pages} == {200}


def test_a_tenant_at_every_cap(redis_conn, tmp_path):
    """Every structure a tenant's input grows, filled past its cap with the longest inputs allowed."""
    events = EventStore(redis_conn)
    tenant, now = "t" + "f" * 16, time.time()
    longest = "x" * 255  # a model code or identifier: at most 255 characters (service/events/formats)
    # accepted event ids, at the allowed rate (100 a second), past the cap
    for n in range(SEEN_MAX // 100 + 10):
        events.accept(tenant, [(f"ep:{uuid.uuid4()}-{longest[:150]}", "") for _ in range(100)], now=now + n)
    # legacy signatures, past their cap
    clock = now + SEEN_MAX / 100
    refused = 0
    for n in range(REPLAY_MAX + 50):
        refused += events.accept(tenant, [], now=clock + n * 0.01, signature=f"{n:064x}").refused is not None
    # dirty items with the longest codes (as Sync now / the grid action send them: no event id, no rate)
    for n in range(0, MAX_BACKLOG + 1000, 500):
        events.accept(tenant, [("", f"model:{n + k:06d}{longest[6:]}") for k in range(500)], now=now, requested=True)
    # a counter hash per minute for two hours, every field; the recent failures with the longest reasons
    for minute in range(120):
        for name in STAT_FIELDS:
            events.count(tenant, name, 1_000_000, now=clock + minute * 60 - 7000)
    for _ in range(60):
        events.fail(tenant, f"model:{longest}", "r" * 300, now=clock)
    # sessions, extension tokens and actions
    settings = load_settings({"REDIS_URL": "redis://unused", "SECRET_KEY": "caps-secret-key-0123456789",
                              "DATA_DIR": str(tmp_path)})
    sessions = Sessions(SessionStore(redis_conn), settings)
    user = {"id": "u" * 64, "username": "n" * 100, "email": "e" * 100, "first_name": "f" * 100, "last_name": "l" * 100}
    for n in range(SESSIONS_MAX + 20):
        sessions.issue(tenant, {**user, "id": f"{n}"}, "pim", pim_url="https://" + "p" * 200,
                       pim_cookie=f"{n:064x}")
    store = Store(redis_conn, SecretBox(settings.secret_key))
    for n in range(embed_store.JWT_CLAIMS_MAX):
        embed_store.claim_jwt(store, tenant, f"{n}-{longest[:190]}", 3600)
    for n in range(embed_store.ACTION_CLAIMS_MAX):
        embed_store.claim_action(store, tenant, f"{n:064x}", 360)

    sizes: dict[str, int] = {}
    for key in redis_conn.scan_iter(match=f"connector:tenant:{tenant}:*", count=1000):
        part = key.decode().split(":", 3)[3]
        part = next((p for p in ("events:stats", "user-sessions") if part.startswith(p)), part)
        sizes[part] = sizes.get(part, 0) + (redis_conn.memory_usage(key, samples=0) or 0)
    sizes["session records"] = _tenant_bytes(redis_conn, tenant) - sum(sizes.values())
    total = sum(sizes.values())
    record("load", "a tenant at every cap (longest inputs): Redis bytes", tenant_bytes=total,
           **{k.replace(":", "_").replace("-", "_").replace(" ", "_"): v for k, v in sorted(sizes.items())})
    print(f"a tenant at every cap: {total / 1024 / 1024:.1f} MB: " +
          ", ".join(f"{k} {v / 1024:.0f} KB" for k, v in sorted(sizes.items(), key=lambda kv: -kv[1])))
    assert events.seen_count(tenant) == SEEN_MAX and events.waiting(tenant) == MAX_BACKLOG
    assert refused == 50 and SessionStore(redis_conn).count(tenant) == SESSIONS_MAX
    assert total <= BOUND_BYTES, sizes
