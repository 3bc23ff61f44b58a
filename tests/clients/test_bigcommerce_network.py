"""The client's failure kinds for API URLs that are not a working BigCommerce.

The "not BigCommerce" answers come from a tiny Starlette app (the sandbox is faithful, so it cannot
play a web site that is not BigCommerce); the rest are real network conditions on loopback.
"""

from __future__ import annotations

import asyncio

import pytest
from starlette.applications import Starlette
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse
from starlette.routing import Route

from service.clients.bigcommerce import BigCommerceClient
from service.clients.bigcommerce_errors import BigCommerceUnreachable
from tests.servers import free_port, serve


async def _html(request):
    return HTMLResponse("<html><body>Welcome to my shop</body></html>")


async def _redirect(request):
    return RedirectResponse("/login", status_code=302)


async def _json_without_time(request):
    return JSONResponse({"hello": "world"})


async def _slow(request):
    await asyncio.sleep(1)
    return JSONResponse({"time": 1})


other_site_app = Starlette(
    routes=[
        Route("/html/stores/abc/v2/time", _html),
        Route("/redirect/stores/abc/v2/time", _redirect),
        Route("/json/stores/abc/v2/time", _json_without_time),
        Route("/slow/stores/abc/v2/time", _slow),
    ]
)


@pytest.fixture(scope="module")
def other_site():
    with serve(other_site_app) as base_url:
        yield base_url


def _check(api_url: str, **options) -> tuple[BigCommerceUnreachable, int]:
    async def run():
        async with BigCommerceClient("abc", "token", api_url=api_url, **options) as bc:
            with pytest.raises(BigCommerceUnreachable) as info:
                await bc.check_connection()
            return info.value, bc.requests_made

    return asyncio.run(run())


def test_dns_failure():
    error, requests = _check("http://nonexistent.invalid")
    assert error.kind == "dns"
    assert requests == 1  # a wrong host name does not heal by retrying


def test_connection_refused():
    error, _ = _check(f"http://127.0.0.1:{free_port()}")
    assert error.kind == "refused"


def test_tls_failure(other_site):
    error, requests = _check(other_site.replace("http://", "https://"))
    assert error.kind == "tls"
    assert requests == 1


def test_timeout(other_site):
    error, requests = _check(f"{other_site}/slow", timeout=0.3)
    assert error.kind == "timeout"
    assert requests == 2  # the connection check gives up after two attempts


@pytest.mark.parametrize("prefix", ["html", "redirect", "json"])
def test_not_bigcommerce(other_site, prefix):
    error, _ = _check(f"{other_site}/{prefix}")
    assert error.kind == "not_bigcommerce"
