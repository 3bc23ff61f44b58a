"""Who holds a connection and its credentials (issue 8): stored secrets never follow a changed address, the
two entry paths (a PIM visit, the app install) meet on one tenant, a failed re-test keeps the credentials
that passed, exactly one tenant wins a PIM or store, no lost updates. Real Redis, the sandboxes over real
HTTP."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

import sandbox.bigcommerce
from service.access.sessions import COOKIE
from service.app import create_app
from service.crypto import SecretBox
from service.settings import load_settings
from service.store import Store
from tests.access.test_sessions import CLIENT_ID, CLIENT_SECRET, signed_payload
from tests.config.test_api_bad_input import MAIN, bc_body, connect_all
from tests.config_env import (
    BC_TOKEN,
    OTHER_STORE,
    PIM_CLIENT,
    PIM_PASSWORD,
    PIM_SECRET,
    PIM_USER,
    STORE,
    Client,
)
from tests.servers import free_port, serve


@pytest.fixture
def catcher():
    """A server that records every request it gets: where a leaked secret would arrive."""
    seen: list[dict] = []

    async def anything(request):
        seen.append({"path": request.url.path, "headers": dict(request.headers), "body": (await request.body()).decode()})
        return JSONResponse({"access_token": "x", "expires_in": 3600, "refresh_token": "y"})

    with serve(Starlette(routes=[Route("/{path:path}", anything, methods=["GET", "POST"])])) as url:
        yield url, seen


def snapshot(client: Client) -> tuple:
    store, tenant = client.store, client.tenant
    return (store.all_sections(tenant), store.get_credentials(tenant, "pim"), store.get_credentials(tenant, "bigcommerce"))


# --- stored secrets are kept only for the URL, client ID and username they were saved with ---------


@pytest.mark.parametrize("change", ["url", "client_id", "username", "url_and_secret_typed"])
def test_stored_pim_secrets_never_follow_a_changed_identity(client, pim_url, catcher, change):
    catch_url, seen = catcher
    client.connect_pim(pim_url)
    before = snapshot(client)
    body = {"url": dict(client.pim_body(catch_url, secret="", password="")),
            "client_id": client.pim_body(pim_url, client_id="another-client", secret="", password=""),
            "username": client.pim_body(pim_url, username="someone_else", secret="", password=""),
            "url_and_secret_typed": client.pim_body(catch_url, password="")}[change]
    response = client.put("/api/config/pim", body)
    assert response.status_code == 422, response.text
    fields = response.json()["fields"]
    expected = {"password"} if change == "url_and_secret_typed" else {"secret", "password"}
    assert set(fields) == expected, fields
    assert all("typed again" in fields[name] for name in expected), fields
    assert seen == []  # nothing went anywhere
    assert PIM_SECRET not in response.text and PIM_PASSWORD not in response.text
    assert snapshot(client) == before


def test_stored_pim_secrets_are_kept_for_the_same_identity(client, pim_url):
    client.connect_pim(pim_url)
    again = client.put("/api/config/pim", client.pim_body(pim_url + "/", secret="", password=""))
    assert again.status_code == 200 and again.json()["connected"] is True


@pytest.mark.parametrize("change", ["store_hash", "client_id"])
def test_stored_token_never_follows_a_changed_store_or_client(client, bc, change):
    assert client.put("/api/config/bigcommerce", bc_body()).json()["connected"] is True
    before = snapshot(client)
    log_before = httpx.get(f"{bc[0]}/sandbox/stores/{OTHER_STORE}/requests").json()["requests"]
    changes = {"store_hash": {"store_hash": OTHER_STORE}, "client_id": {"client_id": "another-client-id"}}[change]
    response = client.put("/api/config/bigcommerce", bc_body(access_token="", **changes))
    assert response.status_code == 422, response.text
    assert set(response.json()["fields"]) == {"access_token"}
    assert "typed again" in response.json()["fields"]["access_token"]
    assert httpx.get(f"{bc[0]}/sandbox/stores/{OTHER_STORE}/requests").json()["requests"] == log_before
    assert snapshot(client) == before
    same = client.put("/api/config/bigcommerce", bc_body(access_token=""))
    assert same.status_code == 200 and same.json()["connected"] is True


# --- a failed re-test keeps the credentials that last passed ------------------------------------


def test_failed_pim_retest_keeps_the_working_credentials(client, pim_url):
    connect_all(client, pim_url)
    good = client.store.get_credentials(client.tenant, "pim")
    body = client.put("/api/config/pim", client.pim_body(pim_url, password="a-typo")).json()
    assert body["connected"] is False and "No user found" in body["message"]
    assert body["previous_in_use"] is True and body["pim"]["connected"] is True
    # What imports read: the credentials that passed, still marked connected.
    assert client.store.get_credentials(client.tenant, "pim") == good
    assert client.store.get_section(client.tenant, "pim")["connected"] is True
    assert client.get("/api/pim/channels").status_code == 200
    assert client.put("/api/config/main", MAIN).status_code == 200
    shown = client.get("/api/config").json()["pim"]
    assert shown["connected"] is True and shown["previous_in_use"] is True
    assert shown["last_attempt"]["connected"] is False and "No user found" in shown["last_attempt"]["message"]
    assert "a-typo" not in client.get("/api/config").text
    # The good password again (secret left empty): connected, the failed attempt is gone.
    fixed = client.put("/api/config/pim", client.pim_body(pim_url, secret="")).json()
    assert fixed["connected"] is True and fixed["previous_in_use"] is False
    assert client.get("/api/config").json()["pim"]["last_attempt"] is None


def test_failed_retest_with_another_pim_url_keeps_the_link_to_the_working_one(client, pim_url):
    client.connect_pim(pim_url)
    moved = pim_url.replace("127.0.0.1", "localhost")
    body = client.put("/api/config/pim", client.pim_body(moved, password="a-typo")).json()
    assert body["connected"] is False
    assert client.store.tenant_for_pim(pim_url) == client.tenant
    assert client.store.tenant_for_pim(moved) is None
    assert client.store.get_credentials(client.tenant, "pim")["url"] == pim_url


def test_failed_bigcommerce_retest_keeps_the_working_token(client, pim_url):
    connect_all(client, pim_url)
    body = client.put("/api/config/bigcommerce", bc_body(access_token="abcdefabcdefabcdefabcdefabcdefa")).json()
    assert body["connected"] is False and body["previous_in_use"] is True
    assert client.store.get_credentials(client.tenant, "bigcommerce")["access_token"] == BC_TOKEN
    section = client.store.get_section(client.tenant, "bigcommerce")
    assert section["connected"] is True and section["store_hash"] == STORE
    shown = client.get("/api/config").json()["bigcommerce"]
    assert shown["connected"] is True and shown["last_attempt"]["connected"] is False


def test_a_first_failed_test_connects_nothing(client, pim_url):
    body = client.put("/api/config/pim", client.pim_body(pim_url, password="a-typo")).json()
    assert body["connected"] is False and body["previous_in_use"] is False
    assert client.store.get_credentials(client.tenant, "pim") is None  # nothing an import could use
    assert client.get("/api/config").json()["pim"]["connected"] is False
    assert client.get("/api/pim/channels").status_code == 409
    # The typed secret is kept for the next try with the same identity.
    fixed = client.put("/api/config/pim", client.pim_body(pim_url, secret="")).json()
    assert fixed["connected"] is True


# --- exactly one tenant wins a PIM or a store -------------------------------------------------


def _race(clients, path, bodies):
    barrier = threading.Barrier(len(clients))

    def put(i):
        barrier.wait()
        return clients[i].put(path, bodies[i])

    with ThreadPoolExecutor(len(clients)) as pool:
        return list(pool.map(put, range(len(clients))))


@pytest.mark.parametrize("variant", ["127.0.0.1", "localhost"])
def test_concurrent_saves_of_one_pim_have_one_winner(service, pim_url, redis_conn, variant):
    url = pim_url.replace("127.0.0.1", variant)
    clients = [Client(*service) for _ in range(4)]
    answers = _race(clients, "/api/config/pim", [c.pim_body(url) for c in clients])
    winners = [c for c, r in zip(clients, answers, strict=True) if r.status_code == 200 and r.json()["connected"]]
    losers = [r for r in answers if r.status_code == 409]
    assert len(winners) == 1, [r.status_code for r in answers]
    assert len(losers) == 3 and all(r.json()["error"] == "pim_in_use" for r in losers)
    store = winners[0].store
    assert store.tenant_for_pim(url) == winners[0].tenant
    for c in clients:
        if c is not winners[0]:
            assert store.get_credentials(c.tenant, "pim") is None
            assert not store.get_section(c.tenant, "pim").get("connected")


@pytest.mark.parametrize("store_hash", [STORE, OTHER_STORE])
def test_concurrent_saves_of_one_store_have_one_winner(service, bc, redis_conn, store_hash):
    token = BC_TOKEN if store_hash == STORE else next(iter(bc[1].state.bc.stores[OTHER_STORE].tokens))
    clients = [Client(*service) for _ in range(4)]
    answers = _race(clients, "/api/config/bigcommerce",
                    [bc_body(store_hash=store_hash, access_token=token) for _ in clients])
    winners = [c for c, r in zip(clients, answers, strict=True) if r.status_code == 200 and r.json()["connected"]]
    assert len(winners) == 1, [r.status_code for r in answers]
    assert sorted(r.status_code for r in answers) == [200, 409, 409, 409]
    assert winners[0].store.tenant_for_store(store_hash) == winners[0].tenant


# --- only a tested connection blocks another tenant --------------------------------------------


def test_a_tenant_that_never_connected_the_store_does_not_block(client, service):
    store = client.store
    claimer = store.ensure_tenant_for_store(STORE)  # e.g. an app install whose token test failed
    response = client.put("/api/config/bigcommerce", bc_body())
    assert response.status_code == 200 and response.json()["connected"] is True, response.text
    assert store.tenant_for_store(STORE) == client.tenant
    assert not store.tenant_exists(claimer)  # an empty claim yields, and goes


def test_a_failed_test_claims_nothing(client, service, pim_url):
    assert client.put("/api/config/pim", client.pim_body(pim_url, password="typo")).json()["connected"] is False
    other = Client(*service)
    assert other.connect_pim(pim_url)["connected"] is True
    assert client.store.tenant_for_pim(pim_url) == other.tenant


def test_a_tested_connection_blocks_even_after_a_failed_retest(client, service, pim_url):
    client.connect_pim(pim_url)
    client.put("/api/config/pim", client.pim_body(pim_url, password="typo"))
    other = Client(*service)
    response = other.put("/api/config/pim", other.pim_body(pim_url))
    assert response.status_code == 409 and response.json()["error"] == "pim_in_use"


SCOPE = " ".join(sandbox.bigcommerce.DEFAULT_SCOPES)


@pytest.fixture
def world(tmp_path, redis_url, redis_conn, pim):
    """The sandbox PIM (whose users open the connector), a sandbox store with the app, the connector."""
    pim_base, _ = pim
    bc_app = sandbox.bigcommerce.create_app(apps=[(CLIENT_ID, CLIENT_SECRET)], unlimited=True)
    bc_app.state.bc.create_store("abc123", name="Julia's Gadgets")
    with serve(bc_app) as bc_url:
        port = free_port()
        settings = load_settings({
            "DATA_DIR": str(tmp_path), "SECRET_KEY": "trust-core-secret-0123456789", "REDIS_URL": redis_url,
            "BC_CLIENT_ID": CLIENT_ID, "BC_CLIENT_SECRET": CLIENT_SECRET, "BC_API_URL": bc_url, "BC_LOGIN_URL": bc_url,
            "APP_URL": f"http://127.0.0.1:{port}", "ALLOW_PRIVATE_URLS": "true", "PIM_URLS": pim_base})
        app = create_app(settings)
        with serve(app, port=port) as url:
            yield app, url, bc_app.state.bc, pim_base


def pim_visit(world):
    """A PIM user opens the connector from the PIM: (tenant, session cookies)."""
    app, url, _, pim_base = world
    bapid = httpx.post(f"{pim_base}/sandbox/sessions", json={"username": "admin"}).json()["cookie"]
    page = httpx.get(f"{url}/", params={"pim": pim_base}, cookies={"BAPID": bapid})
    assert page.status_code == 200, page.text
    cookies = {COOKIE: page.cookies[COOKIE], "BAPID": bapid}
    return httpx.get(f"{url}/api/session", cookies=cookies).json()["tenant"], cookies


def app_install(world) -> httpx.Client:
    """The store installs the app: a client speaking with the install's session (Bearer, CSRF)."""
    app, url, bc, _ = world
    code = bc.issue_auth_code(CLIENT_ID, "abc123", SCOPE, user={"id": 7, "username": "julia", "email": "j@x.test"},
                              redirect_uri=f"{url}/bc/auth")
    installed = httpx.get(f"{url}/bc/auth", params={"code": code, "scope": SCOPE, "context": "stores/abc123"})
    assert installed.status_code == 200, installed.text
    bearer = {"Authorization": f"Bearer {installed.cookies[COOKIE]}"}
    session = httpx.get(f"{url}/api/session", headers=bearer).json()
    return httpx.Client(base_url=url, headers={**bearer, "X-CSRF-Token": session["csrf_token"],
                                                "X-Tenant": session["tenant"]})


