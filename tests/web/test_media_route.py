"""`GET /media/{signed token}` over real HTTP: icecat images streamed from the sandbox PIM with the
tenant's stored credentials, with their content type; bad tokens 404, expired 403; nothing secret in the
answer; the PIM token is the tenant's cached one and the connection's 4 requests in flight hold; and the
BigCommerce sandbox itself can download an image through it during a product create."""

from __future__ import annotations

import base64
import concurrent.futures
import json
import time

import httpx
import pytest
from itsdangerous import TimestampSigner

from sandbox.bigcommerce import create_app as create_bc
from sandbox.pim.app import create_app as create_pim
from service.app import create_app
from service.media import SALT, media_token
from service.settings import load_settings
from tests.config_env import (
    PIM_CLIENT,
    PIM_PASSWORD,
    PIM_SECRET,
    PIM_USER,
    client_of,
    running_connector,
)
from tests.import_env import SECRET as IMPORT_SECRET
from tests.import_env import expected_catalog, import_env
from tests.servers import serve

SECRET = "config-test-secret-key-0123456789abcdef"  # the connector's of tests/config_env.py
BC_STORE, BC_TOKEN = "media1", "media-token"


@pytest.fixture(scope="module")
def pim():
    app = create_pim(client_id=PIM_CLIENT, secret=PIM_SECRET, username=PIM_USER, password=PIM_PASSWORD,
                     max_concurrency=4)
    with serve(app) as url:
        yield url, app


@pytest.fixture(scope="module")
def service(tmp_path_factory, redis_url):
    with running_connector(tmp_path_factory.mktemp("media"), redis_url, "http://127.0.0.1:9") as running:
        yield running


@pytest.fixture
def client(service, pim, redis_conn):
    with client_of(service) as c:
        c.connect_pim(pim[0])
        pim[1].state.pim.request_counts.clear()
        yield c


def media_files(pim_app, *, exists=True):
    return [m for m in pim_app.state.pim.catalog.media.values() if m.exists == exists]


def url_of(service, tenant, code):
    return f"{service[1]}/media/{media_token(SECRET, tenant, code)}"


def test_icecat_images_stream_with_their_content_type(service, client, pim):
    files = media_files(pim[1])
    by_type = {}
    for m in files:
        by_type.setdefault(m.mime_type, m)
    assert "image/jpeg" in by_type and len(files) > 100
    for media in by_type.values():
        response = httpx.get(url_of(service, client.tenant, media.code), timeout=30)
        assert response.status_code == 200, response.text
        assert response.content == media.path.read_bytes()
        assert response.headers["content-type"].split(";")[0] == media.mime_type
        assert response.headers["x-content-type-options"] == "nosniff"
        for secret in (PIM_SECRET, PIM_PASSWORD, PIM_CLIENT, pim[0]):
            assert secret not in str(response.headers)


