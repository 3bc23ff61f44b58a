"""The configuration API under bad input (review "[config]"): every bad value is a 422 (or 409/413),
never a 500, nothing stored is lost or corrupted, and no secret is ever echoed. Also the connection
verdicts that need the sandboxes to misbehave: timeouts, 401 on reads, redirects, read-only scopes."""

from __future__ import annotations

import asyncio
import json
from urllib.parse import quote

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import RedirectResponse
from starlette.routing import Route

from service.clients.akeneo import AkeneoClient
from service.clients.akeneo_errors import AkeneoNotFound, AkeneoValidationError
from service.clients.bigcommerce import BigCommerceClient
from service.clients.bigcommerce_errors import BigCommerceUnreachable
from service.config import checks, choices, forms
from service.refusal import Refusal
from service.web import config_api
from service.web.errors import ApiError, error_response
from tests.config_env import (
    BC_CLIENT,
    BC_SECRET,
    BC_TOKEN,
    PIM_PASSWORD,
    PIM_SECRET,
    STORE,
    Client,
    bc_like,
    bc_sandbox_app,
    pim_sandbox,
)
from tests.servers import serve

BC_READ_ONLY_PRODUCTS = bc_like()
MAIN = {"locale": "en_US", "channel": "ecommerce", "category": "master"}
EVENT_SECRET = "event-secret-0123456789"


@pytest.fixture(scope="module")
def bc():
    app = bc_sandbox_app()
    app.state.bc.add_token(STORE, BC_READ_ONLY_PRODUCTS,
                           scopes=("store_v2_information_read_only", "store_v2_products_read_only"))
    app.state.bc.set_rate_limit(STORE, 150, 30000, unlimited=True)  # the fuzz test makes many checks
    with serve(app) as url:
        yield url, app


def bc_body(**changes):
    return {"store_hash": STORE, "client_id": BC_CLIENT, "access_token": BC_TOKEN, **changes}


def put_raw(client: Client, path: str, body) -> object:
    """PUT a body as JSON text; json.dumps escapes lone surrogates, so they arrive as such."""
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return client.http.put(path, content=data, headers={"Content-Type": "application/json"})


def snapshot(client: Client) -> tuple:
    store, tenant = client.store, client.tenant
    return (store.all_sections(tenant), store.get_credentials(tenant, "pim"),
            store.get_credentials(tenant, "bigcommerce"), store.get_credentials(tenant, "events"))


def connect_all(client: Client, pim_url: str) -> None:
    client.connect_pim(pim_url)
    response = client.put("/api/config/bigcommerce", bc_body())
    assert response.status_code == 200 and response.json()["connected"], response.text
    assert client.put("/api/config/main", MAIN).status_code == 200
    assert client.put("/api/config/events", {"secret": EVENT_SECRET}).status_code == 200


# --- a failed or crashed check never corrupts what is stored -------------------------------


def test_bad_token_after_a_good_one_is_refused_and_keeps_the_good_one(client, pim_url):
    connect_all(client, pim_url)
    before = snapshot(client)
    response = put_raw(client, "/api/config/bigcommerce", bc_body(access_token="tök"))
    assert response.status_code == 422 and set(response.json()["fields"]) == {"access_token"}
    assert "tök" not in response.text
    assert snapshot(client) == before
    assert client.get("/api/config").json()["bigcommerce"]["connected"] is True


@pytest.mark.parametrize("changes,field", [
    ({"client_id": "x\ud800"}, "client_id"),
    ({"url": "http://exa\u0000mple.com"}, "url"),
    ({"url": "http://a\ud800b.com"}, "url"),
    ({"secret": "s\ud800"}, "secret"),
    ({"password": "p\udfff"}, "password"),
    ({"username": "a\nb"}, "username"),
])
def test_unusable_pim_values_are_refused_before_anything_is_stored(client, pim_url, changes, field):
    connect_all(client, pim_url)
    before = snapshot(client)
    response = put_raw(client, "/api/config/pim", client.pim_body(pim_url, **changes))
    assert response.status_code == 422 and field in response.json()["fields"], response.text
    assert snapshot(client) == before
    # Everything that reads the PIM still works.
    assert client.get("/api/pim/channels").status_code == 200
    assert client.put("/api/config/main", MAIN).status_code == 200


def test_a_crashing_pim_check_stores_nothing(client, pim_url, monkeypatch):
    connect_all(client, pim_url)
    before = snapshot(client)

    async def boom(self):
        raise RuntimeError("unexpected")

    monkeypatch.setattr(AkeneoClient, "check_connection", boom)
    response = client.put("/api/config/pim", client.pim_body(pim_url, password="another-password"))
    assert response.status_code == 422 and "password" in response.json()["fields"]
    assert "another-password" not in response.text
    assert snapshot(client) == before


