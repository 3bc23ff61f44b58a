"""The sandbox PIM's UI extensions over real HTTP: the REST API (create, list, update, delete,
validation, 401/403/404), the pages that embed them (iframe query parameters, the JWT an iframe is
given) and the action POST (body, signature, timeout), checked against a real receiver."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import threading
import time
from urllib.parse import parse_qs, urlsplit

import httpx
import jwt
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sandbox.pim import create_app, extensions
from tests.servers import serve

API = "/api/rest/v1/ui-extensions"
CLIENT = ("sandbox-client", "sandbox-secret")
SECRET = "s" * 16 + "-thirty-two-chars-or-more-0123"
XHR = {"X-Requested-With": "XMLHttpRequest"}


def _bearer(http: httpx.Client, username="admin", password="admin") -> dict[str, str]:
    response = http.post("/api/oauth/v1/token", auth=CLIENT,
                         json={"grant_type": "password", "username": username, "password": password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


class Receiver:
    """The extension's side: keeps each action POST (headers, raw body) and answers as told."""

    def __init__(self) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.delay = 0.0
        self.status = 200
        self.app = Starlette(routes=[Route("/action", self.action, methods=["POST"]),
                                     Route("/frame", self.frame, methods=["GET"])])

    async def action(self, request: Request) -> Response:
        self.received.append((dict(request.headers), await request.body()))
        if self.delay:
            await asyncio.sleep(self.delay)
        return JSONResponse({"message": "3 items queued for BigCommerce"}, status_code=self.status)

    async def frame(self, request: Request) -> Response:
        return Response("<!doctype html><p>extension</p>", media_type="text/html")


@pytest.fixture(scope="module")
def env():
    app = create_app()
    receiver = Receiver()
    with serve(app) as pim_url, serve(receiver.app) as ext_url, \
            httpx.Client(base_url=pim_url, timeout=30) as http:
        yield app, http, receiver, ext_url


@pytest.fixture
def admin(env):
    app, http, _, _ = env
    app.state.pim.ui_extensions.clear()
    return _bearer(http)


def _iframe(ext_url: str, position="pim.product.tab", **config) -> dict:
    return {"name": f"iframe_{position}", "version": "1.0", "type": "iframe", "position": position,
            "configuration": {"url": f"{ext_url}/frame", "default_label": "BigCommerce",
                              "labels": {"en_US": "BigCommerce status"}, "secret": SECRET, **config}}


def _action(ext_url: str, secret: str | None = SECRET) -> dict:
    config = {"url": f"{ext_url}/action", "default_label": "Send to BigCommerce"}
    if secret:
        config["secret"] = secret
    return {"name": "send_to_bc", "type": "action", "position": "pim.product-grid.action-bar",
            "configuration": config}


# ---------------------------------------------------------------- the REST API

def test_without_a_valid_token_the_api_answers_401(env):
    _, http, _, ext_url = env
    assert http.get(API).status_code == 401
    assert http.post(API, json=_iframe(ext_url)).json() == {"code": 401, "message": "Authentication is required"}
    bad = {"Authorization": "Bearer nope"}
    assert http.patch(f"{API}/00000000-0000-0000-0000-000000000000", headers=bad, json={}).status_code == 401
    assert http.delete(f"{API}/00000000-0000-0000-0000-000000000000", headers=bad).status_code == 401


