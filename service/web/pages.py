"""The configuration page (owned by the configuration work; access decides who reaches it)."""

from __future__ import annotations

import asyncio
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from service.access.sessions import Session
from service.config.public import overview
from service.web.templating import templates


async def config_page(request: Request, session: Session, token: str | None = None) -> Response:
    """Render the configuration UI for `session`'s tenant. `token`, when given, is the session token
    for cookieless iframes: the page's script sends it as `Authorization: Bearer`."""
    context = {"session": session, "token": token or "",
               **await asyncio.to_thread(_page_state, request, session.tenant)}
    response = templates.TemplateResponse(request, "config.html", context)
    # The page embeds a session token and CSRF token: never cache it, never leak it in a Referer.
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def _page_state(request: Request, tenant: str) -> dict[str, Any]:
    """What the page shows of the tenant's configuration (Redis reads: run off the event loop)."""
    state = overview(request.app.state.store, tenant, request.app.state.settings.app_url)
    state["bc"] = state.pop("bigcommerce")
    return state
