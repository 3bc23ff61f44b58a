"""Forged and cross-tenant requests reach nothing (hostile input, issue 13): forged BigCommerce
`signed_payload_jwt`s (a hypothesis property over keys, algorithms and every claim, against an oracle written
from BigCommerce's rules), cross-tenant ids and tenant names on every /api route, missing or wrong CSRF tokens
on every state-changing route, merchant PIM URLs aimed at internal addresses in every spelling (decimal, hex,
octal, short, IPv6, IPv4-mapped) and by DNS rebinding, and tampered or expired media links. Over real HTTP;
counted and recorded."""

from __future__ import annotations

import base64
import contextlib
import json
import socket
import threading
import time
import uuid
from collections.abc import Iterator

import httpx
import jwt
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from itsdangerous import TimestampSigner

from service import net
from service.access.sessions import COOKIE
from service.app import create_app
from service.media import SALT, media_token
from service.settings import load_settings
from service.web.guard import SAFE_METHODS
from tests.access.test_sessions import CLIENT_ID, CLIENT_SECRET, api_routes, installed_tenant, make_settings
from tests.hostile_env import SECRET, STORES, connected_service
from tests.reliability.figures import record
from tests.servers import serve

# short test keys are the point of some forgeries
pytestmark = [pytest.mark.reliability, pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")]


# --- forged signed_payload_jwt ---------------------------------------------------------------------------

MISSING = object()
GOOD = {"aud": CLIENT_ID, "iss": "bc", "sub": "stores/abc123", "exp": 3600, "nbf": -5, "iat": 0, "jti": "fresh"}
CHOICES = {  # claim -> (values BigCommerce's rules accept, values they refuse); times are relative to now
    "aud": ([CLIENT_ID], ["someone-else", "", CLIENT_ID.upper(), 123, MISSING]),
    "iss": (["bc"], ["BC", "", "bigcommerce", MISSING]),
    "sub": (["stores/abc123"], ["stores/ABC123", "stores/abc123/x", "stores/", "abc123", "stores/abc123\n",
                                "stores/abc123 ", "stores/../abc123", MISSING, 7]),
    "exp": ([3600, -30], [-120, -86400, MISSING, "tomorrow"]),
    "nbf": ([-5, 30], [300, 86400, MISSING, "now"]),
    "iat": ([0, 30], [300, 86400, MISSING, "now"]),
    "jti": (["fresh"], [MISSING, "used"]),
}


def forged_token(choice: dict, key: str, algorithm: str, used_jti: str) -> str:
    now = int(time.time())
    claims = {"user": {"id": 7, "email": "merchant@example.com"}, "owner": {"id": 7}, "url": "/"}
    for name, value in choice.items():
        if value is MISSING:
            continue
        if name in ("exp", "nbf", "iat") and isinstance(value, int):
            value = now + value
        elif name == "jti":
            value = uuid.uuid4().hex if value == "fresh" else used_jti
        claims[name] = value
    if algorithm == "none":
        return jwt.encode(claims, None, algorithm="none")
    if algorithm == "none-signed":  # header says none, a signature is attached anyway
        header = base64.urlsafe_b64encode(b'{"alg":"none","typ":"JWT"}').rstrip(b"=").decode()
        real = jwt.encode(claims, key, algorithm="HS256").split(".")
        return ".".join([header, real[1], real[2]])
    return jwt.encode(claims, key, algorithm=algorithm)


@pytest.fixture
def app_jwt(tmp_path, redis_url, redis_conn):
    return create_app(make_settings(tmp_path, redis_url))


def test_forged_signed_payloads_never_open_a_session(app_jwt):
    """Property: /bc/load answers 200 with a session exactly when key, algorithm and every claim are good;
    /bc/uninstall and /bc/remove_user never act on a forged one."""
    app = app_jwt
    tenant = installed_tenant(app)
    user_token, _ = app.state.sessions.issue(tenant, {"id": 7}, "bigcommerce")
    used_jti = uuid.uuid4().hex
    assert app.state.store.claim_once("bc-jti", used_jti, 3600)  # as if a load had used it
    tally = {"inputs": 0, "forged": 0, "good": 0, "accepted_bad": 0, "refused_good": 0}
    bad_keys = ["another-secret-0123456789abcdef0123456789", CLIENT_SECRET[:-1], CLIENT_SECRET + "x", CLIENT_ID]
    bad_algorithms = ["HS512", "HS384", "none", "none-signed"]
    anything = st.tuples(st.fixed_dictionaries({name: st.sampled_from(good + bad)
                                                for name, (good, bad) in CHOICES.items()}),
                         st.sampled_from([CLIENT_SECRET, *bad_keys]), st.sampled_from(["HS256", *bad_algorithms]))

    @st.composite
    def one_thing_wrong(draw):  # a real payload with at most one claim, the key or the algorithm changed
        choice = {name: good[0] for name, (good, _) in CHOICES.items()}
        what = draw(st.sampled_from(["nothing", "key", "algorithm", *CHOICES]))
        key, algorithm = CLIENT_SECRET, "HS256"
        if what == "key":
            key = draw(st.sampled_from(bad_keys))
        elif what == "algorithm":
            algorithm = draw(st.sampled_from(bad_algorithms))
        elif what != "nothing":
            good, bad = CHOICES[what]
            choice[what] = draw(st.sampled_from(good + bad))
        return choice, key, algorithm

    with serve(app) as base, httpx.Client(base_url=base, timeout=30) as http:
        @given(forged=anything | one_thing_wrong(),
               route=st.sampled_from(["/bc/load", "/bc/load", "/bc/uninstall", "/bc/remove_user"]))
        @settings(max_examples=160, deadline=None, database=None, phases=[Phase.generate],
                  suppress_health_check=list(HealthCheck))
        def attempt(forged, route):
            choice, key, algorithm = forged
            good = key == CLIENT_SECRET and algorithm == "HS256" and all(
                choice[name] in CHOICES[name][0] for name in CHOICES)
            if good and route != "/bc/load":
                return  # a good uninstall would end the fixture; the happy paths have tests of their own
            token = forged_token(choice, key, algorithm, used_jti)
            response = http.get(route, params={"signed_payload_jwt": token})
            tally["inputs"] += 1
            tally["forged"] += not good
            if good:
                tally["good"] += 1
                tally["refused_good"] += response.status_code != 200 or not response.cookies.get(COOKIE)
            elif response.status_code != 401 or response.cookies.get(COOKIE):
                tally["accepted_bad"] += 1

        attempt()
        for token in ("", "a", "a.b", "a.b.c", "." * 3000, "x" * 20000, "eyJhbGciOiJub25lIn0.e30.",
                      "é.é.é", forged_token(GOOD, CLIENT_SECRET, "HS256", used_jti)[:-4] + "AAAA"):
            for route in ("/bc/load", "/bc/uninstall", "/bc/remove_user"):
                response = http.get(route, params={"signed_payload_jwt": token})
                tally["inputs"] += 1
                tally["forged"] += 1
                tally["accepted_bad"] += response.status_code != 401
    assert app.state.store.tenant_for_store("abc123") == tenant  # never uninstalled
    assert app.state.sessions.load(user_token) is not None  # the user was never removed
    record("hostile", "forged signed_payload_jwt (keys, algorithms, aud/iss/sub/exp/nbf/iat/jti) on /bc/load, "
           "/bc/uninstall, /bc/remove_user", **tally)
    assert tally["accepted_bad"] == 0 and tally["refused_good"] == 0, tally
    assert tally["forged"] > 100 and tally["good"] >= 3


# --- cross-tenant ids and CSRF ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def service(tmp_path_factory, redis_url):
    with connected_service(tmp_path_factory.mktemp("hostile-access"), redis_url) as env:
        yield env


def tenant_state(conn, tenant: str) -> dict[bytes, bytes | None]:
    """Every key of a tenant with its serialised value: a write anywhere shows."""
    keys = sorted(conn.scan_iter(match=f"connector:tenant:{tenant}*", count=1000))
    return {k: conn.dump(k) for k in keys if b":sessions" not in k and b":user-sessions:" not in k}


def test_a_session_never_reaches_another_tenants_things(service):
    app, conn = service.app, service.app.state.redis
    a, b = service.connected_tenant(0), service.connected_tenant(1)
    store = app.state.store
    b_runs = [store.create_run(b, {"mode": "full", "status": "succeeded", "trigger": "manual"}) for _ in range(3)]
    a_run = store.create_run(a, {"mode": "full", "status": "succeeded", "trigger": "manual"})
    store.put_credentials(b, "events", {"secret": "b-only-secret-0123456789"})
    b_marks = [b, STORES[1][0], *b_runs]
    headers = service.session_headers(a)
    tally = {"inputs": 0, "leaks": 0, "accepted_bad": 0}
    problems: list[str] = []
    routes = sorted(api_routes(app))
    b_before = tenant_state(conn, b)
    with httpx.Client(base_url=service.base, timeout=60) as http:
        def ask(method: str, path: str, expect: set[int], **kw) -> httpx.Response:
            response = http.request(method, path, **kw)
            tally["inputs"] += 1
            if response.status_code not in expect:
                tally["accepted_bad"] += 1
                problems.append(f"{method} {path}: {response.status_code} {response.text[:200]}")
            if any(mark in response.text for mark in b_marks):
                tally["leaks"] += 1
                problems.append(f"{method} {path} mentions B: {response.text[:200]}")
            return response

        for method, path in routes:
            body = {} if method not in SAFE_METHODS else None
            ask(method, path, {403}, headers={**headers, "X-Tenant": b}, json=body)
            ask(method, path, {403}, headers=headers, params={"tenant": b}, json=body)
            ask(method, path, {403}, headers={**headers, "X-Tenant": b.upper()}, json=body)
            # B's Bearer token with A's cookie: the Bearer session is the one used, and it is B's
            b_headers = service.session_headers(b)
            a_cookie = f"{COOKIE}={headers['Authorization'].split(' ', 1)[1]}"
            ask(method, path, {403}, headers={**b_headers, "X-Tenant": a, "Cookie": a_cookie}, json=body)
        # B's run ids through A's session: the same 404 as an id that does not exist
        unknown = ask("GET", "/api/imports/r0123456789abcdef", {404}, headers=headers).json()
        for run_id in b_runs:
            answer = ask("GET", f"/api/imports/{run_id}", {404}, headers=headers).json()
            assert {k: v for k, v in answer.items() if k != "request_id"} == \
                   {k: v for k, v in unknown.items() if k != "request_id"}
        for path in (f"/api/imports/{b_runs[0]}%2F..%2F{a_run}", f"/api/imports/{b_runs[0].upper()}",
                     f"/api/imports/{b_runs[0]}%00", f"/api/imports/{b_runs[0]}?tenant={a}"):
            ask("GET", path, {404, 403}, headers=headers)
        # A's own answers never mention B
        for path in ("/api/config", "/api/imports", "/api/events", "/api/config/imports", "/api/session",
                     f"/api/imports/{a_run}"):
            ask("GET", path, {200}, headers=headers)
    assert tenant_state(conn, b) == b_before
    record("hostile", "cross-tenant ids and tenant names on every /api route (X-Tenant, ?tenant=, run ids, "
           "mixed credentials)", **tally)
    assert tally["leaks"] == 0 and tally["accepted_bad"] == 0, problems


def test_every_state_changing_route_needs_the_sessions_csrf_token(service):
    app, conn = service.app, service.app.state.redis
    a, b = service.connected_tenant(0), service.connected_tenant(1)
    token, session = app.state.sessions.issue(a, {"id": 1}, "bigcommerce")
    _, b_session = app.state.sessions.issue(b, {"id": 1}, "bigcommerce")
    changes = [(m, p) for m, p in sorted(api_routes(app)) if m not in SAFE_METHODS]
    assert len(changes) >= 12
    csrf = session.csrf_token
    wrong = [{}, {"X-CSRF-Token": ""}, {"X-CSRF-Token": "nope"}, {"X-CSRF-Token": b_session.csrf_token},
             {"X-CSRF-Token": csrf[:-1]}, {"X-CSRF-Token": csrf + "x"}, {"X-CSRF-Token": csrf.swapcase()},
             {"X-CSRF-Token": f"{csrf},{csrf}"}, {"X-CSRF-Token": csrf.encode().hex()}, {"X-CSRF-Token": csrf[:8]}, {"X-XSRF-Token": csrf},
             {"X-CSRF-Token": "é" * len(csrf)}]
    tally = {"inputs": 0, "accepted_bad": 0}
    before = tenant_state(conn, a)
    with httpx.Client(base_url=service.base, timeout=60) as http:
        for method, path in changes:
            body = {"mode": "full", "action": "hide", "enabled": True, "secret": "x" * 40}
            for extra in wrong:
                extra = {k: v.encode() if not v.isascii() else v for k, v in extra.items()}
                for carrier in ("bearer", "cookie"):
                    auth = {"Authorization": f"Bearer {token}"} if carrier == "bearer" else {"Cookie": f"{COOKIE}={token}"}
                    response = http.request(method, path, json=body, headers={**auth, **extra})
                    tally["inputs"] += 1
                    if response.status_code != 403 or response.json().get("error") != "csrf":
                        tally["accepted_bad"] += 1
            # the token in the query string or a form field is not the header
            response = http.request(method, path, params={"csrf_token": csrf, "X-CSRF-Token": csrf},
                                    data={"csrf_token": csrf}, headers={"Authorization": f"Bearer {token}"})
            tally["inputs"] += 1
            tally["accepted_bad"] += response.status_code != 403
    assert tenant_state(conn, a) == before  # nothing changed
    assert app.state.sessions.load(token) is not None  # DELETE /api/session without the token revoked nothing
    record("hostile", "missing or wrong CSRF token on every state-changing /api route", routes=len(changes),
           **tally)
    assert tally["accepted_bad"] == 0, tally


# --- merchant URLs aimed at internal addresses -------------------------------------------------------------

class Listener:
    """A loopback TCP server that only counts the connections reaching it (none may)."""

    def __init__(self, family: int = socket.AF_INET, host: str = "127.0.0.1", port: int = 0) -> None:
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, port))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.accepted = 0
        self._stop = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        self.sock.settimeout(0.1)
        while not self._stop:
            try:
                conn, _ = self.sock.accept()
            except (TimeoutError, OSError):
                continue
            self.accepted += 1
            conn.close()

    def close(self) -> None:
        self._stop = True
        self.thread.join(timeout=2)
        self.sock.close()


