"""The web application: `create_app(settings)` with one explicit routes table."""

from __future__ import annotations

import redis
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import Route

from service.crypto import SecretBox
from service.logs import register_secret
from service.redis_conn import connect
from service.settings import Settings
from service.store import Store
from service.web import health
from service.web.errors import EXCEPTION_HANDLERS
from service.web.middleware import RequestContext


def build_routes() -> list[Route]:
    return [
        Route("/healthz", health.healthz, methods=["GET"]),
        Route("/readyz", health.readyz, methods=["GET"]),
        Route("/openapi.json", health.openapi, methods=["GET"], include_in_schema=False),
    ]


def create_app(settings: Settings, conn: redis.Redis | None = None) -> Starlette:
    if conn is None:
        if not settings.redis_url:
            raise ValueError("create_app needs settings.redis_url or a Redis connection")
        conn = connect(settings.redis_url)
    register_secret(settings.secret_key)
    for key in settings.secret_key_fallbacks:
        register_secret(key)
    register_secret(settings.bc_client_secret)
    frame_ancestors = ("https://*.bigcommerce.com", *settings.pim_urls)
    app = Starlette(
        routes=build_routes(),
        middleware=[Middleware(RequestContext, frame_ancestors=frame_ancestors)],
        exception_handlers=EXCEPTION_HANDLERS,
    )
    app.state.settings = settings
    app.state.redis = conn
    app.state.store = Store(conn, SecretBox(settings.secret_key, settings.secret_key_fallbacks))
    return app
