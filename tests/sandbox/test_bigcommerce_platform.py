"""The BigCommerce sandbox's platform behaviour over real HTTP: auth and scopes, rate limits, faults, the
OAuth token exchange, the sandbox-only routes and the command line."""

from __future__ import annotations

import subprocess
import sys
import time
import uuid

import httpx
import pytest

from sandbox.bigcommerce import create_app
from tests.servers import free_port

PRODUCT = {"name": "Mug", "type": "physical", "weight": 1, "price": 3, "sku": "MUG"}


@pytest.fixture(scope="module")
def app():
    return create_app(apps=[("client-1", "secret-1")])


@pytest.fixture
def store(app):
    hash_ = "s" + uuid.uuid4().hex[:9]
    app.state.bc.create_store(hash_, "tok-" + hash_)
    return hash_


def client(base_url: str, hash_: str, token: str | None = None, timeout: float = 30) -> httpx.Client:
    headers = {"X-Auth-Token": token if token is not None else "tok-" + hash_}
    return httpx.Client(base_url=f"{base_url}/stores/{hash_}", headers=headers, timeout=timeout)


# --- auth and scopes -----------------------------------------------------------------------------

def test_tokens_are_required_and_per_store(app, base_url, store):
    other = "o" + uuid.uuid4().hex[:9]
    app.state.bc.create_store(other, "tok-" + other)
    for token in ("", "wrong", "tok-" + other):
        with client(base_url, store, token) as c:
            r = c.get("/v3/catalog/products")
            assert r.status_code == 401
            assert set(r.json()) >= {"status", "title", "type"} and r.json()["status"] == 401
    with client(base_url, "nosuchstore", "tok-" + store) as c:
        assert c.get("/v2/time").status_code == 404
    with client(base_url, store) as c:
        assert isinstance(c.get("/v2/time").json()["time"], int)


def test_scopes(app, base_url, store):
    bc = app.state.bc
    bc.add_token(store, "ro", scopes=("store_v2_products_read_only",))
    bc.add_token(store, "none", scopes=("store_v2_orders",))
    with client(base_url, store, "ro") as c:
        assert c.get("/v3/catalog/products").status_code == 200
        assert c.post("/v3/catalog/products", json=PRODUCT).status_code == 403
        assert c.get("/v2/store").status_code == 403
        assert c.get("/v2/time").status_code == 200
    with client(base_url, store, "none") as c:
        assert c.get("/v3/catalog/products").status_code == 403
    with client(base_url, store) as c:  # the default scopes
        info = c.get("/v2/store").json()
        assert info["id"] == store and info["weight_units"] == "KGS"
        assert c.post("/v3/catalog/products", json=PRODUCT).status_code == 200


# --- rate limits ---------------------------------------------------------------------------------

def test_rate_limit_headers_and_429(app, base_url, store):
    bc = app.state.bc
    bc.set_rate_limit(store, 3, 60000)
    with client(base_url, store) as c:
        lefts = []
        for _ in range(3):
            r = c.get("/v2/time")
            assert r.status_code == 200
            assert r.headers["X-Rate-Limit-Requests-Quota"] == "3"
            assert r.headers["X-Rate-Limit-Time-Window-Ms"] == "60000"
            assert 0 < int(r.headers["X-Rate-Limit-Time-Reset-Ms"]) <= 60000
            lefts.append(r.headers["X-Rate-Limit-Requests-Left"])
        assert lefts == ["2", "1", "0"]
        r = c.get("/v3/catalog/products")
        assert r.status_code == 429
        assert r.headers["X-Rate-Limit-Requests-Left"] == "0" and int(r.headers["X-Rate-Limit-Time-Reset-Ms"]) > 0
        bc.store(store).rate.started -= 61  # the window has passed
        assert c.get("/v3/catalog/products").status_code == 200
    log = httpx.get(f"{base_url}/sandbox/stores/{store}/requests").json()
    assert log["throttled"] == 1
    assert log["counts"] == {"GET /v2/time": 3, "GET /v3/catalog/products": 2}