@contextlib.contextmanager
def listeners() -> Iterator[tuple[int, list[Listener]]]:
    v4 = Listener()
    found = [v4]
    with contextlib.suppress(OSError):
        found.append(Listener(socket.AF_INET6, "::1", v4.port))
    try:
        yield v4.port, found
    finally:
        for listener in found:
            listener.close()


def internal_urls(port: int) -> list[str]:
    hosts = ["127.0.0.1", "localhost", "LOCALHOST", "localhost.", "2130706433", "0x7f000001", "0x7f.0.0.1",
             "0177.0.0.1", "017700000001", "127.1", "127.0.1", "0", "0.0.0.0", "[::1]", "[0:0:0:0:0:0:0:1]",
             "[::ffff:127.0.0.1]", "[::ffff:7f00:1]", "[0:0:0:0:0:ffff:127.0.0.1]", "[::]", "[::127.0.0.1]",
             "127.127.127.127", "10.0.0.1", "172.16.0.1", "192.168.1.1", "169.254.169.254", "100.64.0.1",
             "[fd00::1]", "[fe80::1]", "224.0.0.1", "255.255.255.255", "198.18.0.1", "[::ffff:169.254.169.254]",
             "[64:ff9b::127.0.0.1]"]
    urls = [f"http://{h}:{port}" for h in hosts]
    urls += [f"https://127.0.0.1:{port}", f"http://127.0.0.1:{port}/api/rest/v1", f"http://user:pw@127.0.0.1:{port}"]
    return urls


