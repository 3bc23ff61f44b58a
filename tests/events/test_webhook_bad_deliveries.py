"""The webhook refuses bad deliveries and keeps nothing of them (hostile input, issue 13): oversized and
streamed bodies, garbage under a valid signature, wrong content types, odd tenant paths and headers, replays
(sequential and concurrent) and events signed for another tenant, over real HTTP with a real Redis. Each gets
its status; a refused delivery leaves nothing but the `rejected` counter (no seen id, no dirty item, no job),
and an event id is accepted once."""

from __future__ import annotations

import json
import socket
import threading
import time
import uuid

import httpx
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from rq import Queue

from service.app import create_app
from service.settings import load_settings
from service.store.events import EventStore
from tests.events.test_webhook import cloud_event, legacy_body, legacy_headers, sign
from tests.reliability.figures import record
from tests.servers import serve

pytestmark = pytest.mark.reliability

SECRETS = {"a": ("a-primary-0123456789", "a-secondary-0123456789", "a-manual-0123456789"),
           "b": ("b-primary-0123456789", "b-secondary-0123456789", "b-manual-0123456789")}


@pytest.fixture
def hooks(tmp_path, redis_url, redis_conn):
    app = create_app(load_settings({"DATA_DIR": str(tmp_path), "SECRET_KEY": "hostile-webhook-secret-0123456789",
                                    "REDIS_URL": redis_url}))
    store = app.state.store
    tenants = {}
    for name, (primary, secondary, manual) in SECRETS.items():
        tenant = store.create_tenant(pim_url=f"http://pim-{name}.example")
        store.put_credentials(tenant, "event_platform", {"primary": primary, "secondary": secondary})
        store.put_credentials(tenant, "events", {"secret": manual})
        tenants[name] = tenant
    with serve(app) as base, httpx.Client(base_url=base, timeout=30) as client:
        yield client, tenants, redis_conn


def event_keys(conn, tenant: str) -> set[str]:
    """What a delivery may write for a tenant, the `rejected` counter aside."""
    keys = {k.decode() for k in conn.scan_iter(match=f"connector:tenant:{tenant}:events:*", count=1000)}
    return {k for k in keys if ":events:stats:" not in k}


def ep_headers(body: bytes, secret: str = SECRETS["a"][0], **extra: str) -> dict[str, str]:
    return {"X-AKENEO-SIGNATURE-PRIMARY": sign(secret, body), **extra}