def test_create_list_update_delete(env, admin):
    app, http, _, ext_url = env
    created = http.post(API, headers=admin, json=_iframe(ext_url))
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["status"] == "active" and body["type"] == "iframe" and body["position"] == "pim.product.tab"
    assert "secret" not in body["configuration"]  # a secret never comes back out
    assert body["configuration"]["labels"] == {"en_US": "BigCommerce status"}
    uuid = body["uuid"]
    assert [e["uuid"] for e in http.get(API, headers=admin).json()] == [uuid]

    patched = http.patch(f"{API}/{uuid}", headers=admin,
                         json={"version": "1.1", "configuration": {"url": f"{ext_url}/frame?v=2"}})
    assert patched.status_code == 200, patched.text
    assert patched.json()["version"] == "1.1"
    assert patched.json()["configuration"]["url"].endswith("/frame?v=2")
    stored = app.state.pim.ui_extensions[uuid]
    assert stored.configuration["secret"] == SECRET  # the merge kept the secret and the labels
    assert stored.configuration["labels"] == {"en_US": "BigCommerce status"}

    assert http.delete(f"{API}/{uuid}", headers=admin).status_code == 204
    assert http.get(API, headers=admin).json() == []
    gone = http.delete(f"{API}/{uuid}", headers=admin)
    assert gone.status_code == 404
    assert gone.json() == {"code": 404, "message": "This UI Extension does not exist or you don't have access."}
    assert http.patch(f"{API}/{uuid}", headers=admin, json={"version": "2"}).status_code == 404


@pytest.mark.parametrize(("change", "prop"), [
    (lambda b: b.pop("name"), "name"),
    (lambda b: b.update(type="widget"), "type"),
    (lambda b: b.update(position="pim.nowhere"), "position"),
    (lambda b: b.update(position="pim.product.header"), "position"),  # iframes cannot go in a header
    (lambda b: b["configuration"].pop("secret"), "configuration.secret"),  # mandatory for an iframe
    (lambda b: b["configuration"].update(secret="short"), "configuration.secret"),
    (lambda b: b["configuration"].pop("default_label"), "configuration.default_label"),
    (lambda b: b["configuration"].update(url="not a url"), "configuration.url"),
    (lambda b: b["configuration"].update(url="http://example.com/frame"), "configuration.url"),  # https only
    (lambda b: b.update(colour="red"), "colour"),
    (lambda b: b.update(status="paused"), "status"),
    (lambda b: b.update(credentials=[{"type": "Magic"}]), "credentials[0].type"),
])
def test_validation_errors_are_422_and_store_nothing(env, admin, change, prop):
    app, http, _, ext_url = env
    body = _iframe(ext_url)
    change(body)
    response = http.post(API, headers=admin, json=body)
    assert response.status_code == 422, response.text
    assert response.json()["message"] == "Validation failed."
    assert prop in [e["property"] for e in response.json()["errors"]]
    assert app.state.pim.ui_extensions == {}


def test_a_patch_is_validated_as_a_whole_and_a_refused_one_changes_nothing(env, admin):
    app, http, _, ext_url = env
    uuid = http.post(API, headers=admin, json=_iframe(ext_url)).json()["uuid"]
    refused = http.patch(f"{API}/{uuid}", headers=admin, json={"type": "link"})  # link is not for tabs
    assert refused.status_code == 422
    assert app.state.pim.ui_extensions[uuid].type == "iframe"
    assert http.post(API, headers=admin, content=b"{nope").status_code == 400
    assert http.post(API, headers=admin, json=[1]).status_code == 400


def test_an_action_may_go_unsigned_and_links_take_placeholders(env, admin):
    _, http, _, ext_url = env
    assert http.post(API, headers=admin, json=_action(ext_url, secret=None)).status_code == 201
    link = {"name": "search", "type": "link", "position": "pim.product.header",
            "configuration": {"url": "%base_url%/p/%sku%", "default_label": "Search"}}
    assert http.post(API, headers=admin, json=link).status_code == 201


def test_without_the_manage_extensions_permission_the_api_answers_403(env, admin):
    app, http, _, ext_url = env
    uuid = http.post(API, headers=admin, json=_iframe(ext_url)).json()["uuid"]
    assert http.put("/sandbox/users/admin/acl", json={"manage_extensions": False}).status_code == 200
    try:
        for response in (http.get(API, headers=admin), http.post(API, headers=admin, json=_iframe(ext_url)),
                         http.patch(f"{API}/{uuid}", headers=admin, json={"version": "2"}),
                         http.delete(f"{API}/{uuid}", headers=admin)):
            assert response.status_code == 403
            assert response.json()["code"] == 403
        assert list(app.state.pim.ui_extensions) == [uuid]
    finally:
        http.put("/sandbox/users/admin/acl", json={"manage_extensions": True})
    assert http.put("/sandbox/users/admin/acl", json={"manage_extensions": "no"}).status_code == 422
    made = http.post("/sandbox/users", json={"username": "noext", "password": "pw", "manage_extensions": False})
    assert made.json()["manage_extensions"] is False
    assert http.get(API, headers=_bearer(http, "noext", "pw")).status_code == 403


