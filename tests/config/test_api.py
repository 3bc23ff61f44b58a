"""The configuration API over real HTTP, against the sandbox PIM and BigCommerce: saves, connection
tests with their hints (each produced by making the sandbox fail that way), guards, validation."""

from __future__ import annotations

import asyncio
import socket
import threading

import pytest

from service.config.checks import check_pim
from tests.config_env import (
    BC_CLIENT,
    BC_NO_INFO,
    BC_NO_PRODUCTS,
    BC_SECRET,
    BC_TOKEN,
    NOPERM_USER,
    OTHER_STORE,
    PIM_CLIENT,
    PIM_PASSWORD,
    PIM_SECRET,
    PIM_USER,
    STORE,
    Client,
    not_akeneo_app,
    pim_sandbox,
)
from tests.servers import free_port, serve


def hints_text(body: dict) -> str:
    return " ".join([body["message"], *body["hints"]])


# --- PIM credentials -------------------------------------------------------------------------------


def test_good_pim_credentials_connect_and_are_never_shown_again(client, pim_url):
    body = client.connect_pim(pim_url + "/")
    assert body["message"].startswith("Connected")
    assert body["pim"] == {**body["pim"], "url": pim_url, "secret_set": True, "password_set": True, "connected": True}
    config = client.get("/api/config").json()
    assert config["pim"]["connected"] and config["pim"]["username"] == PIM_USER
    assert PIM_SECRET not in client.get("/api/config").text and PIM_PASSWORD not in client.get("/api/config").text
    assert client.store.get_credentials(client.tenant, "pim")["secret"] == PIM_SECRET
    assert client.store.tenant_for_pim(pim_url) == client.tenant  # PIM users now reach this tenant
    assert config["first_import_done"] is False


def test_empty_secret_and_password_keep_the_stored_ones(client, pim_url):
    client.connect_pim(pim_url)
    again = client.put("/api/config/pim", client.pim_body(pim_url, secret="", password=""))
    assert again.status_code == 200 and again.json()["connected"]
    creds = client.store.get_credentials(client.tenant, "pim")
    assert creds["secret"] == PIM_SECRET and creds["password"] == PIM_PASSWORD


def test_spaces_are_stripped_and_said(client, pim_url):
    body = client.put("/api/config/pim", client.pim_body(f"  {pim_url} ", client_id=PIM_CLIENT + " ",
                                                         secret="\t" + PIM_SECRET, password=PIM_PASSWORD + "  ")).json()
    assert body["connected"] is True
    spaces = [h for h in body["hints"] if "removed spaces" in h]
    assert spaces and all(name in spaces[0] for name in ("PIM URL", "client ID", "secret", "password"))
    assert "username" not in spaces[0]


def test_wrong_password_says_username_password_or_renewed(client, pim_url):
    body = client.put("/api/config/pim", client.pim_body(pim_url, password="old-password")).json()
    assert body["connected"] is False
    assert "No user found" in body["message"] and "renewed" in hints_text(body)
    assert client.get("/api/config").json()["pim"]["connected"] is False


def test_secret_pasted_in_the_password_field(client, pim_url):
    body = client.put("/api/config/pim", client.pim_body(pim_url, password=PIM_SECRET)).json()
    assert body["connected"] is False and "secret seems to be pasted into the password field" in hints_text(body)


def test_wrong_secret_says_client_id_or_secret(client, pim_url):
    body = client.put("/api/config/pim", client.pim_body(pim_url, secret="not-the-secret")).json()
    assert body["connected"] is False
    assert "client ID or secret" in body["message"] and "swapped" not in hints_text(body)


def test_swapped_client_id_and_secret_are_detected(client, pim_url):
    body = client.put("/api/config/pim", client.pim_body(pim_url, client_id=PIM_SECRET, secret=PIM_CLIENT)).json()
    assert body["connected"] is False and "client ID or secret" in body["message"]
    assert "swapped" in hints_text(body)


def test_connection_without_permissions_names_flow_type_and_role(client, pim_url):
    body = client.put("/api/config/pim", client.pim_body(pim_url, username=NOPERM_USER)).json()
    assert body["connected"] is False
    text = hints_text(body)
    assert "HTTP 403" in body["message"] and "Data destination" in text and "administrator role" in text


def test_unknown_host_is_a_wrong_url(client):
    body = client.put("/api/config/pim", client.pim_body("http://pim.does-not-exist.invalid")).json()
    assert body["connected"] is False
    assert "DNS" in body["message"] and "POST http://pim.does-not-exist.invalid/api/oauth/v1/token" in body["message"]


