"""Request ids, request logs and the security headers every response carries."""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Awaitable, Callable

import redis
from starlette.datastructures import MutableHeaders
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("connector.web")

# Redis down or stalled (redis-py's errors; TimeoutError also from run_sync's asyncio.wait_for)
REDIS_DOWN = (redis.ConnectionError, redis.TimeoutError, TimeoutError)
RETRY_AFTER = 5


class RequestContext:
    """Gives each request an id (X-Request-ID), logs it once, and adds security headers."""

    def __init__(self, app: ASGIApp, frame_ancestors: tuple[str, ...] = (),
                 extra_ancestors: Callable[[Scope], Awaitable[tuple[str, ...]]] | None = None) -> None:
        self.app = app
        self.frame_ancestors = frame_ancestors
        # per request: e.g. the PIM of the tenant an /embed/{tenant}/ page belongs to (service/web/frames.py)
        self.extra_ancestors = extra_ancestors
        self.csp = self._csp(())

    def _csp(self, extra: tuple[str, ...]) -> str:
        ancestors = " ".join(dict.fromkeys(("'self'", *self.frame_ancestors, *extra)))
        return (
            "default-src 'self'; img-src 'self' data: https:; style-src 'self' 'unsafe-inline'; "
            f"script-src 'self'; connect-src 'self'; form-action 'self'; base-uri 'none'; object-src 'none'; "
            f"frame-ancestors {ancestors}"
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = secrets.token_hex(8)
        scope.setdefault("state", {})["request_id"] = rid
        started = time.perf_counter()
        status = 500
        csp = self.csp
        if self.extra_ancestors is not None:
            try:
                extra = await self.extra_ancestors(scope)
            except Exception:  # a lookup failure only narrows who may frame the page
                log.warning("frame ancestors lookup failed", exc_info=True)
                extra = ()
            csp = self._csp(extra) if extra else self.csp

        async def send_with_headers(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = MutableHeaders(scope=message)
                headers["X-Request-ID"] = rid
                headers.setdefault("Content-Security-Policy", csp)
                headers["X-Content-Type-Options"] = "nosniff"
                headers["Referrer-Policy"] = "strict-origin-when-cross-origin"
                headers.setdefault("Cache-Control", "no-store")
            await send(message)

        started_response = False

        async def send_tracked(message: Message) -> None:
            nonlocal started_response
            started_response = started_response or message["type"] == "http.response.start"
            await send_with_headers(message)

        try:
            await self.app(scope, receive, send_tracked)
        except REDIS_DOWN as exc:
            # Redis refused, dropped or did not answer within its socket timeout: nothing was answered
            # yet, so say "try again" (a webhook sender retries a 503; Akeneo does) rather than 500.
            log.warning("redis unavailable", extra={"request_id": rid, "path": scope["path"],
                                                    "error": type(exc).__name__})
            if not started_response:
                response = JSONResponse({"error": "unavailable", "request_id": rid, "message":
                                         "The connector cannot reach its database right now. Try again in a "
                                         "few seconds; nothing was changed."}, status_code=503,
                                        headers={"Retry-After": str(RETRY_AFTER)})
                await response(scope, receive, send_with_headers)
        except Exception:
            # Answer here, inside the request id and headers, rather than in Starlette's outer handler.
            log.exception("unhandled error", extra={"request_id": rid, "path": scope["path"]})
            if not started_response:
                response = JSONResponse({"error": "internal_error", "request_id": rid, "message":
                                         "Something went wrong on our side. Quote the request id if you "
                                         "contact support."}, status_code=500)
                await response(scope, receive, send_with_headers)
        finally:
            # The path only: query strings carry codes and JWTs.
            log.info("request", extra={"request_id": rid, "method": scope["method"], "path": scope["path"],
                                       "status": status, "ms": round((time.perf_counter() - started) * 1000, 1)})
