"""The JSON API answers hostile input inside its OpenAPI document (issue 13): schemathesis against the
connector's own /openapi.json, with a valid session on a tenant connected to both sandboxes, over real HTTP.
Every operation gets schema-valid inputs (positive) and inputs that break its schema (negative: wrong types,
missing fields, odd strings); no answer may be a 5xx, an undocumented status, an undocumented content type or
a body outside its schema."""

from __future__ import annotations

import contextlib
import time

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.hostile_env import connected_service
from tests.reliability.figures import record

pytestmark = pytest.mark.reliability

EXAMPLES = 15  # per operation and mode: 24 operations x 2 modes x 15 ≈ 500 requests (some have no negative), ~20 s
FRESH_EXAMPLES = 5  # the same on a tenant with nothing configured
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture(scope="module")
def service(tmp_path_factory, redis_url):
    with connected_service(tmp_path_factory.mktemp("hostile-api"), redis_url) as env:
        yield env


def test_the_api_answers_hostile_input_inside_its_schema(service):
    schema = schemathesis.openapi.from_url(f"{service.base}/openapi.json")
    operations = [op.ok() for op in schema.get_all_operations()]
    assert len(operations) >= 20  # the whole JSON API is documented, not a sample of it
    http = requests.Session()
    tried: dict[str, int] = {}
    statuses: dict[int, int] = {}
    failures: list[str] = []
    started = time.monotonic()

    def fuzz(operation, mode, tenant: str, examples: int) -> None:
        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(max_examples=examples, deadline=None, database=None, phases=[Phase.generate],
                  suppress_health_check=list(HealthCheck))
        def run(case):
            # A fresh session each time: DELETE /api/session revokes the one it is sent with.
            headers = service.session_headers(tenant)
            response = case.call(base_url=service.base, session=http, headers=headers, timeout=30)
            tried[operation.label] = tried.get(operation.label, 0) + 1
            statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
            try:
                case.validate_response(response, checks=CHECKS, headers=headers)
            except (Exception, BaseExceptionGroup) as exc:  # collected, not raised: no shrinking, every operation gets its turn
                detail = str(exc)
                with contextlib.suppress(Exception):
                    detail += "\n    " + case.as_curl_command(headers=headers)
                failures.append(f"{operation.label} [{mode.value}] {response.status_code}: {detail}"[:1500])

        try:
            run()
        except Unsatisfiable:  # negative mode on an operation without parameters or body: nothing to break
            assert mode is GenerationMode.NEGATIVE, operation.label

    # A tenant connected to both sandboxes (the routes do their work), then a new one (they refuse with 409s).
    fresh = service.app.state.store.create_tenant()
    for tenant, examples in ((service.tenant, EXAMPLES), (fresh, FRESH_EXAMPLES)):
        for operation in operations:
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                fuzz(operation, mode, tenant, examples)

    seconds = round(time.monotonic() - started, 1)
    inputs = sum(tried.values())
    server_errors = sum(n for code, n in statuses.items() if code >= 500)
    record("hostile", "schemathesis: every /openapi.json operation, positive and negative inputs, valid session "
           "(a connected and a new tenant)",
           inputs=inputs, operations=len(operations), failures=len(failures), server_errors=server_errors,
           accepted_bad=len(failures), seconds=seconds)
    assert not failures, "\n".join(failures[:20])
    assert set(tried) == {op.label for op in operations}
    assert statuses.get(200, 0) + statuses.get(202, 0) > 0 and statuses.get(422, 0) > 0  # both sides were reached


def hostile_bodies() -> list[tuple[str, bytes, str]]:
    """(what, body, content type): bodies no form would send."""
    deep = b"[" * 100_000 + b"]" * 100_000
    return [
        ("empty", b"", "application/json"),
        ("truncated JSON", b'{"mode": "full"', "application/json"),
        ("not UTF-8", b'{"url": "\xff\xfe\xfa"}', "application/json"),
        ("UTF-16 with BOM", '{"mode": "full"}'.encode("utf-16"), "application/json"),
        ("nested 100,000 deep", deep, "application/json"),
        ("lone surrogates", b'{"url": "\\ud800", "locale": "\\udfff", "mode": "\\ud800", "secret": "\\ud800x",'
                            b' "action": "\\udc00", "identifier": "\\ud800", "enabled": "\\ud800"}', "application/json"),
        ("NaN and Infinity", b'{"completeness": NaN, "version": Infinity, "enabled": -Infinity, "mode": NaN,'
                             b' "families": [NaN], "schedule": {"every": NaN, "at": Infinity}}', "application/json"),
        ("huge numbers", b'{"completeness": 1e999, "version": 100000000000000000000000000000000000000000,'
                         b' "limit": -1e400}', "application/json"),
        ("a JSON array", b'[{"mode": "full"}]', "application/json"),
        ("a JSON string", b'"full"', "application/json"),
        ("null", b"null", "application/json"),
        ("every value the wrong type", b'{"url": 1, "client_id": [], "secret": {}, "username": true,'
                                       b' "password": null, "store_hash": 2.5, "access_token": [1],'
                                       b' "locale": {}, "channel": [], "category": 0, "confirm": "yes",'
                                       b' "mode": ["full"], "action": {"hide": 1}, "enabled": "true",'
                                       b' "fields": "name", "families": [], "version": "1",'
                                       b' "identifier": 1, "model": [], "mapping": "x", "removed": 0,'
                                       b' "schedule": "daily", "completeness": "50", "families_": 1}',
         "application/json"),
        ("100,000 keys", ("{" + ",".join(f'"k{i}": {i}' for i in range(100_000)) + "}").encode(),
         "application/json"),
        ("a megabyte string in every field", ('{"url": "%s", "secret": "%s", "mode": "%s", "identifier": "%s"}'
                                               % (("x" * 300_000,) * 4)).encode(), "application/json"),
        ("2 MB of junk", b"\x00\x01garbage" * 200_000, "application/json"),
        ("form-encoded", b"mode=full&action=hide&enabled=true", "application/x-www-form-urlencoded"),
        ("XML", b"<?xml version='1.0'?><mode>full</mode>", "application/xml"),
    ]


