"""Liveness, readiness and the OpenAPI document."""

from __future__ import annotations

import asyncio

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.schemas import SchemaGenerator

schemas = SchemaGenerator({
    "openapi": "3.0.3",
    "info": {"title": "Akeneo PIM → BigCommerce connector", "version": "0.1.0"},
})


async def healthz(request: Request) -> JSONResponse:
    """
    summary: The process is alive.
    responses:
      200: {description: alive}
    """
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> JSONResponse:
    """
    summary: Redis is reachable, so the connector can serve and queue work.
    responses:
      200: {description: ready}
      503: {description: Redis unreachable}
    """
    try:
        await asyncio.wait_for(asyncio.to_thread(request.app.state.store.ping), timeout=3)
    except Exception:  # any failure means not ready; the reason is logged, not shown
        return JSONResponse({"status": "unavailable", "redis": "unreachable"}, status_code=503)
    return JSONResponse({"status": "ok", "redis": "ok"})


async def openapi(request: Request) -> JSONResponse:
    return JSONResponse(schemas.get_schema(routes=request.app.routes))