def raw_status(base: httpx.URL, path: str, body: bytes, headers: dict[str, str]) -> int:
    """The status line for a request no HTTP client would send (a lying Content-Length)."""
    head = f"POST {path} HTTP/1.1\r\nHost: {base.host}\r\nConnection: close\r\n" + "".join(
        f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
    with socket.create_connection((base.host, base.port), timeout=10) as sock:
        sock.sendall(head.encode() + body)
        sock.shutdown(socket.SHUT_WR)
        answer = sock.recv(64)
    return int(answer.split(b" ")[1]) if answer.startswith(b"HTTP/1.1 ") else 0


class Tally:
    def __init__(self) -> None:
        self.inputs = 0
        self.bad: list[str] = []

    def expect(self, what: str, response: httpx.Response, status: int | tuple[int, ...]) -> None:
        self.inputs += 1
        wanted = (status,) if isinstance(status, int) else status
        if response.status_code not in wanted:
            self.bad.append(f"{what}: {response.status_code} {response.text[:200]}")


GARBAGE = [
    ("not JSON", b"not json at all"),
    ("truncated", b'{"specversion": "1.0", "id": "x", "type": "com.akeneo.pim.v1.product.updated"'),
    ("empty", b""),
    ("null", b"null"),
    ("a number", b"12"),
    ("an empty array", b"[]"),
    ("an array of strings", b'["a", "b"]'),
    ("no id", json.dumps({"type": "com.akeneo.pim.v1.product.updated", "data": {}}).encode()),
    ("no type", json.dumps({"id": "x1", "data": {}}).encode()),
    ("id a number", json.dumps({"id": 7, "type": "com.akeneo.pim.v1.product.updated"}).encode()),
    ("id empty", json.dumps({"id": "", "type": "com.akeneo.pim.v1.product.updated"}).encode()),
    ("type a list", json.dumps({"id": "x2", "type": ["product"]}).encode()),
    ("101 events", json.dumps([json.loads(cloud_event()) for _ in range(101)]).encode()),
    ("nested 200,000 deep", b"[" * 200_000 + b"]" * 200_000),
    ("an object nested 100,000 deep", b'{"a":' * 100_000 + b"1" + b"}" * 100_000),
    ("a lone surrogate in the id", b'{"id": "\\ud800", "type": "com.akeneo.pim.v1.product.updated",'
                                   b' "data": {"product": {"uuid": "0b2e7a5c-6d5e-4e55-9d2f-2f4b1e0c8d11"}}}'),
    ("a lone surrogate in the uuid", b'{"id": "x3", "type": "com.akeneo.pim.v1.product.updated",'
                                     b' "data": {"product": {"uuid": "\\udfff"}}}'),
    ("not UTF-8", b'{"id": "\xff\xfe", "type": "com.akeneo.pim.v1.product.updated"}'),
    ("a product uuid that is not a UUID", json.dumps({
        "id": "x4", "type": "com.akeneo.pim.v1.product.updated",
        "data": {"product": {"uuid": "../../../etc/passwd"}}}).encode()),
    ("a model code with a line break", json.dumps({
        "id": "x5", "type": "com.akeneo.pim.v1.product-model.updated",
        "data": {"product_model": {"code": "tee\r\nX-Injected: 1"}}}).encode()),
    ("legacy shape under an Event Platform signature", legacy_body(1)),
]


def test_garbage_under_a_valid_signature_is_400_and_stores_nothing(hooks):
    client, tenants, conn = hooks
    tenant, tally = tenants["a"], Tally()
    for what, body in GARBAGE:
        before = event_keys(conn, tenant)
        response = client.post(f"/webhooks/akeneo/{tenant}", content=body, headers=ep_headers(body))
        tally.expect(f"event platform, {what}", response, 400)
        if event_keys(conn, tenant) != before:
            tally.bad.append(f"event platform, {what}: stored something")
        if what.startswith("legacy shape"):
            continue  # a valid legacy delivery under the legacy signature
        legacy = legacy_headers(body, secret=SECRETS["a"][2])
        response = client.post(f"/webhooks/akeneo/{tenant}", content=body, headers=legacy)
        tally.expect(f"legacy, {what}", response, 400)
        if event_keys(conn, tenant) != before:
            tally.bad.append(f"legacy, {what}: stored something")
    record("hostile", "webhook: garbage bodies under a valid signature (both formats)", inputs=tally.inputs,
           accepted_bad=len(tally.bad))
    assert not tally.bad, "\n".join(tally.bad)
    assert Queue("events", connection=conn).count == 0 and not EventStore(conn).job_flag(tenant)


def test_random_bodies_under_a_valid_signature_never_fail_the_server(hooks):
    """Hypothesis: any bytes or JSON value, validly signed, is 200 (a well-formed delivery) or 400; a 400
    stores nothing; nothing ever answers 5xx."""
    client, tenants, conn = hooks
    tenant, tally = tenants["a"], Tally()
    json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=50),
                               lambda inner: st.lists(inner, max_size=5)
                               | st.dictionaries(st.sampled_from(["id", "type", "data", "product", "uuid", "code",
                                                                  "events", "event_id", "action", "resource",
                                                                  "product_model", "x"]) | st.text(max_size=8),
                                                 inner, max_size=6), max_leaves=30)
    event_types = st.sampled_from(["com.akeneo.pim.v1.product.updated", "com.akeneo.pim.v1.product-model.deleted",
                                   "com.akeneo.pim.v1.category.created", "product.updated", "x"])
    shaped = st.fixed_dictionaries({"id": st.text(max_size=30) | st.integers(), "type": event_types | st.none(),
                                    "data": json_values})
    bodies = (st.binary(max_size=300) | json_values.map(lambda v: json.dumps(v).encode())
              | shaped.map(lambda v: json.dumps(v).encode()))

    @given(body=bodies, legacy=st.booleans())
    @settings(max_examples=150, deadline=None, database=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    def deliver(body: bytes, legacy: bool) -> None:
        headers = legacy_headers(body, secret=SECRETS["a"][2]) if legacy else ep_headers(body)
        before = event_keys(conn, tenant)
        response = client.post(f"/webhooks/akeneo/{tenant}", content=body, headers=headers)
        tally.expect(f"{'legacy' if legacy else 'event platform'} {body[:80]!r}", response, (200, 400))
        if response.status_code == 400 and event_keys(conn, tenant) != before:
            tally.bad.append(f"stored after a 400: {body[:80]!r}")

    deliver()
    record("hostile", "webhook: hypothesis bodies (bytes, JSON, event-shaped) under a valid signature",
           inputs=tally.inputs, accepted_bad=len(tally.bad))
    assert not tally.bad, "\n".join(tally.bad[:20])


def test_size_content_type_paths_and_headers(hooks):
    client, tenants, conn = hooks
    tenant, tally = tenants["a"], Tally()
    before = event_keys(conn, tenant)
    url = f"/webhooks/akeneo/{tenant}"
    big = b'{"id": "big", "type": "com.akeneo.pim.v1.product.updated", "pad": "' + b"x" * (1024 * 1024) + b'"}'
    tally.expect("over 1 MB, declared", client.post(url, content=big, headers=ep_headers(big)), 413)

    def chunks():  # no Content-Length: the bound holds while streaming
        for _ in range(40):
            yield b"x" * 65536
    tally.expect("over 1 MB, streamed", client.post(url, content=chunks(), headers=ep_headers(b"")), 413)
    for declared in ("99999999999999999999", "-5", "0x10", "1e3"):
        status = raw_status(client.base_url, url, b"{}", {**ep_headers(b"{}"), "Content-Length": declared})
        tally.inputs += 1
        if status not in (400, 413):
            tally.bad.append(f"Content-Length {declared}: {status}")
    body = cloud_event()
    for content_type in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x",
                         "application/xml", "image/png", "text/html; charset=utf-8"):
        response = client.post(url, content=body, headers=ep_headers(body, **{"Content-Type": content_type}))
        tally.expect(f"content type {content_type}", response, 415)
        legacy = {**legacy_headers(body, secret=SECRETS["a"][2]), "Content-Type": content_type}
        tally.expect(f"legacy content type {content_type}", client.post(url, content=body, headers=legacy), 415)
    for path in ("/webhooks/akeneo/" + "t" * 5000, "/webhooks/akeneo/%00", "/webhooks/akeneo/..%2F..%2Fapi%2Fconfig",
                 f"/webhooks/akeneo/{tenant}%0d%0aX-Evil:%201", "/webhooks/akeneo/connector:tenants",
                 f"/webhooks/akeneo/{tenant}:events:dirty", "/webhooks/akeneo/%F0%9F%92%A9"):
        tally.expect(f"path {path[:60]}", client.post(path, content=body, headers=ep_headers(body)), 404)
    odd_headers = [
        {"X-AKENEO-SIGNATURE-PRIMARY": "é" * 64},
        {"X-AKENEO-SIGNATURE-PRIMARY": "0" * 100_00},
        {"X-AKENEO-SIGNATURE-PRIMARY": sign(SECRETS["a"][0], body).upper() + " trailing"},
        {"X-Akeneo-Request-Signature": sign(SECRETS["a"][2], body), "X-Akeneo-Request-Timestamp": "9" * 5000},
        {"X-Akeneo-Request-Signature": "x", "X-Akeneo-Request-Timestamp": "1e10"},
        {"X-Akeneo-Request-Signature": "", "X-Akeneo-Request-Timestamp": ""},
        {"X-Akeneo-Request-Timestamp": str(int(time.time()))},
        {**legacy_headers(body, secret=SECRETS["a"][2], timestamp=int(time.time()) - 301)},
        {**legacy_headers(body, secret=SECRETS["a"][2], timestamp=int(time.time()) + 3600)},
        {**legacy_headers(body, secret=SECRETS["a"][2], timestamp=-1)},
    ]
    for n, headers in enumerate(odd_headers):
        headers = {k: v.encode("utf-8") if not v.isascii() else v for k, v in headers.items()}
        tally.expect(f"odd signature headers #{n}", client.post(url, content=body, headers=headers), 401)
    assert event_keys(conn, tenant) == before and Queue("events", connection=conn).count == 0
    # the right content types (and none at all) are deliveries
    for content_type in ("application/json", "application/cloudevents+json; charset=UTF-8",
                         "application/cloudevents-batch+json", None):
        body = cloud_event()
        headers = ep_headers(body, **({"Content-Type": content_type} if content_type else {}))
        tally.expect(f"content type {content_type}", client.post(url, content=body, headers=headers), 200)
    record("hostile", "webhook: oversized/streamed bodies, wrong content types, odd tenant paths and signature "
           "headers", inputs=tally.inputs, accepted_bad=len(tally.bad))
    assert not tally.bad, "\n".join(tally.bad)


