"""Akeneo PIM REST API client.

The client owns its connection pool, its OAuth tokens, its retries and its concurrency cap; callers
see dicts, async iterators and typed errors, never raw HTTP:

    async with AkeneoClient(url, client_id, secret, username, password) as pim:
        async for product in pim.iter_products(scope="ecommerce", locales=["en_US"]):
            ...
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import json
import logging
import socket
import ssl
import time
from collections.abc import AsyncIterator, Iterable, Mapping
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import httpx

from service.clients.retry import RETRY_STATUSES, backoff_delay, parse_retry_after
from service.net import UnsafeUrl, public_transport, tls_context

logger = logging.getLogger("connector.akeneo")

TOKEN_PATH = "/api/oauth/v1/token"
API = "/api/rest/v1"
MAX_PAGE_SIZE = 100  # Akeneo answers 422 above this


# --- errors -----------------------------------------------------------------------------------


class AkeneoError(Exception):
    """Any failure talking to Akeneo. `status` and `body` are set when the PIM answered."""

    def __init__(self, message: str, status: int | None = None, body: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.body = body


class AkeneoAuthError(AkeneoError):
    """The PIM refused the credentials. `kind`: "credentials" (username/password), "client"
    (client id/secret), "missing" (a field empty or missing), "rejected" (a fresh token was refused
    on a data route) or "unknown"."""

    def __init__(self, message: str, kind: str, status: int | None = None, body: Any = None) -> None:
        super().__init__(message, status, body)
        self.kind = kind


class AkeneoPermissionError(AkeneoError):
    """403 on a data route: the connection's user group lacks a permission."""


class AkeneoNotFound(AkeneoError):
    """404 on a data route."""


class AkeneoValidationError(AkeneoError):
    """422 (or 400) on a data route: a bad filter, limit or code."""


class AkeneoUnreachable(AkeneoError):
    """No usable answer from the PIM URL. `kind`: "dns", "refused", "tls", "timeout", "reset"
    (connection dropped mid-request, after retries), "private" (the host resolves to an internal address
    and the client was made with `allow_private_addresses=False`) or "not_akeneo" (the URL answers, but
    not as an Akeneo API: HTML, non-JSON, 404 on the token route, a redirect)."""

    def __init__(self, message: str, kind: str, status: int | None = None, body: Any = None) -> None:
        super().__init__(message, status, body)
        self.kind = kind


