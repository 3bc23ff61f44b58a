"""Akeneo PIM REST API client.

The client owns its connection pool, its OAuth tokens, its retries and its concurrency cap; callers
see dicts, async iterators and typed errors, never raw HTTP:

    async with AkeneoClient(url, client_id, secret, username, password) as pim:
        async for product in pim.iter_products(scope="ecommerce", locales=["en_US"]):
            ...

Beside it: the typed errors (`akeneo_errors`), the filter and list parameters (`akeneo_search`), the
category picker's bounded scan (`akeneo_categories`), the UI extensions API (`akeneo_extensions`).
"""

from __future__ import annotations

import asyncio
import base64
import logging
import time
from collections.abc import AsyncIterator, Iterable, Mapping
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import httpx

# Errors, search parameters and the category picker's scan have their own modules. The client re-exports
# the errors and the filter builders (`__all__`): it raises the one, takes the other, and callers long
# imported both from here.
from service.clients.akeneo_categories import category_page
from service.clients.akeneo_errors import (
    AkeneoAuthError,
    AkeneoError,
    AkeneoNotFound,
    AkeneoPermissionError,
    AkeneoUnreachable,
    AkeneoValidationError,
    json_answer,
    not_retryable,
    route_error,
    token_error_kind,
    unreachable_error,
)
from service.clients.akeneo_search import (
    MAX_PAGE_SIZE,
    condition,
    product_params,
    search_filter,
    search_param,
    updated_since,
)
from service.clients.retry import RETRY_STATUSES, backoff_delay, parse_retry_after
from service.net import public_transport, tls_context

logger = logging.getLogger("connector.akeneo")

TOKEN_PATH = "/api/oauth/v1/token"
API = "/api/rest/v1"


