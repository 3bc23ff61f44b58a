"""The sandbox PIM's Starlette app: one routes table, a guard around every API route."""

from __future__ import annotations

import asyncio
import html
import random
import secrets
import time
from collections import deque
from collections.abc import Awaitable, Callable
from pathlib import Path
from urllib.parse import urlsplit

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route

from sandbox import eventplatform

from . import admin, api, auth, edits, extensions, pages
from .search import SearchError
from .state import PimState, build_state

Handler = Callable[[Request], Awaitable[Response]]
MSG_THROTTLED = "You have exceeded the limit of API requests per second."


class Throttle:
    """Requests per second for the whole instance, requests in flight per connection and requests in
    flight on the whole instance (Akeneo SaaS: 100/s, 4 per connection, 10 per instance)."""

    def __init__(self, rate_limit: float | None, max_concurrency: int | None,
                 max_instance_concurrency: int | None = None) -> None:
        self.rate_limit = rate_limit
        self.max_concurrency = max_concurrency
        self.max_instance_concurrency = max_instance_concurrency
        self.recent: deque[float] = deque()
        self.in_flight: dict[str, int] = {}
        self.total_in_flight = 0
        self.throttled = 0  # 429 answers given (GET /sandbox/requests)

    def over_rate(self) -> bool:
        if not self.rate_limit:
            return False
        now = time.monotonic()
        while self.recent and now - self.recent[0] >= 1.0:
            self.recent.popleft()
        if len(self.recent) >= self.rate_limit:
            return True
        self.recent.append(now)
        return False

    def acquire(self, client_id: str) -> bool:
        count = self.in_flight.get(client_id, 0)
        if self.max_concurrency and count >= self.max_concurrency:
            return False
        if self.max_instance_concurrency and self.total_in_flight >= self.max_instance_concurrency:
            return False
        self.in_flight[client_id] = count + 1
        self.total_in_flight += 1
        return True

    def release(self, client_id: str) -> None:
        self.in_flight[client_id] = max(0, self.in_flight.get(client_id, 1) - 1)
        self.total_in_flight = max(0, self.total_in_flight - 1)


def _throttled() -> JSONResponse:
    return auth.error(429, MSG_THROTTLED, headers={"Retry-After": "1"})


def guarded(route_key: str, handler: Handler, *, needs_token: bool = True, faults: bool = True) -> Handler:
    """Count, throttle, authenticate, inject faults, then run `handler` (turning SearchError into 4xx)."""

    async def endpoint(request: Request) -> Response:
        state: PimState = request.app.state.pim
        throttle: Throttle = request.app.state.throttle
        state.count_request(route_key)
        if throttle.over_rate():
            throttle.throttled += 1
            return _throttled()
        client_id = ""
        if needs_token:
            token, failure = auth.bearer(request)
            if failure is not None:
                return failure
            client_id = token.client_id
        if not throttle.acquire(client_id):
            throttle.throttled += 1
            return _throttled()
        try:
            if faults:
                plan = state.faults
                if plan.latency > 0:
                    await asyncio.sleep(plan.latency)
                if plan.error_rate > 0 and random.random() < plan.error_rate:
                    status = random.choice(plan.statuses)
                    return auth.error(status, "Internal Server Error" if status == 500 else "Service unavailable")
            try:
                return await handler(request)
            except SearchError as exc:
                return auth.error(exc.status, exc.message)
        finally:
            throttle.release(client_id)

    return endpoint


def _api(path: str, handler: Handler, **kwargs) -> Route:
    return Route(path, guarded(f"GET {path}", handler, **kwargs), methods=["GET"])