def _causes(exc: BaseException) -> Iterable[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _unreachable(exc: httpx.TransportError, host: str) -> AkeneoUnreachable:
    """Name the network failure precisely: the configuration page turns `kind` into a hint."""
    if isinstance(exc, httpx.TimeoutException):
        return AkeneoUnreachable(f"{host} did not answer in time ({type(exc).__name__})", "timeout")
    causes = list(_causes(exc))
    if any(isinstance(c, UnsafeUrl) for c in causes) or "resolves to an internal address" in str(exc):
        return AkeneoUnreachable(str(exc), "private")
    if any(isinstance(c, socket.gaierror) for c in causes):
        return AkeneoUnreachable(f"The host name {host} could not be resolved (DNS)", "dns")
    if any(isinstance(c, ssl.SSLError | ssl.CertificateError) for c in causes):
        return AkeneoUnreachable(f"TLS handshake with {host} failed: {exc}", "tls")
    if any(isinstance(c, ConnectionRefusedError) for c in causes):
        return AkeneoUnreachable(f"{host} refused the connection (nothing listens on that port)", "refused")
    if isinstance(exc, httpx.ConnectError):
        text = str(exc).lower()
        if "name or service" in text or "nodename" in text or "name resolution" in text:
            return AkeneoUnreachable(f"The host name {host} could not be resolved (DNS)", "dns")
        if "ssl" in text or "certificate" in text:
            return AkeneoUnreachable(f"TLS handshake with {host} failed: {exc}", "tls")
        return AkeneoUnreachable(f"Could not connect to {host}: {exc}", "refused")
    return AkeneoUnreachable(f"Connection to {host} dropped: {type(exc).__name__} {exc}", "reset")


def _not_retryable(exc: httpx.TransportError) -> bool:
    # DNS, TLS and refused connections answer at once and do not heal in seconds; retrying them only
    # delays the hint the merchant needs. Timeouts and dropped connections are worth another try.
    return isinstance(exc, httpx.ConnectError)


def _token_error_kind(message: str) -> str:
    text = message.lower()
    if "no user found" in text:
        return "credentials"
    if "client_id" in text or ("client" in text and "secret" in text):
        return "client"
    if "grant_type" in text or "missing" in text:
        return "missing"
    return "unknown"


# --- search filters ---------------------------------------------------------------------------


def condition(operator: str, value: Any = None, **options: Any) -> dict:
    """One filter condition, e.g. `condition(">=", 100, scope="ecommerce")` for completeness."""
    cond: dict[str, Any] = {"operator": operator}
    if value is not None:
        cond["value"] = value
    cond.update(options)
    return cond


def updated_since(when: dt.datetime) -> dict:
    """`updated > when`; Akeneo compares in UTC with second precision ("YYYY-MM-DD hh:mm:ss")."""
    if when.tzinfo is not None:
        when = when.astimezone(dt.UTC)
    return condition(">", when.strftime("%Y-%m-%d %H:%M:%S"))


def search_filter(**conditions: Any) -> str:
    """Build the `search=` JSON. Each keyword is a property; its value a condition dict, an
    `(operator, value)` / `(operator,)` tuple, or a list of those:

        search_filter(updated=updated_since(t), categories=("IN CHILDREN", ["master"]),
                      enabled=("=", True), parent=("EMPTY",))
    """

    def one(item: Any) -> dict:
        if isinstance(item, Mapping):
            return dict(item)
        if isinstance(item, tuple) and 1 <= len(item) <= 2:
            return condition(*item)
        raise TypeError(f"not a filter condition: {item!r}")

    search: dict[str, list[dict]] = {}
    for prop, value in conditions.items():
        items = value if isinstance(value, list) else [value]
        search[prop] = [one(item) for item in items]
    return json.dumps(search, separators=(",", ":"))


def _search_param(search: str | Mapping | None) -> str | None:
    if search is None or isinstance(search, str):
        return search
    return json.dumps(search, separators=(",", ":"))


def _csv(values: str | Iterable[str] | None) -> str | None:
    if values is None or isinstance(values, str):
        return values
    return ",".join(values)


# --- the client -------------------------------------------------------------------------------


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
            raise AkeneoAuthError(message, _token_error_kind(message), response.status_code, data)
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
                failure = _unreachable(exc, self._host)
                if _not_retryable(exc) or attempt >= self.max_attempts:
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
        if response.is_redirect:
            location = response.headers.get("Location", "")
            raise AkeneoUnreachable(
                f"{self._host} redirected to {location or 'another page'} instead of answering the API",
                "not_akeneo",
                response.status_code,
            )
        content_type = response.headers.get("Content-Type", "")
        try:
            data = response.json() if "json" in content_type else None
        except ValueError:
            data = None
        if not isinstance(data, dict):
            if response.status_code in RETRY_STATUSES:
                raise AkeneoError(
                    f"Akeneo answered {response.status_code} (after {self.max_attempts} attempts)",
                    response.status_code,
                    response.text[:500],
                )
            kind = "HTML page" if "html" in content_type else f"non-JSON answer ({content_type or 'no type'})"
            raise AkeneoUnreachable(
                f"{self._host} answered with an {kind}, not the Akeneo API (HTTP {response.status_code})",
                "not_akeneo",
                response.status_code,
                response.text[:500],
            )
        return data

    def _check(self, response: httpx.Response) -> dict:
        """Map a data route's answer to its JSON or a typed error."""
        data = self._json(response)
        status = response.status_code
        if 200 <= status < 300:
            return data
        message = str(data.get("message") or data)
        if status == 401:
            raise AkeneoAuthError(message, "rejected", status, data)
        if status == 403:
            raise AkeneoPermissionError(message, status, data)
        if status == 404:
            raise AkeneoNotFound(message, status, data)
        if status in (400, 422):
            raise AkeneoValidationError(message, status, data)
        raise AkeneoError(f"Akeneo answered {status}: {message}", status, data)

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

    @staticmethod
    def _product_params(search, scope, locales, attributes, page_size) -> dict[str, Any]:
        return {
            "pagination_type": "search_after",
            "limit": min(page_size, MAX_PAGE_SIZE),
            "search": _search_param(search),
            "scope": scope,
            "locales": _csv(locales),
            "attributes": _csv(attributes),
        }

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
        params = self._product_params(search, scope, locales, attributes, page_size)
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
        params = self._product_params(search, scope, locales, attributes, page_size)
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
        params: dict[str, Any] = {"limit": min(page_size, MAX_PAGE_SIZE), "search": _search_param(search)}
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
        `page_url` (with the same arguments) for more.

        Without `search`: the children of `parent` (roots when None), or the categories `codes`.
        With `search` (Akeneo has no label filter): the first call looks the text up as a code
        (`code IN`, case-insensitive in Akeneo), then every call scans at most `max_scan_pages`
        pages of 100 categories (under `parent` when given), keeping those whose code or any label
        contains the text, and stops once it holds `limit` matches. So a call makes at most
        `max_scan_pages + 1` requests; it may return fewer than `limit` items with a `next_url`
        (keep scanning), or a few more (the rest of the last scanned page).
        """
        filters: dict[str, Any] = {}
        if parent is not None:
            filters["parent"] = ("=", parent)
        if codes is not None:
            filters["code"] = ("IN", list(codes))
        if not search:
            if not filters:
                filters["is_root"] = ("=", True)
            if page_url:
                return await self.get_page(page_url)
            params = {"limit": min(limit, MAX_PAGE_SIZE), "search": search_filter(**filters)}
            return await self.get_page(f"{API}/categories", params)

        needle = search.strip().lower()
        exact_lookup = "code" not in filters
        found: list[dict] = []
        if page_url is None:
            if exact_lookup:
                exact_filters = {**filters, "code": ("IN", [search.strip()])}
                found.extend((await self.get_page(f"{API}/categories", {"search": search_filter(**exact_filters)}))[0])
            params = {"limit": MAX_PAGE_SIZE, "search": search_filter(**filters) if filters else None}
            items, next_url = await self.get_page(f"{API}/categories", params)
        else:
            items, next_url = await self.get_page(page_url)
        pages = 1
        while True:
            found.extend(c for c in items if _category_matches(c, needle, skip_exact=exact_lookup))
            if len(found) >= limit or not next_url or pages >= max_scan_pages:
                return found, next_url
            items, next_url = await self.get_page(next_url)
            pages += 1

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
            raise _unreachable(exc, self._host) from exc
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


def _category_matches(category: Mapping[str, Any], needle: str, *, skip_exact: bool) -> bool:
    code = str(category.get("code", "")).lower()
    if code == needle:
        return not skip_exact  # else already returned by the exact `code IN` lookup
    if needle in code:
        return True
    labels = category.get("labels") or {}
    return any(needle in str(label).lower() for label in labels.values() if label)


def _redact(data: Mapping[str, Any]) -> dict:
    return {k: ("***" if "token" in k else v) for k, v in data.items()}


# Exported for callers that want to catch the whole family in one place.
__all__ = [
    "AkeneoAuthError",
    "AkeneoClient",
    "AkeneoError",
    "AkeneoNotFound",
    "AkeneoPermissionError",
    "AkeneoUnreachable",
    "AkeneoValidationError",
    "condition",
    "search_filter",
    "updated_since",
]
