"""One-click real-time updates: the switch creates the Event Platform subscription (sandbox, mounted in
the sandbox PIM), a change in the PIM reaches the store through it, suspend/resume/remove, uninstall.

Real HTTP everywhere: the connector (uvicorn), both sandboxes, and a burst RQ worker process."""

from __future__ import annotations

import httpx
import pytest

from service.app import create_app
from service.settings import load_settings
from service.store.events import EventStore
from tests.access.test_sessions import CLIENT_ID, CLIENT_SECRET, signed_payload
from tests.import_env import STORE_HASH, expected_catalog, import_env, wait_for
from tests.servers import free_port, serve


def _price(amount: str) -> dict:
    return {"values": {"price": [{"locale": None, "scope": None, "data": [{"amount": amount, "currency": "EUR"}]}]}}


@pytest.fixture(scope="module")
def realtime(redis_url, tmp_path_factory):
    with import_env(redis_url, tmp_path_factory.mktemp("realtime"), category="print") as env:
        run_id = env.start("full")
        env.work()
        assert env.run(run_id)["status"] == "succeeded"
        port = free_port()
        app_url = f"http://127.0.0.1:{port}"
        settings = load_settings({**env.env, "APP_URL": app_url, "BC_CLIENT_ID": CLIENT_ID,
                                  "BC_CLIENT_SECRET": CLIENT_SECRET,
                                  "EVENT_PLATFORM_URL": f"{env.pim_url}/event-platform/api/v1"})
        app = create_app(settings, env.conn)
        with serve(app, port=port):
            token, session = app.state.sessions.issue(env.tenant, {"id": 1, "email": "m@example.com"}, "bigcommerce")
            with httpx.Client(base_url=app_url, timeout=30, headers={
                    "Authorization": f"Bearer {token}", "X-CSRF-Token": session.csrf_token,
                    "X-Tenant": env.tenant}) as client:
                yield env, app, client


def _platform(env) -> dict:
    return httpx.get(f"{env.pim_url}/event-platform/sandbox/state").json()


def _product(env, sku: str) -> dict:
    return next(p for p in env.state()["products"] if p["sku"].lower() == sku.lower())


def _received(env) -> int:
    return EventStore(env.conn).summary(env.tenant)["last_hour"]["received"]


def test_the_switch_subscribes_and_a_pim_change_reaches_the_store(realtime):
    env, app, client = realtime
    response = client.put("/api/config/events/realtime", json={"enabled": True})
    assert response.status_code == 200, response.text
    doc = response.json()
    assert doc["realtime"]["enabled"] and doc["realtime"]["status"] == "active"
    assert doc["webhook_url"].endswith(f"/webhooks/akeneo/{env.tenant}")
    platform = _platform(env)
    assert [s["status"] for s in platform["subscribers"]] == ["active"]
    [subscription] = platform["subscriptions"]
    assert subscription["config"]["url"] == doc["webhook_url"] and subscription["status"] == "active"
    assert "com.akeneo.pim.v1.category.updated" in subscription["events"]
    # the generated secrets are stored encrypted, never in clear
    secrets = env.store.get_credentials(env.tenant, "event_platform")
    raw = env.conn.hget(f"connector:tenant:{env.tenant}:credentials", "event_platform")
    assert secrets["primary"] and secrets["secondary"] and secrets["primary"].encode() not in raw
    assert "secret" not in response.text.lower().replace("manual_secret_set", "")

    # a second click finds what the first one made
    again = client.put("/api/config/events/realtime", json={"enabled": True})
    assert again.status_code == 200 and len(_platform(env)["subscriptions"]) == 1

    sku = sorted(expected_catalog("print").simple)[0]
    assert httpx.patch(f"{env.pim_url}/sandbox/products/{sku}", json=_price("17.25")).status_code == 200
    wait_for(lambda: EventStore(env.conn).waiting(env.tenant), timeout=10, every=0.02)
    env.work()
    assert float(_product(env, sku)["price"]) == 17.25
    deliveries = [d for d in _platform(env)["deliveries"] if d.get("status") is not None]
    assert deliveries and all(d["status"] == 200 for d in deliveries)
    status = client.get("/api/events").json()
    assert status["last_event_at"] and status["last_hour"]["applied"] >= 1 and status["waiting"] == 0


