"""The BigCommerce app's whole life against the sandbox store: install → load → configure → uninstall."""

from __future__ import annotations

import json

import httpx
import pytest

import sandbox.bigcommerce
from service.access.sessions import COOKIE
from service.app import create_app
from service.settings import load_settings
from tests.access.test_sessions import CLIENT_ID, CLIENT_SECRET, signed_payload
from tests.servers import free_port, serve

SCOPE = " ".join(sandbox.bigcommerce.DEFAULT_SCOPES)


@pytest.fixture
def world(tmp_path, redis_url, redis_conn):
    bc_app = sandbox.bigcommerce.create_app(apps=[(CLIENT_ID, CLIENT_SECRET)], unlimited=True)
    bc_app.state.bc.create_store("abc123", name="Julia's Gadgets")
    with serve(bc_app) as bc:
        port = free_port()
        settings = load_settings({
            "DATA_DIR": str(tmp_path), "SECRET_KEY": "lifecycle-secret-0123456789", "REDIS_URL": redis_url,
            "BC_CLIENT_ID": CLIENT_ID, "BC_CLIENT_SECRET": CLIENT_SECRET, "BC_API_URL": bc, "BC_LOGIN_URL": bc,
            "APP_URL": f"http://127.0.0.1:{port}", "ALLOW_PRIVATE_URLS": "true"})
        app = create_app(settings)
        with serve(app, port=port) as url:
            yield app, url, bc_app.state.bc


def install(world, **overrides):
    app, url, bc = world
    code = bc.issue_auth_code(CLIENT_ID, "abc123", SCOPE, user={"id": 7, "username": "julia", "email": "j@x.test"},
                              redirect_uri=f"{url}/bc/auth")
    params = {"code": code, "scope": SCOPE, "context": "stores/abc123", "account_uuid": "acc-1", **overrides}
    return code, httpx.get(f"{url}/bc/auth", params=params)


def test_install_load_configure_uninstall(world):
    app, url, bc = world
    store = app.state.store
    _, installed = install(world)
    assert installed.status_code == 200 and "text/html" in installed.headers["content-type"]
    tenant = store.tenant_for_store("abc123")
    assert tenant
    section = store.get_section(tenant, "bigcommerce")
    assert section["connected"] is True and section["installed_as_app"] is True
    assert section["store"]["name"] == "Julia's Gadgets"
    token = store.get_credentials(tenant, "bigcommerce")["access_token"]
    assert token in bc.stores["abc123"].tokens  # the token BigCommerce granted, kept encrypted
    assert token.encode() not in app.state.redis.hget(f"connector:tenant:{tenant}:credentials", "bigcommerce")
    install_session = installed.cookies[COOKIE]
    me = httpx.get(f"{url}/api/session", cookies={COOKIE: install_session}).json()
    assert me["tenant"] == tenant and me["via"] == "bigcommerce" and me["user"]["username"] == "julia"

    loaded = httpx.get(f"{url}/bc/load", params={"signed_payload_jwt": signed_payload()})
    assert loaded.status_code == 200
    bearer = {"Authorization": f"Bearer {loaded.cookies[COOKIE]}"}
    session = httpx.get(f"{url}/api/session", headers=bearer).json()
    assert session["tenant"] == tenant

    # Configure: save the PIM event secret, then read the configuration back (the store is set up already).
    changed = httpx.put(f"{url}/api/config/events", json={"secret": "event-secret-0123456789"},
                        headers={**bearer, "X-CSRF-Token": session["csrf_token"]})
    assert changed.status_code == 200
    config = httpx.get(f"{url}/api/config", headers=bearer).json()
    assert config["bigcommerce"]["store_hash"] == "abc123" and config["events"]["secret_set"] is True
    assert "event-secret-0123456789" not in json.dumps(config)
    assert httpx.delete(f"{url}/api/session", headers={**bearer, "X-CSRF-Token": session["csrf_token"]}).status_code == 204

    # Re-install (the merchant clicks install again): same tenant, new token.
    _, again = install(world)
    assert again.status_code == 200 and store.tenant_for_store("abc123") == tenant

    gone = httpx.get(f"{url}/bc/uninstall", params={"signed_payload_jwt": signed_payload()})
    assert gone.status_code == 204
    assert not store.tenant_exists(tenant)
    assert httpx.get(f"{url}/api/session", cookies={COOKIE: install_session}).status_code == 401
    assert httpx.get(f"{url}/bc/load", params={"signed_payload_jwt": signed_payload()}).status_code == 404


def test_install_with_a_grant_lacking_user_and_owner(world):
    app, url, bc = world
    code, _ = install(world)  # a first, normal install creates the tenant
    code = bc.issue_auth_code(CLIENT_ID, "abc123", SCOPE, user={"id": None}, redirect_uri=f"{url}/bc/auth")
    response = httpx.get(f"{url}/bc/auth", params={"code": code, "scope": SCOPE, "context": "stores/abc123"})
    assert response.status_code == 200 and response.cookies.get(COOKIE)


@pytest.mark.parametrize("case", ["reused_code", "wrong_context", "unknown_code", "missing_code",
                                  "context_with_newline"])
def test_failed_exchange_stores_nothing(world, case):
    app, url, bc = world
    if case == "reused_code":
        code, first = install(world)
        app.state.store.delete_tenant(app.state.store.tenant_for_store("abc123"))
        response = httpx.get(f"{url}/bc/auth", params={"code": code, "scope": SCOPE, "context": "stores/abc123"})
    elif case == "wrong_context":
        bc.create_store("zzz999")
        _, response = install(world, context="stores/zzz999")
    elif case == "unknown_code":
        _, response = install(world, code="not-a-code")
    elif case == "context_with_newline":
        _, response = install(world, context="stores/abc123\n")
    else:
        response = httpx.get(f"{url}/bc/auth", params={"scope": SCOPE, "context": "stores/abc123"})
    assert response.status_code in (400, 502)
    assert "Installation failed" in response.text
    assert COOKIE not in response.cookies
    assert app.state.store.tenants() == []