def test_refused_connection_is_a_wrong_url(client):
    url = f"http://127.0.0.1:{free_port()}"
    body = client.put("/api/config/pim", client.pim_body(url)).json()
    assert body["connected"] is False and "connection refused" in body["message"] and url in body["message"]


def test_tls_error_is_a_wrong_url(client, pim_url):
    url = pim_url.replace("http://", "https://")  # the sandbox speaks plain HTTP there
    body = client.put("/api/config/pim", client.pim_body(url)).json()
    assert body["connected"] is False and "TLS" in body["message"] and "http:// versus https://" in hints_text(body)


def test_html_site_is_not_akeneo(client):
    with serve(not_akeneo_app()) as url:
        body = client.put("/api/config/pim", client.pim_body(url)).json()
    assert body["connected"] is False and "not as an Akeneo PIM" in body["message"] and "HTML" in body["message"]


def test_404_on_the_token_route_is_not_akeneo(client, bc):
    body = client.put("/api/config/pim", client.pim_body(bc[0])).json()  # a server without Akeneo's routes
    assert body["connected"] is False
    assert "/api/oauth/v1/token does not exist there (HTTP 404)" in body["message"]


def test_timeout_is_a_wrong_url(settings_for_checks):
    with silent_server() as url:
        result = asyncio.run(check_pim(settings_for_checks, url, PIM_CLIENT, PIM_SECRET, PIM_USER, PIM_PASSWORD,
                                       timeout=0.3))
    assert result["connected"] is False and "did not answer in time" in result["message"]


@pytest.fixture
def settings_for_checks(service):
    return service[0].state.settings


class silent_server:
    """Accepts connections and never answers."""

    def __enter__(self) -> str:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.conns: list[socket.socket] = []
        self.stop = False
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}"

    def _accept(self) -> None:
        self.sock.settimeout(0.1)
        while not self.stop:
            try:
                self.conns.append(self.sock.accept()[0])
            except OSError:
                continue

    def __exit__(self, *exc) -> None:
        self.stop = True
        self.thread.join()
        for conn in self.conns:
            conn.close()
        self.sock.close()


def test_pim_url_pasted_with_login_path_keeps_the_base(client, pim_url):
    body = client.put("/api/config/pim", client.pim_body(pim_url + "/user/login")).json()
    assert body["connected"] is True and body["pim"]["url"] == pim_url
    assert any("base address" in h for h in body["hints"])


def test_pim_used_by_another_tenant(client, service, pim_url):
    client.connect_pim(pim_url)
    other = Client(*service)
    response = other.put("/api/config/pim", other.pim_body(pim_url))
    assert response.status_code == 409 and response.json()["error"] == "pim_in_use"
    assert other.store.get_credentials(other.tenant, "pim") is None


# --- malformed bodies -----------------------------------------------------------------------------

MALFORMED = [
    (b"not json", "body"),
    (b"[1, 2]", "body"),
    (b'"text"', "body"),
]


@pytest.mark.parametrize("path", ["/api/config/pim", "/api/config/bigcommerce", "/api/config/main",
                                  "/api/config/events"])
@pytest.mark.parametrize("raw,field", MALFORMED)
def test_malformed_bodies_are_422_and_lose_nothing(client, pim_url, path, raw, field):
    client.connect_pim(pim_url)
    before = client.store.all_sections(client.tenant), client.store.get_credentials(client.tenant, "pim")
    response = client.put(path, content=raw, headers={"Content-Type": "application/json"})
    assert response.status_code == 422, response.text
    assert response.json()["error"] == "invalid" and field in response.json()["fields"]
    assert (client.store.all_sections(client.tenant), client.store.get_credentials(client.tenant, "pim")) == before


@pytest.mark.parametrize("body,fields", [
    ({}, {"url", "client_id", "username"}),
    ({"url": 5, "client_id": ["x"], "secret": 1, "username": None, "password": {}, "confirm": "yes"},
     {"url", "client_id", "secret", "username", "password", "confirm"}),
    ({"url": "ftp://pim.example.com", "client_id": "c", "secret": "s", "username": "u", "password": "p"}, {"url"}),
    ({"url": "not a url", "client_id": "c", "secret": "s", "username": "u", "password": "p"}, {"url"}),
    ({"url": "https://pim.example.com", "client_id": "  ", "secret": "s", "username": "u", "password": "p"},
     {"client_id"}),
])
def test_pim_field_errors(client, pim_url, body, fields):
    client.connect_pim(pim_url)
    before = client.store.get_credentials(client.tenant, "pim")
    response = client.put("/api/config/pim", body)
    assert response.status_code == 422
    assert fields <= set(response.json()["fields"]), response.json()
    assert client.store.get_credentials(client.tenant, "pim") == before