def test_suspend_drops_events_and_resume_brings_them_back(realtime):
    env, app, client = realtime
    suspended = client.post("/api/config/events/realtime/suspend")
    assert suspended.status_code == 200 and suspended.json()["realtime"]["status"] == "suspended"
    assert _platform(env)["subscriptions"][0]["status"] == "suspended"
    before = _received(env)
    sku = sorted(expected_catalog("print").simple)[1]
    assert httpx.patch(f"{env.pim_url}/sandbox/products/{sku}", json=_price("3.00")).status_code == 200
    wait_for(lambda: any(d.get("dropped") == "suspended" for d in _platform(env)["deliveries"]), timeout=10)
    assert _received(env) == before  # dropped by the platform while suspended
    resumed = client.post("/api/config/events/realtime/resume")
    assert resumed.status_code == 200 and resumed.json()["realtime"]["status"] == "active"
    assert client.post("/api/config/events/realtime/resume").status_code == 200  # already active: fine
    assert httpx.patch(f"{env.pim_url}/sandbox/products/{sku}", json=_price("4.00")).status_code == 200
    wait_for(lambda: _received(env) > before, timeout=10, every=0.02)
    env.work()
    assert float(_product(env, sku)["price"]) == 4.0


def test_the_api_needs_a_session_and_csrf(realtime):
    env, app, client = realtime
    base = str(client.base_url)
    assert httpx.get(f"{base}/api/events").status_code == 401
    no_csrf = httpx.put(f"{base}/api/config/events/realtime", json={"enabled": False},
                        headers={"Authorization": client.headers["Authorization"]})
    assert no_csrf.status_code == 403
    assert client.put("/api/config/events/realtime", json={"enabled": "yes"}).status_code == 422
    assert client.post("/api/config/events/realtime/explode").status_code == 404
    assert _platform(env)["subscriptions"][0]["status"] == "active"


def test_switching_off_removes_the_subscription_and_on_again_makes_a_new_one(realtime):
    env, app, client = realtime
    off = client.put("/api/config/events/realtime", json={"enabled": False})
    assert off.status_code == 200 and not off.json()["realtime"]["enabled"]
    platform = _platform(env)
    assert [s["status"] for s in platform["subscriptions"]] == ["deleted"]
    assert [s["status"] for s in platform["subscribers"]] == ["deleted"]
    assert env.store.get_credentials(env.tenant, "event_platform") is None
    assert client.post("/api/config/events/realtime/suspend").status_code == 409
    on = client.put("/api/config/events/realtime", json={"enabled": True})
    assert on.status_code == 200 and on.json()["realtime"]["status"] == "active"
    assert [s["status"] for s in _platform(env)["subscriptions"]] == ["deleted", "active"]


def test_a_revoked_subscription_shows_on_the_page(realtime):
    env, app, client = realtime
    assert httpx.post(f"{env.pim_url}/event-platform/sandbox/revoke",
                      json={"client_id": "sandbox-client"}).json()["revoked"] == 1
    status = client.get("/api/events", params={"refresh": "1"}).json()
    assert status["realtime"]["status"] == "revoked"
    # switching on again replaces the revoked one
    on = client.put("/api/config/events/realtime", json={"enabled": True})
    assert on.status_code == 200 and on.json()["realtime"]["status"] == "active"


def test_uninstall_removes_the_subscription(realtime):
    env, app, client = realtime
    assert any(s["status"] == "active" for s in _platform(env)["subscriptions"])
    response = httpx.get(f"{client.base_url}/bc/uninstall", params={"signed_payload_jwt": signed_payload(STORE_HASH)})
    assert response.status_code == 204
    assert not any(s["status"] == "active" for s in _platform(env)["subscriptions"])
    assert not env.store.tenant_exists(env.tenant)
