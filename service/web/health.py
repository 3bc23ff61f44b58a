"""Liveness, readiness and the OpenAPI document."""

from __future__ import annotations

import asyncio
import copy
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.schemas import SchemaGenerator

from service.web.api_schemas import COMPONENTS

schemas = SchemaGenerator({
    "openapi": "3.0.3",
    "info": {"title": "Akeneo PIM → BigCommerce connector", "version": "0.1.0"},
    "components": {"schemas": COMPONENTS},
})
_ERROR = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
# What ApiGuard answers before any /api handler runs (service/web/guard.py).
_GUARD = {"401": "no valid session", "403": "wrong_tenant (X-Tenant or ?tenant= names another tenant) or csrf",
          "429": "too_many_checks (PIM cookie checks from this address)", "503": "pim_unavailable"}
_BODY = {"413": "body too large", "422": "invalid: the body is not a JSON object of the documented fields"}


def document(routes: list) -> dict[str, Any]:
    """The handlers' docstrings, plus what every /api operation may answer whatever its handler: the gate's
    refusals, and for a body the size and JSON refusals. Every error answer is `Error` (service/web/errors.py)."""
    doc = copy.deepcopy(schemas.get_schema(routes=routes))
    for path, operations in doc.get("paths", {}).items():
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            responses = operation["responses"] = {str(code): answer for code, answer in responses.items()}
            extra = {**(_GUARD if path.startswith("/api/") else {}), **(_BODY if "requestBody" in operation else {})}
            for code, description in extra.items():
                responses.setdefault(code, {"description": description})
            for code, answer in responses.items():
                if code >= "400" and "content" not in answer:
                    answer["content"] = _ERROR
    return doc


async def healthz(request: Request) -> JSONResponse:
    """
    summary: The process is alive.
    responses:
      200: {description: alive, content: {application/json: {schema: {$ref: '#/components/schemas/Health'}}}}
    """
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> JSONResponse:
    """
    summary: Redis is reachable, so the connector can serve and queue work.
    responses:
      200: {description: ready, content: {application/json: {schema: {$ref: '#/components/schemas/Ready'}}}}
      503: {description: Redis unreachable, content: {application/json: {schema: {$ref: '#/components/schemas/Ready'}}}}
    """
    try:
        await asyncio.wait_for(asyncio.to_thread(request.app.state.store.ping), timeout=3)
    except Exception:  # any failure means not ready; the reason is logged, not shown
        return JSONResponse({"status": "unavailable", "redis": "unreachable"}, status_code=503)
    return JSONResponse({"status": "ok", "redis": "ok"})


async def openapi(request: Request) -> JSONResponse:
    return JSONResponse(document(request.app.routes))