def test_rate_limits_are_per_store_and_can_be_lifted(app, base_url, store):
    bc = app.state.bc
    other = "o" + uuid.uuid4().hex[:9]
    bc.create_store(other, "tok-" + other)
    bc.set_rate_limit(store, 1, 60000)
    with client(base_url, store) as c, client(base_url, other) as d:
        assert c.get("/v2/time").status_code == 200
        assert c.get("/v2/time").status_code == 429
        assert d.get("/v2/time").status_code == 200
        bc.set_rate_limit(store, 1, 60000, unlimited=True)
        assert all(c.get("/v2/time").status_code == 200 for _ in range(3))


# --- faults --------------------------------------------------------------------------------------

def test_injected_errors_are_not_applied(app, base_url, store):
    app.state.bc.set_faults(store, error_rate=1.0, statuses=(502,))
    with client(base_url, store) as c:
        r = c.post("/v3/catalog/products", json=PRODUCT)
        assert r.status_code == 502 and r.json()["status"] == 502
        app.state.bc.set_faults(store)
        assert c.get("/v3/catalog/products").json()["data"] == []


def test_timeout_after_apply_leaves_the_change_made(app, base_url, store):
    app.state.bc.set_faults(store, timeout_after_apply_rate=1.0)
    with client(base_url, store, timeout=0.5) as c, pytest.raises(httpx.ReadTimeout):
        c.post("/v3/catalog/products", json=PRODUCT)
    app.state.bc.set_faults(store)
    with client(base_url, store) as c:
        assert [p["sku"] for p in c.get("/v3/catalog/products").json()["data"]] == ["MUG"]
        assert c.post("/v3/catalog/products", json=PRODUCT).status_code == 409  # a blind retry conflicts


def test_latency(app, base_url, store):
    app.state.bc.set_faults(store, latency=2.0)
    with client(base_url, store, timeout=0.3) as c, pytest.raises(httpx.ReadTimeout):
        c.get("/v2/time")
    app.state.bc.set_faults(store)


def test_faults_through_the_sandbox_route(base_url, store):
    r = httpx.put(f"{base_url}/sandbox/stores/{store}/faults", json={"error_rate": 1.0, "statuses": [504]})
    assert r.status_code == 200
    with client(base_url, store) as c:
        assert c.get("/v2/time").status_code == 504
    httpx.put(f"{base_url}/sandbox/stores/{store}/faults", json={})
    with client(base_url, store) as c:
        assert c.get("/v2/time").status_code == 200


# --- OAuth ---------------------------------------------------------------------------------------

def exchange(base_url: str, code: str, store: str, override: dict | None = None) -> httpx.Response:
    body = {"client_id": "client-1", "client_secret": "secret-1", "code": code, "context": f"stores/{store}",
            "scope": "store_v2_products store_v2_information_read_only", "grant_type": "authorization_code",
            "redirect_uri": "https://app.example/bc/auth", **(override or {})}
    return httpx.post(f"{base_url}/oauth2/token", json=body)


def issue(base_url: str, store: str) -> str:
    r = httpx.post(f"{base_url}/sandbox/auth-codes", json={
        "client_id": "client-1", "store_hash": store, "scope": "store_v2_products store_v2_information_read_only",
        "redirect_uri": "https://app.example/bc/auth",
        "user": {"id": 7, "username": "ann", "email": "ann@example.com"}})
    assert r.status_code == 201
    return r.json()["code"]


def test_token_exchange(app, base_url, store):
    code = issue(base_url, store)
    r = exchange(base_url, code, store)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["context"] == f"stores/{store}"
    assert body["user"] == {"id": 7, "username": "ann", "email": "ann@example.com"}
    assert set(body) == {"access_token", "scope", "user", "owner", "context", "account_uuid"}
    with client(base_url, store, body["access_token"]) as c:
        assert c.get("/v2/store").status_code == 200
        assert c.post("/v3/catalog/products", json=PRODUCT).status_code == 200
        assert c.get("/v3/channels").status_code == 403  # not granted
    assert exchange(base_url, code, store).status_code == 400  # a code works once


def test_token_exchange_as_a_form(app, base_url, store):
    code = app.state.bc.issue_auth_code("client-1", store, "store_v2_products")
    r = httpx.post(f"{base_url}/oauth2/token", data={
        "client_id": "client-1", "client_secret": "secret-1", "code": code, "context": f"stores/{store}",
        "scope": "store_v2_products", "grant_type": "authorization_code", "redirect_uri": "https://x.example/cb"})
    assert r.status_code == 200, r.text