def connect_pim_from(http: httpx.Client, pim_base: str) -> httpx.Response:
    return http.put("/api/config/pim", json={"url": pim_base, "client_id": PIM_CLIENT, "secret": PIM_SECRET,
                                             "username": PIM_USER, "password": PIM_PASSWORD})


def test_pim_first_then_the_app_install_connects_that_pim(world):
    app, url, _, pim_base = world
    store = app.state.store
    early, early_cookies = pim_visit(world)  # a PIM user looks first: nothing is connected yet
    with app_install(world) as merchant:
        installed = merchant.headers["X-Tenant"]
        assert installed != early
        response = connect_pim_from(merchant, pim_base)
        assert response.status_code == 200 and response.json()["connected"] is True, response.text
        # From now on the PIM's users land on the tenant that connected the PIM (and the store).
        later, _ = pim_visit(world)
        assert later == installed
        assert store.tenant_for_pim(pim_base) == installed and store.tenant_for_store("abc123") == installed
        # The empty tenant the first visit made is gone, and so is its session.
        assert not store.tenant_exists(early)
        assert httpx.get(f"{url}/api/session", cookies=early_cookies).status_code == 401
        loaded = httpx.get(f"{url}/bc/load", params={"signed_payload_jwt": signed_payload()})
        assert loaded.status_code == 200
        assert httpx.get(f"{url}/api/session", headers={"Authorization": f"Bearer {loaded.cookies[COOKIE]}"}
                         ).json()["tenant"] == installed


