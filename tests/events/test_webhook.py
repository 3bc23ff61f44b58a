"""`POST|HEAD /webhooks/akeneo/{tenant}` over real HTTP with a real Redis: signatures of both formats,
replays, duplicates, the backlog bound, and what lands in Redis (dirty items, one queued job)."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid

import httpx
import pytest
from rq import Queue

from service.app import create_app
from service.settings import load_settings
from service.store.events import EventStore
from tests.servers import serve

PRIMARY, SECONDARY, MANUAL = "primary-secret-0123456789", "secondary-secret-0123456789", "manual-secret-0123"


def sign(secret: str, message: bytes) -> str:
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def cloud_event(product_uuid: str | None = None, *, event_id: str | None = None, kind: str = "product.updated",
                code: str = "model-x") -> bytes:
    data = {"product": {"uuid": product_uuid or str(uuid.uuid4())}} if kind.startswith("product.") else \
        {"product_model": {"code": code}} if kind.startswith("product-model.") else {"category": {"code": code}}
    return json.dumps({"specversion": "1.0", "id": event_id or str(uuid.uuid4()), "source": "pim",
                       "type": f"com.akeneo.pim.v1.{kind}", "subject": "x", "time": "2026-12-01T00:00:00Z",
                       "data": data}).encode()


def legacy_body(n: int = 1, *, event_ids: list[str] | None = None) -> bytes:
    ids = event_ids or [str(uuid.uuid4()) for _ in range(n)]
    return json.dumps({"events": [{"action": "product.updated", "event_id": i, "event_datetime": "2026-12-01",
                                   "author": "admin", "author_type": "ui", "pim_source": "x",
                                   "data": {"resource": {"uuid": str(uuid.uuid4()), "identifier": f"sku-{k}"}}}
                                  for k, i in enumerate(ids)]}).encode()


def legacy_headers(body: bytes, *, secret: str = MANUAL, timestamp: int | None = None) -> dict:
    ts = int(time.time()) if timestamp is None else timestamp
    return {"X-Akeneo-Request-Timestamp": str(ts), "X-Akeneo-Request-Signature": sign(secret, f"{ts}.".encode() + body),
            "Content-Type": "application/json"}


@pytest.fixture
def hook(tmp_path, redis_url, redis_conn):
    settings = load_settings({"DATA_DIR": str(tmp_path), "SECRET_KEY": "webhook-test-secret-key-0123456789",
                              "REDIS_URL": redis_url})
    app = create_app(settings)
    store = app.state.store
    tenant = store.create_tenant(pim_url="http://pim.example")
    store.put_credentials(tenant, "event_platform", {"primary": PRIMARY, "secondary": SECONDARY})
    store.put_credentials(tenant, "events", {"secret": MANUAL})
    with serve(app) as base, httpx.Client(base_url=base, timeout=10) as client:
        yield client, tenant, redis_conn


def _nothing_queued(conn, tenant: str) -> None:
    assert EventStore(conn).waiting(tenant) == 0
    assert Queue("events", connection=conn).count == 0
    assert not EventStore(conn).job_flag(tenant)
    assert EventStore(conn).seen_count(tenant) == 0


def test_event_platform_delivery_is_queued_once(hook):
    client, tenant, conn = hook
    product = str(uuid.uuid4())
    body = cloud_event(product)
    response = client.post(f"/webhooks/akeneo/{tenant}", content=body,
                           headers={"X-AKENEO-SIGNATURE-PRIMARY": sign(PRIMARY, body),
                                    "X-AKENEO-SIGNATURE-SECONDARY": sign(SECONDARY, body),
                                    "X-AKENEO-SIGNATURE-ALGORITHM": "HmacSHA256"})
    assert response.status_code == 200, response.text
    assert response.json()["accepted"] == 1
    events = EventStore(conn)
    assert events.waiting(tenant) == 1
    jobs = Queue("events", connection=conn).jobs
    assert [(j.func_name, j.args, j.meta["tenant"], j.timeout) for j in jobs] == \
        [("workers.jobs.events.sync_events", (tenant,), tenant, 600)]
    # another product's event while the job is queued: dirty, no second job
    body2 = cloud_event()
    assert client.post(f"/webhooks/akeneo/{tenant}", content=body2,
                       headers={"X-AKENEO-SIGNATURE-PRIMARY": sign(PRIMARY, body2)}).status_code == 200
    assert events.waiting(tenant) == 2 and Queue("events", connection=conn).count == 1
    assert events.summary(tenant)["last_hour"]["received"] == 2


def test_either_secret_in_either_header_is_valid(hook):
    """A rotation: the PIM signs with a new primary we do not know yet, the secondary is ours."""
    client, tenant, conn = hook
    body = cloud_event()
    headers = {"X-AKENEO-SIGNATURE-PRIMARY": sign("a-new-secret-we-do-not-have", body),
               "X-AKENEO-SIGNATURE-SECONDARY": sign(SECONDARY, body)}
    assert client.post(f"/webhooks/akeneo/{tenant}", content=body, headers=headers).status_code == 200
    body = cloud_event()
    assert client.post(f"/webhooks/akeneo/{tenant}", content=body,
                       headers={"X-AKENEO-SIGNATURE-SECONDARY": sign(MANUAL, body)}).status_code == 200
    assert EventStore(conn).waiting(tenant) == 2


@pytest.mark.parametrize("case", ["bad", "missing", "other_body", "wrong_secret_legacy", "stale", "future",
                                  "legacy_no_timestamp", "garbage_signature"])
def test_bad_missing_stale_signatures_are_401_and_nothing_is_queued(hook, case):
    client, tenant, conn = hook
    body = cloud_event()
    url = f"/webhooks/akeneo/{tenant}"
    if case == "bad":
        headers = {"X-AKENEO-SIGNATURE-PRIMARY": "0" * 64}
    elif case == "missing":
        headers = {}
    elif case == "other_body":
        headers = {"X-AKENEO-SIGNATURE-PRIMARY": sign(PRIMARY, cloud_event())}
    elif case == "wrong_secret_legacy":
        body = legacy_body()
        headers = legacy_headers(body, secret=PRIMARY)  # the generated secrets are not the legacy one
    elif case == "stale":
        body = legacy_body()
        headers = legacy_headers(body, timestamp=int(time.time()) - 301)
    elif case == "future":
        body = legacy_body()
        headers = legacy_headers(body, timestamp=int(time.time()) + 3600)
    elif case == "legacy_no_timestamp":
        body = legacy_body()
        headers = legacy_headers(body)
        del headers["X-Akeneo-Request-Timestamp"]
    else:
        headers = {"X-AKENEO-SIGNATURE-PRIMARY": ("é" * 300).encode("latin-1")}
    response = client.post(url, content=body, headers=headers)
    assert response.status_code == 401, response.text
    assert response.json()["error"] == "unauthorized"
    _nothing_queued(conn, tenant)


def test_legacy_batch_of_ten_and_its_replay(hook):
    client, tenant, conn = hook
    body = legacy_body(10)
    headers = legacy_headers(body)
    response = client.post(f"/webhooks/akeneo/{tenant}", content=body, headers=headers)
    assert response.status_code == 200 and response.json()["accepted"] == 10
    assert EventStore(conn).waiting(tenant) == 10
    # the very same signed request again: a replay
    conn.delete(f"connector:tenant:{tenant}:events:dirty", f"connector:tenant:{tenant}:events:due")
    conn.delete(f"connector:tenant:{tenant}:events:seen")  # even with the ids forgotten, the signature is refused
    replay = client.post(f"/webhooks/akeneo/{tenant}", content=body, headers=headers)
    assert replay.status_code == 401 and "already" in replay.json()["message"]
    assert EventStore(conn).waiting(tenant) == 0


def test_duplicate_event_ids_are_processed_once(hook):
    client, tenant, conn = hook
    event_id = str(uuid.uuid4())
    first = cloud_event(event_id=event_id)
    # the same event delivered again (at least once), even re-serialised
    again = json.dumps(json.loads(first), indent=1).encode()
    for body in (first, again, first):
        response = client.post(f"/webhooks/akeneo/{tenant}", content=body,
                               headers={"X-AKENEO-SIGNATURE-PRIMARY": sign(PRIMARY, body)})
        assert response.status_code == 200
    assert EventStore(conn).waiting(tenant) == 1
    summary = EventStore(conn).summary(tenant)["last_hour"]
    assert summary["received"] == 1 and summary["duplicate"] == 2
    # legacy: one request whose 10 events repeat one id
    body = legacy_body(event_ids=["same"] * 10)
    response = client.post(f"/webhooks/akeneo/{tenant}", content=body, headers=legacy_headers(body))
    assert response.json() == {"ok": True, "accepted": 1, "duplicates": 9}


def test_unknown_tenant_is_404_and_head_checks_the_url(hook):
    client, tenant, conn = hook
    body = cloud_event()
    headers = {"X-AKENEO-SIGNATURE-PRIMARY": sign(PRIMARY, body)}
    assert client.post("/webhooks/akeneo/t0000000000000000", content=body, headers=headers).status_code == 404
    assert client.post("/webhooks/akeneo/t0000000000000000", content=body).status_code == 404
    assert client.head("/webhooks/akeneo/t0000000000000000").status_code == 404
    assert client.head(f"/webhooks/akeneo/{tenant}").status_code == 200
    assert client.get(f"/webhooks/akeneo/{tenant}").status_code == 405
    # unknown and known tenants cost the same HMAC work: similar times (loose bound, a shared machine)
    def timed(path: str) -> float:
        samples = []
        for _ in range(15):
            start = time.perf_counter()
            client.post(path, content=body, headers={"X-AKENEO-SIGNATURE-PRIMARY": "0" * 64})
            samples.append(time.perf_counter() - start)
        return sorted(samples)[7]
    known, unknown = timed(f"/webhooks/akeneo/{tenant}"), timed("/webhooks/akeneo/t0000000000000000")
    assert unknown < known * 3 + 0.005 and known < unknown * 3 + 0.005
    _nothing_queued(conn, tenant)


def test_no_session_or_csrf_needed_and_body_is_bounded(hook):
    client, tenant, conn = hook
    big = b"{" + b" " * (1024 * 1024 + 10) + b"}"
    response = client.post(f"/webhooks/akeneo/{tenant}", content=big,
                           headers={"X-AKENEO-SIGNATURE-PRIMARY": sign(PRIMARY, big)})
    assert response.status_code == 413
    body = b"not json"
    response = client.post(f"/webhooks/akeneo/{tenant}", content=body,
                           headers={"X-AKENEO-SIGNATURE-PRIMARY": sign(PRIMARY, body)})
    assert response.status_code == 400
    _nothing_queued(conn, tenant)


def test_backlog_over_its_bound_is_429(hook, monkeypatch):
    import service.store.events as store_events

    monkeypatch.setattr(store_events, "MAX_BACKLOG", 3)
    client, tenant, conn = hook
    statuses = []
    for _ in range(5):
        body = cloud_event()
        response = client.post(f"/webhooks/akeneo/{tenant}", content=body,
                               headers={"X-AKENEO-SIGNATURE-PRIMARY": sign(PRIMARY, body)})
        statuses.append(response.status_code)
    assert statuses == [200, 200, 200, 429, 429]
    assert response.headers["Retry-After"] == "5"
    assert EventStore(conn).waiting(tenant) == 3


def test_model_and_category_events_mark_their_items(hook):
    client, tenant, conn = hook
    for kind in ("product-model.updated", "category.updated", "category.created", "product.deleted"):
        body = cloud_event(kind=kind, code="Model-Tee")
        assert client.post(f"/webhooks/akeneo/{tenant}", content=body,
                           headers={"X-AKENEO-SIGNATURE-PRIMARY": sign(PRIMARY, body)}).status_code == 200
    items = {k.decode() for k in conn.hkeys(f"connector:tenant:{tenant}:events:dirty")}
    assert "model:Model-Tee" in items and "categories" in items and len(items) == 3


def _tenant_keys(conn, tenant: str) -> list[bytes]:
    return list(conn.scan_iter(match=f"connector:tenant:{tenant}:*", count=1000))


def test_a_flood_past_the_tenants_event_rate_is_429_with_retry_after_and_records_nothing(hook):
    """Was (issue 18): one client with the tenant's events secret grew Redis by 100 keys a delivery, forever."""
    from service.store.events import EVENTS_BURST, EVENTS_PER_SECOND

    client, tenant, conn = hook
    events = EventStore(conn)
    statuses = []
    started = time.monotonic()
    for _ in range(EVENTS_BURST // 100 + 5):  # deliveries of 100 events each, as fast as one client can
        body = json.dumps([json.loads(cloud_event()) for _ in range(100)]).encode()
        response = client.post(f"/webhooks/akeneo/{tenant}", content=body,
                               headers={"X-AKENEO-SIGNATURE-PRIMARY": sign(PRIMARY, body)})
        statuses.append(response.status_code)
        if response.status_code == 429:
            assert 1 <= int(response.headers["Retry-After"]) <= 2 and response.json()["error"] == "too_many_events"
    elapsed = time.monotonic() - started
    assert 429 in statuses and set(statuses) == {200, 429}, statuses
    accepted = statuses.count(200) * 100
    assert accepted <= EVENTS_BURST + EVENTS_PER_SECOND * elapsed + 100
    # a refused delivery recorded nothing: every remembered id and dirty item is an accepted one's
    assert events.seen_count(tenant) == events.waiting(tenant) == accepted
    assert events.summary(tenant)["last_hour"]["received"] == accepted
    # the Event Platform sends again after Retry-After: accepted then
    time.sleep(int(response.headers["Retry-After"]))
    body = cloud_event()
    assert client.post(f"/webhooks/akeneo/{tenant}", content=body,
                       headers={"X-AKENEO-SIGNATURE-PRIMARY": sign(PRIMARY, body)}).status_code == 200


def test_event_ids_are_remembered_in_one_capped_structure_per_tenant(redis_conn):
    """Was (issue 18): every accepted event id was a key of its own for 2 h (30,000 keys, +10 MB in 3 s)."""
    from service.store.events import SEEN_MAX

    events, tenant = EventStore(redis_conn), "t-flood"
    now = 1_000_000.0
    ids = [f"ep:{uuid.uuid4()}" for _ in range(SEEN_MAX + 5000)]
    for start in range(0, len(ids), 100):  # at exactly the allowed rate: 100 events a second
        result = events.accept(tenant, [(i, "") for i in ids[start:start + 100]], now=now + start / 100)
        assert result.accepted == 100, result
    assert events.seen_count(tenant) == SEEN_MAX  # the oldest were forgotten first
    assert events.was_seen(tenant, ids[-1]) and not events.was_seen(tenant, ids[0])
    later = now + len(ids) / 100
    assert events.accept(tenant, [(ids[-1], "")], now=later).duplicates == 1
    # the tenant's keys: a fixed few, besides one counter hash per minute (kept 2 h: at most 120)
    assert len([k for k in _tenant_keys(redis_conn, tenant) if b":stats:" not in k]) <= 6
    # and past SEEN_TTL nothing of them is left
    events.accept(tenant, [("ep:last", "")], now=later + 2 * 3600 + 1)
    assert events.seen_count(tenant) == 1


def test_legacy_signatures_are_remembered_up_to_a_cap_then_429(hook, monkeypatch):
    import service.store.events as store_events

    monkeypatch.setattr(store_events, "REPLAY_MAX", 3)
    client, tenant, conn = hook
    answers = []
    for _ in range(4):
        body = legacy_body(1)
        answers.append(client.post(f"/webhooks/akeneo/{tenant}", content=body, headers=legacy_headers(body)))
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert int(answers[-1].headers["Retry-After"]) > 0
    assert EventStore(conn).waiting(tenant) == 3
    # full or not, a replay is still a replay
    first = answers[0].request
    replay = client.post(f"/webhooks/akeneo/{tenant}", content=first.content, headers=legacy_headers(
        first.content, timestamp=int(first.headers["X-Akeneo-Request-Timestamp"])))
    assert replay.status_code == 401 and "already" in replay.json()["message"]