def test_replays_are_processed_once_even_when_concurrent(hooks):
    client, tenants, conn = hooks
    tenant, tally = tenants["a"], Tally()
    events = EventStore(conn)
    base = client.base_url
    ids = [str(uuid.uuid4()) for _ in range(20)]
    bodies = [cloud_event(event_id=i) for i in ids]
    accepted, statuses, lock = [], [], threading.Lock()

    def deliver(body: bytes) -> None:
        with httpx.Client(base_url=base, timeout=30) as http:
            for _ in range(5):  # the same event five times from each of four senders
                response = http.post(f"/webhooks/akeneo/{tenant}", content=body, headers=ep_headers(body))
                with lock:
                    statuses.append(response.status_code)
                    accepted.append(response.json().get("accepted", 0))

    threads = [threading.Thread(target=deliver, args=(body,)) for body in bodies for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    tally.inputs += len(statuses)
    assert set(statuses) == {200}
    assert sum(accepted) == len(ids), "each event id is accepted exactly once"
    assert events.waiting(tenant) == len(ids) and Queue("events", connection=conn).count == 1
    duplicates = events.summary(tenant)["last_hour"]["duplicate"]
    assert duplicates == len(statuses) - len(ids)
    # legacy: the very same signed request is a replay (401); re-signed, its ids are duplicates (200, 0 new)
    body = legacy_body(3)
    headers = legacy_headers(body, secret=SECRETS["a"][2])
    assert client.post(f"/webhooks/akeneo/{tenant}", content=body, headers=headers).json()["accepted"] == 3
    for _ in range(5):
        tally.expect("legacy replay", client.post(f"/webhooks/akeneo/{tenant}", content=body, headers=headers), 401)
    time.sleep(1.01)  # a new timestamp, so a new signature over the same events
    resigned = client.post(f"/webhooks/akeneo/{tenant}", content=body,
                           headers=legacy_headers(body, secret=SECRETS["a"][2]))
    tally.expect("legacy re-signed", resigned, 200)
    assert resigned.json()["accepted"] == 0 and resigned.json()["duplicates"] == 3
    assert events.waiting(tenant) == len(ids) + 3
    record("hostile", "webhook: replayed event ids (20 ids x 20 concurrent deliveries) and legacy replays",
           inputs=tally.inputs, accepted_bad=sum(accepted) - len(ids) + len(tally.bad), duplicates=0)
    assert not tally.bad, "\n".join(tally.bad)


def test_events_signed_for_another_tenant_touch_nothing(hooks):
    client, tenants, conn = hooks
    a, b = tenants["a"], tenants["b"]
    tally = Tally()
    before = {t: event_keys(conn, t) for t in (a, b)}
    for secret in SECRETS["b"]:
        body = cloud_event()
        tally.expect("A's URL, B's Event Platform secret",
                     client.post(f"/webhooks/akeneo/{a}", content=body, headers=ep_headers(body, secret)), 401)
    body = legacy_body(2)
    tally.expect("A's URL, B's legacy secret", client.post(f"/webhooks/akeneo/{a}", content=body,
                                                           headers=legacy_headers(body, secret=SECRETS["b"][2])), 401)
    for secret in SECRETS["a"]:
        body = cloud_event()
        tally.expect("B's URL, A's secret",
                     client.post(f"/webhooks/akeneo/{b}", content=body, headers=ep_headers(body, secret)), 401)
    assert {t: event_keys(conn, t) for t in (a, b)} == before
    assert Queue("events", connection=conn).count == 0
    # A's own signed event naming a product of B's PIM: dirty for A only (A's job reads A's PIM, where that
    # uuid does not exist: nothing of B's is ever read or written)
    b_product = str(uuid.uuid4())
    body = cloud_event(b_product)
    tally.expect("A's event about B's product", client.post(f"/webhooks/akeneo/{a}", content=body,
                                                          headers=ep_headers(body)), 200)
    assert conn.hexists(f"connector:tenant:{a}:events:dirty", f"product:{b_product}")
    assert event_keys(conn, b) == before[b]
    assert [j.meta["tenant"] for j in Queue("events", connection=conn).jobs] == [a]
    record("hostile", "webhook: deliveries signed with another tenant's secrets", inputs=tally.inputs,
           accepted_bad=len(tally.bad))
    assert not tally.bad, "\n".join(tally.bad)
