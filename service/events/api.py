"""JSON routes of the events block on the configuration page (behind ApiGuard: session, tenant, CSRF).

- `GET /api/events`: webhook URL, the real-time subscription's status, last event time, waiting
  count, the last hour's figures and failures.
- `PUT /api/config/events/realtime` `{"enabled": bool}`: switch the Event Platform subscription on/off.
- `POST /api/config/events/realtime/suspend|resume|remove`.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from service.events import subscription as sub
from service.store.events import EventStore
from service.web.body import api_body
from service.web.errors import ApiError
from service.web.guard import current_session

MAX_BODY = 4096  # `{"enabled": bool}` never needs more


def _status(request: Request, tenant: str, section: dict[str, Any]) -> dict[str, Any]:
    app = request.app.state
    summary = EventStore(app.redis).summary(tenant)
    manual = bool((app.store.get_credentials(tenant, "events") or {}).get("secret"))
    return sub.public(app.settings, tenant, section, summary, manual)


async def _answer(request: Request, tenant: str, section: dict[str, Any]) -> JSONResponse:
    return JSONResponse(await asyncio.to_thread(_status, request, tenant, section))


async def get_events(request: Request) -> JSONResponse:
    """
    summary: Change events - webhook URL, real-time subscription status, last hour's figures.
    parameters:
      - {name: refresh, in: query, required: false, schema: {type: string}}
    responses:
      200: {description: "{webhook_url, realtime: {enabled, status, message}, last_event_at, waiting, last_hour, failures}",
        content: {application/json: {schema: {$ref: '#/components/schemas/EventsStatus'}}}}
    """
    tenant = current_session(request).tenant
    section = await sub.refreshed(request.app.state.settings, request.app.state.store, tenant,
                                  force=request.query_params.get("refresh") == "1")
    return await _answer(request, tenant, section)


async def put_realtime(request: Request) -> JSONResponse:
    """
    summary: Switch real-time updates (the Event Platform subscription) on or off.
    requestBody: {required: true, content: {application/json: {schema: {$ref: '#/components/schemas/RealtimeForm'}}}}
    responses:
      200: {description: "the events status, as GET /api/events", content: {application/json: {schema: {$ref: '#/components/schemas/EventsStatus'}}}}
      409: {description: the PIM is not connected}
      422: {description: "body is not {\\"enabled\\": bool}"}
      502: {description: the PIM or the Event Platform refused; the message says what to do}
    """
    session = current_session(request)
    raw = await api_body(request, MAX_BODY, f"{MAX_BODY} bytes")
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):
        body = None
    if not isinstance(body, dict) or not isinstance(body.get("enabled"), bool):
        raise ApiError(422, "invalid", 'Send {"enabled": true} or {"enabled": false}.',
                       fields={"enabled": "must be true or false"})
    settings, store = request.app.state.settings, request.app.state.store
    if body["enabled"]:
        email = str((session.user or {}).get("email") or "") or "noreply@" + (request.url.hostname or "localhost")
        section = await sub.enable(settings, store, session.tenant, email)
    else:
        section = await sub.remove(settings, store, session.tenant)
    return await _answer(request, session.tenant, section)


async def action(request: Request) -> JSONResponse:
    """
    summary: Suspend, resume or remove the real-time subscription.
    parameters:
      - {name: action, in: path, required: true, schema: {type: string, enum: [suspend, resume, remove]}}
    responses:
      200: {description: "the events status, as GET /api/events", content: {application/json: {schema: {$ref: '#/components/schemas/EventsStatus'}}}}
      404: {description: "not suspend, resume or remove"}
      409: {description: "real-time updates are off, or the transition is not allowed"}
      502: {description: the PIM or the Event Platform refused}
    """
    tenant = current_session(request).tenant
    settings, store = request.app.state.settings, request.app.state.store
    name = request.path_params["action"]
    if name == "remove":
        section = await sub.remove(settings, store, tenant)
    elif name in ("suspend", "resume"):
        section = await sub.transition(settings, store, tenant, name)
    else:
        raise ApiError(404, "not_found", "Unknown action: suspend, resume or remove.")
    return await _answer(request, tenant, section)


routes = [
    Route("/api/events", get_events, methods=["GET"]),
    Route("/api/config/events/realtime", put_realtime, methods=["PUT"]),
    Route("/api/config/events/realtime/{action}", action, methods=["POST"]),
]
