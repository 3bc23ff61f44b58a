"""Request bodies read with a cap: every route that takes a body reads it here, with its own limit.

Guarantees:
- A declared Content-Length over the limit is refused before a byte is read.
- A declared Content-Length that is not plain ASCII digits ("-5", "0x10", "²") is refused the same way:
  uvicorn answers such a request 400 before the app sees it, so only an in-process caller gets here,
  and a length nobody can read is no promise about the body.
- Without a declared length the body is read as a stream and abandoned as soon as it passes the limit:
  never more than the limit and one chunk in memory.
- `read_capped` says "too large" with None, so each route answers in its own words (a JSON error, a
  notification in the PIM, a page); `api_body` is the JSON API's 413 answer.
A client that goes away mid-body raises starlette's ClientDisconnect, as reading the body always did.
"""

from __future__ import annotations

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