def test_a_crashing_bigcommerce_check_stores_nothing(client, pim_url, monkeypatch):
    connect_all(client, pim_url)
    before = snapshot(client)

    async def boom(self, *args, **kwargs):
        raise UnicodeEncodeError("ascii", "x", 0, 1, "unexpected")

    monkeypatch.setattr(BigCommerceClient, "get_time", boom)
    new_token = bc_like()
    response = client.put("/api/config/bigcommerce", bc_body(access_token=new_token))
    assert response.status_code == 422 and "access_token" in response.json()["fields"]
    assert new_token not in response.text
    assert snapshot(client) == before


def test_a_failed_check_is_stored_as_an_attempt_beside_the_credentials_in_force(client, pim_url):
    """A failed re-test never replaces the credentials that passed (issue 8)."""
    connect_all(client, pim_url)
    body = client.put("/api/config/pim", client.pim_body(pim_url, password="wrong-password")).json()
    assert body["connected"] is False and body["previous_in_use"] is True
    assert client.store.get_section(client.tenant, "pim")["connected"] is True
    assert client.store.get_credentials(client.tenant, "pim")["password"] == PIM_PASSWORD
    assert client.store.get_section(client.tenant, "pim_attempt")["connected"] is False
    assert client.get("/api/pim/channels").status_code == 200


def test_stored_credentials_from_before_the_checks_answer_409_not_500(client, pim_url):
    """Credentials corrupted by the old code (stored before the check crashed) must not break the page."""
    connect_all(client, pim_url)
    creds = client.store.get_credentials(client.tenant, "pim")
    client.store.put_credentials(client.tenant, "pim", {**creds, "url": "http://exa\u0000mple.com"})
    for path in ("/api/pim/channels", "/api/pim/locales", "/api/pim/categories"):
        response = client.get(path)
        assert response.status_code == 409 and response.json()["error"] == "pim_not_connected", path
    assert client.put("/api/config/main", MAIN).status_code == 409
    client.store.put_credentials(client.tenant, "pim", {**creds, "client_id": "x\ud800"})
    assert client.get("/api/pim/channels").status_code == 409
    assert client.put("/api/config/main", MAIN).status_code == 409


# --- other 500s ---------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/api/config/pim", "/api/config/bigcommerce", "/api/config/main",
                                  "/api/config/events"])
def test_absurdly_nested_json_is_422(client, pim_url, path):
    connect_all(client, pim_url)
    before = snapshot(client)
    for raw in (b"[" * 5000 + b"]" * 5000, b'{"a":' * 5000 + b"1" + b"}" * 5000):
        response = put_raw(client, path, raw)
        assert response.status_code == 422 and "body" in response.json()["fields"], response.text
    assert snapshot(client) == before


@pytest.mark.parametrize("store_hash", ["https://[::1/stores/abc", "http://[/stores/abc", "[::1/stores/abc.x",
                                        "\ud800", "stores/\u0000abc"])
def test_store_hash_that_is_not_a_url_is_422(client, store_hash):
    response = put_raw(client, "/api/config/bigcommerce", bc_body(store_hash=store_hash))
    assert response.status_code == 422 and "store_hash" in response.json()["fields"], response.text
    assert client.store.get_section(client.tenant, "bigcommerce") == {}


@pytest.mark.parametrize("limit", ["²", "%C2%B2", "٣", "1e2", "-1", "%2B5", "5x", "1000000000000000000000"])
def test_category_limit_must_be_ascii_digits(client, pim_url, limit):
    client.connect_pim(pim_url)
    response = client.http.get(f"/api/pim/categories?limit={limit}")
    assert response.status_code == 422 and "limit" in response.json()["fields"], response.text


@pytest.mark.parametrize("field", ["locale", "channel", "category"])
@pytest.mark.parametrize("value", ["\ud800", "x\udfff", "a\u0000b", "a\nb", "..", "."])
def test_main_codes_that_cannot_be_looked_up_are_422(client, pim_url, field, value):
    connect_all(client, pim_url)
    before = snapshot(client)
    response = put_raw(client, "/api/config/main", {**MAIN, field: value})
    assert response.status_code == 422 and field in response.json()["fields"], response.text
    assert snapshot(client) == before


@pytest.mark.parametrize("url", ["http://a..b.com", "http://" + "a" * 70 + ".com", "http://xn--.com",
                                 "http://\u00e4" + "x" * 70 + ".com", "http://[::1", "http://user:pw@pim.example.com"])