def test_first_save_needs_secret_and_password(client, pim_url):
    response = client.put("/api/config/pim", client.pim_body(pim_url, secret="", password=""))
    assert response.status_code == 422 and {"secret", "password"} <= set(response.json()["fields"])


def test_private_pim_urls_are_refused_unless_allowed(tmp_path, redis_url, bc):
    from service.app import create_app
    from service.settings import load_settings
    settings = load_settings({"DATA_DIR": str(tmp_path), "SECRET_KEY": "config-test-secret-key-0123456789abcdef",
                              "REDIS_URL": redis_url, "BC_API_URL": bc[0]})
    app = create_app(settings)
    with serve(app) as url:
        c = Client(app, url)
        response = c.put("/api/config/pim", c.pim_body("http://127.0.0.1:9/"))
    assert response.status_code == 422 and "internal address" in response.json()["fields"]["url"]


@pytest.mark.parametrize("body,fields", [
    ({}, {"store_hash", "client_id", "access_token"}),
    ({"store_hash": 12, "client_id": True, "access_token": []}, {"store_hash", "client_id", "access_token"}),
    ({"store_hash": "https://example.com/shop", "client_id": "c", "access_token": "t"}, {"store_hash"}),
    ({"store_hash": "abc 123", "client_id": "c", "access_token": "t"}, {"store_hash"}),
])
def test_bigcommerce_field_errors(client, body, fields):
    response = client.put("/api/config/bigcommerce", body)
    assert response.status_code == 422 and fields <= set(response.json()["fields"]), response.json()
    assert client.store.get_section(client.tenant, "bigcommerce") == {}


@pytest.mark.parametrize("body,fields", [
    ({}, {"locale", "channel", "category"}),
    ({"locale": 1, "channel": None, "category": "", "confirm": 1}, {"locale", "channel", "category", "confirm"}),
])
def test_main_field_errors(client, pim_url, body, fields):
    client.connect_pim(pim_url)
    response = client.put("/api/config/main", body)
    assert response.status_code == 422 and fields <= set(response.json()["fields"]), response.json()


def test_events_field_errors(client):
    for body in ({}, {"secret": 42}, {"secret": "  "}, {"secret": "short"}):
        response = client.put("/api/config/events", body)
        assert response.status_code == 422 and "secret" in response.json()["fields"]
    assert client.store.get_credentials(client.tenant, "events") is None


# --- BigCommerce credentials -----------------------------------------------------------------------


def bc_body(**changes):
    return {"store_hash": STORE, "client_id": BC_CLIENT, "access_token": BC_TOKEN, **changes}


def test_good_bigcommerce_credentials(client):
    body = client.put("/api/config/bigcommerce", bc_body()).json()
    assert body["connected"] is True and body["bigcommerce"]["store"]["weight_units"] == "KGS"
    assert body["bigcommerce"]["token_set"] is True and BC_TOKEN not in client.get("/api/config").text
    assert client.store.tenant_for_store(STORE) == client.tenant
    again = client.put("/api/config/bigcommerce", bc_body(access_token="")).json()  # empty keeps the token
    assert again["connected"] is True


@pytest.mark.parametrize("pasted", [f"stores/{STORE}", f"https://api.bigcommerce.com/stores/{STORE}/v3/",
                                    f"https://store-{STORE}.mybigcommerce.com/manage/dashboard", f" {STORE.upper()} "])
def test_store_hash_pasted_in_any_form(client, pasted):
    body = client.put("/api/config/bigcommerce", bc_body(store_hash=pasted)).json()
    assert body["connected"] is True and body["bigcommerce"]["store_hash"] == STORE


def test_unknown_store_hash(client):
    body = client.put("/api/config/bigcommerce", bc_body(store_hash="nope42")).json()
    assert body["connected"] is False and "does not know the store hash" in body["message"]
    assert client.store.tenant_for_store("nope42") is None


def test_refused_token(client):
    body = client.put("/api/config/bigcommerce", bc_body(access_token=BC_TOKEN[::-1])).json()
    assert body["connected"] is False and "refused the access token (HTTP 401)" in body["message"]


