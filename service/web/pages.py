"""The configuration page (owned by the configuration work; access decides who reaches it)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from service.access.sessions import Session
from service.web.templating import message_page


async def config_page(request: Request, session: Session, token: str | None = None) -> Response:
    """Render the configuration UI for `session`'s tenant. `token`, when given, is the session token
    for cookieless iframes: the page's script sends it as `Authorization: Bearer`."""
    return message_page(request, 200, "Connector", f"Signed in ({session.via}).")