def test_pim_urls_httpx_or_the_resolver_refuse_are_422(client, pim_url, url):
    client.connect_pim(pim_url)
    before = snapshot(client)
    response = put_raw(client, "/api/config/pim", client.pim_body(url))
    assert response.status_code == 422 and "url" in response.json()["fields"], response.text
    assert "pw@" not in response.text
    assert snapshot(client) == before


def test_error_bodies_with_unencodable_text_still_answer():
    response = error_response(422, "invalid", "bad \ud800 value", fields={"x\udc00": "is \ud800"})
    body = json.loads(response.body)
    assert body["error"] == "invalid" and "\ud800" not in body["message"]


# --- read-only Products is not green -------------------------------------------------------


def test_read_only_products_token_lacks_modify(client, bc):
    products = dict(bc[1].state.bc.stores[STORE].products)
    body = client.put("/api/config/bigcommerce", bc_body(access_token=BC_READ_ONLY_PRODUCTS)).json()
    assert body["connected"] is False
    assert "Products (modify)" in body["message"] and any("modify" in h for h in body["hints"])
    assert client.store.tenant_for_store(STORE) is None
    assert bc[1].state.bc.stores[STORE].products == products


def test_modify_token_passes_the_write_probe_and_changes_nothing(client, bc):
    store = bc[1].state.bc.stores[STORE]
    products = json.dumps(store.products, sort_keys=True, default=str)
    store.log.clear()
    body = client.put("/api/config/bigcommerce", bc_body()).json()
    assert body["connected"] is True, body
    probes = [e for e in store.log if e["method"] == "PUT" and e["path"].endswith("/v3/catalog/products")]
    assert [e["status"] for e in probes] == [200]
    assert json.dumps(store.products, sort_keys=True, default=str) == products


# --- header-illegal tokens, secrets never echoed --------------------------------------------


@pytest.mark.parametrize("token", ["a\nb", "abc\r\ndef", "a b c", "to\u00e9ken", "tok\ud800", "a\u0000b"])
def test_header_illegal_token_is_422_and_never_echoed(client, pim_url, token):
    connect_all(client, pim_url)
    before = snapshot(client)
    response = put_raw(client, "/api/config/bigcommerce", bc_body(access_token=token))
    assert response.status_code == 422 and set(response.json()["fields"]) == {"access_token"}, response.text
    for form in (token, repr(token)[1:-1], repr(token.encode("utf-8", "backslashreplace"))[2:-1]):
        assert form not in response.text
    assert snapshot(client) == before


def test_check_messages_never_quote_the_token(service, monkeypatch):
    """Even if a client error quotes the token (httpx does: "Illegal header value b'…'"), it is scrubbed."""
    token = bc_like()

    async def refuse(self, *args, **kwargs):
        raise BigCommerceUnreachable(f"connection failed: LocalProtocolError(\"Illegal header value b'{token}'\")",
                                     "refused")

    monkeypatch.setattr(BigCommerceClient, "get_time", refuse)
    result = asyncio.run(checks.check_bigcommerce(service[0].state.settings, STORE, token, BC_CLIENT))
    assert result["connected"] is False and token not in json.dumps(result)


def test_scrub_removes_escaped_forms():
    assert checks.scrub("value b'a\\nb' and 'a\nb' and s\\xe9c", ["a\nb", "s\u00e9c"]) == "value b'…' and '…' and …"


def test_a_short_secret_is_masked_where_it_stands_alone_not_inside_words():
    message = "The PIM at https://pim.example refused user p: password p is wrong (p)"
    assert checks.scrub(message, ["p"]) == "The PIM at https://pim.example refused user …: password … is wrong (…)"
    # a long one is masked wherever it appears, also inside other text
    assert checks.scrub("token=abcdef123456xyz", ["abcdef123456"]) == "token=…xyz"


# --- an unknown code is the request's fault, not a PIM that is down -------------------------


def test_locales_of_an_unknown_channel_is_422(client, pim_url):
    client.connect_pim(pim_url)
    response = client.get("/api/pim/locales", params={"channel": "nope"})
    assert response.status_code == 422 and "not a channel" in response.json()["fields"]["channel"]
    assert "may be down" not in response.text


@pytest.mark.parametrize("exc", [AkeneoNotFound("Category \"nope\" does not exist.", 404),
                                 AkeneoValidationError("Property \"parent\" expects a valid code.", 422)])
def test_a_pim_refusing_the_parent_is_422_on_parent(exc):
    with pytest.raises(Refusal) as caught, choices.refused_as_invalid("parent", "nope"):
        raise exc
    error = caught.value
    assert error.status == 422 and "parent" in error.extra["fields"]