@pytest.fixture
def strict(tmp_path, redis_url, redis_conn):
    """A connector that refuses internal addresses (ALLOW_PRIVATE_URLS off, as in production)."""
    app = create_app(load_settings({"DATA_DIR": str(tmp_path), "SECRET_KEY": SECRET, "REDIS_URL": redis_url,
                                    "APP_URL": "https://connector.example.com"}))
    tenant = app.state.store.create_tenant()
    token, session = app.state.sessions.issue(tenant, {"id": 1}, "bigcommerce")
    with serve(app) as base, httpx.Client(base_url=base, timeout=60, headers={
            "Authorization": f"Bearer {token}", "X-CSRF-Token": session.csrf_token}) as http:
        yield app, tenant, http


def pim_form(url: str) -> dict[str, str]:
    return {"url": url, "client_id": "client", "secret": "secret-0123456789", "username": "merchant",
            "password": "password-0123456789"}


def test_pim_urls_aimed_at_internal_addresses_reach_nothing(strict):
    app, tenant, http = strict
    tally = {"inputs": 0, "accepted_bad": 0, "connections": 0, "refused_when_saved": 0}
    with listeners() as (port, found):
        for url in internal_urls(port):
            response = http.put("/api/config/pim", json=pim_form(url))
            tally["inputs"] += 1
            body = response.json()
            # refused when saved (422 on the URL), or a test that failed without reaching anything (a name the
            # resolver does not know here, like "localhost."): never connected, never a 5xx
            tally["refused_when_saved"] += response.status_code == 422 and "url" in body.get("fields", {})
            if response.status_code >= 500 or body.get("connected") or response.status_code not in (200, 422):
                tally["accepted_bad"] += 1
        tally["connections"] = sum(listener.accepted for listener in found)
    assert "pim" not in app.state.store.all_sections(tenant)  # nothing in force
    record("hostile", "PIM URLs aimed at internal addresses (decimal, hex, octal, short, IPv6, IPv4-mapped, "
           "metadata, CGNAT)", **tally)
    assert tally["accepted_bad"] == 0 and tally["connections"] == 0, tally
    assert tally["refused_when_saved"] >= tally["inputs"] - 2, tally  # all but names that do not resolve here


