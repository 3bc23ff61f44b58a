"""Access through the PIM's session cookie, checked against the sandbox PIM over real HTTP."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse, RedirectResponse
from starlette.routing import Route

import sandbox.pim
from service.access.pim_session import CACHE_SECONDS, pim_user
from service.access.sessions import COOKIE
from service.app import create_app
from service.net import UnsafeUrl, ensure_public_url
from service.settings import load_settings
from tests.servers import free_port, serve


def connector(tmp_path, redis_url, pim_urls):
    return create_app(load_settings({"DATA_DIR": str(tmp_path), "SECRET_KEY": "pim-access-secret-0123456789",
                                     "REDIS_URL": redis_url, "PIM_URLS": pim_urls}))


def pim_cookie(base, username="admin"):
    return httpx.post(f"{base}/sandbox/sessions", json={"username": username}).json()["cookie"]


def test_pim_confirms_the_cookie_then_a_tenant_and_session_exist(pim, tmp_path, redis_url, redis_conn):
    base, _ = pim
    app = connector(tmp_path, redis_url, base + "/")  # trailing slash: compared after normalisation
    cookie = pim_cookie(base)
    with serve(app) as url:
        first = httpx.get(f"{url}/", params={"pim": base}, cookies={"BAPID": cookie})
        assert first.status_code == 200
        token = first.cookies[COOKIE]
        both = {COOKIE: token, "BAPID": cookie}  # on one host the browser sends both cookies
        session = httpx.get(f"{url}/api/session", cookies=both).json()
        assert session["via"] == "pim" and session["user"]["username"] == "admin"
        tenant = app.state.store.tenant_for_pim(base)
        assert session["tenant"] == tenant
        # Second visit with another PIM session: same tenant.
        second_cookie = pim_cookie(base)
        again = httpx.get(f"{url}/", params={"pim": base}, cookies={"BAPID": second_cookie})
        assert httpx.get(f"{url}/api/session", cookies={COOKIE: again.cookies[COOKIE], "BAPID": second_cookie}
                         ).json()["tenant"] == tenant
        # The page itself, later, with the session cookie (and the PIM's, as a browser on one host sends).
        assert httpx.get(f"{url}/", cookies=both).status_code == 200
    # The cookie is never stored, only a hash of it.
    assert not [k for k in redis_conn.keys("*") if cookie.encode() in k]
    for key in redis_conn.keys("connector:cache:*"):
        assert cookie.encode() not in redis_conn.get(key)


@pytest.mark.parametrize("case", ["no_cookie", "rejected_cookie", "ended_session"])
def test_cookie_the_pim_rejects_gives_no_access(pim, tmp_path, redis_url, redis_conn, case):
    base, _ = pim
    app = connector(tmp_path, redis_url, base)
    cookies = {"no_cookie": {}, "rejected_cookie": {"BAPID": "made-up-session"}, "ended_session": None}[case]
    if cookies is None:
        cookie = pim_cookie(base)
        httpx.delete(f"{base}/sandbox/sessions/{cookie}")
        cookies = {"BAPID": cookie}
    with serve(app) as url:
        response = httpx.get(f"{url}/", params={"pim": base}, cookies=cookies)
    assert response.status_code == 401
    assert "logged in to your PIM" in response.text
    assert COOKIE not in response.cookies
    assert app.state.store.tenant_for_pim(base) is None


def test_login_redirect_means_no_access(tmp_path, redis_url, redis_conn):
    async def user(request):
        return RedirectResponse("/user/login", status_code=302)

    fake_pim = Starlette(routes=[Route("/rest/user/", user)])
    with serve(fake_pim) as base:
        app = connector(tmp_path, redis_url, base)
        with serve(app) as url:
            response = httpx.get(f"{url}/", params={"pim": base}, cookies={"BAPID": "x"})
    assert response.status_code == 401


@pytest.mark.parametrize("kind", ["down", "error", "not_json"])
def test_pim_that_cannot_answer_means_503_never_access(tmp_path, redis_url, redis_conn, kind):
    async def broken(request):
        return PlainTextResponse("oops", status_code=500 if kind == "error" else 200)

    if kind == "down":
        base = f"http://127.0.0.1:{free_port()}"
        app = connector(tmp_path, redis_url, base)
        with serve(app) as url:
            response = httpx.get(f"{url}/", params={"pim": base}, cookies={"BAPID": "x"})
    else:
        with serve(Starlette(routes=[Route("/rest/user/", broken)])) as base:
            app = connector(tmp_path, redis_url, base)
            with serve(app) as url:
                response = httpx.get(f"{url}/", params={"pim": base}, cookies={"BAPID": "x"})
    assert response.status_code == 503
    assert "cannot verify your pim session" in response.text.lower()
    assert COOKIE not in response.cookies


def test_unlisted_pim_is_403_and_no_pims_means_cookie_access_off(pim, tmp_path, redis_url, redis_conn):
    base, _ = pim
    cookie = pim_cookie(base)
    with serve(connector(tmp_path, redis_url, "https://pim.example.com")) as url:
        other = httpx.get(f"{url}/", params={"pim": base}, cookies={"BAPID": cookie})
        lookalike = httpx.get(f"{url}/", params={"pim": "https://pim.example.com.evil.test"}, cookies={"BAPID": cookie})
    assert other.status_code == 403 and lookalike.status_code == 403
    with serve(connector(tmp_path, redis_url, "")) as url:
        assert httpx.get(f"{url}/", params={"pim": base}, cookies={"BAPID": cookie}).status_code == 403


def test_no_session_no_pim_is_401_login_page(tmp_path, redis_url, redis_conn):
    with serve(connector(tmp_path, redis_url, "")) as url:
        response = httpx.get(f"{url}/")
    assert response.status_code == 401
    assert "logged in to your PIM" in response.text


def test_positive_answers_are_cached_briefly(pim, tmp_path, redis_url, redis_conn):
    base, pim_app = pim
    app = connector(tmp_path, redis_url, base)
    store = app.state.store
    cookie = pim_cookie(base)
    counts = lambda: httpx.get(f"{base}/sandbox/requests").json()["counts"]  # noqa: E731
    before = counts().get("GET /rest/user/", 0)
    assert asyncio.run(pim_user(store, base, "BAPID", cookie, client="127.0.0.1"))["username"] == "admin"
    assert asyncio.run(pim_user(store, base, "BAPID", cookie, client="127.0.0.1"))["username"] == "admin"
    assert counts().get("GET /rest/user/", 0) == before + 1
    ttl = max(redis_conn.ttl(k) for k in redis_conn.keys("connector:cache:pim-user:*"))
    assert 0 < ttl <= CACHE_SECONDS
    # Refusals are remembered too, more briefly (tests/access/test_pim_cookie_checks.py).


def test_private_addresses_are_refused_unless_allowed():
    for url in ("http://127.0.0.1:8080", "http://localhost", "http://10.1.2.3", "http://169.254.169.254/latest",
                "http://[::1]:80", "http://192.168.0.1", "http://0.0.0.0"):
        with pytest.raises(UnsafeUrl):
            asyncio.run(ensure_public_url(url, allow_private=False))
        asyncio.run(ensure_public_url(url, allow_private=True))
    asyncio.run(ensure_public_url("http://does-not-exist.invalid", allow_private=False))  # DNS error reported later


def test_browser_entry_after_logging_in_to_the_pim(pim, tmp_path, redis_url, redis_conn):
    """What a person does: log in to the PIM (its form sets BAPID), then open the connector from it."""
    base, _ = pim
    app = connector(tmp_path, redis_url, base)
    with serve(app) as url, httpx.Client() as browser:
        entry = f"{url}/?pim={base}"
        bad = browser.post(f"{base}/user/login", data={"_username": "admin", "_password": "wrong", "next": entry})
        assert bad.status_code == 401 and "BAPID" not in browser.cookies
        login = browser.post(f"{base}/user/login", data={"_username": "admin", "_password": "admin", "next": entry})
        assert login.status_code == 302 and login.headers["location"] == entry
        # Cookies are per host, not per port: the PIM's cookie reaches the connector on the same host.
        page = browser.get(entry)
        assert page.status_code == 200
        assert browser.get(f"{url}/api/session").json()["user"]["username"] == "admin"


def test_pim_session_stays_bound_to_the_pim_session_it_came_from(pim, tmp_path, redis_url, redis_conn):
    base, _ = pim
    app = connector(tmp_path, redis_url, base)
    cookie, other_cookie = pim_cookie(base), pim_cookie(base)
    with serve(app) as url:
        token = httpx.get(f"{url}/", params={"pim": base}, cookies={"BAPID": cookie}).cookies[COOKIE]
        bearer = {"Authorization": f"Bearer {token}"}
        assert httpx.get(f"{url}/api/session", headers=bearer, cookies={"BAPID": cookie}).status_code == 200
        # Without the PIM's cookie, or with another PIM session's cookie: no access.
        assert httpx.get(f"{url}/api/session", headers=bearer).status_code == 401
        assert httpx.get(f"{url}/api/session", headers=bearer, cookies={"BAPID": other_cookie}).status_code == 401
        assert httpx.get(f"{url}/", headers=bearer).status_code == 401
        # Logging out of the PIM ends the connector session once the 60 s cache has run out.
        httpx.delete(f"{base}/sandbox/sessions/{cookie}")
        redis_conn.delete(*redis_conn.keys("connector:cache:pim-user:*"))  # what 60 s do to the cache
        assert httpx.get(f"{url}/api/session", headers=bearer, cookies={"BAPID": cookie}).status_code == 401
        assert app.state.sessions.load(token) is None  # revoked, not just refused once


def test_pim_down_at_a_later_request_is_503_not_access(tmp_path, redis_url, redis_conn):
    pim_app = sandbox.pim.create_app()
    with serve(pim_app) as base:
        app = connector(tmp_path, redis_url, base)
        cookie = pim_cookie(base)
        with serve(app) as url:
            token = httpx.get(f"{url}/", params={"pim": base}, cookies={"BAPID": cookie}).cookies[COOKIE]
    redis_conn.delete(*redis_conn.keys("connector:cache:pim-user:*"))
    with serve(app) as url:  # the PIM is gone now
        response = httpx.get(f"{url}/api/session", cookies={COOKIE: token, "BAPID": cookie})
        page = httpx.get(f"{url}/", cookies={COOKIE: token, "BAPID": cookie})
    assert response.status_code == 503 and response.json()["error"] == "pim_unavailable"
    assert page.status_code == 503


def test_malformed_pim_parameter_is_403_not_500(tmp_path, redis_url, redis_conn):
    with serve(connector(tmp_path, redis_url, "https://pim.example.com")) as url:
        for value in ("http://[", "http://[::1", "::::", "javascript:alert(1)"):
            assert httpx.get(f"{url}/", params={"pim": value}, cookies={"BAPID": "x"}).status_code == 403, value


def test_first_visits_racing_create_one_tenant(pim, tmp_path, redis_url, redis_conn):
    from concurrent.futures import ThreadPoolExecutor

    base, _ = pim
    app = connector(tmp_path, redis_url, base)
    with ThreadPoolExecutor(8) as pool:
        tenants = set(pool.map(lambda _: app.state.store.ensure_tenant_for_pim(base), range(16)))
    assert len(tenants) == 1 and app.state.store.tenants() == sorted(tenants)


def test_merchant_urls_cannot_reach_internal_addresses_even_after_the_check(pim):
    """The address is checked at every connection (DNS rebinding), not only when the URL is saved."""
    from service.clients.akeneo import AkeneoClient
    from service.clients.akeneo_errors import AkeneoUnreachable

    base, _ = pim

    async def connect(allow: bool):
        async with AkeneoClient(base, "sandbox-client", "sandbox-secret", "admin", "admin",
                                allow_private_addresses=allow, max_attempts=1) as client:
            return await client.check_connection()

    with pytest.raises(AkeneoUnreachable) as refused:
        asyncio.run(connect(False))
    assert refused.value.kind == "private"
    assert asyncio.run(connect(True))["authenticated"]


def test_visits_with_one_pim_cookie_get_one_session_again(pim, tmp_path, redis_url, redis_conn):
    """Was (issue 18): every `GET /?pim=` wrote a new 8-hour session record (300 visits -> 301 records)."""
    base, _ = pim
    app = connector(tmp_path, redis_url, base)
    records = app.state.sessions.records
    cookie = pim_cookie(base)
    with serve(app) as url, httpx.Client(base_url=url) as client:
        csrf = set()
        for _ in range(60):
            visit = client.get("/", params={"pim": base}, cookies={"BAPID": cookie})
            assert visit.status_code == 200
            session = httpx.get(f"{url}/api/session", cookies={COOKIE: visit.cookies[COOKIE], "BAPID": cookie})
            assert session.status_code == 200
            csrf.add(session.json()["csrf_token"])
        tenant = app.state.store.tenant_for_pim(base)
        assert records.count(tenant) == 1 and len(csrf) == 1  # the same session: other tabs keep working
        # another PIM session (a new login) is another session; after a logout, a visit gets a new one
        other = pim_cookie(base)
        token = client.get("/", params={"pim": base}, cookies={"BAPID": other}).cookies[COOKIE]
        assert records.count(tenant) == 2
        both = {COOKIE: token, "BAPID": other}
        csrf_other = httpx.get(f"{url}/api/session", cookies=both).json()["csrf_token"]
        assert httpx.delete(f"{url}/api/session", cookies=both, headers={"X-CSRF-Token": csrf_other}).status_code == 204
        again = client.get("/", params={"pim": base}, cookies={"BAPID": other}).cookies[COOKIE]
        assert again != token and app.state.sessions.load(token) is None
        assert app.state.sessions.load(again) is not None and records.count(tenant) == 2


def test_a_tenants_live_sessions_are_capped_the_oldest_ending_first(tmp_path, redis_url, redis_conn):
    """Was (issue 18): session records per tenant had no bound (nor had their revocation indexes)."""
    from service.store.sessions import SESSIONS_MAX

    app = connector(tmp_path, redis_url, "")
    sessions, store = app.state.sessions, app.state.store
    tenant, other = store.create_tenant(), store.create_tenant()
    kept = sessions.issue(other, {"id": 9}, "bigcommerce")[0]
    tokens = [sessions.issue(tenant, {"id": 7}, "bigcommerce")[0] for _ in range(SESSIONS_MAX + 30)]
    assert sessions.records.count(tenant) == SESSIONS_MAX
    assert all(sessions.load(t) is None for t in tokens[:30])
    assert all(sessions.load(t) is not None for t in tokens[-5:])
    assert sessions.load(kept) is not None  # another tenant's are not touched
    for index in (f"connector:tenant:{tenant}:sessions", f"connector:tenant:{tenant}:user-sessions:bigcommerce:7"):
        assert redis_conn.scard(index) <= SESSIONS_MAX + 1, index
    assert len(redis_conn.keys("connector:session:*")) == SESSIONS_MAX + 1
    # revoked sessions make room before any live one is ended
    for t in tokens[-10:]:
        sessions.revoke(sessions.load(t))
    newest = [sessions.issue(tenant, {"id": 7}, "bigcommerce")[0] for _ in range(10)]
    assert all(sessions.load(t) is not None for t in [*tokens[-SESSIONS_MAX:-10], *newest])