def test_client_secret_pasted_as_token(client):
    body = client.put("/api/config/bigcommerce", bc_body(access_token=BC_SECRET)).json()
    assert body["connected"] is False and "looks like the client secret" in hints_text(body)


def test_token_equal_to_client_id_is_a_swap(client):
    body = client.put("/api/config/bigcommerce", bc_body(access_token=BC_CLIENT)).json()
    assert body["connected"] is False and "swapped" in hints_text(body)


def test_token_without_products_scope(client):
    body = client.put("/api/config/bigcommerce", bc_body(access_token=BC_NO_PRODUCTS)).json()
    assert body["connected"] is False and "lacks the Products scope" in body["message"]


def test_token_without_information_scope(client):
    body = client.put("/api/config/bigcommerce", bc_body(access_token=BC_NO_INFO)).json()
    assert body["connected"] is False and "Information & settings" in body["message"]


def test_bigcommerce_spaces_are_stripped(client):
    body = client.put("/api/config/bigcommerce", bc_body(access_token=f" {BC_TOKEN}\n")).json()
    assert body["connected"] is True and any("access token" in h and "removed spaces" in h for h in body["hints"])


def test_app_installed_tenant_shows_its_store_and_keeps_its_hash(client):
    client.store.put_credentials(client.tenant, "bigcommerce", {"access_token": BC_TOKEN})
    client.store.put_section(client.tenant, "bigcommerce", {"store_hash": STORE, "client_id": "app", "connected": True,
                                                             "installed_as_app": True, "message": "Connected."})
    config = client.get("/api/config").json()["bigcommerce"]
    assert config["installed_as_app"] is True and config["connected"] is True and config["token_set"] is True
    moved = client.put("/api/config/bigcommerce", bc_body(store_hash=OTHER_STORE, access_token=""))
    assert moved.status_code == 422 and "installed as an app" in moved.json()["fields"]["store_hash"]
    retest = client.put("/api/config/bigcommerce", bc_body(access_token="", client_id="app")).json()
    assert retest["connected"] is True and retest["bigcommerce"]["installed_as_app"] is True


# --- guarded changes after the first import -----------------------------------------------------------


def test_store_hash_change_after_first_import_needs_confirmation(client, bc):
    client.put("/api/config/bigcommerce", bc_body())
    client.first_import_done()
    other_token = next(iter(bc[1].state.bc.stores[OTHER_STORE].tokens))
    response = client.put("/api/config/bigcommerce", bc_body(store_hash=OTHER_STORE, access_token=other_token))
    assert response.status_code == 409
    body = response.json()
    assert body["error"] == "confirmation_required" and body["changed"] == ["store_hash"]
    assert "another store" in body["message"] and "full" in body["message"]
    assert client.store.get_section(client.tenant, "bigcommerce")["store_hash"] == STORE
    assert client.store.get_credentials(client.tenant, "bigcommerce")["access_token"] == BC_TOKEN
    done = client.put("/api/config/bigcommerce", bc_body(store_hash=OTHER_STORE, access_token=other_token,
                                                         confirm=True))
    assert done.status_code == 200 and done.json()["connected"] is True
    assert client.store.get_section(client.tenant, "status") == {"first_import_done": True, "next_import": "full"}
    change = client.store.config_changes(client.tenant)[0]
    assert change["changed"] == ["store_hash"] and change["from"] == {"store_hash": STORE}
    assert client.store.tenant_for_store(OTHER_STORE) == client.tenant


def test_pim_url_change_after_first_import_needs_confirmation(client, pim_url):
    client.connect_pim(pim_url)
    client.first_import_done()
    moved = pim_url.replace("127.0.0.1", "localhost")
    # Another URL never gets the stored secret and password: they are typed again (issue 8, defect 1).
    response = client.put("/api/config/pim", client.pim_body(moved))
    assert response.status_code == 409 and response.json()["changed"] == ["pim_url"]
    assert client.store.get_section(client.tenant, "pim")["url"] == pim_url
    same = client.put("/api/config/pim", client.pim_body(pim_url, secret="", password=""))
    assert same.status_code == 200  # unchanged URL: no confirmation
    done = client.put("/api/config/pim", client.pim_body(moved, confirm=True))
    assert done.status_code == 200 and done.json()["connected"] is True
    assert client.store.get_section(client.tenant, "status")["next_import"] == "full"
    assert client.get("/api/config").json()["changes"][0]["to"] == {"pim_url": moved}


