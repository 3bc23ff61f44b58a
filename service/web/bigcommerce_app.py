"""The BigCommerce single-click app's callbacks (`GET /bc/auth|load|uninstall|remove_user`): parse, call
`service.access.bigcommerce_app`, answer. Outside `/api`: BigCommerce's signature (or its install code)
is the authentication. A refusal is a page in words (the control panel shows it in its iframe), never
JSON: 503 when the app is not configured, 400 for an incomplete install link, 401 for a signature that
does not check out, 404 for a store that never installed, 502 when BigCommerce did not confirm an install.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from service.access import bigcommerce_app as bc_app
from service.access.sessions import Session
from service.web import pages
from service.web.templating import message_page


def _not_configured(request: Request) -> Response:
    return message_page(request, 503, "BigCommerce app not configured",
                        "This connector has no BigCommerce app credentials.",
                        hint="The operator must set BC_CLIENT_ID and BC_CLIENT_SECRET.")


async def _verified(request: Request, action: str) -> dict[str, Any] | Response:
    """The checked claims of the request's signed_payload_jwt, or the page that refuses it."""
    settings = request.app.state.settings
    if not settings.bc_app_configured:
        return _not_configured(request)
    try:
        return await bc_app.verified_claims(settings, request.app.state.store,
                                            request.query_params.get("signed_payload_jwt"), action)
    except bc_app.InvalidPayload:
        return message_page(request, 401, "Cannot open the connector", "BigCommerce's signature did not check out.",
                            hint="Open the app again from the BigCommerce control panel.")


async def _config_page(request: Request, token: str, session: Session) -> Response:
    """The configuration page, with the session's cookie (the control panel's iframe keeps it)."""
    response = await pages.config_page(request, session, token)
    request.app.state.sessions.set_cookie(response, token)
    return response


async def auth(request: Request) -> Response:
    app = request.app.state
    if not app.settings.bc_app_configured:
        return _not_configured(request)
    if not bc_app.install_link_complete(request.query_params):
        return message_page(request, 400, "Installation failed", "The install link is incomplete.",
                            hint="Start the installation again from the BigCommerce control panel.")
    try:
        token, session = await bc_app.install(app.settings, app.store, app.sessions, request.query_params)
    except bc_app.InstallFailed:
        return message_page(request, 502, "Installation failed",
                            "BigCommerce did not confirm the installation, so nothing was stored.",
                            hint="Start the installation again from the BigCommerce control panel.")
    return await _config_page(request, token, session)


async def load(request: Request) -> Response:
    claims = await _verified(request, "load")
    if isinstance(claims, Response):
        return claims
    opened = await bc_app.load(request.app.state.store, request.app.state.sessions, claims)
    if opened is None:
        return message_page(request, 404, "App not installed", "This store has not installed the connector.",
                            hint="Install it from the BigCommerce control panel first.")
    return await _config_page(request, *opened)


async def uninstall(request: Request) -> Response:
    claims = await _verified(request, "uninstall")
    if isinstance(claims, Response):
        return claims
    app = request.app.state
    await bc_app.uninstall(app.settings, app.store, app.sessions, app.redis, claims)
    return Response(status_code=204)


async def remove_user(request: Request) -> Response:
    claims = await _verified(request, "remove_user")
    if isinstance(claims, Response):
        return claims
    await bc_app.remove_user(request.app.state.store, request.app.state.sessions, claims)
    return Response(status_code=204)
