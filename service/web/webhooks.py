"""`POST|HEAD /webhooks/akeneo/{tenant}`: the PIM's change events, verified, de-duplicated, queued, and
acknowledged (200) once Redis holds them — never after the sync itself.

Outside `/api`: no session, no CSRF (the signature is the authentication). The handler bounds the body and checks
the content type, then hands the rest to `service.events.policy.receive` in ONE thread call. Order:
bounded body → a JSON content type (else 415) → the tenant's secrets (an unknown tenant gets the same HMAC
work, then 404) → the format from the headers → signature (and, legacy, timestamp) → payload (signed
garbage: 400) → 401 with nothing written → one Redis script (the tenant's event rate, the backlog bound,
the legacy replay guard: 401, dedupe by event id, dirty items) → enqueue the tenant's debounced sync job
when none is queued → 200, or 429 with Retry-After past the tenant's rate or a bound.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response

from service.events import policy
from service.web.body import read_capped


def _answer(status: int, error: str | None = None, message: str = "", retry_after: int = 0,
            **extra: Any) -> JSONResponse:
    body: dict[str, Any] = {"error": error, "message": message} if error else {"ok": True}
    body.update(extra)
    headers = {"Retry-After": str(retry_after or policy.RETRY_AFTER)} if status == 429 else None
    return JSONResponse(body, status_code=status, headers=headers)


def _json_content_type(value: str) -> bool:
    """JSON, CloudEvents JSON (`+json`), or no content type at all (older senders omit it)."""
    media = value.split(";", 1)[0].strip().lower()
    return not media or media == "application/json" or (media.startswith("application/") and media.endswith("+json"))


async def head(request: Request) -> Response:
    """The Event Platform checks the URL with HEAD before it subscribes."""
    known, _ = await asyncio.to_thread(policy.tenant_secrets, request.app.state.store, request.path_params["tenant"])
    return Response(status_code=200 if known else 404)


async def receive(request: Request) -> Response:
    try:
        body = await read_capped(request, policy.MAX_BODY)
    except ClientDisconnect:
        return Response(status_code=400)
    if body is None:
        return _answer(413, "too_large", f"The body is larger than {policy.MAX_BODY} bytes.")
    if not _json_content_type(request.headers.get("content-type", "")):
        return _answer(415, "unsupported_media_type", "Send JSON: application/json or application/cloudevents+json.")
    app = request.app.state
    outcome = await asyncio.to_thread(policy.receive, app.store, app.redis, request.path_params["tenant"],
                                      request.headers, body, time.time())
    return _answer(outcome.status, outcome.error, outcome.message, outcome.retry_after, **outcome.extra)
