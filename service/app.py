"""The web application: `create_app(settings)` with one explicit routes table."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import redis
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from service.access.sessions import Sessions
from service.crypto import SecretBox
from service.logs import register_secret
from service.redis_conn import connect
from service.settings import Settings
from service.store import Store
from service.store.sessions import SessionStore
from service.web import (
    bigcommerce_app,
    config_api,
    connections_api,
    embed,
    entry,
    events_api,
    health,
    imports_api,
    main_api,
    mapping_api,
    media,
    webhooks,
)
from service.web.errors import EXCEPTION_HANDLERS
from service.web.frames import TenantFrames
from service.web.guard import ApiGuard
from service.web.middleware import RequestContext
from service.web.templating import STATIC_DIR


def build_routes() -> list[BaseRoute]:
    return [
        # Pages
        Route("/", entry.home, methods=["GET"], include_in_schema=False),
        # BigCommerce app callbacks
        Route("/bc/auth", bigcommerce_app.auth, methods=["GET"], include_in_schema=False),
        Route("/bc/load", bigcommerce_app.load, methods=["GET"], include_in_schema=False),
        Route("/bc/uninstall", bigcommerce_app.uninstall, methods=["GET"], include_in_schema=False),
        Route("/bc/remove_user", bigcommerce_app.remove_user, methods=["GET"], include_in_schema=False),
        # JSON API: every /api route sits behind ApiGuard (session, tenant, CSRF)
        Route("/api/session", entry.get_session, methods=["GET"]),
        Route("/api/session", entry.delete_session, methods=["DELETE"]),
        # configuration: all of it, the connection forms, the main configuration and its PIM pickers
        Route("/api/config", config_api.get_config, methods=["GET"]),
        Route("/api/config/pim", connections_api.put_pim, methods=["PUT"]),
        Route("/api/config/bigcommerce", connections_api.put_bigcommerce, methods=["PUT"]),
        Route("/api/config/main", main_api.put_main, methods=["PUT"]),
        Route("/api/config/events", config_api.put_events, methods=["PUT"]),
        Route("/api/pim/locales", main_api.pim_locales, methods=["GET"]),
        Route("/api/pim/channels", main_api.pim_channels, methods=["GET"]),
        Route("/api/pim/categories", main_api.pim_categories, methods=["GET"]),
        *mapping_api.routes,
        *imports_api.routes,
        *events_api.routes,
        *embed.routes,
        # The connector inside the PIM: iframe pages (JWT) and the grid action (HMAC), outside /api
        *embed.pages_routes,
        # PIM change events: signed, outside /api (no session, no CSRF)
        Route("/webhooks/akeneo/{tenant}", webhooks.receive, methods=["POST"], include_in_schema=False),
        Route("/webhooks/akeneo/{tenant}", webhooks.head, methods=["HEAD"], include_in_schema=False),
        Route("/media/{token}", media.media, methods=["GET"], include_in_schema=False),
        # Operations
        Route("/healthz", health.healthz, methods=["GET"]),
        Route("/readyz", health.readyz, methods=["GET"]),
        Route("/openapi.json", health.openapi, methods=["GET"], include_in_schema=False),
        Mount("/static", StaticFiles(directory=STATIC_DIR), name="static"),
    ]


REDIS_THREADS = 32  # blocking Redis calls run in threads; a stalled Redis holds each for its socket timeout


@contextlib.asynccontextmanager
async def _lifespan(app: Starlette) -> AsyncIterator[None]:
    # The default pool (min(32, cores + 4): 6 here) would queue requests behind stalled Redis calls, so
    # under a stall the 503s would come after several socket timeouts instead of one.
    pool = ThreadPoolExecutor(max_workers=REDIS_THREADS, thread_name_prefix="web-redis")
    asyncio.get_running_loop().set_default_executor(pool)
    yield


def create_app(settings: Settings, conn: redis.Redis | None = None) -> Starlette:
    if conn is None:
        if not settings.redis_url:
            raise ValueError("create_app needs settings.redis_url or a Redis connection")
        conn = connect(settings.redis_url)
    for secret in (settings.secret_key, *settings.secret_key_fallbacks, settings.bc_client_secret):
        register_secret(secret)
    # CSP source expressions with a path match that path only: a PIM's pages live anywhere on its origin.
    pim_origins = tuple(dict.fromkeys(f"{urlsplit(u).scheme}://{urlsplit(u).netloc}" for u in settings.pim_urls))
    frame_ancestors = ("https://*.bigcommerce.com", "https://*.mybigcommerce.com", *pim_origins)
    app = Starlette(
        routes=build_routes(),
        middleware=[Middleware(RequestContext, frame_ancestors=frame_ancestors, extra_ancestors=TenantFrames()),
                    Middleware(ApiGuard)],
        exception_handlers=EXCEPTION_HANDLERS,
        lifespan=_lifespan,
    )
    app.state.settings = settings
    app.state.redis = conn
    app.state.store = Store(conn, SecretBox(settings.secret_key, settings.secret_key_fallbacks))
    app.state.sessions = Sessions(SessionStore(conn), settings)
    return app