def test_app_first_then_a_pim_visit_lands_on_the_app_tenant(world):
    app, url, _, pim_base = world
    with app_install(world) as merchant:
        installed = merchant.headers["X-Tenant"]
        assert connect_pim_from(merchant, pim_base).json()["connected"] is True
    visited, cookies = pim_visit(world)
    assert visited == installed
    config = httpx.get(f"{url}/api/config", cookies=cookies).json()
    assert config["pim"]["connected"] is True and config["bigcommerce"]["connected"] is True


def test_pim_user_who_connects_first_then_the_app_installs_into_that_tenant(world):
    """The PIM user connects the PIM and the store by hand; a later app install lands on that tenant."""
    app, url, bc_state, pim_base = world
    token = "manualtoken0123456789abcdefghijk"
    bc_state.add_token("abc123", token)
    visited, cookies = pim_visit(world)
    session = httpx.get(f"{url}/api/session", cookies=cookies).json()
    with httpx.Client(base_url=url, cookies=cookies, headers={"X-CSRF-Token": session["csrf_token"]}) as pim_user:
        assert connect_pim_from(pim_user, pim_base).json()["connected"] is True
        saved = pim_user.put("/api/config/bigcommerce", json={"store_hash": "abc123", "client_id": CLIENT_ID,
                                                              "access_token": token})
        assert saved.json()["connected"] is True, saved.text
    with app_install(world) as merchant:
        assert merchant.headers["X-Tenant"] == visited
    assert app.state.store.get_section(visited, "pim")["connected"] is True


