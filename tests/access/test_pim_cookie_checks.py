"""Issue 8, defects 6 to 10: fail-open client default, PIM cookie checks bounded, no service → workers
import, templates and static files shipped in the package, and the small ones (401 hint, store hash
field, address fallback)."""

from __future__ import annotations

import ast
import asyncio
from pathlib import Path

import pytest

import sandbox.pim
from tests.servers import serve

REPO = Path(__file__).resolve().parents[2]


# --- defect 6: AkeneoClient refuses internal addresses unless told otherwise ------------------------------


@pytest.fixture(scope="module")
def pim():
    app = sandbox.pim.create_app()
    with serve(app) as base:
        yield base, app


def test_akeneo_client_refuses_internal_addresses_by_default(pim):
    from service.clients.akeneo import AkeneoClient, AkeneoUnreachable

    base, _ = pim  # the sandbox listens on 127.0.0.1: an internal address

    async def connect(**options):
        async with AkeneoClient(base, "sandbox-client", "sandbox-secret", "admin", "admin", max_attempts=1,
                                **options) as client:
            return await client.check_connection()

    with pytest.raises(AkeneoUnreachable) as refused:
        asyncio.run(connect())
    assert refused.value.kind == "private"
    assert asyncio.run(connect(allow_private_addresses=True))["authenticated"]


# --- defect 7: PIM cookie checks are bounded ------------------------------------------------------------


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


# --- defect 8: service/ never imports workers/ (the CLI aside) nor sandbox/ ----------------------------------


