"""`GET /media/{signed token}`: a PIM image, streamed from the PIM's media download, for BigCommerce to
fetch while it creates a product.

- The token (service/media.py) names one media file of one tenant and expires (1 h): a forged or damaged
  token is 404, an expired one 403; nothing is read from the PIM for either.
- The PIM is read with the tenant's stored credentials, under the same cross-process limits as the
  import (the connection's 4 requests in flight are the shared Redis slots, the access token is the
  tenant's cached one): BigCommerce downloading images during an import never pushes the PIM over its
  limits nor costs a password grant per image.
- The answer carries the file's content type, never a credential, a PIM URL or a PIM error text.
"""

from __future__ import annotations

import contextlib
import logging
import mimetypes
from collections.abc import AsyncIterator

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from service.clients.akeneo import AkeneoClient
from service.clients.akeneo_errors import AkeneoError, AkeneoNotFound
from service.connections import TokenCache, connection_slots, shared_pim_client, token_fingerprint
from service.media import BadMediaToken, read_media_token
from service.store.imports import ImportStore
from service.store.leases import Slots, run_sync

log = logging.getLogger("connector.media")

_MAGIC = ((b"\xff\xd8\xff", "image/jpeg"), (b"\x89PNG\r\n\x1a\n", "image/png"), (b"GIF87a", "image/gif"),
          (b"GIF89a", "image/gif"), (b"RIFF", "image/webp"))


def _error(status: int, error: str, message: str) -> JSONResponse:
    return JSONResponse({"error": error, "message": message}, status_code=status,
                        headers={"Cache-Control": "no-store"})


def content_type(code: str, head: bytes) -> str:
    """From the file's first bytes (what BigCommerce checks), else from the media code's extension."""
    for magic, kind in _MAGIC:
        if head.startswith(magic) and (kind != "image/webp" or head[8:12] == b"WEBP"):
            return kind
    return mimetypes.guess_type(code)[0] or "application/octet-stream"


def _client(request: Request, tenant: str, creds: dict) -> tuple[AkeneoClient, Slots, TokenCache]:
    conn = request.app.state.redis
    imports = ImportStore(conn, request.app.state.store.box)
    slots = connection_slots(conn, creds)
    # BigCommerce fetches several images at once: on a miss, one request grants while the others wait
    cache = TokenCache(imports, tenant, token_fingerprint(creds), share_grant=True)
    client = shared_pim_client(request.app.state.settings, conn, creds, token_cache=cache, slots=slots,
                               timeout=30.0, max_attempts=3)
    return client, slots, cache


async def media(request: Request) -> Response:
    settings = request.app.state.settings
    try:
        tenant, code = read_media_token(settings.secret_key, request.path_params["token"],
                                        fallback_keys=settings.secret_key_fallbacks)
    except BadMediaToken as exc:
        if exc.reason == "expired":
            return _error(403, "expired", "This media link has expired.")
        return _error(404, "not_found", "There is no such media file.")
    store = request.app.state.store
    creds = await run_sync(store.get_credentials, tenant, "pim")
    if not creds:  # the tenant is gone, or its PIM was disconnected
        return _error(404, "not_found", "There is no such media file.")
    try:
        client, slots, cache = _client(request, tenant, creds)
    except (KeyError, TypeError, ValueError):
        return _error(404, "not_found", "There is no such media file.")
    stream = client.download_media(code)
    try:
        first = await anext(stream, b"")
    except AkeneoNotFound:
        await _close(client, slots, cache, stream)
        return _error(404, "not_found", "There is no such media file.")
    except (TimeoutError, AkeneoError) as exc:
        await _close(client, slots, cache, stream)
        log.warning("media download failed", extra={"tenant": tenant, "error": type(exc).__name__})
        return _error(502, "pim_error", "The PIM did not deliver the file; try again later.")

    async def body() -> AsyncIterator[bytes]:
        try:
            if first:
                yield first
            async for chunk in stream:
                yield chunk
        except AkeneoError as exc:  # mid-stream: the client sees a cut answer, the log says why
            log.warning("media download broke off", extra={"tenant": tenant, "error": type(exc).__name__})
        finally:
            await _close(client, slots, cache, stream)

    filename = code.rsplit("/", 1)[-1].split("_", 1)[-1] or "image"
    headers = {"Cache-Control": "private, max-age=300", "X-Content-Type-Options": "nosniff",
               "Content-Disposition": f'inline; filename="{_ascii(filename)}"'}
    return StreamingResponse(body(), media_type=content_type(code, first[:16]), headers=headers)


def _ascii(name: str) -> str:
    return "".join(c if c.isascii() and c.isprintable() and c not in '"\\' else "_" for c in name)[:100]


async def _close(client: AkeneoClient, slots: Slots, cache: TokenCache, stream) -> None:
    with contextlib.suppress(Exception):
        await stream.aclose()
    await cache.release()  # a grant that failed must not make the next requests wait for the lease
    await client.aclose()
    await slots.drain()
