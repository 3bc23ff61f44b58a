"""A session opened through a PIM (its cookie, its UI extensions) is good only while that PIM is the
tenant's PIM (issue 18). Two sandbox PIMs (A and B), the sandbox store with the app, the connector, over
real HTTP with real Redis: once the tenant connects PIM B, or another tenant takes PIM A over, PIM A's
sessions get 401 on `/api` and on `GET /`, even a request that was waiting for PIM A when the PIM changed;
PIM B's sessions and the BigCommerce app's keep working."""

from __future__ import annotations

import asyncio
import re
import threading
from collections.abc import Iterator

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

import sandbox.bigcommerce
from service.access.sessions import COOKIE
from service.app import create_app
from service.settings import load_settings
from tests.access.test_sessions import CLIENT_ID, CLIENT_SECRET
from tests.config_env import PIM_CLIENT, PIM_PASSWORD, PIM_SECRET, PIM_USER, pim_sandbox
from tests.servers import free_port, serve

SCOPE = " ".join(sandbox.bigcommerce.DEFAULT_SCOPES)
OTHER_TOKEN = "othertoken0123456789abcdefghijkl"


@pytest.fixture(scope="module")
def pims() -> Iterator[tuple[str, str]]:
    with serve(pim_sandbox()) as pim_a, serve(pim_sandbox()) as pim_b:
        yield pim_a, pim_b


class SlowPath:
    """PIM A as the connector sees it: every request passes through to the sandbox PIM, but while `held`
    the session check (`GET /rest/user/`) waits until `release()`: a PIM slow to answer."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.held = False
        self.arrived, self.released = threading.Event(), threading.Event()

    def release(self) -> None:
        self.released.set()

    async def forward(self, request: Request) -> Response:
        if self.held and request.url.path == "/rest/user/":
            self.arrived.set()
            await asyncio.to_thread(self.released.wait, 20)
        headers = {k: v for k, v in request.headers.items() if k.lower() not in ("host", "content-length")}
        async with httpx.AsyncClient(timeout=30) as http:
            answer = await http.request(request.method, f"{self.upstream}{request.url.path}",
                                        params=request.url.query, headers=headers, content=await request.body())
        drop = ("content-length", "transfer-encoding", "content-encoding", "connection")
        return Response(answer.content, answer.status_code,
                        {k: v for k, v in answer.headers.items() if k.lower() not in drop})


@pytest.fixture
def world(tmp_path, redis_url, redis_conn, pims):
    """PIM A behind a path that can be slowed, PIM B, a sandbox store with the app, the connector serving both."""
    upstream_a, pim_b = pims
    slow = SlowPath(upstream_a)
    bc_app = sandbox.bigcommerce.create_app(apps=[(CLIENT_ID, CLIENT_SECRET)], unlimited=True)
    bc_app.state.bc.create_store("abc123", name="Julia's Gadgets")
    bc_app.state.bc.create_store("zzz999", token=OTHER_TOKEN, name="Other shop")
    with serve(Starlette(routes=[Route("/{path:path}", slow.forward, methods=["GET", "POST", "PATCH", "PUT", "DELETE"])])
               ) as pim_a, serve(bc_app) as bc_url:
        port = free_port()
        settings = load_settings({
            "DATA_DIR": str(tmp_path), "SECRET_KEY": "pim-change-secret-0123456789", "REDIS_URL": redis_url,
            "BC_CLIENT_ID": CLIENT_ID, "BC_CLIENT_SECRET": CLIENT_SECRET, "BC_API_URL": bc_url,
            "BC_LOGIN_URL": bc_url, "APP_URL": f"http://127.0.0.1:{port}", "ALLOW_PRIVATE_URLS": "true",
            "PIM_URLS": f"{pim_a},{pim_b}"})
        app = create_app(settings)
        with serve(app, port=port) as url:
            yield {"app": app, "url": url, "bc": bc_app.state.bc, "a": pim_a, "b": pim_b, "slow": slow,
                   "upstream_a": upstream_a}


def app_install(world) -> httpx.Client:
    """The store installs the app: a client speaking with the install's session (Bearer, CSRF)."""
    url = world["url"]
    code = world["bc"].issue_auth_code(CLIENT_ID, "abc123", SCOPE, redirect_uri=f"{url}/bc/auth",
                                       user={"id": 7, "username": "julia", "email": "j@x.test"})
    installed = httpx.get(f"{url}/bc/auth", params={"code": code, "scope": SCOPE, "context": "stores/abc123"})
    assert installed.status_code == 200, installed.text
    return session_client(url, {"Authorization": f"Bearer {installed.cookies[COOKIE]}"}, {})