def test_pim_connected_first_then_the_app_install_connects_that_pim_too(world):
    """The PIM user connected the PIM (and chose the main configuration) before the store installed the
    app: the install's tenant has the store, the visit's only the PIM. Connecting the PIM from the app
    moves the PIM there (with its main configuration); nobody is stuck with two halves."""
    app, url, _, pim_base = world
    store = app.state.store
    early, cookies = pim_visit(world)
    session = httpx.get(f"{url}/api/session", cookies=cookies).json()
    with httpx.Client(base_url=url, cookies=cookies, headers={"X-CSRF-Token": session["csrf_token"]}) as pim_user:
        assert connect_pim_from(pim_user, pim_base).json()["connected"] is True
        assert pim_user.put("/api/config/main", json=MAIN).status_code == 200
    with app_install(world) as merchant:
        installed = merchant.headers["X-Tenant"]
        assert installed != early
        response = connect_pim_from(merchant, pim_base)
        assert response.status_code == 200 and response.json()["connected"] is True, response.text
        assert merchant.get("/api/config").json()["main"]["category"] == MAIN["category"]
    assert not store.tenant_exists(early)
    assert httpx.get(f"{url}/api/session", cookies=cookies).status_code == 401
    assert pim_visit(world)[0] == installed


def test_pim_connected_first_then_that_tenant_connects_the_installed_store(world):
    """The same two halves, met from the other side: the PIM's tenant connects the store by hand."""
    app, url, bc_state, pim_base = world
    store = app.state.store
    token = "manualtoken0123456789abcdefghijk"
    bc_state.add_token("abc123", token)
    visited, cookies = pim_visit(world)
    session = httpx.get(f"{url}/api/session", cookies=cookies).json()
    with app_install(world) as merchant:
        installed = merchant.headers["X-Tenant"]
    with httpx.Client(base_url=url, cookies=cookies, headers={"X-CSRF-Token": session["csrf_token"]}) as pim_user:
        assert connect_pim_from(pim_user, pim_base).json()["connected"] is True
        saved = pim_user.put("/api/config/bigcommerce", json={"store_hash": "abc123", "client_id": CLIENT_ID,
                                                              "access_token": token})
        assert saved.status_code == 200 and saved.json()["connected"] is True, saved.text
    assert store.tenant_for_store("abc123") == visited and not store.tenant_exists(installed)
    loaded = httpx.get(f"{url}/bc/load", params={"signed_payload_jwt": signed_payload()})
    assert httpx.get(f"{url}/api/session", headers={"Authorization": f"Bearer {loaded.cookies[COOKIE]}"}
                     ).json()["tenant"] == visited


