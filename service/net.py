"""Outbound URLs that merchants type: never a way into our own network."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit


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
