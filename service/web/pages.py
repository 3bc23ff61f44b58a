"""The configuration page (owned by the configuration work; access decides who reaches it)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from service.access.sessions import Session
from service.web.config_api import public_connection, public_events, public_main
from service.web.templating import templates


async def config_page(request: Request, session: Session, token: str | None = None) -> Response:
    """Render the configuration UI for `session`'s tenant. `token`, when given, is the session token
    for cookieless iframes: the page's script sends it as `Authorization: Bearer`."""
    store, tenant = request.app.state.store, session.tenant
    sections = store.all_sections(tenant)
    context = {
        "session": session,
        "token": token or "",
        "pim": public_connection(store, tenant, "pim", sections),
        "bc": public_connection(store, tenant, "bigcommerce", sections),
        "main": public_main(sections.get("main", {})),
        "events": public_events(request, store, tenant),
        "first_import_done": bool(sections.get("status", {}).get("first_import_done")),
    }
    response = templates.TemplateResponse(request, "config.html", context)
    # The page embeds a session token and CSRF token: never cache it, never leak it in a Referer.
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response