# --- main configuration --------------------------------------------------------------------------------


def test_main_routes_wait_for_the_pim_test(client, pim_url):
    for path in ("/api/pim/locales", "/api/pim/channels", "/api/pim/categories"):
        response = client.get(path)
        assert response.status_code == 409 and response.json()["error"] == "pim_not_connected", path
    body = {"locale": "en_US", "channel": "ecommerce", "category": "master"}
    assert client.put("/api/config/main", body).json()["error"] == "pim_not_connected"
    client.put("/api/config/pim", client.pim_body(pim_url, password="wrong"))  # saved but failing
    assert client.get("/api/pim/channels").status_code == 409
    client.connect_pim(pim_url)
    assert client.get("/api/pim/channels").status_code == 200


def test_choices_come_from_the_pim(client, pim_url):
    client.connect_pim(pim_url)
    channels = {c["code"]: c for c in client.get("/api/pim/channels").json()["items"]}
    assert channels["ecommerce"]["category_tree"] == "master" and channels["ecommerce"]["label"] == "Ecommerce"
    assert client.get("/api/pim/channels?locale=fr_FR").json()["items"][1]["label"] == "Impression"
    locales = client.get("/api/pim/locales").json()
    assert {loc["code"] for loc in locales["items"]} == {"de_DE", "en_US", "fr_FR"} and locales["next"] is None
    assert [loc["code"] for loc in client.get("/api/pim/locales?channel=b2b").json()["items"]] == ["en_US"]


def test_category_picker_pages_children_and_searches(client, pim_url):
    client.connect_pim(pim_url)
    roots = client.get("/api/pim/categories").json()
    assert {"master", "sales"} <= {c["code"] for c in roots["items"]}
    first = client.get("/api/pim/categories", params={"parent": "master", "limit": 2}).json()
    assert len(first["items"]) == 2 and first["next"]
    assert all(c["parent"] == "master" for c in first["items"])
    second = client.get("/api/pim/categories", params={"parent": "master", "limit": 2, "cursor": first["next"]}).json()
    assert second["items"] and not {c["code"] for c in first["items"]} & {c["code"] for c in second["items"]}
    found = client.get("/api/pim/categories", params={"search": "monitoren", "locale": "de_DE"}).json()
    assert "pc_monitors" in {c["code"] for c in found["items"]}
    assert [c["label"] for c in found["items"] if c["code"] == "pc_monitors"] == ["PC Monitoren"]


@pytest.mark.parametrize("params,field", [({"limit": "101"}, "limit"), ({"limit": "0"}, "limit"),
                                          ({"limit": "ten"}, "limit"), ({"cursor": "%%%"}, "cursor"),
                                          ({"cursor": "aHR0cDovL2V2aWwuZXhhbXBsZS9hcGkvcmVzdC92MS9wcm9kdWN0cw"},
                                           "cursor")])
def test_category_picker_refuses_bad_paging(client, pim_url, params, field):
    client.connect_pim(pim_url)
    response = client.get("/api/pim/categories", params=params)
    assert response.status_code == 422 and field in response.json()["fields"]


MAIN = {"locale": "en_US", "channel": "ecommerce", "category": "master"}


def test_main_configuration_is_checked_against_the_pim(client, pim_url):
    client.connect_pim(pim_url)
    cases = [
        ({**MAIN, "channel": "nope"}, "channel", "not a channel"),
        ({**MAIN, "locale": "it_IT"}, "locale", "not an enabled locale"),
        ({**MAIN, "channel": "b2b", "locale": "de_DE", "category": "sales"}, "locale", "not a locale of the channel"),
        ({**MAIN, "category": "nope"}, "category", "not a category"),
        ({**MAIN, "category": "sales"}, "category", "uses the tree \u201cmaster\u201d"),
    ]
    for body, field, words in cases:
        response = client.put("/api/config/main", body)
        assert response.status_code == 422, (body, response.text)
        assert words in response.json()["fields"][field], response.json()
    assert client.store.get_section(client.tenant, "main") == {}
    saved = client.put("/api/config/main", {"locale": "EN_us", "channel": "ecommerce", "category": "PC_MONITORS"})
    assert saved.status_code == 200, saved.text
    assert saved.json()["main"] == {**saved.json()["main"], "locale": "en_US", "category": "pc_monitors",
                                    "category_tree": "master"}
    assert client.get("/api/config").json()["main"]["category"] == "pc_monitors"


