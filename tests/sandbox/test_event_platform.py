"""The sandbox Event Platform on its own: management API auth and limits, signed deliveries, at least
once (seeded duplicates), 429 slows down and resends, failures retried then dropped, suspension below
90 % success, and the legacy Events API batched by 10. A small receiver app records what arrives."""

from __future__ import annotations

import hashlib
import hmac
import json
import time

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sandbox.pim import create_app as create_pim
from tests.servers import serve


class Receiver:
    def __init__(self) -> None:
        self.received: list[tuple[dict, dict]] = []
        self.answers: list[int] = []  # statuses to answer first, then 200
        self.always: int | None = None

    def app(self) -> Starlette:
        async def hook(request: Request) -> Response:
            if request.method == "HEAD":
                return Response(status_code=200)
            body = await request.body()
            self.received.append((dict(request.headers), json.loads(body)))
            status = self.always or (self.answers.pop(0) if self.answers else 200)
            return Response(status_code=status)
        return Starlette(routes=[Route("/hook", hook, methods=["POST", "HEAD"])])


def wait_for(predicate, timeout: float = 10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.02)
    raise AssertionError("condition not met in time")


@pytest.fixture
def platform():
    receiver = Receiver()
    pim_app = create_pim()
    with serve(pim_app) as pim_url, serve(receiver.app()) as hook_url:
        token = httpx.post(f"{pim_url}/api/oauth/v1/token", auth=("sandbox-client", "sandbox-secret"),
                           json={"grant_type": "password", "username": "admin", "password": "admin"}).json()
        headers = {"X-PIM-URL": pim_url, "X-PIM-TOKEN": token["access_token"], "X-PIM-CLIENT-ID": "sandbox-client"}
        api = httpx.Client(base_url=f"{pim_url}/event-platform/api/v1", headers=headers, timeout=10)
        yield pim_url, pim_app, receiver, api, f"{hook_url}/hook"
        api.close()


def _subscribe(api: httpx.Client, pim_url: str, url: str, events=None) -> tuple[str, str]:
    sub = api.post("/subscribers", json={"name": "test", "contact": {"technical_email": "t@example.com"}})
    assert sub.status_code == 201, sub.text
    body = {"source": "pim", "subject": pim_url, "type": "https",
            "events": events or ["com.akeneo.pim.v1.product.updated"],
            "config": {"url": url, "secret": {"primary": "primary-secret", "secondary": "secondary-secret"}}}
    subscription = api.post(f"/subscribers/{sub.json()['id']}/subscriptions", json=body)
    assert subscription.status_code == 201, subscription.text
    return sub.json()["id"], subscription.json()["id"]


def _touch(pim_url: str, n: int = 1) -> None:
    for i in range(n):
        assert httpx.patch(f"{pim_url}/sandbox/products/1111111171", json={"enabled": i % 2 == 0}).status_code == 200


def test_management_api_checks_the_pim_credentials(platform):
    pim_url, _, _, api, url = platform
    assert httpx.get(f"{pim_url}/event-platform/api/v1/subscribers").status_code == 401
    wrong = {**api.headers, "x-pim-token": "nope"}
    assert httpx.get(f"{pim_url}/event-platform/api/v1/subscribers", headers=wrong).status_code == 401
    other = {**api.headers, "x-pim-url": "https://other.example"}
    assert httpx.get(f"{pim_url}/event-platform/api/v1/subscribers", headers=other).status_code == 401
    sub_id, sid = _subscribe(api, pim_url, url)
    # one subscriber per connection
    assert api.post("/subscribers", json={"name": "x", "contact": {"technical_email": "t@example.com"}}).status_code \
        == 409
    # the destination must answer HEAD with 200
    bad = api.post(f"/subscribers/{sub_id}/subscriptions", json={
        "source": "pim", "subject": pim_url, "type": "https", "events": ["com.akeneo.pim.v1.product.updated"],
        "config": {"url": url.replace("/hook", "/nowhere"), "secret": {"primary": "primary-secret"}}})
    assert bad.status_code == 400 and "HEAD" in bad.json()["message"]
    assert api.post(f"/subscribers/{sub_id}/subscriptions/{sid}/resume").json()["status"] == "active"
    assert api.post(f"/subscribers/{sub_id}/subscriptions/{sid}/suspend").json()["status"] == "suspended"
    assert api.delete(f"/subscribers/{sub_id}/subscriptions/{sid}").status_code == 204
    assert api.get(f"/subscribers/{sub_id}/subscriptions/{sid}").status_code == 404
    assert api.post(f"/subscribers/{sub_id}/subscriptions/{sid}/resume").status_code == 404