# --- events secret, body size ---------------------------------------------------------------


@pytest.mark.parametrize("secret", ["abcdefgh\ud800", "abcd\nefgh", "abcdefgh\u0000"])
def test_event_secret_with_unusable_characters_is_422(client, secret):
    client.put("/api/config/events", {"secret": EVENT_SECRET})
    response = put_raw(client, "/api/config/events", {"secret": secret})
    assert response.status_code == 422 and "secret" in response.json()["fields"]
    assert client.store.get_credentials(client.tenant, "events") == {"secret": EVENT_SECRET}


def test_too_large_body_is_413_and_stores_nothing(client, pim_url):
    connect_all(client, pim_url)
    before = snapshot(client)
    body = json.dumps({"secret": "x" * (70 * 1024)}).encode()
    response = put_raw(client, "/api/config/events", body)
    assert response.status_code == 413 and "body" in response.json()["fields"]
    assert snapshot(client) == before


def test_body_is_read_only_up_to_the_limit():
    """A body without Content-Length is read as a stream and abandoned at the limit, not read whole."""
    chunk = b"x" * 8192
    received = []

    async def receive():
        received.append(1)
        return {"type": "http.request", "body": chunk, "more_body": len(received) < 256}  # 2 MB in all

    request = Request({"type": "http", "method": "PUT", "headers": [], "path": "/", "query_string": b""}, receive)
    with pytest.raises(ApiError) as caught:
        asyncio.run(config_api.read_form(request))
    assert caught.value.status == 413
    assert len(received) * len(chunk) <= config_api.MAX_BODY + len(chunk)


def test_declared_oversized_body_is_refused_before_reading():
    async def receive():
        raise AssertionError("the body must not be read")

    headers = [(b"content-length", str(10 * 1024 * 1024).encode())]
    request = Request({"type": "http", "method": "PUT", "headers": headers, "path": "/", "query_string": b""},
                      receive)
    with pytest.raises(ApiError) as caught:
        asyncio.run(config_api.read_form(request))
    assert caught.value.status == 413


# --- verdicts through the route --------------------------------------------------------------


def test_pim_timeout_through_the_route(client, monkeypatch):
    slow = pim_sandbox()
    slow.state.pim.set_faults(latency=1.5)
    monkeypatch.setattr(checks, "CHECK_TIMEOUT", 0.3)
    with serve(slow) as slow_url:
        body = client.put("/api/config/pim", client.pim_body(slow_url)).json()
    assert body["connected"] is False and "did not answer in time" in body["message"], body
    assert any("firewall" in h for h in body["hints"])


def test_401_on_the_read_is_rejected(client):
    expiring = pim_sandbox()
    expiring.state.pim.token_ttl = 0  # every token is already expired when used: 401 on every read
    with serve(expiring) as url:
        body = client.put("/api/config/pim", client.pim_body(url)).json()
    assert body["connected"] is False, body
    assert "refused to let this connection read the catalog (HTTP 401" in body["message"]
    assert PIM_SECRET not in json.dumps(body) and PIM_PASSWORD not in json.dumps(body)


def test_redirect_hint_through_the_route(client):
    async def to_login(request):
        return RedirectResponse("https://pim.example.com/user/login", status_code=302)

    redirecting = Starlette(routes=[Route("/{path:path}", to_login, methods=["GET", "POST"])])
    with serve(redirecting) as url:
        body = client.put("/api/config/pim", client.pim_body(url)).json()
    assert body["connected"] is False and "not as an Akeneo PIM" in body["message"]
    assert any("redirects to https://pim.example.com/user/login" in h for h in body["hints"]), body


def test_client_id_that_looks_like_a_secret_through_the_route(client):
    body = client.put("/api/config/bigcommerce", bc_body(client_id=BC_SECRET, access_token=bc_like())).json()
    assert body["connected"] is False
    assert any("client ID looks like a client secret" in h for h in body["hints"]), body


# --- fuzz: every field of every PUT route, every query parameter of the GET routes ----------------------


