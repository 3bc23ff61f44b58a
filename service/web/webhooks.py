"""`POST|HEAD /webhooks/akeneo/{tenant}`: the PIM's change events, verified, de-duplicated, queued, and
acknowledged (200) once Redis holds them — never after the sync itself.

Outside `/api`: no session, no CSRF (the signature is the authentication). Order of the work:
bounded body → a JSON content type (else 415) → the tenant's secrets (an unknown tenant gets the same HMAC
work, then 404) → the format from the headers → signature (and, legacy, timestamp) → payload (signed
garbage: 400) → legacy replay → 401 with nothing written → one Redis script (dedupe by event id, dirty
items, backlog bound) → enqueue the tenant's debounced sync job when none is queued → 200, or 429 when the
backlog is over its bound.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import secrets
import time
from typing import Any

from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response

from service.events import policy
from service.events.formats import BadPayload, event_platform_items, legacy_items
from service.events.signatures import detect_format, verify_event_platform, verify_legacy

log = logging.getLogger("connector.webhooks")

_DUMMY_SECRET = secrets.token_hex(32)  # HMAC work for unknown tenants, so they cost the same time


def _answer(status: int, error: str | None = None, message: str = "", **extra: Any) -> JSONResponse:
    body: dict[str, Any] = {"error": error, "message": message} if error else {"ok": True}
    body.update(extra)
    headers = {"Retry-After": str(policy.RETRY_AFTER)} if status == 429 else None
    return JSONResponse(body, status_code=status, headers=headers)


async def _read_body(request: Request) -> bytes | None:
    """The raw body, or None when it is over the bound (checked on the way in, not after reading)."""
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > policy.MAX_BODY):
        return None
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > policy.MAX_BODY:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def _json_content_type(value: str) -> bool:
    """JSON, CloudEvents JSON (`+json`), or no content type at all (older senders omit it)."""
    media = value.split(";", 1)[0].strip().lower()
    return not media or media == "application/json" or (media.startswith("application/") and media.endswith("+json"))


async def head(request: Request) -> Response:
    """The Event Platform checks the URL with HEAD before it subscribes."""
    known, _ = await asyncio.to_thread(policy.tenant_secrets, request.app.state.store, request.path_params["tenant"])
    return Response(status_code=200 if known else 404)


async def receive(request: Request) -> Response:
    tenant = request.path_params["tenant"]
    app = request.app.state
    try:
        body = await _read_body(request)
    except ClientDisconnect:
        return Response(status_code=400)
    if body is None:
        return _answer(413, "too_large", f"The body is larger than {policy.MAX_BODY} bytes.")
    if not _json_content_type(request.headers.get("content-type", "")):
        return _answer(415, "unsupported_media_type", "Send JSON: application/json or application/cloudevents+json.")
    known, tenant_secrets = await asyncio.to_thread(policy.tenant_secrets, app.store, tenant)
    fmt = detect_format(request.headers)
    now = time.time()
    candidates = tenant_secrets.get(fmt or "", []) if known else []
    if fmt == "event_platform":
        valid = verify_event_platform(request.headers, body, candidates or [_DUMMY_SECRET])
        failure = None if valid and candidates else "bad"
    elif fmt == "legacy":
        failure = verify_legacy(request.headers, body, candidates or [_DUMMY_SECRET], now)
        failure = failure or (None if candidates else "bad")
    else:
        verify_event_platform({}, body, [_DUMMY_SECRET])
        failure = "missing"
    if not known:
        return _answer(404, "not_found", "No such connection.")
    pairs: list[tuple[str, str]] = []
    if failure is None:
        try:
            pairs = event_platform_items(body) if fmt == "event_platform" else legacy_items(body)
        except BadPayload as exc:  # signed garbage: refused before anything (the replay guard too) is written
            return _answer(400, "bad_payload", str(exc))
    if failure is None and fmt == "legacy":
        # the same signed request twice within its 5 minutes is a replay, not a redelivery
        digest = hashlib.sha256(request.headers.get("x-akeneo-request-signature", "").strip().lower().encode())
        if not await asyncio.to_thread(policy.claim_replay, app.redis, tenant, digest.hexdigest()):
            failure = "replayed"
    if failure is not None:
        await asyncio.to_thread(policy.count_rejected, app.redis, tenant)
        log.info("webhook refused", extra={"tenant": tenant, "format": fmt, "reason": failure})
        return _answer(401, "unauthorized", policy.REFUSALS[failure])
    result = await asyncio.to_thread(policy.accept, app.redis, tenant, pairs)
    if result.over_backlog:
        return _answer(429, "backlog", "Too many changes are waiting for this connection: send them later.",
                       waiting=result.waiting)
    return _answer(200, accepted=result.accepted, duplicates=result.duplicates)