def test_deliveries_are_signed_cloudevents_and_duplicates_are_seeded(platform):
    pim_url, _, receiver, api, url = platform
    assert httpx.post(f"{pim_url}/event-platform/sandbox/knobs", json={"seed": 7, "duplicate_rate": 1.0}).status_code \
        == 200
    _subscribe(api, pim_url, url)
    _touch(pim_url)
    wait_for(lambda: len(receiver.received) == 2)
    (headers, event), (_, again) = receiver.received
    assert event == again  # the same event, twice
    raw = json.dumps(event, separators=(",", ":")).encode()
    assert headers["x-akeneo-signature-primary"] == hmac.new(b"primary-secret", raw, hashlib.sha256).hexdigest()
    assert headers["x-akeneo-signature-secondary"] == hmac.new(b"secondary-secret", raw, hashlib.sha256).hexdigest()
    assert headers["x-akeneo-signature-algorithm"] == "HmacSHA256"
    assert event["type"] == "com.akeneo.pim.v1.product.updated" and event["data"]["product"]["uuid"]
    assert event["specversion"] == "1.0" and event["source"] == pim_url


def test_429_slows_down_and_resends_failures_are_retried_then_dropped(platform):
    pim_url, pim_app, receiver, api, url = platform
    httpx.post(f"{pim_url}/event-platform/sandbox/knobs", json={"retry_delays": [0.05, 0.05]})
    _, sid = _subscribe(api, pim_url, url)
    receiver.answers = [429, 429]
    _touch(pim_url)
    wait_for(lambda: len(receiver.received) == 3)
    subscription = pim_app.state.event_platform.subscriptions[sid]
    assert subscription.interval > 0.01  # slowed down by the 429s
    receiver.always = 500
    _touch(pim_url)
    wait_for(lambda: any(d.get("dropped") == "retries exhausted" for d in pim_app.state.event_platform.deliveries))
    assert len(receiver.received) == 3 + 3  # one try + two retries
    assert subscription.status == "active"  # too few deliveries yet to judge


def test_below_90_percent_success_the_platform_suspends(platform):
    pim_url, pim_app, receiver, api, url = platform
    httpx.post(f"{pim_url}/event-platform/sandbox/knobs", json={"retry_delays": []})
    _, sid = _subscribe(api, pim_url, url)
    receiver.always = 500
    _touch(pim_url, 25)
    wait_for(lambda: pim_app.state.event_platform.subscriptions[sid].status == "suspended")
    count = len(receiver.received)
    _touch(pim_url, 3)
    time.sleep(0.2)
    assert len(receiver.received) == count  # dropped while suspended
    assert api.get(f"/subscribers/{pim_app.state.event_platform.subscriptions[sid].subscriber_id}"
                   f"/subscriptions/{sid}").json()["status"] == "suspended"


def test_legacy_events_api_is_batched_by_ten(platform):
    pim_url, pim_app, receiver, api, url = platform
    assert httpx.post(f"{pim_url}/sandbox/webhooks", json={"url": url, "secret": "legacy-secret",
                                                           "format": "events_api"}).status_code == 201
    # deleting a model with its variants is one change set of many products and models
    model = next(m for m in pim_app.state.pim.store.models.values() if not m.get("parent"))
    assert httpx.delete(f"{pim_url}/sandbox/product-models/{model['code']}").status_code in (200, 204)
    wait_for(lambda: receiver.received)
    time.sleep(0.2)
    sizes = [len(body["events"]) for _, body in receiver.received]
    assert max(sizes) <= 10 and sum(sizes) >= 2
    headers, body = receiver.received[0]
    ts = headers["x-akeneo-request-timestamp"]
    raw = json.dumps(body, separators=(",", ":")).encode()
    assert headers["x-akeneo-request-signature"] == \
        hmac.new(b"legacy-secret", f"{ts}.".encode() + raw, hashlib.sha256).hexdigest()