async def rest_user(request: Request) -> Response:
    """The PIM UI's own route: the logged-in user for a valid BAPID session cookie."""
    state: PimState = request.app.state.pim
    state.count_request("GET /rest/user/")
    user = state.session_user(request.cookies.get("BAPID"))
    if user is None:
        if request.headers.get("x-requested-with", "").lower() == "xmlhttprequest":
            return JSONResponse({"message": "Authentication required"}, status_code=401)
        return RedirectResponse(str(request.base_url).rstrip("/") + "/user/login", status_code=302)
    return JSONResponse({
        "id": user.id,
        "username": user.username,
        "email": user.email,
        "user_default_locale": user.user_default_locale,
        "catalog_default_locale": user.catalog_default_locale,
        "first_name": user.first_name,
        "last_name": user.last_name,
    })


LOGIN_FORM = """<!doctype html><title>Login | Akeneo PIM (sandbox)</title>
<h1>Akeneo PIM (sandbox)</h1>{error}
<form method=post action="/user/login">
<input type=hidden name=next value="{next}">
<label>Username <input name=_username autofocus></label>
<label>Password <input name=_password type=password></label>
<button type=submit>Log in</button></form>"""


async def login_page(request: Request) -> HTMLResponse:
    next_url = html.escape(request.query_params.get("next", ""), quote=True)
    return HTMLResponse(LOGIN_FORM.format(error="", next=next_url))


LOGIN_PATH = "/user/login"


def safe_next(request: Request, next_url: str) -> str:
    """Where the login form may send the browser: a path on this host, or an http(s) URL on this host
    name (the connector runs on the same host, on another port). Anything else goes to the login page,
    so the form is no open redirect."""
    if not next_url or any(ord(c) < 33 or c == "\\" for c in next_url):
        return LOGIN_PATH
    parts = urlsplit(next_url)
    if not parts.scheme and not parts.netloc:
        return next_url if next_url.startswith("/") else LOGIN_PATH
    own = (request.url.hostname or "").lower()
    if (parts.scheme in ("http", "https") and parts.hostname and parts.hostname.lower() == own
            and parts.username is None and parts.password is None):
        try:
            parts.port  # noqa: B018 - a malformed port raises
        except ValueError:
            return LOGIN_PATH
        return next_url
    return LOGIN_PATH


async def login(request: Request) -> Response:
    """The PIM's login form: a good username and password open a UI session (the BAPID cookie), so a
    person can try the connector's PIM entry in a browser."""
    state: PimState = request.app.state.pim
    form = await request.form()
    username, password = str(form.get("_username", "")), str(form.get("_password", ""))
    next_url = str(form.get("next", ""))
    user = state.user(username)
    if user is None or not secrets.compare_digest(user.password.encode(), password.encode()):
        page = LOGIN_FORM.format(error="<p role=alert>Invalid credentials.</p>", next=html.escape(next_url, quote=True))
        return HTMLResponse(page, status_code=401)
    response = RedirectResponse(safe_next(request, next_url), status_code=302)
    response.set_cookie("BAPID", state.open_session(user.username), httponly=True, path="/", samesite="lax")
    return response


async def not_found(request: Request) -> JSONResponse:
    return auth.error(404, f'No route found for "{request.method} {request.url}"')


