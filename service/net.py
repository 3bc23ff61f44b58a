"""Outbound URLs that merchants type: never a way into our own network."""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import socket
import ssl
from urllib.parse import urlsplit

import certifi
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


async def resolve(host: str, port: int | None) -> list[str]:
    """The addresses `host` resolves to, in the resolver's order, each once. Raises socket.gaierror.
    (DNS is the one outside system here: tests stand in for it by replacing this function.)"""
    infos = await asyncio.to_thread(socket.getaddrinfo, host, port, 0, socket.SOCK_STREAM)
    return list(dict.fromkeys(info[4][0] for info in infos))


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
        addresses = await resolve(host, None)
    except socket.gaierror:
        return
    for address in addresses:
        if _internal(address):
            raise UnsafeUrl(f"{host} resolves to an internal address ({address}); the connector only "
                            "reaches public addresses")


class _CheckedBackend(httpcore.AsyncNetworkBackend):
    """Resolves the host itself, refuses internal addresses (unless allowed), then connects to a checked
    address, trying each resolved address in turn until one accepts.

    Checking at connect time (not only when a URL is saved) closes DNS rebinding: the address that is
    checked is the address that is used. Every address is checked before any is tried, so an internal
    one cannot be reached by making the public ones fail. TLS still verifies the host name (httpcore
    passes the URL's host as server_hostname). Each address gets the whole connect timeout."""

    def __init__(self, inner: httpcore.AsyncNetworkBackend, *, refuse_internal: bool) -> None:
        self._inner = inner
        self._refuse_internal = refuse_internal

    async def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        try:
            addresses = await resolve(host, port)
        except socket.gaierror as exc:
            raise httpcore.ConnectError(f"{host}: {exc}") from exc
        if not addresses:
            raise httpcore.ConnectError(f"{host}: no address")
        internal = [a for a in addresses if _internal(a)] if self._refuse_internal else []
        if internal:
            reason = UnsafeUrl(f"{host} resolves to an internal address ({internal[0]}); the connector only "
                               "reaches public addresses")
            raise httpcore.ConnectError(str(reason)) from reason
        failure: Exception | None = None
        for address in addresses:  # a host with one dead address (often IPv6) stays reachable
            try:
                return await self._inner.connect_tcp(address, port, timeout=timeout, local_address=local_address,
                                                     socket_options=socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
        assert failure is not None
        raise failure

    async def connect_unix_socket(self, path, timeout=None, socket_options=None):
        raise httpcore.ConnectError("unix sockets are not reachable from merchant URLs")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


@functools.lru_cache(maxsize=1)
def tls_context() -> ssl.SSLContext:
    """The process's one client TLS context: certificate checks against the CA bundle httpx uses by default.
    Building one costs ~20-40 ms of CPU, so clients made per page or per request share this one (a worker
    builds it before forking its job processes)."""
    return ssl.create_default_context(cafile=certifi.where())


def public_transport(*, allow_private: bool, limits: httpx.Limits | None = None) -> httpx.AsyncHTTPTransport:
    """An httpx transport for merchant-typed URLs: internal addresses refused at every connection (unless
    `allow_private`), every resolved address tried in turn."""
    transport = httpx.AsyncHTTPTransport(verify=tls_context(), limits=limits or httpx.Limits())
    # httpx does not take a network backend; its connection pool does. One connect path (resolve, check,
    # try each address) whether or not internal addresses are allowed.
    pool = transport._pool
    pool._network_backend = _CheckedBackend(pool._network_backend, refuse_internal=not allow_private)
    return transport
