"""The client's failure kinds for URLs that are not a working Akeneo, and its small helpers.

The not-Akeneo answers come from a tiny Starlette app (the sandbox PIM is faithful, so it cannot
play "a web site that is not Akeneo"); everything else is a real network condition on loopback.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import socket

import pytest
from starlette.applications import Starlette
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse
from starlette.routing import Route

from service.clients.akeneo import AkeneoClient
from service.clients.akeneo_errors import AkeneoUnreachable
from service.clients.akeneo_search import condition, search_filter, updated_since
from service.clients.retry import RETRY_STATUSES, backoff_delay, parse_retry_after
from tests.servers import free_port, serve


async def _html_login(request):
    return HTMLResponse("<html><body><form action='/login'>Sign in</form></body></html>")


async def _redirect_to_login(request):
    return RedirectResponse("/user/login", status_code=302)


async def _json_not_found(request):
    return JSONResponse({"error": "no such route"}, status_code=404)


async def _text_token(request):
    return HTMLResponse("access_token=abc", media_type="text/plain")


# One app, one prefix per way of "not being Akeneo"; the client is pointed at base URL + prefix.
not_akeneo_app = Starlette(
    routes=[
        Route("/html/api/oauth/v1/token", _html_login, methods=["POST"]),
        Route("/redirect/api/oauth/v1/token", _redirect_to_login, methods=["POST"]),
        Route("/jsonapi/api/oauth/v1/token", _json_not_found, methods=["POST"]),
        Route("/text/api/oauth/v1/token", _text_token, methods=["POST"]),
    ]
)


@pytest.fixture(scope="module")
def other_site():
    with serve(not_akeneo_app) as base_url:
        yield base_url


def _check(base_url: str, **options) -> AkeneoUnreachable:
    async def run():
        options.setdefault("allow_private_addresses", True)  # the test servers listen on loopback
        async with AkeneoClient(base_url, "id", "secret", "admin", "admin", **options) as pim:
            with pytest.raises(AkeneoUnreachable) as info:
                await pim.check_connection()
            return info.value, pim.requests_made

    error, requests = asyncio.run(run())
    error.requests = requests
    return error


def test_dns_failure_is_named_dns():
    error = _check("http://nonexistent.invalid")
    assert error.kind == "dns"
    assert "nonexistent.invalid" in error.message


def test_closed_port_is_refused_without_retrying():
    error = _check(f"http://127.0.0.1:{free_port()}")
    assert error.kind == "refused"
    assert error.requests == 1


def test_tls_to_a_plain_http_server_is_a_tls_error(other_site):
    error = _check(other_site.replace("http://", "https://"))
    assert error.kind == "tls"


def test_silent_server_is_a_timeout_and_is_retried():
    # The kernel completes the handshake for a listening socket nobody reads: a server that hangs.
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        port = listener.getsockname()[1]
        error = _check(f"http://127.0.0.1:{port}", timeout=0.2, max_attempts=2)
    assert error.kind == "timeout"
    assert error.requests == 2  # timeouts are retried


@pytest.mark.parametrize("prefix", ["/", "/html", "/redirect", "/jsonapi", "/text"])
def test_other_sites_are_not_akeneo(other_site, prefix):
    error = _check(other_site + prefix)
    assert error.kind == "not_akeneo"


def test_redirect_message_names_the_target(other_site):
    error = _check(other_site + "/redirect")
    assert "/user/login" in error.message


# A list whose next link names another origin (as a PIM behind a misconfigured proxy may write it).
hits: list[tuple[int, str]] = []


async def _token(request):
    return JSONResponse({"access_token": "t", "expires_in": 3600, "token_type": "bearer", "refresh_token": "r"})


async def _channels(request):
    hits.append((request.url.port, request.url.query))
    if request.query_params.get("page") == "2":
        return JSONResponse({"_links": {}, "_embedded": {"items": [{"code": "second"}]}})
    elsewhere = request.app.state.elsewhere
    next_href = f"{elsewhere}/api/rest/v1/channels?page=2&limit=1"
    return JSONResponse({"_links": {"next": {"href": next_href}}, "_embedded": {"items": [{"code": "first"}]}})


links_app = Starlette(
    routes=[
        Route("/api/oauth/v1/token", _token, methods=["POST"]),
        Route("/api/rest/v1/channels", _channels),
    ]
)


def test_next_links_are_followed_on_our_own_origin_only():
    hits.clear()
    with serve(links_app) as ours, serve(links_app) as elsewhere:
        links_app.state.elsewhere = elsewhere

        async def run():
            async with AkeneoClient(ours, "id", "secret", "u", "p", allow_private_addresses=True) as pim:
                return [c["code"] async for c in pim.iter_items("/api/rest/v1/channels", {"limit": 1})]

        codes = asyncio.run(run())
    our_port = int(ours.rsplit(":", 1)[1])
    assert codes == ["first", "second"]
    assert hits == [(our_port, "limit=1"), (our_port, "page=2&limit=1")]  # the token never left our origin


def test_only_http_urls_are_accepted():
    for url in ["ftp://pim.example.com", "pim.example.com", ""]:
        with pytest.raises(ValueError):
            AkeneoClient(url, "id", "secret", "u", "p")


def test_search_filter_builds_akeneo_json():
    when = dt.datetime(2024, 5, 1, 14, 30, 5, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    search = json.loads(
        search_filter(
            updated=updated_since(when),
            categories=("IN CHILDREN", ["master"]),
            parent=("EMPTY",),
            completeness=[condition(">=", 100, scope="ecommerce", locales=["en_US"])],
        )
    )
    assert search == {
        "updated": [{"operator": ">", "value": "2024-05-01 12:30:05"}],
        "categories": [{"operator": "IN CHILDREN", "value": ["master"]}],
        "parent": [{"operator": "EMPTY"}],
        "completeness": [{"operator": ">=", "value": 100, "scope": "ecommerce", "locales": ["en_US"]}],
    }
    with pytest.raises(TypeError):
        search_filter(enabled=True)


def test_backoff_grows_is_capped_and_honours_retry_after():
    assert sorted(RETRY_STATUSES) == [408, 429, 500, 502, 503, 504]
    for attempt in range(1, 12):
        delay = backoff_delay(attempt, base=0.5, cap=30.0)
        assert 0 <= delay <= min(30.0, 0.5 * 2 ** (attempt - 1))
    assert max(backoff_delay(10, base=0.5, cap=4.0) for _ in range(50)) <= 4.0
    assert backoff_delay(1, retry_after=7.0) >= 7.0
    assert backoff_delay(1, retry_after=90.0, cap=30.0) == 30.0
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412475.0) == 5.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None