def test_bad_tokens(service, client, pim):
    media = media_files(pim[1])[0]
    good = media_token(SECRET, client.tenant, media.code)
    for token in ("nope", good[:-2] + ("AA" if not good.endswith("AA") else "BB"),
                  media_token("another-secret-key-0123456789abcdef0123", client.tenant, media.code),
                  good.replace(".", "", 1)):
        response = httpx.get(f"{service[1]}/media/{token}", timeout=30)
        assert response.status_code == 404 and response.json()["error"] == "not_found"

    class Past(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(time.time()) - 3700

    body = base64.urlsafe_b64encode(json.dumps([client.tenant, media.code], separators=(",", ":")).encode()).rstrip(b"=")
    expired = Past(SECRET, salt=SALT).sign(body).decode()
    response = httpx.get(f"{service[1]}/media/{expired}", timeout=30)
    assert response.status_code == 403 and response.json()["error"] == "expired"
    # none of these reached the PIM
    assert not any("media-files" in route for route in pim[1].state.pim.request_counts)


def test_unknown_files_and_tenants_are_404(service, client, pim):
    missing = media_files(pim[1], exists=False)
    assert missing  # the fixture names a dozen images it does not ship
    assert httpx.get(url_of(service, client.tenant, missing[0].code), timeout=30).status_code == 404
    assert httpx.get(url_of(service, client.tenant, "a/b/c/d/nothing.jpg"), timeout=30).status_code == 404
    media = media_files(pim[1])[0]
    assert httpx.get(url_of(service, "tnosuchtenant", media.code), timeout=30).status_code == 404


def test_cached_token_and_the_connections_limit(service, client, pim):
    files = media_files(pim[1])[:12]
    with concurrent.futures.ThreadPoolExecutor(12) as pool:
        responses = list(pool.map(lambda m: httpx.get(url_of(service, client.tenant, m.code), timeout=60), files))
    assert [r.status_code for r in responses] == [200] * 12
    assert [r.content for r in responses] == [m.path.read_bytes() for m in files]
    counts = pim[1].state.pim.request_counts
    # the connection test's grant and at most one more (racing first requests); never one per image
    assert counts.get("POST /api/oauth/v1/token", 0) <= 2
    assert not any("429" in str(k) for k in counts)


def test_bigcommerce_downloads_an_image_through_the_route(service, client, pim):
    media = next(m for m in media_files(pim[1]) if m.mime_type == "image/jpeg")
    bc_app = create_bc(stores=[(BC_STORE, BC_TOKEN)], unlimited=True)
    with serve(bc_app) as bc_url:
        created = httpx.post(f"{bc_url}/stores/{BC_STORE}/v3/catalog/products", headers={"X-Auth-Token": BC_TOKEN},
                             json={"name": "Camera", "type": "physical", "weight": 1, "price": 10, "sku": "CAM-1",
                                   "images": [{"image_url": url_of(service, client.tenant, media.code),
                                               "is_thumbnail": True}]}, timeout=60)
        assert created.status_code == 200, created.text
        product_id = created.json()["data"]["id"]
        images = httpx.get(f"{bc_url}/stores/{BC_STORE}/v3/catalog/products/{product_id}/images",
                           headers={"X-Auth-Token": BC_TOKEN}).json()["data"]
        stored = httpx.get(f"{bc_url}/sandbox/images/{images[0]['id']}")
        assert stored.content == media.path.read_bytes()


def test_an_imports_images_reach_bigcommerce_through_the_route(redis_url, tmp_path):
    """A real import (worker process) with inline image URLs: BigCommerce's sandbox downloads every image
    from this route while it creates the products, and stores the PIM's bytes."""
    settings = load_settings({"DATA_DIR": str(tmp_path), "SECRET_KEY": IMPORT_SECRET, "REDIS_URL": redis_url,
                              "ALLOW_PRIVATE_URLS": "true"})
    with serve(create_app(settings)) as connector_url, \
            import_env(redis_url, tmp_path, category="print", options={"image_mode": "url"},
                       extra_env={"APP_URL": connector_url}) as env:
        run_id = env.start("full")
        env.work()
        run = env.run(run_id)
        assert run["status"] in ("succeeded", "partial"), run
        state = env.state()
        expected = expected_catalog("print")
        wanted = sum(expected.simple.values())
        assert wanted > 0
        images = [img for p in state["products"] for img in p["images"]]
        assert len(images) >= wanted
        media_by_name = {m.path.name: m for m in env.pim_app.state.pim.catalog.media.values() if m.exists}
        pim_files = {m.path.read_bytes() for m in media_by_name.values()}
        for img in images:
            blob = httpx.get(f"{env.bc_url}/sandbox/images/{img['id']}", timeout=30)
            assert blob.status_code == 200 and blob.content in pim_files
        # the PIM's files were read only by this route, once per image BigCommerce downloaded
        downloads = env.pim_requests()["counts"].get("GET /api/rest/v1/media-files/{code:path}/download", 0)
        assert downloads == len(images)