def test_an_extension_belongs_to_the_user_that_created_it(env, admin):
    _, http, _, ext_url = env
    uuid = http.post(API, headers=admin, json=_iframe(ext_url)).json()["uuid"]
    julia = _bearer(http, "julia", "julia")
    assert http.get(API, headers=julia).json() == []
    assert http.patch(f"{API}/{uuid}", headers=julia, json={"version": "9"}).status_code == 404
    assert http.delete(f"{API}/{uuid}", headers=julia).status_code == 404
    assert [e["uuid"] for e in http.get(API, headers=admin).json()] == [uuid]
    listed = http.get("/sandbox/ui-extensions").json()["extensions"]
    assert [(e["uuid"], e["owner"], e["signed"]) for e in listed] == [(uuid, "admin", True)]


# ---------------------------------------------------------------- pages, iframes and the JWT

def _session(app, username="admin") -> dict[str, str]:
    """The PIM UI session's cookie, as a header (per-request cookies are deprecated in httpx)."""
    return {"Cookie": f"BAPID={app.state.pim.open_session(username)}"}


def _frame_src(page_html: str) -> dict[str, list[str]]:
    start = page_html.index("src='", page_html.index("<iframe")) + 5
    src = page_html[start:page_html.index("'", start)].replace("&amp;", "&")
    return parse_qs(urlsplit(src).query)


def test_pages_need_a_pim_session(env):
    _, http, _, _ = env
    for path in ("/sandbox/ui", "/sandbox/ui/products"):
        response = http.get(path, follow_redirects=False)
        assert response.status_code == 302 and response.headers["location"].startswith("/user/login?next=")


def test_the_product_tab_opens_the_iframe_with_the_pims_parameters(env, admin):
    app, http, _, ext_url = env
    uuid = http.post(API, headers=admin, json=_iframe(ext_url)).json()["uuid"]
    app.state.pim.tenant = "acme-prod"
    product = next(p for p in app.state.pim.store.products.values() if not p.get("parent"))
    cookies = _session(app)
    plain = http.get(f"/sandbox/ui/products/{product['uuid']}", headers=cookies)
    assert plain.status_code == 200 and f"data-extension='{uuid}'" in plain.text and "BigCommerce status" in plain.text
    page = http.get(f"/sandbox/ui/products/{product['uuid']}?tab={uuid}", headers=cookies)
    params = _frame_src(page.text)
    user = app.state.pim.user("admin")
    assert params["product[uuid]"] == [product["uuid"]]
    assert params["product[identifier]"] == [product["identifier"]]
    assert params["user[uuid]"] == [user.uuid] and params["user[id]"] == [str(user.id)]
    assert params["user[username]"] == ["admin"] and params["user[email]"] == [user.email]
    assert params["user[ui_locale]"] == ["en_US"] and params["user[catalog_locale]"] == ["en_US"]
    assert params["user[catalog_scope]"] == ["ecommerce"]
    assert params["position"] == ["pim.product.tab"] and params["tenant"] == ["acme-prod"]