NASTY = [None, 0, 1.5, True, [], {}, [["x"]], {"a": {"b": 1}}, "", " ", "\t", "\x00", "a\u0000b", "a\nb",
         "a\r\nb", "\x7f", "\u0085", "\ud800", "x\udfff", "\udfff\ud800", "t\u00f6k", "\u00e9" * 10, "\U0001f600",
         "\u202eevil", "\u200b", "a" * 501, "a" * 2001, "..", ".", "../channels", "%00", "%2e%2e", "a/b",
         "x?y=1", "<script>alert(1)</script>", "' OR 1=1 --", "{}", "null", "\\", "http://[::1",
         "http://[/stores/abc", "https://[::1/stores/abc", "http://exa\u0000mple.com", "http://a..b.com",
         "http://xn--.com", "http://" + "a" * 70 + ".com", "http://user:pw@pim.example.com", "javascript:alert(1)",
         "http://127.0.0.1:99999/", "https://", "//", "stores/", "store-abc.mybigcommerce.com:99999",
         "S3cr3t-\u00e9-value", "secret-with\nnewline", "secret with spaces", "tok\ud800en-value"]
SECRET_FIELDS = {"secret", "password", "access_token"}

PUT_FIELDS = {
    "/api/config/pim": ["url", "client_id", "secret", "username", "password", "confirm"],
    "/api/config/bigcommerce": ["store_hash", "client_id", "access_token", "confirm"],
    "/api/config/main": ["locale", "channel", "category", "confirm"],
    "/api/config/events": ["secret"],
}


def good_body(client: Client, path: str, pim_url: str) -> dict:
    return {"/api/config/pim": client.pim_body(pim_url), "/api/config/bigcommerce": bc_body(),
            "/api/config/main": dict(MAIN), "/api/config/events": {"secret": EVENT_SECRET}}[path]


def echoed(value: str, text: str, public: str) -> bool:
    """Whether a secret shows in `text`; values that are in the page anyway (`public`) say nothing."""
    value = value.strip()
    forms = {value, json.dumps(value)[1:-1], repr(value)[1:-1]}
    return len(value) >= 3 and any(form in text and form not in public for form in forms)


def restore(client: Client, path: str, pim_url: str) -> None:
    """A 200 saved what was sent (maybe not connected): put the good values back."""
    response = put_raw(client, path, good_body(client, path, pim_url))
    assert response.status_code == 200 and response.json().get("connected", True), response.text


@pytest.mark.parametrize("path", list(PUT_FIELDS))
def test_fuzz_put_routes(client, pim_url, path):
    connect_all(client, pim_url)
    public = client.get("/api/config").text
    seen = set()
    for field in PUT_FIELDS[path]:
        for value in NASTY:
            before = snapshot(client)
            body = {**good_body(client, path, pim_url), field: value}
            response = put_raw(client, path, body)
            label = f"{path} {field}={value!r}"
            assert response.status_code in {200, 409, 422}, (label, response.status_code, response.text)
            seen.add(response.status_code)
            if field in SECRET_FIELDS and isinstance(value, str):
                assert not echoed(value, response.text, public), (label, response.text)
                for section in client.store.all_sections(client.tenant).values():
                    assert not echoed(value, json.dumps(section), public), (label, section)
            if response.status_code != 200:
                assert snapshot(client) == before, label
            else:
                restore(client, path, pim_url)
        # the field missing altogether
        body = {k: v for k, v in good_body(client, path, pim_url).items() if k != field}
        assert put_raw(client, path, body).status_code in {200, 409, 422}
        restore(client, path, pim_url)
    assert 422 in seen


NASTY_QUERY = ["", "%00", "a%0Ab", "%ED%A0%80", "%FF", "%C2%B2", "..", ".", "%2E%2E", "a%2Fb", "nope", "x" * 300,
               "x" * 5000, "%25", "%", "%%%", "%7B%7D", "%5B%5D", "+", "%20", "%E2%80%AE", "%F0%9F%98%80",
               "-1", "0", "101", "1e2", "%D9%A3", "null", "aHR0cDovL2V2aWwuZXhhbXBsZS9hcGkvcmVzdC92MS9jYXRlZ29yaWVz"]
GET_PARAMS = {"/api/pim/locales": ["channel"], "/api/pim/channels": ["locale"],
              "/api/pim/categories": ["search", "parent", "locale", "limit", "cursor"]}


@pytest.mark.parametrize("path", list(GET_PARAMS))
def test_fuzz_get_routes(client, pim_url, path):
    connect_all(client, pim_url)
    before = snapshot(client)
    for name in GET_PARAMS[path]:
        for raw in NASTY_QUERY:
            for query in (f"{name}={raw}", f"{name}={raw}&{name}={raw}", f"{quote(name)}{raw}"):
                response = client.http.get(f"{path}?{query}")
                assert response.status_code in {200, 409, 422}, (path, query, response.status_code, response.text)
    assert snapshot(client) == before


def test_forms_text_problem_never_quotes_the_value():
    for value in ("a\nsecret-value", "secret\ud800value"):
        problem = forms.text_problem(value)
        assert problem and "secret" not in problem
