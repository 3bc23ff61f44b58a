"""The `/api` gate: a session or 401, the session's own tenant or 403, a CSRF token on every change."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from service.access.authenticate import TOO_MANY_CHECKS, PimUnavailable, TooManyChecks, authenticate
from service.access.sessions import Session

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


def is_api_path(path: str) -> bool:
    return path == "/api" or path.startswith("/api/")


def _refusal(request: Request, session: Session | None) -> tuple[int, str, str] | None:
    if session is None:
        return 401, "unauthorized", "No valid session: open the connector from your PIM or from the BigCommerce " \
                                    "control panel."
    wanted = request.headers.get("x-tenant") or request.query_params.get("tenant")
    if wanted and wanted != session.tenant:
        return 403, "wrong_tenant", "This session belongs to another connection."
    if request.method not in SAFE_METHODS and not session.csrf_ok(request.headers.get("x-csrf-token")):
        return 403, "csrf", "Missing or wrong X-CSRF-Token header: reload the page."
    return None


class ApiGuard:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not is_api_path(scope["path"]):
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        rid = scope.get("state", {}).get("request_id", "")
        headers: dict[str, str] = {}
        try:
            session = await authenticate(request)
            failure = _refusal(request, session)
        except TooManyChecks as exc:
            session, failure = None, (429, "too_many_checks", TOO_MANY_CHECKS)
            headers["Retry-After"] = str(exc.retry_after)
        except PimUnavailable:
            session, failure = None, (503, "pim_unavailable", "Cannot verify your PIM session: your PIM did "
                                                              "not answer. Try again in a minute.")
        if failure:
            status, error, message = failure
            await JSONResponse({"error": error, "message": message, "request_id": rid}, status_code=status,
                               headers=headers)(scope, receive, send)
            return
        scope.setdefault("state", {})["session"] = session
        await self.app(scope, receive, send)


def current_session(request: Request) -> Session:
    """The session ApiGuard attached to this `/api` request."""
    return request.scope["state"]["session"]