def test_model_and_navigation_pages(env, admin):
    app, http, _, ext_url = env
    tab = http.post(API, headers=admin, json=_iframe(ext_url, "pim.product-model.tab")).json()["uuid"]
    nav = http.post(API, headers=admin, json=_iframe(ext_url, "pim.activity.navigation.tab")).json()["uuid"]
    cookies = _session(app)
    root = next(m for m in app.state.pim.store.models.values() if not m.get("parent"))
    params = _frame_src(http.get(f"/sandbox/ui/product-models/{root['code']}?tab={tab}", headers=cookies).text)
    assert params["product[code]"] == [root["code"]] and params["position"] == ["pim.product-model.tab"]
    assert f"/sandbox/ui/extensions/{nav}" in http.get("/sandbox/ui", headers=cookies).text
    params = _frame_src(http.get(f"/sandbox/ui/extensions/{nav}", headers=cookies).text)
    assert params["position"] == ["pim.activity.navigation.tab"] and "product[uuid]" not in params
    assert http.get(f"/sandbox/ui/extensions/{tab}", headers=cookies).status_code == 404  # not a navigation tab


def test_the_jwt_for_an_iframe_verifies_with_the_secret_and_carries_the_claims(env, admin):
    app, http, _, ext_url = env
    uuid = http.post(API, headers=admin, json=_iframe(ext_url)).json()["uuid"]
    cookies = _session(app)
    response = http.get(f"/sandbox/ui/extensions/{uuid}/jwt", headers={**cookies, **XHR})
    assert response.status_code == 200
    token = response.json()["token"]
    assert jwt.get_unverified_header(token) == {"alg": "HS256", "typ": "JWT"}
    claims = jwt.decode(token, SECRET, algorithms=["HS256"])
    user = app.state.pim.user("admin")
    assert set(claims) == {"jti", "iat", "exp", "userId", "userUuid"}
    assert claims["userId"] == str(user.id) and claims["userUuid"] == user.uuid
    assert claims["exp"] - claims["iat"] == pytest.approx(3600)
    assert abs(claims["iat"] - time.time()) < 60
    again = jwt.decode(http.get(f"/sandbox/ui/extensions/{uuid}/jwt", headers={**cookies, **XHR}).json()["token"],
                       SECRET, algorithms=["HS256"])
    assert again["jti"] != claims["jti"]
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(token, "another-secret-of-thirty-two-characters", algorithms=["HS256"])
    assert http.get(f"/sandbox/ui/extensions/{uuid}/jwt", headers=XHR).status_code == 401  # no session
    assert http.get(f"/sandbox/ui/extensions/{uuid}/jwt", headers=cookies).status_code == 401  # not the PIM's XHR


# ---------------------------------------------------------------- the action POST

def test_a_grid_action_posts_the_signed_body_and_shows_the_answer(env, admin):
    app, http, receiver, ext_url = env
    receiver.received.clear()
    uuid = http.post(API, headers=admin, json=_action(ext_url)).json()["uuid"]
    cookies = _session(app)
    grid = http.get("/sandbox/ui/products", headers=cookies)
    assert f"class='extension-action' data-extension='{uuid}'" in grid.text
    product = next(iter(app.state.pim.store.products.values()))
    model = next(iter(app.state.pim.store.models.values()))
    selection = {"productUuids": [product["uuid"]], "productModelCodes": [model["code"]]}
    outcome = http.post(f"/sandbox/ui/actions/{uuid}", headers={**cookies, **XHR}, json=selection).json()
    assert outcome["ok"] is True and outcome["status"] == 200
    assert outcome["message"] == "3 items queued for BigCommerce"
    headers, raw = receiver.received[-1]
    expected = "sha512=" + hmac.new(SECRET.encode(), raw, hashlib.sha512).hexdigest()
    assert hmac.compare_digest(headers["signature"], expected)
    assert headers["content-type"] == "application/json"
    body = json.loads(raw)
    user = app.state.pim.user("admin")
    assert body["data"] == selection
    assert body["context"] == {"locale": "en_US", "channel": "ecommerce"}
    assert body["user"] == {"uuid": user.uuid, "username": "admin", "groups": user.groups}
    assert isinstance(body["timestamp"], int) and abs(body["timestamp"] - time.time()) < 60
    calls = http.get("/sandbox/ui-extensions/calls").json()["calls"]
    assert calls[-1]["extension"] == uuid and calls[-1]["status"] == 200 and calls[-1]["signed"] is True