def test_a_whole_connection_is_never_taken(service, pim_url, bc, redis_conn):
    whole, half = Client(*service), Client(*service)
    connect_all(whole, pim_url)
    other_token = next(iter(bc[1].state.bc.stores[OTHER_STORE].tokens))
    assert half.put("/api/config/bigcommerce", bc_body(store_hash=OTHER_STORE, access_token=other_token)
                    ).json()["connected"] is True
    response = half.put("/api/config/pim", half.pim_body(pim_url))
    assert response.status_code == 409 and response.json()["error"] == "pim_in_use"
    response = half.put("/api/config/bigcommerce", bc_body())
    assert response.status_code == 409 and response.json()["error"] == "store_in_use"
    assert whole.store.tenant_for_pim(pim_url) == whole.tenant and whole.store.tenant_exists(whole.tenant)


# --- no lost updates --------------------------------------------------------------------------

OLD_KEY, NEW_KEY = "old-secret-key-0123456789abcdef", "new-secret-key-0123456789abcdef"


def test_rotation_never_overwrites_a_concurrent_save(redis_conn):
    old, new = Store(redis_conn, SecretBox(OLD_KEY)), Store(redis_conn, SecretBox(NEW_KEY, [OLD_KEY]))
    tenant = old.create_tenant()
    kinds = [f"kind{i}" for i in range(300)]
    for round_ in range(3):
        for kind in kinds:
            old.put_credentials(tenant, kind, {"v": "old"})
        start = threading.Barrier(2)

        def rotate(start=start):
            start.wait()
            new.rotate_credentials()

        def save(start=start, value=f"saved-{round_}"):
            start.wait()
            for kind in reversed(kinds):  # meets the rotation half-way
                new.put_credentials(tenant, kind, {"v": value})

        threads = [threading.Thread(target=rotate), threading.Thread(target=save)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        lost = [k for k in kinds if new.get_credentials(tenant, k) != {"v": f"saved-{round_}"}]
        assert lost == [], f"round {round_}: {len(lost)} saves lost"
    assert Store(redis_conn, SecretBox(NEW_KEY)).get_credentials(tenant, "kind0") == {"v": "saved-2"}


def test_concurrent_run_updates_lose_nothing(redis_conn):
    store = Store(redis_conn, SecretBox(NEW_KEY))
    tenant = store.create_tenant()
    run = store.create_run(tenant, {"mode": "full", "status": "running"})
    start = threading.Barrier(8)

    def worker(n):
        start.wait()
        for i in range(25):
            store.update_run(tenant, run, **{f"w{n}_{i}": i})

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(worker, range(8)))
    doc = store.get_run(tenant, run)
    missing = [f"w{n}_{i}" for n in range(8) for i in range(25) if f"w{n}_{i}" not in doc]
    assert missing == [] and doc["status"] == "running"