def _imported_modules(path: Path) -> set[str]:
    """Every module a file imports, at any depth (imports inside functions count too)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    package = ".".join(path.relative_to(REPO).with_suffix("").parts[:-1])
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against the file's package
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                found.add(".".join([*base, node.module] if node.module else base))
            else:
                found.add(node.module or "")
    return found


def test_service_imports_neither_workers_nor_sandbox():
    files = sorted((REPO / "service").rglob("*.py"))
    assert len(files) > 20  # the walk really sees the package
    offending = []
    for path in files:
        rel = path.relative_to(REPO).as_posix()
        for module in _imported_modules(path):
            top = module.split(".")[0]
            if top == "sandbox" or (top == "workers" and rel != "service/cli.py"):
                offending.append(f"{rel} imports {module}")
    assert offending == []


def test_service_enqueues_by_dotted_name_and_a_worker_runs_it(redis_conn):
    from rq.job import Job

    import workers.queues
    from service.queues import IMPORTS, enqueue
    from workers.worker import run_worker

    assert workers.queues.enqueue is enqueue  # one implementation, re-exported for the workers
    job = enqueue(redis_conn, IMPORTS, "workers.jobs.maintenance.ping", "pong", tenant="t1", job_timeout=30)
    run_worker(redis_conn, burst=True)
    job = Job.fetch(job.id, connection=redis_conn)
    assert job.return_value() == "pong" and job.meta["tenant"] == "t1" and job.timeout == 30


# --- defect 10: the small ones --------------------------------------------------------------------------


PIM_VALUES = {"url": "https://pim.example.com", "client_id": "client", "secret": "secret", "username": "api",
              "password": "pass"}


def test_a_revoked_token_is_not_explained_with_flow_type_and_role():
    from service.clients.akeneo import AkeneoAuthError, AkeneoPermissionError
    from service.config.hints import pim_failure

    for text in ("The access token provided is invalid.", "The access token provided has expired."):
        message, hints = pim_failure(AkeneoAuthError(text, "rejected", 401), PIM_VALUES)
        said = " ".join([message, *hints]).lower()
        assert "flow type" not in said and "role" not in said and "permission" not in said
        assert "HTTP 401" in message and "revoked" in said and "regenerated" in said
    # A 403 is a permission: there the flow type and the role are the answer.
    _, hints = pim_failure(AkeneoPermissionError("Access forbidden.", 403), PIM_VALUES)
    assert any("flow type" in h for h in hints) and any("role" in h for h in hints)


def test_a_token_refused_on_the_read_through_the_route(tmp_path, redis_url, redis_conn):
    from tests.config_env import client_of, pim_sandbox, running_connector

    expiring = pim_sandbox()
    expiring.state.pim.token_ttl = 0  # every token is expired when used: 401 on every read, even after renewal
    with serve(expiring) as pim_url, running_connector(tmp_path, redis_url, "http://127.0.0.1:9") as service, \
            client_of(service) as client:
        body = client.put("/api/config/pim", client.pim_body(pim_url)).json()
    assert body["connected"] is False and "(HTTP 401" in body["message"], body
    assert not [h for h in body["hints"] if "flow type" in h or "role" in h], body["hints"]


def _two_addresses(*addresses: str):
    """A stand-in for DNS (an outside system): `pim.two-addresses.test` resolves to `addresses`."""
    async def resolve(host, port):
        assert host == "pim.two-addresses.test", host
        return list(addresses)
    return resolve


def test_public_transport_falls_back_to_the_next_resolved_address(monkeypatch):
    import httpx
    from starlette.applications import Starlette
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    from service import net

    async def hello(request):
        return PlainTextResponse("reached")

    with serve(Starlette(routes=[Route("/", hello)])) as url:  # listens on 127.0.0.1 only
        port = int(url.rsplit(":", 1)[1])
        # Nothing listens on 127.0.0.2 at that port: the first address refuses, the second answers.
        monkeypatch.setattr(net, "resolve", _two_addresses("127.0.0.2", "127.0.0.1"), raising=False)

        async def get(allow_private: bool):
            async with httpx.AsyncClient(transport=net.public_transport(allow_private=allow_private)) as http:
                return await http.get(f"http://pim.two-addresses.test:{port}/")

        assert asyncio.run(get(True)).text == "reached"
        # Refusing internal addresses checks every address before connecting to any: no public first
        # address (that may fail on purpose) opens the way to an internal second one.
        monkeypatch.setattr(net, "resolve", _two_addresses("93.184.215.14", "127.0.0.1"))
        with pytest.raises(httpx.ConnectError, match=r"internal address \(127\.0\.0\.1\)"):
            asyncio.run(get(False))
        monkeypatch.setattr(net, "resolve", _two_addresses("127.0.0.2", "127.0.0.3"))
        with pytest.raises(httpx.ConnectError):  # every address refused: the last failure is reported
            asyncio.run(get(True))


@pytest.mark.browser
@pytest.mark.skipif(not Path("/usr/bin/chromium").exists() and not __import__("os").environ.get("CI"),
                    reason="Chromium is not installed (the browser tests always run in CI)")
def test_store_hash_field_shows_the_cleaned_hash_after_saving_a_pasted_url(tmp_path, redis_url, redis_conn):
    from playwright.sync_api import sync_playwright

    from tests.browser.support import ARGS, CHROMIUM
    from tests.config_env import BC_CLIENT, BC_TOKEN, STORE, bc_sandbox_app, running_connector

    with serve(bc_sandbox_app()) as bc_url, running_connector(tmp_path, redis_url, bc_url) as (app, url), \
            sync_playwright() as p:
        tenant = app.state.store.create_tenant()
        token, _ = app.state.sessions.issue(tenant, {"id": 1}, "bigcommerce")
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            # APP_URL is https here (a __Host- cookie the http test server cannot set): the Bearer token.
            context = browser.new_context(extra_http_headers={"Authorization": f"Bearer {token}"})
            page = context.new_page()
            assert page.goto(f"{url}/").status == 200
            page.wait_for_selector("body[data-ready=true]")
            page.fill("#bc-store_hash", f"https://store-{STORE}.mybigcommerce.com/manage/dashboard")
            page.fill("#bc-client_id", BC_CLIENT)
            page.fill("#bc-access_token", BC_TOKEN)
            page.click("#bc-save")
            page.wait_for_selector("#bc-result[data-state=ok]")
            assert page.input_value("#bc-store_hash") == STORE
        finally:
            browser.close()
    assert app.state.store.get_section(tenant, "bigcommerce")["store_hash"] == STORE
