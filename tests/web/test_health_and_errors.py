"""The web app's basics over real HTTP: health, readiness and the OpenAPI document, security headers, JSON
errors (404, and a 500 with its request id and no trace), and JSON logs that never carry secrets."""

import io
import json
import logging

import httpx
import pytest
import redis
from starlette.routing import Route

from service.app import create_app
from service.logs import JsonFormatter, register_secret, setup_logging
from service.settings import load_settings
from tests.servers import serve


@pytest.fixture
def settings(tmp_path, redis_url):
    return load_settings({"DATA_DIR": str(tmp_path), "SECRET_KEY": "app-test-secret-key-0123456789",
                          "REDIS_URL": redis_url})


def test_health_ready_openapi(settings, redis_conn):
    with serve(create_app(settings)) as base:
        assert httpx.get(f"{base}/healthz").json() == {"status": "ok"}
        ready = httpx.get(f"{base}/readyz")
        assert ready.status_code == 200 and ready.json()["redis"] == "ok"
        schema = httpx.get(f"{base}/openapi.json").json()
        assert schema["openapi"].startswith("3.")
        assert "/healthz" in schema["paths"] and "/readyz" in schema["paths"]


def test_readyz_is_503_when_redis_is_gone(settings):
    dead = redis.Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.5)
    with serve(create_app(settings, dead)) as base:
        response = httpx.get(f"{base}/readyz", timeout=10)
    assert response.status_code == 503
    assert response.json()["redis"] == "unreachable"


def test_security_headers_and_json_404(settings):
    with serve(create_app(settings)) as base:
        response = httpx.get(f"{base}/no-such-page")
    assert response.status_code == 404
    assert response.json()["error"] == "not_found"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "frame-ancestors" in response.headers["content-security-policy"]
    assert response.headers["referrer-policy"]
    assert response.json()["request_id"] == response.headers["x-request-id"]


def test_unexpected_error_is_json_500_with_request_id_and_no_trace(settings, caplog):
    app = create_app(settings)

    async def boom(request):
        raise RuntimeError("database password is hunter2")

    app.router.routes.append(Route("/boom", boom))
    with serve(app) as base:
        response = httpx.get(f"{base}/boom")
    assert response.status_code == 500
    body = response.json()
    assert body["error"] == "internal_error"
    assert body["request_id"] == response.headers["x-request-id"]
    assert "hunter2" not in response.text and "Traceback" not in response.text
    assert any(r.levelname == "ERROR" and getattr(r, "request_id", None) == body["request_id"] for r in caplog.records)


def test_json_logs_never_carry_secrets():
    stream = io.StringIO()
    setup_logging("INFO", stream)
    register_secret("the-secret-key-value-xyz")
    log = logging.getLogger("connector.test")
    log.info("calling with Bearer abc.def.ghi and key the-secret-key-value-xyz",
             extra={"password": "pw-123456", "client_secret": "cs-123456", "url": "https://x/?code=abcdef&a=1",
                    "nested": {"access_token": "tok-123456", "store_hash": "abc"}, "status_code": 200})
    line = stream.getvalue().strip()
    doc = json.loads(line)
    for secret in ("abc.def.ghi", "the-secret-key-value-xyz", "pw-123456", "cs-123456", "abcdef", "tok-123456"):
        assert secret not in line
    assert doc["nested"]["store_hash"] == "abc" and doc["status_code"] == 200
    assert doc["level"] == "info" and doc["logger"] == "connector.test"
    assert isinstance(JsonFormatter().format(logging.LogRecord("x", 20, "", 0, "m", (), None)), str)
