"""Who may open the connector: the /api gate, BigCommerce app payloads, PIM sessions, CSRF, revocation."""

from __future__ import annotations

import time
import uuid

import httpx
import jwt
import pytest
from starlette.routing import Route

from service.access.sessions import COOKIE
from service.app import create_app
from service.settings import load_settings
from service.web.guard import SAFE_METHODS, is_api_path
from tests.servers import serve

CLIENT_ID = "app-client-id"
CLIENT_SECRET = "app-client-secret-0123456789abcdef0123456789"


def make_settings(tmp_path, redis_url, **extra):
    env = {"DATA_DIR": str(tmp_path), "SECRET_KEY": "access-test-secret-key-0123456789", "REDIS_URL": redis_url,
           "BC_CLIENT_ID": CLIENT_ID, "BC_CLIENT_SECRET": CLIENT_SECRET, "ALLOW_PRIVATE_URLS": "true", **extra}
    return load_settings(env)


def signed_payload(store_hash="abc123", secret=CLIENT_SECRET, algorithm="HS256", drop=(), **claims):
    now = int(time.time())
    body = {"aud": CLIENT_ID, "iss": "bc", "iat": now, "nbf": now - 5, "exp": now + 86400,
            "jti": uuid.uuid4().hex, "sub": f"stores/{store_hash}",
            "user": {"id": 7, "email": "merchant@example.com", "locale": "en-US"},
            "owner": {"id": 7, "email": "merchant@example.com"}, "url": "/", "channel_id": None, **claims}
    for name in drop:
        body.pop(name)
    return jwt.encode(body, secret, algorithm=algorithm)


@pytest.fixture
def app(tmp_path, redis_url, redis_conn):
    return create_app(make_settings(tmp_path, redis_url))


def installed_tenant(app, store_hash="abc123"):
    store = app.state.store
    tenant = store.create_tenant(store_hash=store_hash)
    store.put_credentials(tenant, "bigcommerce", {"access_token": "token"})
    return tenant


def api_routes(app):
    for route in app.routes:
        if isinstance(route, Route) and is_api_path(route.path):
            path = route.path
            for name in route.param_convertors:
                path = path.replace("{" + name + "}", "x1").replace("{" + name + ":int}", "1")
            for method in sorted(route.methods or ()):
                if method != "HEAD":
                    yield method, path


def test_every_api_route_needs_a_session_of_its_own_tenant(app):
    routes = list(api_routes(app))
    assert ("GET", "/api/session") in routes
    mine, other = app.state.store.create_tenant(), app.state.store.create_tenant()
    token, session = app.state.sessions.issue(other, {"id": 1}, "bigcommerce")
    with serve(app) as base, httpx.Client(base_url=base) as http:
        for method, path in routes:
            anonymous = http.request(method, path, json={})
            assert anonymous.status_code == 401, (method, path)
            assert anonymous.json()["error"] == "unauthorized"
            foreign = http.request(method, path, json={}, headers={
                "Authorization": f"Bearer {token}", "X-Tenant": mine, "X-CSRF-Token": session.csrf_token})
            assert foreign.status_code == 403, (method, path)
            assert foreign.json()["error"] == "wrong_tenant"
            by_query = http.request(method, path, params={"tenant": mine}, json={}, headers={
                "Authorization": f"Bearer {token}", "X-CSRF-Token": session.csrf_token})
            assert by_query.status_code == 403, (method, path)


def test_session_shape_cookie_and_bearer(app):
    tenant = app.state.store.create_tenant()
    token, session = app.state.sessions.issue(tenant, {"id": 3, "username": "julia", "password": "x"}, "bigcommerce")
    with serve(app) as base:
        by_bearer = httpx.get(f"{base}/api/session", headers={"Authorization": f"Bearer {token}"})
        by_cookie = httpx.get(f"{base}/api/session", cookies={COOKIE: token})
        forged = httpx.get(f"{base}/api/session", headers={"Authorization": f"Bearer {token}x"})
    assert by_bearer.json() == {"tenant": tenant, "user": {"id": 3, "username": "julia"}, "via": "bigcommerce",
                                "csrf_token": session.csrf_token}
    assert by_cookie.json() == by_bearer.json()
    assert forged.status_code == 401


