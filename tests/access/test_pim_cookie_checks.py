"""Checks of PIM session cookies are bounded (issue 8): a cookie the PIM refused is remembered briefly, and
the checks are limited per client address across every web process."""

from __future__ import annotations

from tests.servers import serve


def pim_connector(tmp_path, redis_url, pim_url):
    from service.app import create_app
    from service.settings import load_settings

    return create_app(load_settings({"DATA_DIR": str(tmp_path), "SECRET_KEY": "trust-small-secret-0123456789",
                                     "REDIS_URL": redis_url, "PIM_URLS": pim_url}))


def pim_checks(pim_url: str) -> int:
    """How often the PIM was asked to confirm a session cookie (the sandbox counts its requests)."""
    import httpx

    return httpx.get(f"{pim_url}/sandbox/requests").json()["counts"].get("GET /rest/user/", 0)


def test_a_cookie_the_pim_refused_is_remembered_briefly(pim, tmp_path, redis_url, redis_conn):
    import httpx

    from service.store.limits import REFUSAL_SECONDS

    base, _ = pim
    app = pim_connector(tmp_path, redis_url, base)
    before = pim_checks(base)
    with serve(app) as url:
        for _ in range(3):
            response = httpx.get(f"{url}/", params={"pim": base}, cookies={"BAPID": "made-up-session"})
            assert response.status_code == 401 and "logged in to your PIM" in response.text
        assert pim_checks(base) == before + 1  # asked once, not three times
        keys = redis_conn.keys("connector:pim-refused:*")
        assert len(keys) == 1 and b"made-up-session" not in keys[0]  # the fingerprint, never the cookie
        assert 0 < redis_conn.ttl(keys[0]) <= REFUSAL_SECONDS
        assert httpx.get(f"{url}/", params={"pim": base}, cookies={"BAPID": "other"}).status_code == 401
        assert pim_checks(base) == before + 2  # another cookie is another question
        redis_conn.delete(*keys)  # what the refusal's few seconds do
        assert httpx.get(f"{url}/", params={"pim": base}, cookies={"BAPID": "made-up-session"}).status_code == 401
        assert pim_checks(base) == before + 3


def test_pim_cookie_checks_are_limited_per_client_address_in_every_process(pim, tmp_path, redis_url, redis_conn):
    import httpx

    from service.access.sessions import COOKIE
    from service.store.limits import CHECKS_PER_WINDOW, WINDOW_SECONDS

    base, _ = pim
    good = httpx.post(f"{base}/sandbox/sessions", json={"username": "admin"}).json()["cookie"]
    # Two web processes on one Redis share each address's budget.
    one, two = pim_connector(tmp_path, redis_url, base), pim_connector(tmp_path, redis_url, base)
    with serve(one) as first, serve(two) as second:
        token = httpx.get(f"{first}/", params={"pim": base}, cookies={"BAPID": good}).cookies[COOKIE]  # 1 check
        before = pim_checks(base)
        for i in range(CHECKS_PER_WINDOW - 1):
            url = (first, second)[i % 2]
            assert httpx.get(f"{url}/", params={"pim": base}, cookies={"BAPID": f"random-{i}"}).status_code == 401
        assert pim_checks(base) == before + CHECKS_PER_WINDOW - 1
        over = httpx.get(f"{second}/", params={"pim": base}, cookies={"BAPID": "one-more"})
        assert over.status_code == 429 and "Too many" in over.text, over.text
        assert 0 < int(over.headers["retry-after"]) <= WINDOW_SECONDS
        assert COOKIE not in over.cookies
        # A PIM session whose cached answer ran out needs a check too: a clear 429, neither access nor 503.
        redis_conn.delete(*redis_conn.keys("connector:cache:pim-user:*"))
        api = httpx.get(f"{first}/api/session", cookies={COOKIE: token, "BAPID": good})
        assert api.status_code == 429 and api.json()["error"] == "too_many_checks", api.text
        assert int(api.headers["retry-after"]) > 0
        assert pim_checks(base) == before + CHECKS_PER_WINDOW - 1  # none of these reached the PIM
        assert one.state.sessions.load(token) is not None  # not revoked: the PIM was never asked
        # Another client address has its own budget.
        with httpx.Client(transport=httpx.HTTPTransport(local_address="127.0.0.2"),
                          cookies={COOKIE: token, "BAPID": good}) as neighbour:
            assert neighbour.get(f"{first}/api/session").status_code == 200
        assert pim_checks(base) == before + CHECKS_PER_WINDOW