def test_every_body_route_refuses_malformed_bodies_cleanly(service):
    """Raw bodies that schema-driven generation does not produce: each answers a JSON error (or the change it
    asks for, when it is one); never a 5xx, never an answer that is not JSON."""
    doc = requests.get(f"{service.base}/openapi.json", timeout=30).json()
    targets = [(method.upper(), path) for path, ops in doc["paths"].items() for method, op in ops.items()
               if "requestBody" in op]
    assert len(targets) >= 10
    http = requests.Session()
    tried, bad = 0, []
    for method, path in targets:
        for what, body, content_type in hostile_bodies():
            headers = {**service.session_headers(), "Content-Type": content_type}
            response = http.request(method, service.base + path, data=body, headers=headers, timeout=60)
            tried += 1
            try:
                answer = response.json()
            except ValueError:
                answer = None
            ok = response.status_code < 500 and isinstance(answer, dict) and (
                response.status_code < 400 or {"error", "message"} <= set(answer))
            if what == "2 MB of junk" and not path.startswith("/api/mapping"):
                ok = ok and response.status_code == 413  # bounded before it is all read (mapping allows 16 MB)
            if not ok:
                bad.append(f"{method} {path} {what}: {response.status_code} {response.text[:300]}")
    record("hostile", "malformed request bodies on every route that takes one (JSON API)",
           inputs=tried, routes=len(targets), accepted_bad=len(bad), server_errors=len(bad))
    assert not bad, "\n".join(bad)


def test_the_routes_outside_the_document_refuse_hostile_queries_cleanly(service):
    """The HTML entry, the app callbacks, media, static files and health: odd query strings, paths and
    headers are 4xx (or the page), never a 5xx."""
    odd = ["", "x", "%00", "%ff%fe", "é", "\u202e", "../../etc/passwd", "http://127.0.0.1:1", "javascript:alert(1)",
           "a" * 8000, "[]", "{}", "%25%25", "<script>", "\r\nSet-Cookie: x=1"]
    paths = [("/", "pim"), ("/?pim=" + service.pim_url, "x"), ("/bc/auth", "code"), ("/bc/auth", "context"), ("/bc/load", "signed_payload_jwt"),
             ("/bc/uninstall", "signed_payload_jwt"), ("/bc/remove_user", "signed_payload_jwt"), ("/healthz", "x"),
             ("/readyz", "x"), ("/openapi.json", "x")]
    raw_paths = ["/media/" + "%ff" * 10, "/media/%00", "/media/" + "a" * 8000, "/static/..%2F..%2Fpyproject.toml",
                 "/static/%00", "/static/" + "é" * 50, "/webhooks/akeneo/%ff", "/api/%ff", "/" + "%2e%2e/" * 20]
    tried, bad = 0, []
    with requests.Session() as http:
        for path, name in paths:
            for value in odd:
                response = http.get(service.base + path, params={name: value, "scope": value, "pim": value},
                                    headers={"Cookie": f"BAPID={value[:100]}".replace("\r\n", "").encode()}, timeout=30, allow_redirects=False)
                tried += 1
                if response.status_code >= 500:
                    bad.append(f"{path}?{name}={value[:40]!r}: {response.status_code}")
        for path in raw_paths:
            response = http.get(service.base + path, timeout=30, allow_redirects=False)
            tried += 1
            if response.status_code >= 500 or (path.startswith("/static/..") and response.status_code == 200):
                bad.append(f"{path[:60]}: {response.status_code}")
    record("hostile", "odd queries, paths and cookies on the routes outside /openapi.json", inputs=tried,
           accepted_bad=len(bad), server_errors=len(bad))
    assert not bad, "\n".join(bad)
