"""`GET /`: the configuration UI for a session; entry from the PIM with `?pim=<PIM base URL>`."""

from __future__ import annotations

import asyncio
import logging

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from service.access.authenticate import (
    TOO_MANY_CHECKS,
    PimUnavailable,
    TooManyChecks,
    authenticate,
    client_address,
)
from service.access.pim_session import cookie_fingerprint, existing_session, pim_user
from service.settings import normalise_url
from service.web import pages
from service.web.guard import current_session
from service.web.templating import message_page

log = logging.getLogger("connector.access")

LOGIN_FIRST = ("You need to be logged in to your PIM; we use the PIM's authentication cookie to verify your "
               "access eligibility.")


def _too_many_checks(request: Request, exc: TooManyChecks) -> Response:
    response = message_page(request, 429, "Too many attempts", TOO_MANY_CHECKS,
                            hint=f"Try again in {exc.retry_after} seconds.")
    response.headers["Retry-After"] = str(exc.retry_after)
    return response


async def home(request: Request) -> Response:
    settings, sessions = request.app.state.settings, request.app.state.sessions
    pim = request.query_params.get("pim")
    if pim is None:
        try:
            session = await authenticate(request)
        except TooManyChecks as exc:
            return _too_many_checks(request, exc)
        except PimUnavailable:
            return _cannot_verify(request)
        if session is None:
            return message_page(request, 401, "Log in to your PIM first", LOGIN_FIRST,
                                hint="Open the connector from your PIM's menu, or from the BigCommerce control panel.")
        return await pages.config_page(request, session)

    try:
        pim_url = normalise_url(pim) if pim.strip() else ""
    except ValueError:  # not even a URL
        pim_url = ""
    if not settings.pim_urls or pim_url not in settings.pim_urls:
        return message_page(request, 403, "Unknown PIM", "This connector does not serve that PIM.",
                            hint="Ask the connector's operator to add your PIM's address to PIM_URLS.")
    cookie = request.cookies.get(settings.pim_session_cookie)
    if not cookie:
        return message_page(request, 401, "Log in to your PIM first", LOGIN_FIRST)
    store = request.app.state.store
    try:
        user = await pim_user(store, pim_url, settings.pim_session_cookie, cookie, client=client_address(request))
    except TooManyChecks as exc:
        return _too_many_checks(request, exc)
    except PimUnavailable as exc:
        log.warning("PIM session check failed", extra={"pim": pim_url, "reason": str(exc)})
        return _cannot_verify(request)
    if user is None:
        return message_page(request, 401, "Log in to your PIM first", LOGIN_FIRST)
    token, session = await asyncio.to_thread(_pim_session, store, sessions, pim_url, user,
                                             cookie_fingerprint(pim_url, cookie))
    tenant = session.tenant
    log.info("PIM session accepted", extra={"tenant": tenant, "pim": pim_url})
    response = await pages.config_page(request, session, token)
    sessions.set_cookie(response, token)
    return response


def _pim_session(store, sessions, pim_url: str, user: dict, fingerprint: str):
    """A session on the tenant this PIM's users land on: the one this PIM cookie already has there, else a
    new one. A tenant that a first visit created and that never connected the PIM is deleted when another
    tenant connects it, and a tenant may connect another PIM; should that happen between the lookup and
    the session, the session is revoked and the lookup made again (then it finds the tenant bound to this
    PIM now)."""
    for _ in range(3):
        tenant = store.ensure_tenant_for_pim(pim_url)
        token, session = existing_session(sessions, tenant, user, fingerprint) or \
            sessions.issue(tenant, user, "pim", pim_url=pim_url, pim_cookie=fingerprint)
        if sessions.current(session):
            return token, session
        sessions.revoke(session)
    raise RuntimeError("the PIM's tenant kept disappearing")


def _cannot_verify(request: Request) -> Response:
    return message_page(request, 503, "Cannot verify your PIM session",
                        "Your PIM did not answer, so we cannot verify your session.", hint="Try again in a minute.")


async def get_session(request: Request) -> JSONResponse:
    """
    summary: The current session (tenant, user, how it was obtained) and its CSRF token.
    responses:
      200: {description: the session, content: {application/json: {schema: {$ref: '#/components/schemas/Session'}}}}
      401: {description: no session}
    """
    return JSONResponse(current_session(request).public())


async def delete_session(request: Request) -> Response:
    """
    summary: Log out (revoke this session).
    responses:
      204: {description: revoked}
    """
    await asyncio.to_thread(request.app.state.sessions.revoke, current_session(request))
    return Response(status_code=204)