# --- the store's side of it ------------------------------------------------------------------------------


def _section(url: str) -> dict:
    return {"url": url, "client_id": "c", "username": "u", "connected": True, "message": "Connected.", "hints": []}


def test_save_connection_has_one_winner_per_value(redis_conn):
    store = Store(redis_conn, SecretBox(NEW_KEY))
    for round_ in range(20):
        url = f"https://pim{round_}.example.com"
        tenants = [store.create_tenant() for _ in range(8)]
        start = threading.Barrier(8)

        def save(tenant, url=url, start=start):
            start.wait()
            return store.save_connection(tenant, "pim", {"url": url, "secret": tenant}, _section(url))

        with ThreadPoolExecutor(8) as pool:
            results = list(pool.map(save, tenants))
        winners = [t for t, r in zip(tenants, results, strict=True) if r is None]
        assert len(winners) == 1 and store.tenant_for_pim(url) == winners[0]
        assert all(r == winners[0] for r in results if r is not None)
        for t in tenants:  # the losers wrote nothing
            if t != winners[0]:
                assert store.get_credentials(t, "pim") is None and store.get_section(t, "pim") == {}


def test_save_connection_moves_the_tenants_own_link(redis_conn):
    store = Store(redis_conn, SecretBox(NEW_KEY))
    tenant = store.create_tenant()
    assert store.save_connection(tenant, "pim", {"secret": "a"}, _section("https://a.example.com")) is None
    assert store.save_connection(tenant, "pim", {"secret": "b"}, _section("https://b.example.com")) is None
    assert store.tenant_for_pim("https://a.example.com") is None
    assert store.tenant_for_pim("https://b.example.com") == tenant and store.tenant(tenant)["pim_url"] == "https://b.example.com"
    other = store.create_tenant()
    assert store.save_connection(other, "pim", {"secret": "c"}, _section("https://a.example.com")) is None


def test_a_yielding_claim_is_kept_when_something_of_it_is_connected(redis_conn):
    store = Store(redis_conn, SecretBox(NEW_KEY))
    visitor = store.ensure_tenant_for_pim("https://pim.example.com")
    store.save_connection(visitor, "bigcommerce", {"access_token": "t"}, {"store_hash": "abc123", "connected": True})
    winner = store.create_tenant()
    assert store.save_connection(winner, "pim", {"secret": "s"}, _section("https://pim.example.com")) is None
    assert store.tenant_exists(visitor) and store.tenant(visitor)["pim_url"] == ""
    assert store.tenant_for_store("abc123") == visitor
    assert store.ensure_tenant_for_pim("https://pim.example.com") == winner


def test_an_index_naming_a_deleted_tenant_is_taken_over(redis_conn):
    store = Store(redis_conn, SecretBox(NEW_KEY))
    redis_conn.set("connector:tenant-by-pim:https://pim.example.com", "tgone")
    tenant = store.ensure_tenant_for_pim("https://pim.example.com")
    assert tenant != "tgone" and store.tenant_exists(tenant)


def test_a_deleted_tenant_saves_nothing(redis_conn):
    from service.store import TenantGone

    store = Store(redis_conn, SecretBox(NEW_KEY))
    tenant = store.create_tenant()
    store.delete_tenant(tenant)
    with pytest.raises(TenantGone):
        store.save_connection(tenant, "pim", {"secret": "s"}, _section("https://pim.example.com"))
    assert store.tenant_for_pim("https://pim.example.com") is None and redis_conn.keys(f"*{tenant}*") == []