def test_main_change_after_first_import_needs_confirmation(client, pim_url):
    client.connect_pim(pim_url)
    assert client.put("/api/config/main", MAIN).status_code == 200
    assert client.store.config_changes(client.tenant) == []  # before the first import: no guard, no audit
    client.first_import_done()
    assert client.put("/api/config/main", MAIN).status_code == 200  # nothing changes: no confirmation
    changed = {"locale": "fr_FR", "channel": "ecommerce", "category": "pc_monitors"}
    response = client.put("/api/config/main", changed)
    assert response.status_code == 409
    body = response.json()
    assert body["error"] == "confirmation_required" and body["changed"] == ["locale", "category"]
    assert "language" in body["message"] and "category tree is rebuilt" in body["message"]
    assert client.store.get_section(client.tenant, "main")["locale"] == "en_US"
    assert "next_import" not in client.store.get_section(client.tenant, "status")
    done = client.put("/api/config/main", {**changed, "confirm": True})
    assert done.status_code == 200 and done.json()["changed"] == ["locale", "category"]
    assert client.store.get_section(client.tenant, "main")["locale"] == "fr_FR"
    assert client.store.get_section(client.tenant, "status")["next_import"] == "full"
    audit = client.store.config_changes(client.tenant)
    assert audit[0]["to"] == {"locale": "fr_FR", "category": "pc_monitors"} and audit[0]["user"] == "m@example.com"


# --- events ----------------------------------------------------------------------------------------------


def test_event_secret_is_stored_encrypted(client):
    assert client.get("/api/config").json()["events"] == {
        "webhook_url": f"https://connector.example.com/webhooks/akeneo/{client.tenant}", "secret_set": False}
    secret = "whsec-0123456789-very-secret"
    assert client.put("/api/config/events", {"secret": secret}).status_code == 200
    assert client.get("/api/config").json()["events"]["secret_set"] is True
    assert client.store.get_credentials(client.tenant, "events") == {"secret": secret}
    raw = b"".join(v for v in client.store.redis.hgetall(f"connector:tenant:{client.tenant}:credentials").values())
    assert secret.encode() not in raw and secret not in client.get("/api/config").text


def test_config_routes_need_csrf_and_own_tenant(client, service):
    response = client.http.put("/api/config/events", json={"secret": "abcdefghij"}, headers={"X-CSRF-Token": "bad"})
    assert response.status_code == 403
    other = Client(*service)
    response = client.http.get("/api/config", headers={"X-Tenant": other.tenant})
    assert response.status_code == 403


# --- a huge category tree ------------------------------------------------------------------------------

HUGE = 185_000


@pytest.fixture(scope="module")
def huge_pim():
    """The sandbox PIM with 185,000 extra categories under `master` (the size that killed a peer's page)."""
    import copy

    app = pim_sandbox()
    state = app.state.pim
    bulk = [{"code": f"bulk_{i}", "parent": "master", "labels": {"en_US": f"Bulk category {i}"}, "position": i + 100,
             "depth": 1} for i in range(HUGE)]
    state.catalog = copy.copy(state.catalog)
    state.catalog.categories = [*state.catalog.categories, *bulk]
    state.store.categories.update({c["code"]: c for c in bulk})
    with serve(app) as url:
        yield url, state


def test_huge_tree_is_never_sent_whole(client, huge_pim):
    url, state = huge_pim
    client.connect_pim(url)
    state.request_counts.clear()
    page = client.get("/api/pim/categories", params={"parent": "master", "limit": 100})
    assert page.status_code == 200 and len(page.json()["items"]) == 100 and page.json()["next"]
    assert len(page.content) < 50_000
    # A search for a label deep in the list: each call scans a bounded number of PIM pages.
    state.request_counts.clear()
    found = client.get("/api/pim/categories", params={"search": "Bulk category 184999", "limit": 10}).json()
    assert sum(state.request_counts.values()) <= 7 and found["next"]
    assert len(found["items"]) <= 600
    # An exact code is found at once, however deep it lies.
    exact = client.get("/api/pim/categories", params={"search": "bulk_184999"}).json()
    assert exact["items"][0]["code"] == "bulk_184999"
    # And it may be saved as the main category: its tree is the channel's.
    saved = client.put("/api/config/main", {"locale": "en_US", "channel": "ecommerce", "category": "bulk_184999"})
    assert saved.status_code == 200, saved.text
