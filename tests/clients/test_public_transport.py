"""The public transport (service/net.py) tries the next resolved address when one refuses, and when internal
addresses are refused it checks every resolved address before connecting to any (issue 8)."""

from __future__ import annotations

import asyncio

import pytest

from tests.servers import serve


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