def session_client(url: str, headers: dict, cookies: dict) -> httpx.Client:
    me = httpx.get(f"{url}/api/session", headers=headers, cookies=cookies)
    assert me.status_code == 200, me.text
    return httpx.Client(base_url=url, headers={**headers, "X-CSRF-Token": me.json()["csrf_token"]},
                        cookies=cookies, timeout=30)


def connect_pim(http: httpx.Client, pim: str) -> None:
    answer = http.put("/api/config/pim", json={"url": pim, "client_id": PIM_CLIENT, "secret": PIM_SECRET,
                                               "username": PIM_USER, "password": PIM_PASSWORD})
    assert answer.status_code == 200 and answer.json()["connected"] is True, answer.text


def pim_login(world, pim: str) -> dict:
    """A PIM user opens the connector from the PIM: the browser's cookies (the PIM's and the connector's)."""
    upstream = world["upstream_a"] if pim == world["a"] else pim
    bapid = httpx.post(f"{upstream}/sandbox/sessions", json={"username": "admin"}).json()["cookie"]
    page = httpx.get(f"{world['url']}/", params={"pim": pim}, cookies={"BAPID": bapid})
    assert page.status_code == 200, page.text
    return {COOKIE: page.cookies[COOKIE], "BAPID": bapid}


def extension_session(world, pim: str) -> dict:
    """The product tab the connector added to the PIM, opened there: its Bearer header."""
    listed = httpx.get(f"{pim}/sandbox/ui-extensions").json()["extensions"]
    ext = next(e for e in listed if e["position"] == "pim.product.tab"
               and e["configuration"]["url"].startswith(world["url"]))
    bapid = httpx.post(f"{pim}/sandbox/sessions", json={"username": "admin"}).json()["cookie"]
    token = httpx.get(f"{pim}/sandbox/ui/extensions/{ext['uuid']}/jwt",
                      headers={"Cookie": f"BAPID={bapid}", "X-Requested-With": "XMLHttpRequest"}).json()["token"]
    page = httpx.post(ext["configuration"]["url"], data={"token": token})
    assert page.status_code == 200, page.text
    bearer = re.search(r'<meta name="session-token" content="([^"]+)"', page.text).group(1)
    return {"Authorization": f"Bearer {bearer}"}


def status(world, *, cookies: dict | None = None, headers: dict | None = None) -> tuple[int, int, int]:
    """(GET /api/session, GET /api/config, GET /) for one session."""
    url = world["url"]
    return tuple(httpx.get(f"{url}{path}", cookies=cookies, headers=headers, timeout=30).status_code
                 for path in ("/api/session", "/api/config", "/"))


def bound_records(app, tenant: str, pim: str) -> list[str]:
    """The tenant's session records bound to this PIM (what a PIM change revokes)."""
    records = app.state.sessions.records
    sids = [s.decode() for s in records.redis.smembers(f"connector:tenant:{tenant}:sessions")]
    return [sid for sid in sids if (records.get(sid) or {}).get("pim_url") == pim]