@pytest.mark.parametrize("override", [
    {"client_secret": "wrong"},
    {"client_id": "nobody"},
    {"code": "made-up"},
    {"redirect_uri": "https://evil.example/bc/auth"},
    {"context": "stores/another"},
    {"grant_type": "client_credentials"},
    {"scope": "store_v2_products"},
    {"redirect_uri": ""},
])
def test_token_exchange_checks_every_field(base_url, store, override):
    code = issue(base_url, store)
    r = exchange(base_url, code, store, override)
    assert r.status_code == 400
    assert r.json()["error"]
    assert exchange(base_url, code, store).status_code == 200  # the failed attempt did not spend the code


# --- sandbox routes ------------------------------------------------------------------------------

def test_sandbox_routes(base_url):
    hash_ = "r" + uuid.uuid4().hex[:9]
    r = httpx.post(f"{base_url}/sandbox/stores", json={"hash": hash_, "token": "t1", "scopes": ["store_v2_products"]})
    assert r.status_code == 201
    assert httpx.post(f"{base_url}/sandbox/stores", json={"hash": hash_}).status_code == 409
    assert httpx.post(f"{base_url}/sandbox/stores/{hash_}/tokens", json={"token": "t2"}).status_code == 201
    assert httpx.put(f"{base_url}/sandbox/stores/{hash_}/rate-limit",
                     json={"quota": 450, "window_ms": 30000}).status_code == 200
    with client(base_url, hash_, "t2") as c:
        cat = c.post("/v3/catalog/trees/categories", json=[{"name": "Kitchen", "tree_id": 1}]).json()["data"][0]
        r = c.post("/v3/catalog/products", json={**PRODUCT, "categories": [cat["category_id"]], "brand_name": "Acme"})
        assert r.headers["X-Rate-Limit-Requests-Quota"] == "450"
        pid = r.json()["data"]["id"]
        c.get(f"/v3/catalog/products/{pid}")
        c.put("/v3/catalog/products/channel-assignments", json=[{"product_id": pid, "channel_id": 1}])
    state = httpx.get(f"{base_url}/sandbox/stores/{hash_}/state").json()
    assert [p["sku"] for p in state["products"]] == ["MUG"]
    assert state["products"][0]["channels"] == [1]
    assert [b["name"] for b in state["brands"]] == ["Acme"]
    assert [c["name"] for c in state["categories"]] == ["Kitchen"]
    log = httpx.get(f"{base_url}/sandbox/stores/{hash_}/requests").json()
    assert log["counts"]["GET /v3/catalog/products/{product_id}"] == 1
    assert log["counts"]["POST /v3/catalog/products"] == 1
    assert httpx.delete(f"{base_url}/sandbox/stores/{hash_}/requests").status_code == 204
    assert httpx.get(f"{base_url}/sandbox/stores/{hash_}/requests").json()["total"] == 0
    page = httpx.get(f"{base_url}/sandbox/stores/{hash_}/storefront")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert "Mug" in page.text and "MUG" in page.text and "Kitchen" in page.text
    assert httpx.get(f"{base_url}/sandbox/stores/nosuch/state").status_code == 404


def test_command_line():
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "sandbox.bigcommerce", "--port", str(port), "--store", "abc:tok",
                             "--rate-limit", "5/1000", "--app", "cid:secret"], stdout=subprocess.PIPE, text=True)
    try:
        first = proc.stdout.readline()
        assert f"http://127.0.0.1:{port}" in first
        assert "abc" in proc.stdout.readline()
        for _ in range(200):  # the banner comes just before uvicorn binds the port
            try:
                r = httpx.get(f"http://127.0.0.1:{port}/stores/abc/v2/time", headers={"X-Auth-Token": "tok"})
                break
            except httpx.ConnectError:
                assert proc.poll() is None, "the sandbox exited"
                time.sleep(0.05)
        assert r.status_code == 200 and r.headers["X-Rate-Limit-Requests-Quota"] == "5"
    finally:
        proc.terminate()
        proc.wait(timeout=10)
