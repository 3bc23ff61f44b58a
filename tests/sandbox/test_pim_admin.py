"""The sandbox PIM's knobs over real HTTP: admin edits, signed webhooks, throttling, faults, UI sessions."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from sandbox.pim import create_app, sign_event_platform, sign_events_api
from tests.servers import free_port, serve

API = "/api/rest/v1"
CLIENT = ("sandbox-client", "sandbox-secret")


def _bearer(http: httpx.Client, client=CLIENT, username="admin", password="admin") -> dict[str, str]:
    response = http.post("/api/oauth/v1/token", auth=client,
                         json={"grant_type": "password", "username": username, "password": password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


@pytest.fixture(scope="module")
def pim():
    app = create_app()
    with serve(app) as base_url, httpx.Client(base_url=base_url, timeout=30) as http:
        yield app, http


class Receiver:
    """A tiny webhook endpoint that keeps what it is sent."""

    def __init__(self) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.arrived = threading.Event()
        self.app = Starlette(routes=[Route("/hook", self.hook, methods=["POST"])])

    async def hook(self, request: Request) -> JSONResponse:
        self.received.append((dict(request.headers), await request.body()))
        self.arrived.set()
        return JSONResponse({"ok": True})

    def wait(self, count: int) -> list[tuple[dict[str, str], bytes]]:
        deadline = time.monotonic() + 10
        while len(self.received) < count and time.monotonic() < deadline:
            self.arrived.wait(0.05)
        return self.received


@pytest.fixture(scope="module")
def receiver():
    rec = Receiver()
    with serve(rec.app) as base_url:
        yield rec, base_url


# ---------------------------------------------------------------- admin edits and webhooks

def test_patch_product_bumps_updated_and_signs_an_event_platform_delivery(pim, receiver):
    app, http = pim
    rec, hook_url = receiver
    rec.received.clear()
    secret, secondary = "s3cret", "0ther"
    assert http.post("/sandbox/webhooks", json={"url": f"{hook_url}/hook", "secret": secret,
                                                "secondary_secret": secondary,
                                                "format": "event_platform"}).status_code == 201
    auth = _bearer(http)
    before = http.get(f"{API}/products/10970033", headers=auth).json()
    since = app.state.pim.now_dt().strftime("%Y-%m-%d %H:%M:%S")
    app.state.pim.advance_clock(1)
    response = http.patch("/sandbox/products/10970033", json={
        "enabled": False,
        "values": {"name": [{"locale": None, "scope": None, "data": "Renamed camera"}]},
    })
    assert response.status_code == 200, response.text
    after = http.get(f"{API}/products/10970033", headers=auth).json()
    assert after["enabled"] is False and after["values"]["name"][0]["data"] == "Renamed camera"
    assert after["updated"] > before["updated"]
    changed = http.get(f"{API}/products-uuid", headers=auth, params={
        "search": json.dumps({"updated": [{"operator": ">", "value": since}]})}).json()
    assert [i["uuid"] for i in changed["_embedded"]["items"]] == [before["uuid"]]

    headers, body = rec.wait(1)[0]
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    assert headers["x-akeneo-signature-primary"] == expected
    assert headers["x-akeneo-signature-secondary"] == hmac.new(secondary.encode(), body, hashlib.sha256).hexdigest()
    event = json.loads(body)
    assert event["specversion"] == "1.0" and event["type"] == "com.akeneo.pim.v1.product.updated"
    assert event["data"] == {"product": {"uuid": before["uuid"]}} and event["id"] and event["time"]
    deadline = time.monotonic() + 10
    while not (deliveries := http.get("/sandbox/webhooks/deliveries").json()["deliveries"]):
        assert time.monotonic() < deadline, "the delivery was never recorded"
        time.sleep(0.02)
    assert deliveries[-1]["status"] == 200 and deliveries[-1]["action"] == "updated"
    http.delete("/sandbox/webhooks/deliveries")


def test_legacy_events_api_delivery_and_removal(pim, receiver):
    app, http = pim
    rec, hook_url = receiver
    app.state.pim.webhooks.clear()
    rec.received.clear()
    secret = "legacy-secret"
    http.post("/sandbox/webhooks", json={"url": f"{hook_url}/hook", "secret": secret, "format": "events_api"})
    created = http.post("/sandbox/products", json={"identifier": "sandbox-new-1", "family": "webcams",
                                                   "categories": ["webcams"]})
    assert created.status_code == 201, created.text
    removed = http.delete("/sandbox/products/sandbox-new-1")
    assert removed.status_code == 200
    (h1, b1), (h2, b2) = rec.wait(2)[:2]
    for headers, body in ((h1, b1), (h2, b2)):
        stamp = headers["x-akeneo-request-timestamp"]
        expected = hmac.new(secret.encode(), f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
        assert headers["x-akeneo-request-signature"] == expected
        assert abs(int(stamp) - time.time()) < 60
    first, second = json.loads(b1)["events"][0], json.loads(b2)["events"][0]
    assert first["action"] == "product.created"
    assert first["data"]["resource"]["identifier"] == "sandbox-new-1"
    assert second["action"] == "product.removed"
    assert second["data"]["resource"] == {"identifier": "sandbox-new-1", "uuid": first["data"]["resource"]["uuid"]}
    auth = _bearer(http)
    assert http.get(f"{API}/products/sandbox-new-1", headers=auth).status_code == 404
    app.state.pim.webhooks.clear()


def test_model_edit_surfaces_its_variants_in_updated_searches(pim):
    app, http = pim
    auth = _bearer(http)
    app.state.pim.advance_clock(5)  # strictly after anything earlier tests changed
    since = app.state.pim.now_dt().strftime("%Y-%m-%d %H:%M:%S")
    app.state.pim.advance_clock(1)
    response = http.patch("/sandbox/product-models/model-tshirt-divided-grey",
                          json={"values": {"composition": [{"locale": None, "scope": None, "data": "100% wool"}]}})
    assert response.status_code == 200, response.text
    found = http.get(f"{API}/products", headers=auth, params={
        "limit": 100, "search": json.dumps({"updated": [{"operator": ">", "value": since}]})}).json()
    idents = sorted(i["identifier"] for i in found["_embedded"]["items"])
    assert idents == [f"Tshirt-divided-grey-{s}" for s in ("l", "m", "s", "xl")]
    assert all(i["values"]["composition"][0]["data"] == "100% wool" for i in found["_embedded"]["items"])


def test_admin_validation(pim):
    _, http = pim
    assert http.patch("/sandbox/products/nope", json={}).status_code == 404
    bad = http.patch("/sandbox/products/10970033", json={"values": {"no_attr": []}})
    assert bad.status_code == 422
    assert http.patch("/sandbox/products/10970033", json={"family": "nope"}).status_code == 422
    assert http.post("/sandbox/products", json={"identifier": "10970033"}).status_code == 422
    model = http.post("/sandbox/product-models", json={"code": "sandbox-model", "family_variant": "shoes_size"})
    assert model.status_code == 201 and model.json()["family"] == "shoes"
    assert http.delete("/sandbox/product-models/sandbox-model").status_code == 200


def test_signing_functions_match_an_independent_hmac():
    body = b'{"a":1}'
    assert sign_event_platform("k", body) == hmac.new(b"k", body, hashlib.sha256).hexdigest()
    assert sign_events_api("k", 1700000000, body) == hmac.new(b"k", b"1700000000." + body, hashlib.sha256).hexdigest()


# ---------------------------------------------------------------- faults, counts

def test_faults_apply_to_rest_routes_only(pim):
    app, http = pim
    auth = _bearer(http)
    assert http.put("/sandbox/faults", json={"error_rate": 1.0, "statuses": [503]}).status_code == 200
    try:
        response = http.get(f"{API}/channels", headers=auth)
        assert response.status_code == 503 and response.json()["code"] == 503
        assert http.post("/api/oauth/v1/token", auth=CLIENT, json={
            "grant_type": "password", "username": "admin", "password": "admin"}).status_code == 200
    finally:
        app.state.pim.set_faults()
    assert http.get(f"{API}/channels", headers=auth).status_code == 200


def test_request_counts(pim):
    _, http = pim
    auth = _bearer(http)
    assert http.delete("/sandbox/requests").status_code == 204
    for _ in range(3):
        http.get(f"{API}/products-uuid", headers=auth)
    http.get(f"{API}/products/10970033", headers=auth)
    counts = http.get("/sandbox/requests").json()["counts"]
    assert counts[f"GET {API}/products-uuid"] == 3 and counts[f"GET {API}/products/{{code}}"] == 1


def test_connections_and_users_via_admin_routes(pim):
    _, http = pim
    assert http.post("/sandbox/connections", json={"client_id": "c2", "secret": "s2"}).status_code == 201
    assert http.post("/sandbox/users", json={"username": "blocked", "password": "pw",
                                             "permissions": "none"}).status_code == 201
    auth = _bearer(http, ("c2", "s2"), "blocked", "pw")
    assert http.get(f"{API}/channels", headers=auth).status_code == 403


# ---------------------------------------------------------------- the UI session route

def test_rest_user_with_and_without_a_session(pim):
    app, http = pim
    cookie = http.post("/sandbox/sessions", json={"username": "julia"}).json()["cookie"]
    response = http.get("/rest/user/", headers={"Cookie": f"BAPID={cookie}"})
    assert response.status_code == 200
    user = response.json()
    assert user["username"] == "julia" and user["email"] == "Julia@example.com"
    assert {"id", "user_default_locale", "catalog_default_locale", "first_name", "last_name"} <= set(user)
    xhr = http.get("/rest/user/", headers={"X-Requested-With": "XMLHttpRequest", "Cookie": "BAPID=nope"})
    assert xhr.status_code == 401 and "message" in xhr.json()
    redirect = http.get("/rest/user/", follow_redirects=False)
    assert redirect.status_code == 302 and redirect.headers["location"].endswith("/user/login")
    app.state.pim.advance_clock(3601)  # idle longer than the session lifetime
    try:
        assert http.get("/rest/user/", headers={"Cookie": f"BAPID={cookie}"}, follow_redirects=False).status_code == 302
    finally:
        app.state.pim.advance_clock(-3601)
    second = http.post("/sandbox/sessions", json={"username": "admin"}).json()["cookie"]
    assert http.request("DELETE", "/sandbox/sessions", json={"cookie": second}).status_code == 204
    assert http.get("/rest/user/", headers={"Cookie": f"BAPID={second}"}, follow_redirects=False).status_code == 302


# ---------------------------------------------------------------- throttling

def test_rate_limit_answers_429_with_retry_after():
    app = create_app(rate_limit=3)
    with serve(app) as base_url, httpx.Client(base_url=base_url) as http:
        auth = _bearer(http)
        statuses = [http.get(f"{API}/channels", headers=auth) for _ in range(6)]
    throttled = [r for r in statuses if r.status_code == 429]
    assert throttled, [r.status_code for r in statuses]
    assert int(throttled[0].headers["Retry-After"]) >= 1
    assert throttled[0].json()["code"] == 429


def test_concurrency_cap_per_connection():
    app = create_app(max_concurrency=2)
    app.state.pim.set_faults(latency=0.3)
    with serve(app) as base_url:
        with httpx.Client(base_url=base_url) as http:
            auth = _bearer(http)

        async def burst() -> list[int]:
            async with httpx.AsyncClient(base_url=base_url) as client:
                answers = await asyncio.gather(*(client.get(f"{API}/channels", headers=auth) for _ in range(6)))
            return [a.status_code for a in answers]

        statuses = asyncio.run(burst())
        assert statuses.count(200) == 2 and statuses.count(429) == 4

        async def paced() -> list[int]:  # at most two in flight: never refused
            sem = asyncio.Semaphore(2)
            async with httpx.AsyncClient(base_url=base_url) as client:
                async def one() -> int:
                    async with sem:
                        return (await client.get(f"{API}/channels", headers=auth)).status_code
                return list(await asyncio.gather(*(one() for _ in range(6))))

        assert asyncio.run(paced()) == [200] * 6


# ---------------------------------------------------------------- the command line

def test_command_line_serves_the_default_catalog_from_any_directory(tmp_path):
    repo = Path(__file__).resolve().parents[2]
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(repo), "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "sandbox.pim", "--port", str(port), "--client-id", "cli",
                             "--secret", "cli-secret"], cwd=tmp_path, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                with httpx.Client(base_url=f"http://127.0.0.1:{port}") as http:
                    auth = _bearer(http, ("cli", "cli-secret"))
                    body = http.get(f"{API}/products-uuid", headers=auth, params={"with_count": "true"}).json()
                break
            except httpx.ConnectError:
                assert proc.poll() is None and time.monotonic() < deadline, "the sandbox did not start"
                time.sleep(0.1)
        assert body["items_count"] == 1239
    finally:
        proc.terminate()
        output = proc.communicate(timeout=10)[0]
    assert f"http://127.0.0.1:{port}" in output and "cli-secret" in output


# ---------------------------------------------------------------- admin input is checked (422/400, never 500)

def _value(data, locale=None, scope=None) -> list[dict]:
    return [{"locale": locale, "scope": scope, "data": data}]


@pytest.mark.parametrize(("route", "body", "message"), [
    ("/sandbox/products", {"identifier": "x-parent", "parent": 1}, 'Property "parent" expects a string'),
    ("/sandbox/products", {"identifier": "x-family", "family": 1}, 'Property "family" expects a valid family'),
    ("/sandbox/products", {"identifier": "x-cats", "categories": [1]}, 'Property "categories"'),
    ("/sandbox/product-models", {"code": "x-model", "family_variant": 1}, 'Property "family_variant" expects'),
    ("/sandbox/product-models", {"code": "x-model", "parent": []}, 'Property "parent" expects a string'),
    ("/sandbox/users", {"username": 1, "password": 2}, "username and password are required"),
    ("/sandbox/users", {"username": "u", "password": "p", "permissions": 3}, "permissions"),
    ("/sandbox/connections", {"client_id": [], "secret": {}}, "client_id and secret are required"),
    ("/sandbox/connections", {"client_id": 1, "secret": 2}, "client_id and secret are required"),
    ("/sandbox/webhooks", {"url": 1, "secret": "s"}, "url"),
    ("/sandbox/webhooks", {"url": "ftp://x", "secret": "s"}, "url"),
])
def test_admin_bodies_of_the_wrong_type_are_422(pim, route, body, message):
    _, http = pim
    response = http.post(route, json=body)
    assert response.status_code == 422, response.text
    assert message in response.json()["message"]


@pytest.mark.parametrize("body", [{"error_rate": "x"}, {"error_rate": 2}, {"error_rate": 0, "statuses": "abc"},
                                  {"error_rate": 0, "statuses": [1.5]}, {"error_rate": 0, "statuses": [200]},
                                  {"latency": -1}, {"latency": True}])
def test_bad_faults_are_422_and_change_nothing(pim, body):
    app, http = pim
    before = app.state.pim.faults
    assert http.put("/sandbox/faults", json=body).status_code == 422
    assert app.state.pim.faults == before


@pytest.mark.parametrize(("values", "message"), [
    ({"price": _value([{"amount": "NaN", "currency": "EUR"}])}, 'Property "price" expects a numeric as data'),
    ({"price": _value([{"amount": "12.5"}])}, 'Property "price" expects an array with the key "currency".'),
    ({"price": _value([{"amount": "12.5", "currency": "XXX"}])}, "The currency does not exist"),
    ({"price": _value({"amount": 1, "currency": "EUR"})}, 'Property "price" expects an array as data'),
    ({"weight": _value({"amount": 1})}, 'Property "weight" expects an array with the key "unit".'),
    ({"weight": _value({"amount": "x", "unit": "KILOGRAM"})}, 'Property "weight" expects a numeric as data'),
    ({"weight": _value({"amount": 1, "unit": "METER"})}, 'measurement family, "METER" given.'),
    ({"optical_zoom": _value("abc")}, 'Property "optical_zoom" expects a numeric as data, "string" given.'),
    ({"color_scanning": _value("yes")}, 'Property "color_scanning" expects a boolean as data'),
    ({"name": _value({"a": 1})}, 'Property "name" expects a string as data, "array" given.'),
    ({"name": [{"locale": 1, "scope": None, "data": "x"}]}, "strings or null"),
])
def test_values_are_validated_like_akeneo(pim, values, message):
    app, http = pim
    before = json.dumps(app.state.pim.store.product("10970033"), default=str, sort_keys=True)
    response = http.patch("/sandbox/products/10970033", json={"values": values})
    assert response.status_code == 422, response.text
    assert message in response.json()["message"]
    created = http.post("/sandbox/products", json={"identifier": "never-stored", "values": values})
    assert created.status_code == 422 and app.state.pim.store.product("never-stored") is None
    # a refused change leaves the product as it was
    assert json.dumps(app.state.pim.store.product("10970033"), default=str, sort_keys=True) == before


def test_valid_values_are_accepted(pim):
    _, http = pim
    values = {"price": _value([{"amount": "12.50", "currency": "EUR"}, {"amount": None, "currency": "USD"}]),
              "weight": _value({"amount": "1.5", "unit": "GRAM"}), "optical_zoom": _value(4),
              "color_scanning": _value(True)}
    response = http.post("/sandbox/products", json={"identifier": "valid-values", "values": values})
    assert response.status_code == 201, response.text
    assert response.json()["values"]["weight"][0]["data"] == {"amount": "1.5", "unit": "GRAM"}
    assert http.delete("/sandbox/products/valid-values").status_code == 200


def test_the_admin_fuzz_table_never_answers_500(pim):
    _, http = pim
    bodies = [None, 1, "x", [], {}, [1], {"identifier": None}, {"identifier": 1}, {"identifier": "fz", "values": "x"},
              {"identifier": "fz", "values": {"name": [1]}}, {"code": None}, {"code": "fz-m", "family_variant": []},
              {"username": 1, "password": 2}, {"url": [], "secret": "s"}, {"cookie": 1}, {"error_rate": None}]
    routes = [("POST", "/sandbox/products"), ("PATCH", "/sandbox/products/10970033"), ("POST", "/sandbox/product-models"),
              ("PATCH", "/sandbox/product-models/amor"), ("POST", "/sandbox/users"), ("POST", "/sandbox/connections"),
              ("POST", "/sandbox/sessions"), ("DELETE", "/sandbox/sessions"), ("PUT", "/sandbox/faults"),
              ("POST", "/sandbox/webhooks")]
    try:
        for method, route in routes:
            for body in bodies:
                response = http.request(method, route, content=json.dumps(body))
                assert response.status_code < 500, (method, route, body, response.text)
        assert http.post("/sandbox/users", content='{"username":"n","password":NaN}').status_code == 400
    finally:
        http.put("/sandbox/faults", json={})
        http.delete("/sandbox/products/fz")


# ---------------------------------------------------------------- the login form's redirect

@pytest.mark.parametrize(("next_url", "allowed"), [
    ("/connector/pim?x=1", True),
    ("http://127.0.0.1:9999/pim/entry", True),   # the connector: same host name, another port
    ("https://127.0.0.1/x", True),
    ("", False),
    ("https://evil.example/steal", False),
    ("//evil.example/x", False),
    ("/\\evil.example", False),
    ("http://127.0.0.1.evil.example/", False),
    ("http://user@evil.example/", False),
    ("http://127.0.0.1@evil.example/", False),
    ("javascript:alert(1)", False),
    ("relative/path", False),
    ("http:///x", False),
    ("http://127.0.0.1:abc/", False),
])
def test_login_redirects_only_to_this_host(pim, next_url, allowed):
    _, http = pim
    response = http.post("/user/login", data={"_username": "admin", "_password": "admin", "next": next_url},
                         follow_redirects=False)
    assert response.status_code == 302 and "BAPID" in response.cookies
    assert response.headers["location"] == (next_url if allowed else "/user/login")


# ---------------------------------------------------------------- SaaS limits

def test_instance_concurrency_cap_across_connections():
    app = create_app(max_concurrency=4, max_instance_concurrency=5)
    app.state.pim.add_connection("other", "other-secret")
    with serve(app) as base_url:
        with httpx.Client(base_url=base_url) as http:
            first, second = _bearer(http), _bearer(http, ("other", "other-secret"))
        app.state.pim.set_faults(latency=0.3)

        async def burst() -> list[httpx.Response]:
            async with httpx.AsyncClient(base_url=base_url) as client:
                return list(await asyncio.gather(*(client.get(f"{API}/channels", headers=auth)
                                                   for auth in [first] * 4 + [second] * 4)))

        answers = asyncio.run(burst())
    statuses = [a.status_code for a in answers]
    assert statuses.count(200) == 5 and statuses.count(429) == 3, statuses
    refused = next(a for a in answers if a.status_code == 429)
    assert refused.headers["Retry-After"] == "1" and refused.json()["code"] == 429
    assert app.state.throttle.total_in_flight == 0


def test_command_line_turns_saas_limits_on_unless_told_otherwise(monkeypatch, capsys):
    import sandbox.pim.__main__ as cli

    served = []
    monkeypatch.setattr(cli.uvicorn, "run", lambda app, **kwargs: served.append(app))
    cli.main([])
    cli.main(["--no-limits"])
    cli.main(["--max-instance-concurrency", "3", "--rate-limit", "0"])
    limits = [(a.state.throttle.rate_limit, a.state.throttle.max_concurrency, a.state.throttle.max_instance_concurrency)
              for a in served]
    assert limits == [(100, 4, 10), (None, None, None), (None, 4, 3)]
    assert "100 requests/s, 4 in flight per connection, 10 in flight on the instance" in capsys.readouterr().out
    assert create_app().state.throttle.max_instance_concurrency is None  # the library default stays unlimited