def test_dns_rebinding_is_refused_at_connect_time(strict, monkeypatch):
    """A name that resolves public when the URL is checked, then internal: the connection is refused when it
    is made, so the internal listener never sees it, on the configuration test and on the media route."""
    app, tenant, http = strict
    real_resolve = net.resolve
    asked: dict[str, int] = {}

    async def rebinding(host: str, port):
        if not host.endswith(".rebind.test"):
            return await real_resolve(host, port)
        asked[host] = asked.get(host, 0) + 1
        if asked[host] == 1:
            return ["93.184.216.34"]  # public at check time
        return ["127.0.0.1"] if host.startswith("v4") else ["::ffff:127.0.0.1"] if host.startswith("m") else ["::1"]

    monkeypatch.setattr(net, "resolve", rebinding)
    tally = {"inputs": 0, "accepted_bad": 0, "connections": 0}
    with listeners() as (port, found):
        for name in ("v4.rebind.test", "mapped.rebind.test", "six.rebind.test"):
            response = http.put("/api/config/pim", json=pim_form(f"http://{name}:{port}"))
            tally["inputs"] += 1
            assert asked[name] >= 2  # checked when saved, and again at connect time
            body = response.json()
            if response.status_code != 200 or body["connected"] or "internal address" not in body["message"]:
                tally["accepted_bad"] += 1
        # a stored PIM URL that rebinds later: the media route's download is refused the same way
        store = app.state.store
        store.put_credentials(tenant, "pim", {"url": f"http://v4.rebind.test:{port}", "client_id": "c",
                                              "secret": "s", "username": "u", "password": "p"})
        store.put_section(tenant, "pim", {"url": f"http://v4.rebind.test:{port}", "client_id": "c", "username": "u",
                                          "connected": True})
        media = http.get(f"/media/{media_token(SECRET, tenant, 'a/b/c.jpg')}")
        tally["inputs"] += 1
        tally["accepted_bad"] += media.status_code not in (404, 502)
        tally["connections"] = sum(listener.accepted for listener in found)
    record("hostile", "DNS rebinding (public at check, internal at connect: IPv4, IPv4-mapped, IPv6)", **tally)
    assert tally["accepted_bad"] == 0 and tally["connections"] == 0, tally