API = api.API
ROUTES = [
    Route("/api/oauth/v1/token", guarded("POST /api/oauth/v1/token", auth.token, needs_token=False, faults=False),
          methods=["POST"]),
    _api(API, api.endpoints, needs_token=False, faults=False),
    _api(f"{API}/channels", api.list_channels),
    _api(f"{API}/channels/{{code}}", api.get_channel),
    _api(f"{API}/locales", api.list_locales),
    _api(f"{API}/locales/{{code}}", api.get_locale),
    _api(f"{API}/currencies", api.list_currencies),
    _api(f"{API}/currencies/{{code}}", api.get_currency),
    _api(f"{API}/categories", api.list_categories),
    _api(f"{API}/categories/{{code}}", api.get_category),
    _api(f"{API}/attributes", api.list_attributes),
    _api(f"{API}/attributes/{{attribute_code}}/options", api.list_attribute_options),
    _api(f"{API}/attributes/{{attribute_code}}/options/{{code}}", api.get_attribute_option),
    _api(f"{API}/attributes/{{code}}", api.get_attribute),
    _api(f"{API}/families", api.list_families),
    _api(f"{API}/families/{{family_code}}/variants", api.list_family_variants),
    _api(f"{API}/families/{{family_code}}/variants/{{code}}", api.get_family_variant),
    _api(f"{API}/families/{{code}}", api.get_family),
    _api(f"{API}/products", api.list_products),
    _api(f"{API}/products/{{code}}", api.get_product),
    _api(f"{API}/products-uuid", api.list_products),
    _api(f"{API}/products-uuid/{{uuid}}", api.get_product_uuid),
    _api(f"{API}/product-models", api.list_product_models),
    _api(f"{API}/product-models/{{code}}", api.get_product_model),
    _api(f"{API}/measurement-families", api.measurement_families),
    _api(f"{API}/media-files", api.list_media_files),
    # the download route first: a media code contains slashes
    _api(f"{API}/media-files/{{code:path}}/download", api.download_media_file),
    _api(f"{API}/media-files/{{code:path}}", api.get_media_file),
    Route("/rest/user/", rest_user, methods=["GET"]),
    Route("/user/login", login_page, methods=["GET"]),
    Route("/user/login", login, methods=["POST"]),
    Route(f"{API}/ui-extensions", guarded(f"GET {API}/ui-extensions", extensions.list_extensions), methods=["GET"]),
    Route(f"{API}/ui-extensions", guarded(f"POST {API}/ui-extensions", extensions.create_extension),
          methods=["POST"]),
    Route(f"{API}/ui-extensions/{{uuid}}", guarded(f"PATCH {API}/ui-extensions/{{uuid}}", extensions.patch_extension),
          methods=["PATCH"]),
    Route(f"{API}/ui-extensions/{{uuid}}",
          guarded(f"DELETE {API}/ui-extensions/{{uuid}}", extensions.delete_extension), methods=["DELETE"]),
    *admin.ROUTES,
    *edits.ROUTES,
    Route("/sandbox/ui-extensions", extensions.all_extensions, methods=["GET"]),
    Route("/sandbox/ui-extensions/calls", extensions.action_calls, methods=["GET", "DELETE"]),
    Route("/sandbox/ui-extensions/groups-format", extensions.set_groups_format, methods=["PUT"]),
    Route("/sandbox/ui-extensions/enabled", extensions.set_enabled, methods=["PUT"]),
    Route("/sandbox/ui-extensions/navigation-jwt", extensions.set_navigation_jwt, methods=["PUT"]),
    Route("/sandbox/users/{username}/acl", extensions.set_user_acl, methods=["PUT"]),
    Route("/sandbox/tenant", extensions.set_tenant, methods=["PUT"]),
    *(Route(path, handler, methods=methods) for path, handler, methods in pages.ROUTES_SPEC),
    Mount("/event-platform", routes=eventplatform.ROUTES),
    Route("/api/{rest:path}", not_found, methods=["GET", "POST", "PATCH", "PUT", "DELETE"]),
]


def create_app(
    catalog_dir: Path | str | None = None,
    *,
    client_id: str = "sandbox-client",
    secret: str = "sandbox-secret",
    username: str = "admin",
    password: str = "admin",
    token_ttl: int = 3600,
    rate_limit: float | None = None,
    max_concurrency: int | None = None,
    max_instance_concurrency: int | None = None,
) -> Starlette:
    state = build_state(catalog_dir, token_ttl=token_ttl)
    state.add_connection(client_id, secret)
    state.add_user(username, password)
    app = Starlette(routes=ROUTES)
    app.state.pim = state
    app.state.throttle = Throttle(rate_limit, max_concurrency, max_instance_concurrency)
    app.state.event_platform = eventplatform.EventPlatform()
    state.listeners.append(app.state.event_platform.publish)
    return app