def test_a_tenant_that_connects_another_pim_ends_the_former_pims_sessions(world):
    app, url, pim_a, pim_b = world["app"], world["url"], world["a"], world["b"]
    with app_install(world) as merchant:
        tenant = merchant.get("/api/session").json()["tenant"]
        connect_pim(merchant, pim_a)
        assert merchant.post("/api/embed/install").status_code == 200
        cookie_a = pim_login(world, pim_a)
        tab_a = extension_session(world, world["upstream_a"])
        for session in ({"cookies": cookie_a}, {"headers": tab_a}, {"headers": dict(merchant.headers)}):
            assert status(world, **session) == (200, 200, 200)
            assert httpx.get(f"{url}/api/session", **session).json()["tenant"] == tenant

        connect_pim(merchant, pim_b)

        # PIM A's people no longer open this tenant: not its configuration, not its page, nothing they change
        assert status(world, cookies=cookie_a) == (401, 401, 401)
        assert status(world, headers=tab_a) == (401, 401, 401)
        before = app.state.store.get_section(tenant, "main")
        csrf = {"X-CSRF-Token": "whatever"}
        assert httpx.put(f"{url}/api/config/main", headers={**tab_a, **csrf}, json={"locale": "fr_FR"}
                         ).status_code == 401
        assert app.state.store.get_section(tenant, "main") == before
        assert not bound_records(app, tenant, pim_a)  # and their records went at once
        # the BigCommerce app's session is not a PIM's: it stays
        assert status(world, headers=dict(merchant.headers)) == (200, 200, 200)
        # PIM B's users land on this tenant and stay in; so do PIM B's extensions once installed there
        cookie_b = pim_login(world, pim_b)
        assert status(world, cookies=cookie_b) == (200, 200, 200)
        assert httpx.get(f"{url}/api/session", cookies=cookie_b).json()["tenant"] == tenant
        assert merchant.post("/api/embed/install").status_code == 200
        tab_b = extension_session(world, pim_b)
        assert status(world, headers=tab_b) == (200, 200, 200)
        # PIM A's users who come back get a tenant of their own, not this one
        assert httpx.get(f"{url}/api/session", cookies=pim_login(world, pim_a)).json()["tenant"] != tenant


def test_a_tenant_displaced_from_its_pim_ends_that_pims_sessions(world):
    """A first visit from PIM A made tenant P (PIM A unconnected: a claim), which connected a store of its
    own; the app's tenant then connects PIM A. P stays (its store), but PIM A is no longer P's."""
    url, pim_a = world["url"], world["a"]
    cookie_a = pim_login(world, pim_a)
    with session_client(url, {}, cookie_a) as pim_user:
        early = pim_user.get("/api/session").json()["tenant"]
        saved = pim_user.put("/api/config/bigcommerce", json={"store_hash": "zzz999", "client_id": CLIENT_ID,
                                                              "access_token": OTHER_TOKEN})
        assert saved.status_code == 200 and saved.json()["connected"] is True, saved.text
    assert status(world, cookies=cookie_a) == (200, 200, 200)  # the claim's own PIM is its PIM
    assert bound_records(world["app"], early, pim_a)
    with app_install(world) as merchant:
        connect_pim(merchant, pim_a)
        installed = merchant.get("/api/session").json()["tenant"]
        assert installed != early and world["app"].state.store.tenant_exists(early)
        assert status(world, cookies=cookie_a) == (401, 401, 401)
        assert not bound_records(world["app"], early, pim_a)
        assert status(world, headers=dict(merchant.headers)) == (200, 200, 200)
        assert httpx.get(f"{url}/api/session", cookies=pim_login(world, pim_a)).json()["tenant"] == installed


def test_a_request_waiting_for_the_pim_while_the_pim_changes_is_refused(world, redis_conn):
    """The race: a PIM A session's request is waiting for PIM A to confirm the cookie when the tenant connects
    PIM B; once the change has returned, that request must not pass."""
    url, pim_a, pim_b, slow = world["url"], world["a"], world["b"], world["slow"]
    with app_install(world) as merchant:
        connect_pim(merchant, pim_a)
        cookie_a = pim_login(world, pim_a)
        assert status(world, cookies=cookie_a) == (200, 200, 200)
        for key in redis_conn.scan_iter("connector:cache:pim-user:*"):  # the 60 s of trust have run out
            redis_conn.delete(key)
        slow.held = True
        answers: list[httpx.Response] = []
        waiting = threading.Thread(target=lambda: answers.append(
            httpx.get(f"{url}/api/config", cookies=cookie_a, timeout=30)))
        waiting.start()
        try:
            assert slow.arrived.wait(10), "the connector never asked PIM A"
            connect_pim(merchant, pim_b)
        finally:
            slow.release()
            waiting.join(30)
        assert answers and answers[0].status_code == 401, answers and answers[0].text
