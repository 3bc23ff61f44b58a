"""JSON routes of the events block on the configuration page (behind ApiGuard: session, tenant, CSRF).

- `GET /api/events`: webhook URL, the real-time subscription's status, last event time, waiting
  count, the last hour's figures and failures.
- `PUT /api/config/events/realtime` `{"enabled": bool}`: switch the Event Platform subscription on/off.
- `POST /api/config/events/realtime/suspend|resume|remove`.

Parse, call `service.events.realtime`, answer; its refusals are Refusals, answered by the app's one handler.
"""

from __future__ import annotations

import json

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from service.events import realtime
from service.web.body import api_body
from service.web.errors import ApiError
from service.web.guard import current_session

MAX_BODY = 4096  # `{"enabled": bool}` never needs more


async def get_events(request: Request) -> JSONResponse:
    """
    summary: Change events - webhook URL, real-time subscription status, last hour's figures.
    parameters:
      - {name: refresh, in: query, required: false, schema: {type: string}}
    responses:
      200: {description: "{webhook_url, realtime: {enabled, status, message}, last_event_at, waiting, last_hour, failures}",
        content: {application/json: {schema: {$ref: '#/components/schemas/EventsStatus'}}}}
    """
    app = request.app.state
    return JSONResponse(await realtime.status(app.settings, app.store, app.redis, current_session(request).tenant,
                                              refresh=request.query_params.get("refresh") == "1"))


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
    # the platform wants a contact for the subscriber: the user's, else one on this host
    email = str((session.user or {}).get("email") or "") or "noreply@" + (request.url.hostname or "localhost")
    app = request.app.state
    return JSONResponse(await realtime.switch(app.settings, app.store, app.redis, session.tenant,
                                              enabled=body["enabled"], email=email))


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
    app = request.app.state
    return JSONResponse(await realtime.act(app.settings, app.store, app.redis, current_session(request).tenant,
                                           request.path_params["action"]))


routes = [
    Route("/api/events", get_events, methods=["GET"]),
    Route("/api/config/events/realtime", put_realtime, methods=["PUT"]),
    Route("/api/config/events/realtime/{action}", action, methods=["POST"]),
]
