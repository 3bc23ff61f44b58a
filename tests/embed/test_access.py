"""The connector inside the PIM, access side: an extension's JWT gives a cookieless session only when it is
genuine, fresh and new; a grid action changes something only when its signature and timestamp check out;
frame-ancestors admits the tenant's own PIM. Over real HTTP, with real Redis."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import time
import uuid as uuidlib

import httpx
import jwt
import pytest

from service.app import create_app
from service.embed.extensions import EXTENSIONS
from service.settings import load_settings
from service.store import embed as embed_store
from service.store.events import EventStore
from tests.servers import free_port, serve

SECRET_KEY = "embed-access-secret-key-0123456789abcdef"
PIM = "https://acme.cloud.akeneo.example"
SECRETS = {k: f"{k}-secret-" + "x" * 40 for k in EXTENSIONS}


@pytest.fixture
def connector(tmp_path, redis_url, redis_conn):
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    app = create_app(load_settings({"DATA_DIR": str(tmp_path), "REDIS_URL": redis_url, "SECRET_KEY": SECRET_KEY,
                                    "APP_URL": url, "ALLOW_PRIVATE_URLS": "true"}))
    store = app.state.store
    tenant = store.create_tenant(pim_url=PIM, store_hash="abc123")
    # both connections in force as the store writes them (section and credentials together): ready to sync
    store.put_section(tenant, "pim", {"url": PIM, "client_id": "c", "username": "u", "connected": True})
    store.put_credentials(tenant, "pim", {"url": PIM, "client_id": "c", "secret": "s", "username": "u",
                                          "password": "p"})
    store.put_section(tenant, "bigcommerce", {"store_hash": "abc123", "connected": True})
    store.put_credentials(tenant, "bigcommerce", {"access_token": "token"})
    store.put_section(tenant, "main", {"locale": "en_US", "channel": "ecommerce", "category": "master"})
    embed_store.save_secrets(store, tenant, SECRETS)
    embed_store.save_section(store, tenant, {"installed": True, "extensions": {
        k: {"uuid": str(uuidlib.uuid4())} for k in EXTENSIONS}})
    with serve(app, port=port):
        yield app, url, tenant


def token(kind: str = "product", *, secret: str | None = None, iat: float | None = None, ttl: float = 3600,
          jti: str | None = None, **extra) -> str:
    issued = time.time() if iat is None else iat
    claims = {"jti": jti or str(uuidlib.uuid4()), "iat": issued, "exp": issued + ttl, "userId": "1",
              "userUuid": "9c1f-user", **extra}
    return jwt.encode(claims, secret or SECRETS[kind], algorithm="HS256")


def open_frame(url: str, tenant: str, kind: str, jwt_token: str) -> httpx.Response:
    return httpx.post(f"{url}/embed/{tenant}/{kind}?product%5Buuid%5D=0b1f5a43-5a43-4a43-8a43-5a435a435a43"
                      "&user%5Busername%5D=admin&tenant=someone-else", data={"token": jwt_token}, timeout=10)


def session_token(page: httpx.Response) -> str:
    match = re.search(r'<meta name="session-token" content="([^"]+)"', page.text)
    return match.group(1) if match else ""


def test_the_frame_asks_its_pim_and_only_that_pim_may_frame_it(connector):
    app, url, tenant = connector
    page = httpx.get(f"{url}/embed/{tenant}/product?product%5Buuid%5D=x", timeout=10)
    assert page.status_code == 200
    assert f'data-origin="{PIM}"' in page.text and "embed-frame.js" in page.text
    ancestors = page.headers["content-security-policy"].split("frame-ancestors", 1)[1]
    assert PIM in ancestors
    # another tenant's pages are not frameable by this PIM, and the rest of the app stays as configured
    other = app.state.store.create_tenant(pim_url="https://other.example", store_hash="zzz999")
    assert PIM not in httpx.get(f"{url}/embed/{other}/product", timeout=10).headers["content-security-policy"]
    assert PIM not in httpx.get(f"{url}/healthz", timeout=10).headers["content-security-policy"]
    assert httpx.get(f"{url}/embed/{tenant}/action", timeout=10).status_code == 404
    assert httpx.get(f"{url}/embed/tnope/product", timeout=10).status_code == 404


def test_a_genuine_jwt_gives_a_cookieless_session_for_the_extensions_tenant(connector):
    _, url, tenant = connector
    page = open_frame(url, tenant, "product", token("product"))
    assert page.status_code == 200, page.text
    assert "set-cookie" not in page.headers
    bearer = session_token(page)
    assert bearer and 'data-uuid="0b1f5a43-5a43-4a43-8a43-5a435a435a43"' in page.text
    me = httpx.get(f"{url}/api/session", headers={"Authorization": f"Bearer {bearer}"}, timeout=10).json()
    # the tenant is the extension's, whatever the PIM's `tenant` parameter said; the user comes from the claims
    assert me["tenant"] == tenant and me["via"] == "pim_extension" and me["user"] == {"id": "9c1f-user"}
    whole = open_frame(url, tenant, "page", token("page"))
    assert whole.status_code == 200 and 'id="pim-section"' in whole.text and session_token(whole)


@pytest.mark.parametrize("case", ["forged", "other_extension", "expired", "future", "no_jti", "none_alg",
                                  "garbage", "replayed", "other_tenant", "pim_changed"])
def test_a_forged_expired_or_replayed_jwt_gives_no_session(connector, case):
    app, url, tenant = connector
    kind, target = "product", tenant
    if case == "forged":
        bad = token(secret="not-the-secret-" + "y" * 40)
    elif case == "other_extension":
        bad = token(secret=SECRETS["page"])  # the page's secret does not open the product tab
    elif case == "expired":
        bad = token(iat=time.time() - 7200)
    elif case == "future":
        bad = token(iat=time.time() + 600)
    elif case == "no_jti":
        bad = jwt.encode({"iat": time.time(), "exp": time.time() + 60, "userId": "1"}, SECRETS["product"],
                         algorithm="HS256")
    elif case == "none_alg":
        bad = jwt.encode({"jti": "a", "iat": time.time(), "exp": time.time() + 60}, None, algorithm="none")
    elif case == "garbage":
        bad = "not.a.jwt"
    elif case == "replayed":
        bad = token()
        assert session_token(open_frame(url, tenant, kind, bad))
    elif case == "other_tenant":  # a genuine token of this tenant's extension, posted to another tenant's page
        target = app.state.store.create_tenant(pim_url="https://other.example", store_hash="zzz999")
        bad = token()
    else:  # the extensions were installed in a PIM the tenant has since left for another one
        store = app.state.store
        embed_store.save_section(store, tenant, {**embed_store.section(store, tenant), "pim_url": PIM})
        assert session_token(open_frame(url, tenant, kind, token()))
        store.put_section(tenant, "pim", {"url": "https://new.example", "connected": True})
        bad = token()
    refused = open_frame(url, target, kind, bad)
    assert refused.status_code == 401
    assert not session_token(refused) and "set-cookie" not in refused.headers


def _action(url: str, tenant: str, body: dict, *, secret: str = SECRETS["action"], raw: bytes | None = None,
            signature: str | None = None) -> httpx.Response:
    data = raw if raw is not None else json.dumps(body, separators=(",", ":")).replace("/", "\\/").encode()
    sig = signature or "sha512=" + hmac.new(secret.encode(), data, hashlib.sha512).hexdigest()
    return httpx.post(f"{url}/embed/{tenant}/action", content=data,
                      headers={"Content-Type": "application/json", "signature": sig}, timeout=10)


def _body(uuids=(), codes=(), *, at: float | None = None) -> dict:
    return {"data": {"productUuids": list(uuids), "productModelCodes": list(codes)},
            "context": {"locale": "en_US", "channel": "ecommerce", "category": "master"},
            "user": {"uuid": "u", "username": "julia", "groups": ["All"]},
            "timestamp": int(time.time() if at is None else at)}


def _queued(conn) -> list:
    from rq import Queue
    return Queue("events", connection=conn).get_job_ids()


def test_a_signed_action_enqueues_the_selection_and_answers_a_message(connector, redis_conn):
    _, url, tenant = connector
    uuids = [str(uuidlib.uuid4()) for _ in range(3)]
    started = time.monotonic()
    answer = _action(url, tenant, _body(uuids, ["tshirt/red"]))
    assert answer.status_code == 200 and time.monotonic() - started < 5
    assert answer.json()["message"].startswith("Sending 3 products and 1 product model to BigCommerce")
    waiting = EventStore(redis_conn).waiting_items(tenant, [f"product:{u}" for u in uuids] + ["model:tshirt/red"])
    assert len(waiting) == 4 and len(_queued(redis_conn)) == 1
    # the PIM's largest selection, 500 items: answered well within the PIM's 5 s
    many = [str(uuidlib.uuid4()) for _ in range(400)]
    started = time.monotonic()
    answer = _action(url, tenant, _body(many, [f"model-{i}" for i in range(100)]))
    took = time.monotonic() - started
    assert answer.status_code == 200 and took < 5, took
    print(f"500-item action answered in {took * 1000:.0f} ms")
    assert EventStore(redis_conn).waiting(tenant) == 504


@pytest.mark.parametrize("case", ["bad_signature", "other_secret", "no_signature", "old", "future", "replayed",
                                  "tampered", "too_many", "unknown_tenant"])
def test_an_action_with_a_bad_signature_or_an_old_timestamp_changes_nothing(connector, redis_conn, case):
    _, url, tenant = connector
    item = str(uuidlib.uuid4())
    body = _body([item])
    if case == "bad_signature":
        answer = _action(url, tenant, body, signature="sha512=" + "0" * 128)
    elif case == "other_secret":
        answer = _action(url, tenant, body, secret=SECRETS["product"])
    elif case == "no_signature":
        answer = httpx.post(f"{url}/embed/{tenant}/action", json=body, timeout=10)
    elif case == "old":
        answer = _action(url, tenant, _body([item], at=time.time() - 301))
    elif case == "future":
        answer = _action(url, tenant, _body([item], at=time.time() + 120))
    elif case == "replayed":
        first = _action(url, tenant, body)
        assert first.status_code == 200
        EventStore(redis_conn).done(tenant, EventStore(redis_conn).due(tenant, 10, now=time.time() + 10))
        redis_conn.delete("rq:queue:events")
        answer = _action(url, tenant, body)
    elif case == "tampered":  # signed for one product, sent with another
        raw = json.dumps(body).encode()
        sig = "sha512=" + hmac.new(SECRETS["action"].encode(), raw, hashlib.sha512).hexdigest()
        answer = _action(url, tenant, body, raw=raw.replace(item.encode(), str(uuidlib.uuid4()).encode()),
                         signature=sig)
    elif case == "too_many":
        answer = _action(url, tenant, _body([str(uuidlib.uuid4()) for _ in range(501)]))
    else:
        answer = _action(url, "tnobody", body)
    assert answer.status_code in (401, 422)
    assert isinstance(answer.json()["message"], str)
    assert EventStore(redis_conn).waiting(tenant) == 0 and _queued(redis_conn) == []


@pytest.mark.parametrize("stamp", ["nan", "nan_string", "inf", "minus_inf", "missing", "null", "string", "true",
                                   "huge"])
def test_an_action_without_a_finite_signed_timestamp_changes_nothing(connector, redis_conn, stamp):
    """The body is signed; its timestamp must be a finite number (issue 18). Was: NaN compared false with
    both bounds, and a body without one fell back to an unsigned header that anyone may set."""
    _, url, tenant = connector
    now = int(time.time())
    body = _body([str(uuidlib.uuid4())])
    values = {"nan": float("nan"), "nan_string": "nan", "inf": float("inf"), "minus_inf": float("-inf"),
              "null": None, "string": str(now), "true": True, "huge": 10 ** 400}
    if stamp == "missing":
        del body["timestamp"]
    else:
        body["timestamp"] = values[stamp]
    raw = json.dumps(body, separators=(",", ":")).encode()  # NaN and Infinity as Python (and PHP) write them
    sig = "sha512=" + hmac.new(SECRETS["action"].encode(), raw, hashlib.sha512).hexdigest()
    answer = httpx.post(f"{url}/embed/{tenant}/action", content=raw, timeout=10, headers={
        "Content-Type": "application/json", "signature": sig,
        "X-Akeneo-Timestamp": str(now), "X-Akeneo-Request-Timestamp": str(now)})  # unsigned: never used
    assert answer.status_code == 401, answer.text
    assert EventStore(redis_conn).waiting(tenant) == 0 and _queued(redis_conn) == []


def test_sync_now_enqueues_one_item_for_the_sessions_tenant(connector, redis_conn):
    _, url, tenant = connector
    bearer = session_token(open_frame(url, tenant, "product", token()))
    me = httpx.get(f"{url}/api/session", headers={"Authorization": f"Bearer {bearer}"}, timeout=10).json()
    headers = {"Authorization": f"Bearer {bearer}", "X-CSRF-Token": me["csrf_token"], "X-Tenant": tenant}
    item = str(uuidlib.uuid4())
    assert httpx.post(f"{url}/api/embed/sync", json={"product": item}, headers={
        k: v for k, v in headers.items() if k != "X-CSRF-Token"}, timeout=10).status_code == 403
    assert httpx.post(f"{url}/api/embed/sync", json={"product": "nope"}, headers=headers, timeout=10).status_code == 422
    answer = httpx.post(f"{url}/api/embed/sync", json={"product": item}, headers=headers, timeout=10)
    assert answer.status_code == 202 and answer.json()["items"] == [f"product:{item}"]
    assert EventStore(redis_conn).waiting_items(tenant, [f"product:{item}"]) == [f"product:{item}"]
    assert len(_queued(redis_conn)) == 1


def test_extensions_moved_to_another_pim_get_new_secrets(connector):
    """The old PIM keeps its copies of the secrets: after a PIM change, a reinstall must not reuse them."""
    import asyncio

    from service.embed import extensions

    app, url, tenant = connector
    store = app.state.store
    embed_store.save_section(store, tenant, {**embed_store.section(store, tenant), "pim_url": PIM})
    store.put_section(tenant, "pim", {"url": "https://new.example", "connected": True})
    shown = extensions.public(embed_store.section(store, tenant), store.get_section(tenant, "pim"))
    assert not shown["installed"] and shown["elsewhere"] == PIM and PIM in shown["message"]
    store.put_credentials(tenant, "pim", {"url": "http://127.0.0.1:9", "client_id": "c", "secret": "s",
                                          "username": "u", "password": "p"})
    store.put_section(tenant, "pim", {"url": "http://127.0.0.1:9", "connected": True})
    with pytest.raises(extensions.ExtensionError):  # nothing listens there: the PIM cannot be reached
        asyncio.run(extensions.install(app.state.settings, store, tenant))
    fresh = embed_store.secrets_of(store, tenant)
    assert fresh and all(fresh[k] != SECRETS[k] for k in EXTENSIONS)
    assert not embed_store.section(store, tenant)["extensions"]


def test_genuine_tokens_and_actions_past_the_tenants_guard_are_429_and_write_nothing(connector, redis_conn,
                                                                                        monkeypatch):
    """Was (issue 18): each genuine extension JWT and each grid action left a replay-guard key of its own, with no
    bound per tenant. Now one capped guard per tenant: past it 429 with Retry-After (never an early
    forgetting, which would let a replay through)."""
    monkeypatch.setattr(embed_store, "JWT_CLAIMS_MAX", 3)
    monkeypatch.setattr(embed_store, "ACTION_CLAIMS_MAX", 2)
    app, url, tenant = connector
    pages = [open_frame(url, tenant, "product", token("product")) for _ in range(4)]
    assert [p.status_code for p in pages] == [200, 200, 200, 429]
    assert 3000 <= int(pages[-1].headers["Retry-After"]) <= 3700 and not session_token(pages[-1])
    assert app.state.sessions.records.count(tenant) == 3
    answers = [_action(url, tenant, _body([str(uuidlib.uuid4())])) for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 429]
    assert 0 < int(answers[-1].headers["Retry-After"]) <= 400
    assert EventStore(redis_conn).waiting(tenant) == 2
    assert not redis_conn.keys("connector:once:*")  # one structure per tenant, nothing keyed per token
