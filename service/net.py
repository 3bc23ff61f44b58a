"""Outbound URLs that merchants type: never a way into our own network."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit

import httpcore
import httpx


class UnsafeUrl(ValueError):
    """The URL points at a private, loopback, link-local or otherwise internal address."""


def _internal(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%")[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return (ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_multicast or ip.is_reserved
            or ip.is_unspecified or not ip.is_global)


async def ensure_public_url(url: str, *, allow_private: bool) -> None:
    """Raise UnsafeUrl unless every address the URL's host resolves to is public (or private is allowed).
    A name that does not resolve passes: the request itself then fails with a DNS error, which the
    caller reports as such."""
    if allow_private:
        return
    host = urlsplit(url).hostname
    if not host:
        raise UnsafeUrl("the URL has no host")
    try:
        infos = await asyncio.to_thread(socket.getaddrinfo, host, None, 0, socket.SOCK_STREAM)
    except socket.gaierror:
        return
    for info in infos:
        if _internal(info[4][0]):
            raise UnsafeUrl(f"{host} resolves to an internal address ({info[4][0]}); the connector only "
                            "reaches public addresses")


class _PublicOnlyBackend(httpcore.AsyncNetworkBackend):
    """Resolves the host itself, refuses internal addresses, then connects to the checked address.

    Checking at connect time (not only when a URL is saved) closes DNS rebinding: the address that is
    checked is the address that is used. TLS still verifies the host name (httpcore passes the URL's
    host as server_hostname)."""

    def __init__(self, inner: httpcore.AsyncNetworkBackend) -> None:
        self._inner = inner

    async def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        try:
            infos = await asyncio.to_thread(socket.getaddrinfo, host, port, 0, socket.SOCK_STREAM)
        except socket.gaierror as exc:
            raise httpcore.ConnectError(f"{host}: {exc}") from exc
        addresses = [info[4][0] for info in infos]
        internal = [a for a in addresses if _internal(a)]
        if internal:
            reason = UnsafeUrl(f"{host} resolves to an internal address ({internal[0]}); the connector only "
                               "reaches public addresses")
            raise httpcore.ConnectError(str(reason)) from reason
        return await self._inner.connect_tcp(addresses[0], port, timeout=timeout, local_address=local_address,
                                             socket_options=socket_options)

    async def connect_unix_socket(self, path, timeout=None, socket_options=None):
        raise httpcore.ConnectError("unix sockets are not reachable from merchant URLs")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


def public_transport(*, allow_private: bool, limits: httpx.Limits | None = None) -> httpx.AsyncHTTPTransport:
    """An httpx transport for merchant-typed URLs: internal addresses refused at every connection."""
    transport = httpx.AsyncHTTPTransport(limits=limits or httpx.Limits())
    if not allow_private:
        # httpx does not take a network backend; its connection pool does.
        pool = transport._pool
        pool._network_backend = _PublicOnlyBackend(pool._network_backend)
    return transport