def test_an_unsigned_action_a_timeout_and_the_limits(env, admin, monkeypatch):
    app, http, receiver, ext_url = env
    uuid = http.post(API, headers=admin, json=_action(ext_url, secret=None)).json()["uuid"]
    cookies = _session(app)
    one = {"productUuids": [next(iter(app.state.pim.store.products.values()))["uuid"]], "productModelCodes": []}
    receiver.received.clear()
    assert http.post(f"/sandbox/ui/actions/{uuid}", headers={**cookies, **XHR}, json=one).json()["ok"] is True
    assert "signature" not in receiver.received[-1][0]

    monkeypatch.setattr(extensions, "ACTION_TIMEOUT", 0.2)  # the PIM's 5 s, shortened for the test
    receiver.delay = 0.6
    try:
        started = time.monotonic()
        late = http.post(f"/sandbox/ui/actions/{uuid}", headers={**cookies, **XHR}, json=one).json()
        assert time.monotonic() - started < 0.55
    finally:
        receiver.delay = 0.0
    assert late["ok"] is False and "did not answer" in late["message"]

    receiver.status = 500
    try:
        failed = http.post(f"/sandbox/ui/actions/{uuid}", headers={**cookies, **XHR}, json=one).json()
    finally:
        receiver.status = 200
    assert failed["ok"] is False and failed["status"] == 500

    too_many = {"productUuids": [f"u{i}" for i in range(501)], "productModelCodes": []}
    assert http.post(f"/sandbox/ui/actions/{uuid}", headers={**cookies, **XHR}, json=too_many).status_code == 422
    empty = {"productUuids": [], "productModelCodes": []}
    assert http.post(f"/sandbox/ui/actions/{uuid}", headers={**cookies, **XHR}, json=empty).status_code == 422
    assert http.post(f"/sandbox/ui/actions/{uuid}", headers=XHR, json=one).status_code == 401


def test_an_action_runs_once_at_a_time(env, admin):
    app, http, receiver, ext_url = env
    uuid = http.post(API, headers=admin, json=_action(ext_url)).json()["uuid"]
    cookies = _session(app)
    one = {"productUuids": ["x"], "productModelCodes": []}
    receiver.delay = 0.5
    results: list[int] = []

    def press() -> None:
        with httpx.Client(base_url=str(http.base_url), timeout=10) as other:
            results.append(other.post(f"/sandbox/ui/actions/{uuid}", headers={**cookies, **XHR},
                                      json=one).status_code)

    try:
        first = threading.Thread(target=press)
        first.start()
        deadline = time.monotonic() + 5
        while uuid not in app.state.pim.actions_running and time.monotonic() < deadline:
            time.sleep(0.01)
        second = http.post(f"/sandbox/ui/actions/{uuid}", headers={**cookies, **XHR}, json=one)
        first.join()
    finally:
        receiver.delay = 0.0
    assert second.status_code == 409 and results == [200]


def test_php_json_escapes_like_the_pims_client():
    assert extensions.php_json({"a": "x/y<é>"}) == b'{"a":"x\\/y\\u003C\\u00e9\\u003E"}'


def test_groups_can_be_sent_as_objects_as_one_docs_copy_shows(env, admin):
    app, http, receiver, ext_url = env
    uuid = http.post(API, headers=admin, json=_action(ext_url)).json()["uuid"]
    assert http.put("/sandbox/ui-extensions/groups-format", json={"format": "objects"}).status_code == 200
    try:
        http.post(f"/sandbox/ui/actions/{uuid}", headers={**_session(app), **XHR},
                  json={"productUuids": ["x"], "productModelCodes": []})
    finally:
        http.put("/sandbox/ui-extensions/groups-format", json={"format": "names"})
    groups = json.loads(receiver.received[-1][1])["user"]["groups"]
    assert groups and all(set(g) == {"id", "name"} for g in groups)
    assert http.put("/sandbox/ui-extensions/groups-format", json={"format": "x"}).status_code == 422


