"""The connector inside the PIM, end to end without a browser: the configuration API installs the four UI
extensions in the sandbox PIM (idempotently, with a clear 403 hint), the sandbox PIM's own JWT opens a
product tab session, the status shows the store product, "Sync now" and the grid action (signed by the
sandbox PIM, server to server) go through a real RQ worker to the sandbox store, and removing or
uninstalling takes the extensions out of the PIM.

One small import (the `print` subtree) is shared by the module."""

from __future__ import annotations

import hashlib
import hmac
import re
import time
import uuid as uuidlib

import httpx
import jwt
import pytest

from service.app import create_app
from service.settings import load_settings
from service.store import embed as embed_store
from service.store.events import EventStore
from tests.import_env import STORE_HASH, expected_catalog, import_env
from tests.servers import serve

CLIENT_ID, CLIENT_SECRET = "embed-app-client", "embed-app-secret-0123456789abcdefghij"


@pytest.fixture(scope="module")
def flow(redis_url, tmp_path_factory):
    with import_env(redis_url, tmp_path_factory.mktemp("embed"), category="print") as env:
        run_id = env.start("full")
        env.work()
        assert env.run(run_id)["status"] == "succeeded"
        # the import environment's connector serves APP_URL (the extensions' URLs); this second process-like
        # instance (same Redis and SECRET_KEY) is the one the merchant's configuration page talks to
        app = create_app(load_settings({**env.env, "BC_CLIENT_ID": CLIENT_ID, "BC_CLIENT_SECRET": CLIENT_SECRET}),
                         env.conn)
        with serve(app) as url:
            yield env, app, url


def _config_session(app, url: str, tenant: str) -> dict:
    token, session = app.state.sessions.issue(tenant, {"id": 7, "email": "m@example.com"}, "bigcommerce")
    return {"Authorization": f"Bearer {token}", "X-CSRF-Token": session.csrf_token, "X-Tenant": tenant}


def _extensions(env) -> list[dict]:
    return httpx.get(f"{env.pim_url}/sandbox/ui-extensions", timeout=10).json()["extensions"]


def _pim_ui(env) -> dict:
    cookie = httpx.post(f"{env.pim_url}/sandbox/sessions", json={"username": "admin"}, timeout=10).json()["cookie"]
    return {"Cookie": f"BAPID={cookie}", "X-Requested-With": "XMLHttpRequest"}


def _bearer(page: httpx.Response) -> str:
    match = re.search(r'<meta name="session-token" content="([^"]+)"', page.text)
    return match.group(1) if match else ""


def _price(amount: str) -> dict:
    return {"values": {"price": [{"locale": None, "scope": None, "data": [{"amount": amount, "currency": "EUR"}]}]}}


def _store_product(env, sku: str) -> dict | None:
    return next((p for p in env.state()["products"] if p["sku"].lower() == sku.lower()), None)


def _install(url, headers) -> httpx.Response:
    return httpx.post(f"{url}/api/embed/install", headers=headers, timeout=30)


def test_install_is_idempotent_heals_and_explains_a_missing_permission(flow):
    env, app, url = flow
    headers = _config_session(app, url, env.tenant)
    answer = _install(url, headers)
    assert answer.status_code == 200, answer.text
    doc = answer.json()
    assert doc["installed"] and all(e["installed"] for e in doc["extensions"])
    mine = _extensions(env)
    assert sorted((e["type"], e["position"]) for e in mine) == sorted([
        ("iframe", "pim.activity.navigation.tab"), ("iframe", "pim.product.tab"), ("iframe", "pim.product-model.tab"),
        ("action", "pim.product-grid.action-bar")])
    app_url = env.env["APP_URL"]
    assert {e["configuration"]["url"] for e in mine} == {f"{app_url}/embed/{env.tenant}/{k}"
                                                         for k in ("page", "product", "model", "action")}
    assert "secret" not in str(doc)
    # again: the same four, updated in place
    assert _install(url, headers).status_code == 200
    assert sorted(e["uuid"] for e in _extensions(env)) == sorted(e["uuid"] for e in mine)
    # one removed in the PIM meanwhile: created again, the others kept
    gone = next(e for e in mine if e["position"] == "pim.product.tab")
    del env.pim_app.state.pim.ui_extensions[gone["uuid"]]
    assert _install(url, headers).status_code == 200
    now = _extensions(env)
    assert len(now) == 4 and gone["uuid"] not in {e["uuid"] for e in now}
    # the connection's user may not manage extensions: 403 with the permission to grant, nothing changed
    assert httpx.put(f"{env.pim_url}/sandbox/users/admin/acl", json={"manage_extensions": False}).status_code == 200
    try:
        refused = _install(url, headers)
        assert refused.status_code == 403 and refused.json()["error"] == "permission_missing"
        assert "Manage your extensions using the API" in refused.json()["hints"][0]
        assert httpx.get(f"{url}/api/embed", headers=headers).json()["message"]
    finally:
        httpx.put(f"{env.pim_url}/sandbox/users/admin/acl", json={"manage_extensions": True})
    assert _install(url, headers).json()["message"] == ""