def test_csrf_token_required_on_changes(app):
    tenant = app.state.store.create_tenant()
    token, session = app.state.sessions.issue(tenant, {"id": 1}, "bigcommerce")
    auth = {"Authorization": f"Bearer {token}"}
    with serve(app) as base:
        missing = httpx.delete(f"{base}/api/session", headers=auth)
        wrong = httpx.delete(f"{base}/api/session", headers={**auth, "X-CSRF-Token": "nope"})
        assert missing.status_code == 403 and missing.json()["error"] == "csrf"
        assert wrong.status_code == 403 and wrong.json()["error"] == "csrf"
        assert httpx.get(f"{base}/api/session", headers=auth).status_code == 200
        ok = httpx.delete(f"{base}/api/session", headers={**auth, "X-CSRF-Token": session.csrf_token})
        assert ok.status_code == 204
        assert httpx.get(f"{base}/api/session", headers=auth).status_code == 401  # logged out for good
    assert "POST" not in SAFE_METHODS and "DELETE" not in SAFE_METHODS


def test_expired_session_is_refused(tmp_path, redis_url, redis_conn):
    app = create_app(make_settings(tmp_path, redis_url, SESSION_TTL="60"))
    sessions = app.state.sessions
    tenant = app.state.store.create_tenant()
    token, _ = sessions.issue(tenant, {"id": 1}, "bigcommerce")
    assert sessions.load(token) is not None
    assert 0 < redis_conn.ttl(redis_conn.keys("connector:session:*")[0]) <= 60  # the record expires
    # A token whose signature is older than the TTL is refused even while its record would exist.
    old = sessions.serializer.loads(token)
    real_timestamp = sessions.serializer.signer(sessions.serializer.secret_keys[-1]).get_timestamp
    signer = sessions.serializer.make_signer()
    signer.get_timestamp = lambda: real_timestamp() - 120
    stale = signer.sign(sessions.serializer.dump_payload(old)).decode()
    assert sessions.load(stale) is None
    redis_conn.delete(*redis_conn.keys("connector:session:*"))  # what expiry does to the record
    assert sessions.load(token) is None


@pytest.mark.parametrize("case", [
    "wrong_key", "alg_none", "wrong_aud", "wrong_iss", "expired", "not_yet_valid", "issued_in_future",
    "missing_sub", "malformed_sub", "sub_with_newline", "missing_jti", "garbage", "missing",
])
def test_bad_signed_payloads_are_refused(app, case):
    installed_tenant(app)
    now = int(time.time())
    token = {
        "wrong_key": lambda: signed_payload(secret="another-secret-0123456789abcdef0123456789"),
        "alg_none": lambda: jwt.encode({"aud": CLIENT_ID, "iss": "bc", "sub": "stores/abc123", "iat": now,
                                        "nbf": now, "exp": now + 60, "jti": "j"}, None, algorithm="none"),
        "wrong_aud": lambda: signed_payload(aud="someone-else"),
        "wrong_iss": lambda: signed_payload(iss="not-bc"),
        "expired": lambda: signed_payload(exp=now - 120, iat=now - 3600, nbf=now - 3600),
        "not_yet_valid": lambda: signed_payload(nbf=now + 300),
        "issued_in_future": lambda: signed_payload(iat=now + 300, nbf=now - 5),
        "missing_sub": lambda: signed_payload(drop=("sub",)),
        "malformed_sub": lambda: signed_payload(sub="shops/abc123"),
        "sub_with_newline": lambda: signed_payload(sub="stores/abc123\n"),
        "missing_jti": lambda: signed_payload(drop=("jti",)),
        "garbage": lambda: "not.a.jwt",
        "missing": lambda: None,
    }[case]()
    with serve(app) as base:
        params = {"signed_payload_jwt": token} if token else {}
        load = httpx.get(f"{base}/bc/load", params=params)
        uninstall = httpx.get(f"{base}/bc/uninstall", params=params)
    assert load.status_code == 401, case
    assert COOKIE not in load.cookies
    assert uninstall.status_code == 401
    assert app.state.store.tenant_for_store("abc123")  # nothing was uninstalled


def test_leeway_admits_small_clock_skew(app):
    installed_tenant(app)
    now = int(time.time())
    with serve(app) as base:
        response = httpx.get(f"{base}/bc/load", params={"signed_payload_jwt": signed_payload(nbf=now + 30, iat=now + 30)})
    assert response.status_code == 200


