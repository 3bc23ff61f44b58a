"""Access through the PIM's own session: the PIM must confirm the cookie at `GET {pim}/rest/user/`.

A visit whose PIM cookie already holds a live session of the same PIM user on the tenant gets that session
again (`existing_session`): visits do not mint records (the PIM's answer is cached, so nothing else would
slow them down); the tenant's records are capped besides (service/store/sessions.py)."""

from __future__ import annotations

import asyncio
import hashlib
import logging
from typing import Any

import httpx

from service.access.sessions import Session, Sessions
from service.store import Store
from service.store.limits import PimCheckLimits

log = logging.getLogger("connector.access")
CACHE_SECONDS = 60  # a positive answer is trusted this long, then the PIM is asked again


class PimUnavailable(Exception):
    """The PIM could not be asked (down, unreachable, answering garbage): never grant access then."""


def cookie_fingerprint(pim_url: str, cookie: str) -> str:
    """What we keep of a PIM session cookie: a hash, so the cookie itself is never stored."""
    return hashlib.sha256(f"{pim_url}\n{cookie}".encode()).hexdigest()


def cached_user(store: Store, fingerprint: str) -> dict[str, Any] | None:
    """The PIM user a recent check confirmed for this cookie fingerprint, without asking the PIM."""
    return store.cache_get("pim-user", fingerprint)


async def pim_user(store: Store, pim_url: str, cookie_name: str, cookie: str, *, client: str,
                   transport: httpx.AsyncBaseTransport | None = None) -> dict[str, Any] | None:
    """The PIM user logged in with this session cookie, or None when the PIM says nobody is. `client`:
    the requester's address, whose checks that reach the PIM are limited (raises TooManyChecks)."""
    key = cookie_fingerprint(pim_url, cookie)
    cached = await asyncio.to_thread(cached_user, store, key)
    if cached:
        return cached
    limits = PimCheckLimits(store.redis)
    if await asyncio.to_thread(limits.before_check, key, client):  # refused moments ago
        return None
    try:
        async with httpx.AsyncClient(timeout=5.0, follow_redirects=False, transport=transport) as http:
            # Only the PIM's session cookie goes to the PIM, never anything else the browser sent us.
            response = await http.get(f"{pim_url}/rest/user/", headers={
                "Cookie": f"{cookie_name}={cookie}", "X-Requested-With": "XMLHttpRequest",
                "Accept": "application/json"})
    except httpx.HTTPError as exc:
        log.warning("cannot reach the PIM to verify a session", extra={"pim": pim_url, "error": type(exc).__name__})
        raise PimUnavailable(f"{pim_url} did not answer") from None
    if response.status_code in (401, 403) or response.is_redirect:
        await asyncio.to_thread(limits.remember_refusal, key)
        return None
    if response.status_code != 200:
        raise PimUnavailable(f"{pim_url} answered {response.status_code}")
    try:
        user = response.json()
    except ValueError:
        raise PimUnavailable(f"{pim_url} did not answer with JSON") from None
    if not isinstance(user, dict) or not (user.get("username") or user.get("id")):
        raise PimUnavailable(f"{pim_url} answered without a user")
    await asyncio.to_thread(store.cache_put, "pim-user", key, user, CACHE_SECONDS)
    return user


def existing_session(sessions: Sessions, tenant: str, user: dict[str, Any],
                     fingerprint: str) -> tuple[str, Session] | None:
    """(token, session) of the tenant's live session granted for this PIM cookie to this PIM user, with at
    least half its life left (a visit never gets a session about to end), or None. Blocking."""
    found = sessions.records.find_pim_session(tenant, fingerprint, min_left=sessions.ttl / 2)
    if found is None:
        return None
    sid, record = found
    was, now = record.get("user") or {}, user
    if str(was.get("id", "")) != str(now.get("id", "")) or str(was.get("username", "")) != str(now.get("username", "")):
        return None
    token = sessions.serializer.dumps({"sid": sid})
    session = sessions.load(token)
    return (token, session) if session is not None else None