def _open_tab(env, kind: str, query: str) -> str:
    ext = next(e for e in _extensions(env) if e["configuration"]["url"].endswith(f"/{kind}"))
    token = httpx.get(f"{env.pim_url}/sandbox/ui/extensions/{ext['uuid']}/jwt", headers=_pim_ui(env),
                      timeout=10).json()["token"]
    page = httpx.post(f"{ext['configuration']['url']}?{query}", data={"token": token}, timeout=10)
    assert page.status_code == 200, page.text
    return _bearer(page)


def test_product_tab_status_and_sync_now_reach_the_store(flow):
    env, app, url = flow
    assert _install(url, _config_session(app, url, env.tenant)).status_code == 200
    sku = sorted(expected_catalog("print").simple)[0]
    product_uuid = env.pim_app.state.pim.store.product(sku)["uuid"]
    bearer = _open_tab(env, "product", f"product%5Buuid%5D={product_uuid}&product%5Bidentifier%5D={sku}")
    me = httpx.get(f"{url}/api/session", headers={"Authorization": f"Bearer {bearer}"}).json()
    headers = {"Authorization": f"Bearer {bearer}", "X-CSRF-Token": me["csrf_token"]}
    status = httpx.get(f"{url}/api/embed/item", params={"product": product_uuid}, headers=headers, timeout=30).json()
    assert status["linked"] and status["scope"]["in_scope"], status
    store = status["store"]
    assert store["sku"].lower() == sku.lower() and store["control_panel"].endswith(f"/manage/products/edit/{store['id']}")
    assert store["storefront"] and status["last_sync"]["via"] == "import"

    assert httpx.patch(f"{env.pim_url}/sandbox/products/{sku}", json=_price("77.70")).status_code == 200
    figures = EventStore(env.conn).summary(env.tenant)
    queued = httpx.post(f"{url}/api/embed/sync", json={"product": product_uuid}, headers=headers, timeout=10)
    assert queued.status_code == 202
    # a merchant's request, not a PIM event: counted apart, and "last event" stays when the PIM last sent one
    counted = EventStore(env.conn).summary(env.tenant)
    assert counted["last_hour"]["requested"] == figures["last_hour"]["requested"] + 1
    assert counted["last_hour"]["received"] == figures["last_hour"]["received"]
    assert counted["last_event_at"] == figures["last_event_at"]
    assert httpx.get(f"{url}/api/embed/item", params={"product": product_uuid}, headers=headers,
                     timeout=30).json()["waiting"]
    env.work(timeout=120)
    assert float(_store_product(env, sku)["price"]) == 77.7
    after = httpx.get(f"{url}/api/embed/item", params={"product": product_uuid}, headers=headers, timeout=30).json()
    assert float(after["store"]["price"]) == 77.7 and not after["waiting"]
    assert after["last_sync"]["via"] == "event" and after["last_sync"]["outcome"] == "updated"

    # a model's tab: the model and its variants in the store
    code = sorted(expected_catalog("print").models)[0]
    bearer = _open_tab(env, "model", f"product%5Bcode%5D={code}")
    model = httpx.get(f"{url}/api/embed/item", params={"model": code},
                      headers={"Authorization": f"Bearer {bearer}"}, timeout=30).json()
    assert model["linked"] and model["store"]["variants"], model
    # out of scope: disabled in the PIM says so
    other = sorted(expected_catalog("print").simple)[1]
    assert httpx.patch(f"{env.pim_url}/sandbox/products/{other}", json={"enabled": False}).status_code == 200
    disabled = httpx.get(f"{url}/api/embed/item", headers=headers, timeout=30, params={
        "product": env.pim_app.state.pim.store.product(other)["uuid"]}).json()
    assert not disabled["scope"]["in_scope"] and any("Disabled" in r for r in disabled["scope"]["reasons"])
    httpx.patch(f"{env.pim_url}/sandbox/products/{other}", json={"enabled": True})


def test_the_grid_action_signed_by_the_pim_syncs_the_selection(flow):
    env, app, url = flow
    assert _install(url, _config_session(app, url, env.tenant)).status_code == 200
    skus = sorted(expected_catalog("print").simple)[:2]
    uuids = [env.pim_app.state.pim.store.product(s)["uuid"] for s in skus]
    for n, sku in enumerate(skus):
        assert httpx.patch(f"{env.pim_url}/sandbox/products/{sku}", json=_price(f"4{n}.50")).status_code == 200
    action = next(e for e in _extensions(env) if e["type"] == "action")
    started = time.monotonic()
    outcome = httpx.post(f"{env.pim_url}/sandbox/ui/actions/{action['uuid']}", headers=_pim_ui(env), timeout=10,
                         json={"productUuids": uuids, "productModelCodes": []}).json()
    assert outcome["ok"] and "Sending 2 products" in outcome["message"], outcome
    assert time.monotonic() - started < 5
    env.work(timeout=120)
    assert [float(_store_product(env, s)["price"]) for s in skus] == [40.5, 41.5]
    # the very request again (a replay, same body and signature) is refused and queues nothing
    [call] = [c for c in httpx.get(f"{env.pim_url}/sandbox/ui-extensions/calls").json()["calls"]
              if c["extension"] == action["uuid"]][-1:]
    secret = embed_store.secrets_of(env.store, env.tenant)["action"]
    signature = "sha512=" + hmac.new(secret.encode(), call["raw_body"].encode(), hashlib.sha512).hexdigest()
    replay = httpx.post(call["url"], content=call["raw_body"].encode(), timeout=10, headers={
        "Content-Type": "application/json", "signature": signature})
    assert replay.status_code == 401 and EventStore(env.conn).waiting(env.tenant) == 0