def test_load_once_per_jti_and_unknown_store(app):
    installed_tenant(app)
    token = signed_payload()
    with serve(app) as base:
        first = httpx.get(f"{base}/bc/load", params={"signed_payload_jwt": token})
        replay = httpx.get(f"{base}/bc/load", params={"signed_payload_jwt": token})
        unknown = httpx.get(f"{base}/bc/load", params={"signed_payload_jwt": signed_payload(store_hash="zzz999")})
    assert first.status_code == 200 and first.cookies.get(COOKIE)
    assert replay.status_code == 401
    assert unknown.status_code == 404 and "not installed" in unknown.text.lower()


def test_app_routes_answer_503_without_app_credentials(tmp_path, redis_url, redis_conn):
    settings = load_settings({"DATA_DIR": str(tmp_path), "SECRET_KEY": "k" * 32, "REDIS_URL": redis_url})
    with serve(create_app(settings)) as base:
        for path in ("/bc/auth", "/bc/load", "/bc/uninstall", "/bc/remove_user"):
            response = httpx.get(f"{base}{path}", params={"signed_payload_jwt": "x", "code": "c"})
            assert response.status_code == 503, path
            assert "BC_CLIENT_ID" in response.text


def test_remove_user_revokes_only_that_users_sessions(app):
    tenant = installed_tenant(app)
    gone, _ = app.state.sessions.issue(tenant, {"id": 7}, "bigcommerce")
    stays, _ = app.state.sessions.issue(tenant, {"id": 8}, "bigcommerce")
    app.state.store.set_tenant_pim_url(tenant, "https://pim.example.com")  # a PIM session needs the tenant's PIM
    pim_user_7, _ = app.state.sessions.issue(tenant, {"id": 7}, "pim",  # another origin's user 7
                                             pim_url="https://pim.example.com")
    with serve(app) as base:
        response = httpx.get(f"{base}/bc/remove_user", params={"signed_payload_jwt": signed_payload()})
        assert response.status_code == 204
        assert httpx.get(f"{base}/api/session", headers={"Authorization": f"Bearer {gone}"}).status_code == 401
        assert httpx.get(f"{base}/api/session", headers={"Authorization": f"Bearer {stays}"}).status_code == 200
    assert app.state.sessions.load(pim_user_7) is not None


def test_uninstall_forgets_the_tenant_and_its_sessions(app, redis_conn):
    from service.queues import IMPORTS, enqueue, queue

    tenant = installed_tenant(app)
    other = installed_tenant(app, "other1")
    app.state.store.put_section(tenant, "main", {"locale": "en_US"})
    token, _ = app.state.sessions.issue(tenant, {"id": 7}, "bigcommerce")
    enqueue(redis_conn, IMPORTS, "workers.jobs.maintenance.ping", "mine", tenant=tenant, job_timeout=60)
    theirs = enqueue(redis_conn, IMPORTS, "workers.jobs.maintenance.ping", "theirs", tenant=other, job_timeout=60)
    with serve(app) as base:
        response = httpx.get(f"{base}/bc/uninstall", params={"signed_payload_jwt": signed_payload()})
        assert response.status_code == 204
        assert httpx.get(f"{base}/api/session", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    store = app.state.store
    assert not store.tenant_exists(tenant) and store.tenant_for_store("abc123") is None
    assert store.get_credentials(tenant, "bigcommerce") is None and store.get_section(tenant, "main") == {}
    assert queue(redis_conn, IMPORTS).get_job_ids() == [theirs.id]
    assert store.tenant_exists(other)


def test_cookie_flags_follow_app_url_and_frames_are_limited(tmp_path, redis_url, redis_conn):
    for app_url, secure in (("https://connector.example.com", True), ("http://127.0.0.1:8000", False)):
        app = create_app(make_settings(tmp_path, redis_url, APP_URL=app_url, PIM_URLS="https://pim.example.com/akeneo"))
        installed_tenant(app)
        with serve(app) as base:
            response = httpx.get(f"{base}/bc/load", params={"signed_payload_jwt": signed_payload()})
        cookie = response.headers["set-cookie"].lower()
        assert cookie.startswith("__host-connector_session=" if secure else "connector_session=")
        assert "httponly" in cookie and "path=/" in cookie and "domain" not in cookie
        assert ("samesite=none" in cookie and "secure" in cookie) if secure else "samesite=lax" in cookie
        csp = response.headers["content-security-policy"]
        ancestors = csp.split("frame-ancestors")[1].split(";")[0].split()
        assert set(ancestors) == {"'self'", "https://*.bigcommerce.com", "https://*.mybigcommerce.com",
                                  "https://pim.example.com"}
        assert response.headers["x-content-type-options"] == "nosniff"