class AkeneoClient:
    """One Akeneo connection (client id/secret + API user). Use as `async with`, or call aclose().

    `requests_made` counts every HTTP request sent (token calls and retries included) and
    `bytes_received` the response bytes; both are for statistics and benchmarks.
    """

    def __init__(
        self,
        base_url: str,
        client_id: str,
        secret: str,
        username: str,
        password: str,
        *,
        max_in_flight: int = 4,
        timeout: float = 30.0,
        max_attempts: int = 6,
        transport: httpx.AsyncBaseTransport | None = None,
        allow_private_addresses: bool = False,  # merchant URLs are the rule: opting out is explicit
        slots: Any = None,
        token_cache: Any = None,
    ) -> None:
        parts = urlsplit(base_url.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"Akeneo URL must be an http(s) URL, got {base_url!r}")
        self.base_url = urlunsplit((parts.scheme, parts.netloc, parts.path.rstrip("/"), "", ""))
        self._origin = (parts.scheme, parts.netloc)
        self._host = parts.hostname
        self._client_id = client_id
        self._secret = secret
        self._username = username
        self._password = password
        self.max_attempts = max(1, max_attempts)
        # Backoff tunables (seconds); tests and benchmarks shorten them, Retry-After still wins.
        self.backoff_base = 0.5
        self.backoff_cap = 30.0
        self.requests_made = 0
        self.bytes_received = 0  # response bodies, as sent on the wire (compressed when gzip)
        # `slots`: an object shaped like asyncio.Semaphore (async acquire, sync release) shared by
        # processes, e.g. service.store.leases.Slots; the local semaphore caps this client alone.
        self._slots = slots if slots is not None else asyncio.Semaphore(max_in_flight)
        # `token_cache`: async `load() -> {access_token, refresh_token, expires_at} | None` and
        # `save(doc)`, so processes of one tenant share a token instead of a password grant each.
        self._token_cache = token_cache
        limits = httpx.Limits(max_connections=max_in_flight, max_keepalive_connections=max_in_flight)
        if transport is None and not allow_private_addresses:
            # A merchant-typed URL: every connection is checked to reach a public address only.
            transport = public_transport(allow_private=False, limits=limits)
        elif transport is None:  # the process's TLS context instead of a new one per client
            transport = httpx.AsyncHTTPTransport(verify=tls_context(), limits=limits)
        self._http = httpx.AsyncClient(
            base_url=self.base_url,
            timeout=timeout,
            transport=transport,
            follow_redirects=False,  # a redirect means "not the API" (often a login page)
            limits=limits,
        )
        self._token: str | None = None
        self._refresh_token: str | None = None
        self._token_refresh_at = 0.0
        self._token_lock = asyncio.Lock()

    async def __aenter__(self) -> AkeneoClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()
        drain = getattr(self._slots, "drain", None)
        if drain is not None:  # shared slots give back in background tasks: finish them first
            await drain()

    # --- auth ---------------------------------------------------------------------------------

    async def access_token(self) -> str:
        """A valid access token of this connection (the Event Platform wants it as X-PIM-TOKEN)."""
        return await self._access_token()

    async def _access_token(self) -> str:
        async with self._token_lock:
            if self._token is None and self._token_cache is not None:
                await self._load_cached_token()
            if self._token is None or time.monotonic() >= self._token_refresh_at:
                await self._renew()
            assert self._token is not None
            return self._token

    async def _load_cached_token(self) -> None:
        try:
            doc = await self._token_cache.load()
        except Exception:  # a cache is an optimisation: a failure means a fresh grant
            logger.warning("akeneo token cache unreadable", exc_info=True)
            return
        if not doc or not isinstance(doc.get("access_token"), str):
            return
        remaining = float(doc.get("expires_at", 0)) - time.time()
        if remaining <= 60:
            return
        self._token = doc["access_token"]
        self._refresh_token = doc.get("refresh_token") or None
        self._token_refresh_at = time.monotonic() + remaining - min(60.0, remaining / 5)

    async def _renew(self) -> None:
        """Refresh grant when we hold a refresh token (falling back to the password grant)."""
        if self._refresh_token is not None:
            try:
                await self._grant({"grant_type": "refresh_token", "refresh_token": self._refresh_token})
                return
            except AkeneoAuthError as exc:
                logger.info("akeneo refresh token refused, using the password grant", extra={"kind": exc.kind})
                self._refresh_token = None
        await self._grant({"grant_type": "password", "username": self._username, "password": self._password})

    async def _reauthenticate(self, refused_token: str) -> None:
        """After a 401: renew once, unless a concurrent call already did."""
        async with self._token_lock:
            if self._token == refused_token:
                await self._renew()

    async def _grant(self, body: dict[str, str]) -> None:
        basic = base64.b64encode(f"{self._client_id}:{self._secret}".encode()).decode()
        headers = {"Authorization": f"Basic {basic}", "Accept": "application/json"}
        response = await self._send("POST", TOKEN_PATH, json_body=body, headers=headers, auth=False)
        data = self._json(response)
        if response.status_code == 404 or response.status_code == 405:
            raise AkeneoUnreachable(
                f"{self._host} has no Akeneo token route ({TOKEN_PATH} answered {response.status_code})",
                "not_akeneo",
                response.status_code,
                data,
            )
        if response.status_code >= 500 or response.status_code in RETRY_STATUSES:
            raise AkeneoError(
                f"Akeneo's token route answered {response.status_code}", response.status_code, data
            )
        if response.status_code != 200:
            message = str(data.get("message") or data.get("error_description") or data.get("error") or data)
            raise AkeneoAuthError(message, token_error_kind(message), response.status_code, data)
        if not isinstance(data.get("access_token"), str):
            raise AkeneoUnreachable(
                "The token route answered without an access token", "not_akeneo", 200, _redact(data)
            )
        expires_in = float(data.get("expires_in") or 3600)
        self._token = data["access_token"]
        self._refresh_token = data.get("refresh_token") or None
        # Renew a little before expiry so a long run never sends a token that dies in flight.
        self._token_refresh_at = time.monotonic() + expires_in - min(60.0, expires_in / 5)
        if self._token_cache is not None:
            doc = {"access_token": self._token, "refresh_token": self._refresh_token,
                   "expires_at": time.time() + expires_in}
            try:
                await self._token_cache.save(doc)
            except Exception:
                logger.warning("akeneo token cache not written", exc_info=True)
        logger.info("akeneo token obtained", extra={"grant": body["grant_type"], "expires_in": expires_in})

    # --- transport ----------------------------------------------------------------------------

    def _url(self, path_or_url: str) -> str:
        """Paths are joined to the base URL; absolute URLs (Akeneo's `_links`) are kept, but always
        sent to our own origin: never leak the token elsewhere, and a PIM behind a TLS proxy often
        advertises http:// links."""
        parts = urlsplit(path_or_url)
        if not parts.scheme:
            return path_or_url
        if (parts.scheme, parts.netloc) == self._origin:
            return path_or_url
        return urlunsplit((*self._origin, parts.path, parts.query, ""))

    async def _send(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        json_body: Any = None,
        headers: Mapping[str, str] | None = None,
        auth: bool = True,
        stream: bool = False,
    ) -> httpx.Response:
        """Send with retries. With `stream=True` the response is returned open and still holding its
        in-flight slot: release both with `_close(response)`."""
        url = self._url(url)
        path = urlsplit(url).path
        clean_params = {k: v for k, v in (params or {}).items() if v is not None}
        reauthenticated = False
        attempt = 0
        while True:
            attempt += 1
            send_headers = dict(headers or {})
            token = None
            if auth:
                token = await self._access_token()  # outside the slot: the token call takes its own
                send_headers["Authorization"] = f"Bearer {token}"
            request = self._http.build_request(
                method, url, params=clean_params or None, json=json_body, headers=send_headers
            )
            retry_after: float | None = None
            await self._slots.acquire()
            try:
                self.requests_made += 1
                response = await self._http.send(request, stream=True)
                if not stream or response.status_code != 200:
                    try:
                        await response.aread()
                    finally:
                        await response.aclose()
                    self.bytes_received += response.num_bytes_downloaded
            except httpx.TransportError as exc:
                self._slots.release()
                failure = unreachable_error(exc, self._host)
                if not_retryable(exc) or attempt >= self.max_attempts:
                    self._log_outcome(method, path, attempt, error=failure.kind)
                    raise failure from exc
                reason: str | int = failure.kind
            except BaseException:
                self._slots.release()
                raise
            else:
                if not (stream and response.status_code == 200):
                    self._slots.release()  # an open stream keeps its slot until _close()
                status = response.status_code
                if auth and status == 401 and not reauthenticated and token is not None:
                    reauthenticated = True
                    logger.info("akeneo token refused, renewing", extra={"method": method, "path": path})
                    await self._reauthenticate(token)
                    attempt -= 1  # a renewed token is not a retry of a failing server
                    continue
                if status not in RETRY_STATUSES or attempt >= self.max_attempts:
                    self._log_outcome(method, path, attempt, status=status)
                    return response
                reason = status
                retry_after = parse_retry_after(response.headers.get("Retry-After"))
            delay = backoff_delay(attempt, base=self.backoff_base, cap=self.backoff_cap, retry_after=retry_after)
            logger.info(
                "akeneo request failed, retrying",
                extra={
                    "method": method,
                    "path": path,
                    "attempt": attempt,
                    "reason": reason,
                    "retry_after": retry_after,
                    "delay": delay,
                },
            )
            await asyncio.sleep(delay)

    def _log_outcome(self, method: str, path: str, attempts: int, **details: Any) -> None:
        if attempts > 1:
            logger.info(
                "akeneo request finished after retries",
                extra={"method": method, "path": path, "attempts": attempts, **details},
            )

    async def _close(self, response: httpx.Response) -> None:
        try:
            await response.aclose()
        finally:
            self._slots.release()

    def _json(self, response: httpx.Response) -> dict:
        """The JSON body, or AkeneoUnreachable("not_akeneo") when the answer is not Akeneo's JSON."""
        return json_answer(response, host=self._host, attempts=self.max_attempts)

    def _check(self, response: httpx.Response) -> dict:
        """Map a data route's answer to its JSON or a typed error."""
        data = self._json(response)
        if 200 <= response.status_code < 300:
            return data
        raise route_error(response.status_code, data)

    # --- generic reads ------------------------------------------------------------------------

    async def get(self, path: str, params: Mapping[str, Any] | None = None) -> dict:
        """GET a path (or an absolute `_links` URL) and return its JSON."""
        response = await self._send("GET", path, params=params, headers={"Accept": "application/json"})
        return self._check(response)

    async def get_page(self, path: str, params: Mapping[str, Any] | None = None) -> tuple[list[dict], str | None]:
        """One list page: its items and the `_links.next.href` (None on the last page)."""
        data = await self.get(path, params)
        items = data.get("_embedded", {}).get("items", [])
        next_url = data.get("_links", {}).get("next", {}).get("href")
        return items, next_url

    async def iter_items(self, path: str, params: Mapping[str, Any] | None = None) -> AsyncIterator[dict]:
        """Every item of a list, following `_links.next.href` (never building page URLs)."""
        items, next_url = await self.get_page(path, params)
        while True:
            for item in items:
                yield item
            if not next_url:
                return
            items, next_url = await self.get_page(next_url)

    async def _all(self, path: str, params: Mapping[str, Any] | None = None) -> list[dict]:
        return [item async for item in self.iter_items(path, {"limit": MAX_PAGE_SIZE, **(params or {})})]

    # --- products ------------------------------------------------------------------------------

    def iter_products(
        self,
        *,
        search: str | Mapping | None = None,
        scope: str | None = None,
        locales: str | Iterable[str] | None = None,
        attributes: str | Iterable[str] | None = None,
        page_size: int = 100,
    ) -> AsyncIterator[dict]:
        """Products (by uuid) with search_after pagination. `scope` also limits results to the
        channel's category tree; `locales`/`attributes` shrink the payloads."""
        params = product_params(search, scope, locales, attributes, page_size)
        return self.iter_items(f"{API}/products-uuid", params)

    def iter_product_models(
        self,
        *,
        search: str | Mapping | None = None,
        scope: str | None = None,
        locales: str | Iterable[str] | None = None,
        attributes: str | Iterable[str] | None = None,
        page_size: int = 100,
    ) -> AsyncIterator[dict]:
        params = product_params(search, scope, locales, attributes, page_size)
        return self.iter_items(f"{API}/product-models", params)

    async def get_product(self, uuid: str, **params: Any) -> dict:
        return await self.get(f"{API}/products-uuid/{quote(uuid, safe='')}", params)

    async def get_product_model(self, code: str, **params: Any) -> dict:
        return await self.get(f"{API}/product-models/{quote(code, safe='')}", params)

    # --- structure -----------------------------------------------------------------------------

    async def list_channels(self) -> list[dict]:
        return await self._all(f"{API}/channels")

    async def get_channel(self, code: str) -> dict:
        return await self.get(f"{API}/channels/{quote(code, safe='')}")

    async def list_locales(self, enabled_only: bool = True) -> list[dict]:
        params = {"search": search_filter(enabled=("=", True))} if enabled_only else None
        return await self._all(f"{API}/locales", params)

    async def list_attributes(self) -> list[dict]:
        return await self._all(f"{API}/attributes")

    def iter_attribute_options(self, code: str) -> AsyncIterator[dict]:
        return self.iter_items(f"{API}/attributes/{quote(code, safe='')}/options", {"limit": MAX_PAGE_SIZE})

    async def list_families(self) -> list[dict]:
        return await self._all(f"{API}/families")

    async def list_family_variants(self, family: str) -> list[dict]:
        return await self._all(f"{API}/families/{quote(family, safe='')}/variants")

    async def list_measurement_families(self) -> list[dict]:
        """Every measurement family (units with their convert_from_standard operations). Akeneo
        answers a plain JSON list here, not a paginated `_embedded` object."""
        response = await self._send("GET", f"{API}/measurement-families", headers={"Accept": "application/json"})
        if 200 <= response.status_code < 300:
            try:
                data = response.json()
            except ValueError:
                data = None
            if isinstance(data, list):
                return [item for item in data if isinstance(item, dict)]
        self._check(response)  # raises the typed error (or not_akeneo) for anything but a list
        raise AkeneoUnreachable("The measurement families answer is not a JSON list", "not_akeneo", response.status_code)

    # --- categories ----------------------------------------------------------------------------

    def iter_categories(
        self, *, search: str | Mapping | None = None, page_size: int = 100, with_position: bool = False
    ) -> AsyncIterator[dict]:
        params: dict[str, Any] = {"limit": min(page_size, MAX_PAGE_SIZE), "search": search_param(search)}
        if with_position:
            params["with_position"] = "true"
        return self.iter_items(f"{API}/categories", params)

    async def get_category(self, code: str) -> dict:
        return await self.get(f"{API}/categories/{quote(code, safe='')}")

    async def list_categories(
        self,
        *,
        parent: str | None = None,
        search: str | None = None,
        codes: Iterable[str] | None = None,
        limit: int = 20,
        page_url: str | None = None,
        max_scan_pages: int = 5,
    ) -> tuple[list[dict], str | None]:
        """One page of categories for a lazy picker: `(items, next_url)`; pass `next_url` back as
        `page_url` (with the same arguments) for more. What is read, and how a `search` scans pages
        (at most `max_scan_pages + 1` requests): `akeneo_categories.category_page`."""
        return await category_page(
            self, f"{API}/categories", parent=parent, search=search, codes=codes, limit=limit,
            page_url=page_url, max_scan_pages=max_scan_pages,
        )

    # --- media ---------------------------------------------------------------------------------

    async def download_media(self, code: str, chunk_size: int = 64 * 1024) -> AsyncIterator[bytes]:
        """Stream a product media file's bytes (never the whole file in memory). Consume it fully or
        wrap it in `contextlib.aclosing()`: the connection slot is held until the stream ends."""
        path = f"{API}/media-files/{quote(code, safe='/')}/download"
        response = await self._send("GET", path, headers={"Accept": "*/*"}, stream=True)
        if response.status_code != 200:
            self._check(response)
            raise AkeneoError(f"Akeneo answered {response.status_code} to a media download", response.status_code)
        try:
            async for chunk in response.aiter_bytes(chunk_size):
                yield chunk
            self.bytes_received += response.num_bytes_downloaded
        except httpx.TransportError as exc:
            raise unreachable_error(exc, self._host) from exc
        finally:
            await self._close(response)

    # --- connection check ---------------------------------------------------------------------

    async def check_connection(self) -> dict:
        """Authenticate (password grant) and make one cheap read that needs the connection's
        permissions. Raises the typed errors; returns what it learnt."""
        async with self._token_lock:
            self._token = self._refresh_token = None
            await self._renew()
        items, _ = await self.get_page(f"{API}/channels", {"limit": 1})
        return {
            "authenticated": True,
            "can_read_channels": True,
            "sample_channel": items[0].get("code") if items else None,
            "requests_made": self.requests_made,
        }


def _redact(data: Mapping[str, Any]) -> dict:
    return {k: ("***" if "token" in k else v) for k, v in data.items()}


# The client, and (re-exported from akeneo_errors / akeneo_search) the error family callers catch in one
# place and the filter builders they pass to it.
__all__ = ["AkeneoClient", "AkeneoAuthError", "AkeneoError", "AkeneoNotFound", "AkeneoPermissionError",
           "AkeneoUnreachable", "AkeneoValidationError", "condition", "search_filter", "updated_since"]
