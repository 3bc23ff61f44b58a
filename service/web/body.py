"""Request bodies read with a cap: every route that takes a body reads it here, with its own limit.

Guarantees:
- A declared Content-Length over the limit is refused before a byte is read.
- A declared Content-Length that is not plain ASCII digits ("-5", "0x10", "²") is refused the same way:
  uvicorn answers such a request 400 before the app sees it, so only an in-process caller gets here,
  and a length nobody can read is no promise about the body.
- Without a declared length the body is read as a stream and abandoned as soon as it passes the limit:
  never more than the limit and one chunk in memory.
- `read_capped` says "too large" with None, so each route answers in its own words (a JSON error, a
  notification in the PIM, a page); `api_body` is the JSON API's 413 answer, `api_json` and `api_object`
  its 422 for a body that is not JSON (or not a JSON object).
A client that goes away mid-body raises starlette's ClientDisconnect, as reading the body always did.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request

from service.web.errors import ApiError


async def read_capped(request: Request, limit: int) -> bytes | None:
    """The raw body, or None when it is (or says it is) larger than `limit` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None and not (declared.isascii() and declared.isdigit() and int(declared) <= limit):
        return None
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


async def api_body(request: Request, limit: int, said: str, *, fields: bool = True) -> bytes:
    """The raw body of a JSON API request; past `limit`, 413 "The request body is too large (at most
    {said})." with `fields: {"body": "is too large"}` (the form marks the body), unless `fields` is False."""
    raw = await read_capped(request, limit)
    if raw is None:
        extra = {"fields": {"body": "is too large"}} if fields else {}
        raise ApiError(413, "too_large", f"The request body is too large (at most {said}).", **extra)
    return raw


async def api_json(request: Request, limit: int, said: str) -> Any:
    """The decoded JSON body of an API request (`api_body`'s 413 past `limit`); 422 when it is not JSON
    or is nested too deeply to decode, with `fields: {"body": …}`."""
    raw = await api_body(request, limit, said)
    try:
        return json.loads(raw)
    except RecursionError:  # absurd nesting ("[[[[…"): the decoder gives up before we would
        raise ApiError(422, "invalid", "The request body is nested too deeply.",
                       fields={"body": "is nested too deeply"}) from None
    except (ValueError, UnicodeDecodeError):
        raise ApiError(422, "invalid", "The request body is not valid JSON.",
                       fields={"body": "is not valid JSON"}) from None


def json_object(body: Any) -> dict[str, Any]:
    """A decoded body that must be a JSON object: 422 otherwise."""
    if not isinstance(body, dict):
        raise ApiError(422, "invalid", "The request body must be a JSON object.",
                       fields={"body": "must be a JSON object"})
    return body


async def api_object(request: Request, limit: int, said: str) -> dict[str, Any]:
    """`api_json`, and 422 unless the body is a JSON object."""
    return json_object(await api_json(request, limit, said))
