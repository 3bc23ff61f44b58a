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

from service.clients.akeneo import AkeneoClient, AkeneoError, AkeneoNotFound
from service.media import BadMediaToken, read_media_token
from service.pim_connection import connection_slots, shared_pim_client, token_fingerprint
from service.store.imports import ImportStore
from service.store.leases import Lease, Slots, run_sync

log = logging.getLogger("connector.media")

GRANT_LEASE_MS = 10000
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


class _TokenCache:
    """The tenant's cached PIM token, shared with the import workers (same fingerprint). BigCommerce
    fetches several images at once: on a miss, one request takes a short lease and grants while the
    others wait for its token instead of each making a password grant."""

    def __init__(self, conn, imports: ImportStore, tenant: str, fingerprint: str) -> None:
        self.conn, self.imports, self.tenant, self.fingerprint = conn, imports, tenant, fingerprint
        self.lease: Lease | None = None

    async def load(self) -> dict | None:
        doc = await run_sync(self.imports.get_pim_token, self.tenant, self.fingerprint)
        if doc:
            return doc
        lease = Lease(self.conn, f"pim-grant:{self.fingerprint}", ttl_ms=GRANT_LEASE_MS)
        if await lease.hold(wait=GRANT_LEASE_MS / 1000):
            doc = await run_sync(self.imports.get_pim_token, self.tenant, self.fingerprint)
            if doc:
                await run_sync(lease.release)
                return doc
            self.lease = lease  # ours to grant; released once the token is saved (or by its TTL)
        return None

    async def save(self, doc: dict) -> None:
        await run_sync(self.imports.put_pim_token, self.tenant, self.fingerprint, doc)
        await self.release()

    async def release(self) -> None:
        if self.lease is not None:
            lease, self.lease = self.lease, None
            await run_sync(lease.release)


def _client(request: Request, tenant: str, creds: dict) -> tuple[AkeneoClient, Slots, _TokenCache]:
    conn = request.app.state.redis
    imports = ImportStore(conn, request.app.state.store.box)
    slots = connection_slots(conn, creds)
    cache = _TokenCache(conn, imports, tenant, token_fingerprint(creds))
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


async def _close(client: AkeneoClient, slots: Slots, cache: _TokenCache, stream) -> None:
    with contextlib.suppress(Exception):
        await stream.aclose()
    await cache.release()  # a grant that failed must not make the next requests wait for the lease
    await client.aclose()
    await slots.drain()
