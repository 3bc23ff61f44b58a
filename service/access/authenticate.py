"""The session a request carries, if it is still good. No HTTP answers here: the pages and the `/api`
gate (service/web/) say what a refusal looks like."""

from __future__ import annotations

import asyncio
import hmac

from starlette.requests import Request

from service.access.pim_session import PimUnavailable, cached_user, cookie_fingerprint, pim_user
from service.access.sessions import Session
from service.store.limits import TooManyChecks

__all__ = ["TOO_MANY_CHECKS", "PimUnavailable", "TooManyChecks", "authenticate", "client_address"]

TOO_MANY_CHECKS = "Too many PIM session checks came from your address. Wait a minute, then open the connector again."


def client_address(request: Request) -> str:
    """Whom PIM cookie checks are counted against: the peer address (X-Forwarded-For only from the
    proxies uvicorn trusts, FORWARDED_ALLOW_IPS)."""
    return request.client.host if request.client else "unknown"


async def authenticate(request: Request) -> Session | None:
    """The request's session, or None. A session opened through a PIM is good only while that PIM is the
    tenant's PIM (checked in the same read as the session: `Sessions.load`). One obtained with the PIM's
    cookie stays good only while the PIM still accepts the very PIM session it was granted for (asked again
    once the 60 s cache runs out), so logging out of the PIM, or a disabled PIM account, ends access to the
    connector too.
    Raises PimUnavailable when the PIM cannot be asked: never access then; TooManyChecks when this
    client address has used its PIM checks for now."""
    app = request.app
    sessions = app.state.sessions
    session = await asyncio.to_thread(sessions.from_request, request)
    if session is None or session.via != "pim":
        return session
    settings = app.state.settings
    cookie = request.cookies.get(settings.pim_session_cookie)
    if (not cookie or session.pim_url not in settings.pim_urls
            or not hmac.compare_digest(cookie_fingerprint(session.pim_url, cookie), session.pim_cookie)):
        return None
    store = app.state.store
    if await asyncio.to_thread(cached_user, store, session.pim_cookie):
        return session
    if await pim_user(store, session.pim_url, settings.pim_session_cookie, cookie,
                      client=client_address(request)) is None:
        await asyncio.to_thread(sessions.revoke, session)
        return None
    # the PIM took a while to answer: the tenant may have left that PIM meanwhile
    return session if await asyncio.to_thread(sessions.current, session) else None