# --- media links -----------------------------------------------------------------------------------------

def test_tampered_or_expired_media_links_reach_nothing(service):
    a, b = service.connected_tenant(0), service.connected_tenant(1)  # (other tests flush the database)
    good = media_token(SECRET, a, "a/b/c/d/some.jpg")
    payload, stamp, signature = good.split(".")

    def encoded(value) -> str:
        return base64.urlsafe_b64encode(json.dumps(value, separators=(",", ":")).encode()).rstrip(b"=").decode()

    class Past(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(time.time()) - 3601

    class Future(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(time.time()) + 86400 * 365

    def flip(text: str) -> str:
        """One character changed in the middle: a change of the last base64 character can fall in its unused
        low bits and decode to the same bytes (a valid signature, then)."""
        i = len(text) // 2
        return text[:i] + ("B" if text[i] == "A" else "A") + text[i + 1:]

    tampered = [
        f"{encoded([b, 'a/b/c/d/some.jpg'])}.{stamp}.{signature}",  # another tenant, the old signature
        f"{encoded([a, '../../etc/passwd'])}.{stamp}.{signature}",
        f"{payload}.{stamp}.{flip(signature)}",
        f"{payload}.{flip(stamp)}.{signature}",
        f"{flip(payload)}.{stamp}.{signature}",
        f"{payload}.{stamp}", f"{payload}..{signature}", f".{stamp}.{signature}", f"{payload}.{stamp}.",
        good + ".x", good.upper(), good[::-1], "x" * 4000, "%00", "%2E%2E", "%2E%2E%2F%2E%2E%2Fapi%2Fconfig", "é", good.replace(".", "%2F"),
        media_token("another-secret-key-0123456789abcdef0123", a, "a/b/c/d/some.jpg"),
        TimestampSigner(SECRET, salt="connector-session").sign(payload.encode()).decode(),  # another salt
        media_token(SECRET, a, ""), TimestampSigner(SECRET, salt=SALT).sign(encoded([a])).decode(),
        TimestampSigner(SECRET, salt=SALT).sign(encoded({"tenant": a})).decode(),
        TimestampSigner(SECRET, salt=SALT).sign(b"!!!not-base64!!!").decode(),
    ]
    expired = [Past(SECRET, salt=SALT).sign(payload.encode()).decode(),
               Past(SECRET, salt=SALT).sign(encoded([b, "a/b/c/d/some.jpg"]).encode()).decode(),
               Future(SECRET, salt=SALT).sign(payload.encode()).decode()]  # only we can sign: not valid yet
    downloads_before = media_downloads(service.pim_url)
    tally = {"inputs": 0, "accepted_bad": 0}
    with httpx.Client(base_url=service.base, timeout=30) as http:
        for token in tampered:
            response = http.get(f"/media/{token}")
            tally["inputs"] += 1
            tally["accepted_bad"] += response.status_code != 404
        for token in expired:
            response = http.get(f"/media/{token}")
            tally["inputs"] += 1
            tally["accepted_bad"] += response.status_code != 403 or response.json().get("error") != "expired"
    tally["pim_downloads"] = media_downloads(service.pim_url) - downloads_before  # the PIM is never asked
    record("hostile", "tampered, forged, re-targeted and expired /media links", **tally)
    assert tally["accepted_bad"] == 0 and tally["pim_downloads"] == 0, tally
    # the control: the good link does reach the PIM (a file it does not have: 404 from the PIM, asked once)
    assert httpx.get(f"{service.base}/media/{good}", timeout=30).status_code == 404
    assert media_downloads(service.pim_url) > downloads_before


def media_downloads(pim_url: str) -> int:
    """How many media-file requests the sandbox PIM has answered."""
    counts = httpx.get(f"{pim_url}/sandbox/requests", timeout=30).json()["counts"]
    return sum(n for route, n in counts.items() if "media-files" in route)


def test_a_forged_category_cursor_never_leaves_the_pims_origin(service):
    """`cursor` is the PIM's own next link, base64'd: one aimed at another host is either refused or sent to
    the PIM's origin (with the PIM's token); the other host never sees a connection."""
    tenant = service.connected_tenant(0)
    headers = service.session_headers(tenant)
    tally = {"inputs": 0, "accepted_bad": 0, "connections": 0}
    with listeners() as (port, found), httpx.Client(base_url=service.base, timeout=60, headers=headers) as http:
        for target in (f"http://127.0.0.1:{port}/api/rest/v1/categories", f"http://[::1]:{port}/api/rest/v1/categories",
                       f"https://127.0.0.1:{port}/api/rest/v1/categories?page=2",
                       f"http://user:pw@127.0.0.1:{port}/api/rest/v1/categories",
                       f"http://127.0.0.1:{port}/x/../api/rest/v1/categories", f"//127.0.0.1:{port}/api/rest/v1/categories",
                       f"http://127.0.0.1:{port}/api/rest/v1/products", "file:///etc/passwd#/api/rest/v1/categories"):
            cursor = base64.urlsafe_b64encode(target.encode()).decode().rstrip("=")
            response = http.get("/api/pim/categories", params={"cursor": cursor})
            tally["inputs"] += 1
            tally["accepted_bad"] += response.status_code >= 500 or response.status_code not in (200, 422)
        tally["connections"] = sum(listener.accepted for listener in found)
    record("hostile", "forged category cursors aimed at other hosts", **tally)
    assert tally["accepted_bad"] == 0 and tally["connections"] == 0, tally


def test_install_callbacks_with_junk_create_nothing(service):
    store = service.app.state.store
    before = set(store.tenants())
    tally = {"inputs": 0, "accepted_bad": 0}
    junk = ["", "x", "stores/", "stores/abc123\n", "stores/../x", "stores/" + "a" * 5000, "é", "%00"]
    with httpx.Client(base_url=service.base, timeout=30) as http:
        for value in junk:
            for params in ({"code": value, "context": f"stores/{STORES[0][0]}", "scope": "store_v2_products"},
                           {"code": "abc", "context": value, "scope": value}):
                response = http.get("/bc/auth", params=params)
                tally["inputs"] += 1
                # 400: the link is incomplete; 502: BigCommerce refused the code (its answer, relayed)
                tally["accepted_bad"] += response.status_code not in (400, 502) or COOKIE in response.cookies
    assert set(store.tenants()) == before
    record("hostile", "/bc/auth with junk codes, contexts and scopes", **tally)
    assert tally["accepted_bad"] == 0, tally