def test_header_actions_send_the_page_item_and_inactive_extensions_hide(env, admin):
    app, http, receiver, ext_url = env
    body = {**_action(ext_url), "position": "pim.product.header"}
    uuid = http.post(API, headers=admin, json=body).json()["uuid"]
    tab = http.post(API, headers=admin, json=_iframe(ext_url)).json()["uuid"]
    product = next(iter(app.state.pim.store.products.values()))
    cookies = _session(app)
    page = http.get(f"/sandbox/ui/products/{product['uuid']}", headers=cookies).text
    assert f"data-extension='{uuid}'" in page and "productUuid" in page
    outcome = http.post(f"/sandbox/ui/actions/{uuid}", headers={**cookies, **XHR},
                        json={"productUuid": product["uuid"]}).json()
    assert outcome["ok"] is True
    assert json.loads(receiver.received[-1][1])["data"] == {"productUuid": product["uuid"]}
    assert http.patch(f"{API}/{tab}", headers=admin, json={"status": "inactive"}).json()["status"] == "inactive"
    assert f"data-extension='{tab}'" not in http.get(f"/sandbox/ui/products/{product['uuid']}", headers=cookies).text
    assert http.get(f"/sandbox/ui/extensions/{tab}/jwt", headers={**cookies, **XHR}).status_code == 404


def test_a_pim_without_ui_extensions_answers_404_and_a_product_page_takes_an_identifier(env, admin):
    app, http, _, ext_url = env
    assert http.put("/sandbox/ui-extensions/enabled", json={"enabled": False}).status_code == 200
    try:
        assert http.get(API, headers=admin).status_code == 404
        assert http.post(API, headers=admin, json=_iframe(ext_url)).status_code == 404
        assert http.get(API).status_code == 401  # authentication still comes first
    finally:
        http.put("/sandbox/ui-extensions/enabled", json={"enabled": True})
    assert http.get(API, headers=admin).status_code == 200
    product = next(iter(app.state.pim.store.products.values()))
    page = http.get(f"/sandbox/ui/products/{product['identifier']}", headers=_session(app))
    assert page.status_code == 200 and f"id='product-identifier'>{product['identifier']}<" in page.text


def test_the_navigation_tab_jwt_can_be_withheld(env, admin):
    app, http, _, ext_url = env
    nav = http.post(API, headers=admin, json=_iframe(ext_url, "pim.activity.navigation.tab")).json()["uuid"]
    cookies = {**_session(app), **XHR}
    assert http.get(f"/sandbox/ui/extensions/{nav}/jwt", headers=cookies).status_code == 200
    assert http.put("/sandbox/ui-extensions/navigation-jwt", json={"enabled": False}).status_code == 200
    try:
        assert http.get(f"/sandbox/ui/extensions/{nav}/jwt", headers=cookies).status_code == 404
    finally:
        http.put("/sandbox/ui-extensions/navigation-jwt", json={"enabled": True})


def test_the_category_tab_and_the_location_of_a_new_extension(env, admin):
    app, http, _, ext_url = env
    created = http.post(API, headers=admin, json=_iframe(ext_url, "pim.category.tab"))
    uuid = created.json()["uuid"]
    assert created.headers["location"].endswith(f"{API}/{uuid}")
    code = next(iter(app.state.pim.store.categories.values()))["code"]
    params = _frame_src(http.get(f"/sandbox/ui/categories/{code}?tab={uuid}", headers=_session(app)).text)
    assert params["category[code]"] == [code] and params["position"] == ["pim.category.tab"]


def test_the_sandbox_clock_makes_an_expired_jwt(env, admin):
    app, http, _, ext_url = env
    uuid = http.post(API, headers=admin, json=_iframe(ext_url)).json()["uuid"]
    cookies = {**_session(app), **XHR}
    app.state.pim.advance_clock(-7200)
    try:
        token = http.get(f"/sandbox/ui/extensions/{uuid}/jwt", headers=cookies).json()["token"]
    finally:
        app.state.pim.advance_clock(7200)
    with pytest.raises(jwt.ExpiredSignatureError):
        jwt.decode(token, SECRET, algorithms=["HS256"])