def test_an_address_the_pim_refuses_is_explained(flow):
    env, _, _ = flow
    app = create_app(load_settings({**env.env, "APP_URL": "http://connector.example"}), env.conn)
    with serve(app) as url:
        before = _extensions(env)
        refused = _install(url, _config_session(app, url, env.tenant))
        assert refused.status_code == 502 and refused.json()["error"] == "pim_refused_extension"
        assert "APP_URL" in refused.json()["hints"][0] and "https" in refused.json()["hints"][0]
        assert _extensions(env) == before

def test_the_sandbox_pims_expired_jwt_and_old_action_change_nothing(flow):
    env, app, url = flow
    assert _install(url, _config_session(app, url, env.tenant)).status_code == 200
    pim = env.pim_app.state.pim
    sku = sorted(expected_catalog("print").simple)[2]
    product_uuid = pim.store.product(sku)["uuid"]
    ext = next(e for e in _extensions(env) if e["configuration"]["url"].endswith("/product"))
    pim.advance_clock(-7200)  # the PIM signs with the right secret, two hours ago
    try:
        token = httpx.get(f"{env.pim_url}/sandbox/ui/extensions/{ext['uuid']}/jwt", headers=_pim_ui(env)).json()["token"]
        expired = httpx.post(f"{ext['configuration']['url']}?product%5Buuid%5D={product_uuid}", data={"token": token})
        assert expired.status_code == 401 and not _bearer(expired)
        pim.advance_clock(7200 - 600)  # an action signed correctly ten minutes ago
        action = next(e for e in _extensions(env) if e["type"] == "action")
        outcome = httpx.post(f"{env.pim_url}/sandbox/ui/actions/{action['uuid']}", headers=_pim_ui(env), timeout=10,
                             json={"productUuids": [product_uuid], "productModelCodes": []}).json()
        assert not outcome["ok"] and outcome["status"] == 401
    finally:
        pim.clock_offset = 0.0
    assert EventStore(env.conn).waiting(env.tenant) == 0


def test_a_pim_without_ui_extensions_is_explained(flow):
    env, app, url = flow
    headers = _config_session(app, url, env.tenant)
    assert httpx.post(f"{url}/api/embed/remove", headers=headers, timeout=30).status_code == 200
    assert httpx.put(f"{env.pim_url}/sandbox/ui-extensions/enabled", json={"enabled": False}).status_code in (200, 204)
    try:
        refused = _install(url, headers)
        assert refused.status_code == 409 and refused.json()["error"] == "extensions_unavailable", refused.text
        assert refused.json()["hints"]
    finally:
        httpx.put(f"{env.pim_url}/sandbox/ui-extensions/enabled", json={"enabled": True})

def test_remove_and_uninstall_take_the_extensions_out_of_the_pim(flow):
    env, app, url = flow
    headers = _config_session(app, url, env.tenant)
    assert _install(url, headers).status_code == 200 and len(_extensions(env)) == 4
    sku = sorted(expected_catalog("print").simple)[0]
    tab = _open_tab(env, "product", f"product%5Buuid%5D={env.pim_app.state.pim.store.product(sku)['uuid']}")
    assert httpx.get(f"{url}/api/session", headers={"Authorization": f"Bearer {tab}"}).status_code == 200
    removed = httpx.post(f"{url}/api/embed/remove", headers=headers, timeout=30)
    assert removed.status_code == 200 and not removed.json()["installed"]
    assert _extensions(env) == []
    # the sessions the extensions opened end with them; the merchant's own session does not
    assert httpx.get(f"{url}/api/session", headers={"Authorization": f"Bearer {tab}"}).status_code == 401
    assert httpx.get(f"{url}/api/session", headers=headers).status_code == 200
    assert _install(url, headers).status_code == 200 and len(_extensions(env)) == 4
    now = int(time.time())
    payload = jwt.encode({"aud": CLIENT_ID, "iss": "bc", "iat": now, "nbf": now - 5, "exp": now + 600,
                          "jti": uuidlib.uuid4().hex, "sub": f"stores/{STORE_HASH}", "user": {"id": 7},
                          "owner": {"id": 7}}, CLIENT_SECRET, algorithm="HS256")
    assert httpx.get(f"{url}/bc/uninstall", params={"signed_payload_jwt": payload}, timeout=30).status_code == 204
    assert _extensions(env) == []
    assert not env.store.tenant_exists(env.tenant)

