"""BigCommerce REST client: one store, one token; owns the pool, auth, retries and pacing.

Callers never see raw HTTP: methods return the JSON `data` BigCommerce sends back and failures are
typed exceptions carrying BigCommerce's `title` and `errors` map. Every request waits for the shared
`RateGovernor` (when given) and reports the response's rate headers to it, so all processes working
on a store stay under its quota together.

Beside it: the typed errors and the reading of an answer (`bigcommerce_errors`), the catalog batches
(`bigcommerce_batch`), both used through this client.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import AsyncIterator, Iterable, Sequence
from typing import Any
from urllib.parse import unquote, urlsplit

import httpx

# Errors and batches have their own modules. The client re-exports the errors and the batch results
# (`__all__`): it raises the one, returns the other, and callers long imported both from here.
# `Recover` (a lost write's lookup) is typed there because the category batch builds one too.
from service.clients.bigcommerce_batch import (
    BatchResult,
    ItemError,
    Recover,
    category_batch,
    chunks,
    split_batch,
)
from service.clients.bigcommerce_errors import (
    BigCommerceAuthError,
    BigCommerceConflict,
    BigCommerceError,
    BigCommerceForbidden,
    BigCommerceNotFound,
    BigCommercePayloadTooLarge,
    BigCommerceRateLimited,
    BigCommerceServerError,
    BigCommerceUnreachable,
    BigCommerceValidationError,
    connect_kind,
    error_from,
    json_or_none,
    parse_answer,
)
from service.clients.retry import RETRY_STATUSES, backoff_delay

log = logging.getLogger("connector.bigcommerce")

DEFAULT_API_URL = "https://api.bigcommerce.com"
PAGE_LIMIT = 250
PRODUCT_BATCH = 10  # PUT /v3/catalog/products: 413 above 10
VARIANT_BATCH = 50  # PUT /v3/catalog/variants
SKU_CHUNK = 50  # `sku:in` values per GET, keeps URLs short
ID_CHUNK = 100  # `id:in` values per DELETE / channel assignment call
EXISTS_CHUNK = 250  # `id:in` values per existence check: one full page of the list endpoint
CATEGORY_BATCH = 50
CHECK_ATTEMPTS = 2
# 408 is an Akeneo habit; BigCommerce's transient answers are these.
_RETRY = (RETRY_STATUSES - {408}) | {429}


class BigCommerceClient:
    """Async client for one store: `async with BigCommerceClient(hash, token, governor=g) as bc:`."""

    def __init__(
        self,
        store_hash: str,
        access_token: str,
        *,
        api_url: str = DEFAULT_API_URL,
        governor: Any = None,
        timeout: float = 30.0,
        max_attempts: int = 6,
        transport: httpx.AsyncBaseTransport | None = None,
        retry_base: float = 0.5,
    ) -> None:
        self.store_hash = store_hash
        self.retry_base = retry_base  # first backoff ceiling in seconds (tests shorten it)
        self.governor = governor
        self.max_attempts = max(1, max_attempts)
        self.requests_made = 0
        self._http = httpx.AsyncClient(
            base_url=f"{api_url.rstrip('/')}/stores/{store_hash}",
            headers={"X-Auth-Token": access_token, "Accept": "application/json"},
            timeout=timeout,
            transport=transport,
        )
        # BigCommerce asks for channel assignments and tree reads never to run in parallel.
        self._assign_lock = asyncio.Lock()
        self._tree_lock = asyncio.Lock()

    async def __aenter__(self) -> BigCommerceClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    # -- transport ---------------------------------------------------------------------------

    async def request(
        self, method: str, path: str, *, json: Any = None, params: dict | None = None
    ) -> Any:
        """Send one API call (path like `/v3/catalog/products`); the decoded body, None when empty."""
        return await self._send(method, path, json=json, params=params)

    async def _send(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict | None = None,
        files: dict | None = None,
        data: dict | None = None,
        recover: Recover | None = None,
        attempts: int | None = None,
    ) -> Any:
        """The retry loop. `recover` looks up the object a write may have created before any re-send
        that follows an answer we never got (timeout, dropped connection, 5xx): no duplicates."""
        ambiguous = False
        last: BigCommerceError | None = None
        max_attempts = attempts or self.max_attempts
        for attempt in range(1, max_attempts + 1):
            if ambiguous and recover is not None:
                found = await recover()
                if found is not None:
                    log.info("%s %s had been applied; found it", method, path, extra={"attempts": attempt - 1})
                    return found
            ticket = await self.governor.acquire() if self.governor is not None else None
            self.requests_made += 1
            retry_after: float | None = None
            try:
                response = await self._http.request(
                    method, path, json=json, params=params, files=files, data=data
                )
            except (httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
                last = BigCommerceUnreachable(f"timed out connecting to BigCommerce: {exc!r}", "timeout")
            except httpx.TimeoutException as exc:
                ambiguous = ambiguous or method != "GET"
                last = BigCommerceUnreachable(f"BigCommerce did not answer in time: {exc!r}", "timeout")
            except httpx.ConnectError as exc:
                kind = connect_kind(exc)
                last = BigCommerceUnreachable(f"cannot connect to BigCommerce ({kind}): {exc}", kind)
                if kind != "refused":  # a wrong host name or certificate will not heal by retrying
                    raise last from exc
            except httpx.TransportError as exc:
                ambiguous = ambiguous or method != "GET"
                last = BigCommerceUnreachable(f"connection to BigCommerce failed: {exc!r}", "refused")
            else:
                status = response.status_code
                if self.governor is not None:
                    observe_async = getattr(self.governor, "observe_async", None)
                    if observe_async is not None:  # never block the event loop on Redis
                        await observe_async(response.headers, status, ticket=ticket)
                    else:
                        self.governor.observe(response.headers, status, ticket=ticket)
                if status not in _RETRY:
                    try:
                        result = parse_answer(response)
                    except (BigCommerceConflict, BigCommerceValidationError):
                        # a conflict after a lost answer is most likely our own earlier attempt
                        if ambiguous and recover is not None:
                            found = await recover()
                            if found is not None:
                                return found
                        raise
                    if attempt > 1:
                        log.info("%s %s succeeded", method, path, extra={"attempts": attempt})
                    return result
                ambiguous = ambiguous or (status >= 500 and method != "GET")
                last = error_from(response, json_or_none(response))
                if status == 429:
                    reset = response.headers.get("X-Rate-Limit-Time-Reset-Ms")
                    retry_after = float(reset) / 1000 if reset and reset.isdigit() else None
            log.warning(
                "BigCommerce %s %s failed on attempt %d/%d: %s",
                method,
                path,
                attempt,
                max_attempts,
                last,
                extra={"attempts": attempt},
            )
            if attempt < max_attempts:
                await asyncio.sleep(backoff_delay(attempt, base=self.retry_base, retry_after=retry_after))
        assert last is not None
        if ambiguous and recover is not None:
            found = await recover()
            if found is not None:
                return found
        raise last

    async def _pages(self, path: str, params: dict | None = None) -> AsyncIterator[dict]:
        params = dict(params or {})
        limit = int(params.pop("limit", PAGE_LIMIT))
        page = int(params.pop("page", 1))
        while True:
            body = await self._send("GET", path, params={**params, "page": page, "limit": limit}) or {}
            data = body.get("data") or []
            for item in data:
                yield item
            pagination = (body.get("meta") or {}).get("pagination") or {}
            total_pages = pagination.get("total_pages")
            if not data or len(data) < limit or (total_pages is not None and page >= total_pages):
                return
            page += 1

    async def _list(self, path: str, params: dict | None = None) -> list[dict]:
        return [item async for item in self._pages(path, params)]

    # -- store -------------------------------------------------------------------------------

    async def get_time(self, *, attempts: int | None = None) -> dict:
        return await self._send("GET", "/v2/time", attempts=attempts)

    async def get_store(self, *, attempts: int | None = None) -> dict:
        return await self._send("GET", "/v2/store", attempts=attempts)

    async def check_connection(self) -> dict:
        """Credential check (time), store facts (units, currency) and a catalog read (scope check).
        Few attempts: a person is waiting on the configuration page for the verdict."""
        time_body = await self.get_time(attempts=CHECK_ATTEMPTS)
        if not isinstance(time_body, dict) or not isinstance(time_body.get("time"), int):
            raise BigCommerceUnreachable(
                f"{self._http.base_url.host} answered /v2/time without a time: not the BigCommerce API",
                "not_bigcommerce",
            )
        store = await self.get_store(attempts=CHECK_ATTEMPTS)
        params = {"limit": 1, "include_fields": "id"}
        await self._send("GET", "/v3/catalog/products", params=params, attempts=CHECK_ATTEMPTS)
        return store

    # -- products ----------------------------------------------------------------------------

    def iter_products(self, params: dict | None = None) -> AsyncIterator[dict]:
        return self._pages("/v3/catalog/products", params)

    async def get_products_by_skus(self, skus: Iterable[str], *, include: str | None = None) -> list[dict]:
        """Products whose SKU is one of `skus` (BigCommerce compares SKUs case-insensitively)."""
        extra = {"include": include} if include else {}
        wanted = list(dict.fromkeys(s for s in skus if s))
        plain = [s for s in wanted if "," not in s]
        found: list[dict] = []
        # reads: BigCommerce has no one-at-a-time rule for them, so the chunks go together
        for part in await asyncio.gather(*(self._list("/v3/catalog/products", {"sku:in": ",".join(chunk), **extra})
                                           for chunk in chunks(plain, SKU_CHUNK))):
            found += part
        for sku in wanted:
            if "," in sku:  # `sku:in` cannot carry a comma
                found += await self._list("/v3/catalog/products", {"sku": sku, **extra})
        lowered = {s.lower() for s in wanted}
        return [p for p in found if str(p.get("sku", "")).lower() in lowered]

    async def create_product(self, payload: dict, *, include: str | None = None) -> dict:
        """Create one product (inline variants, images, custom fields allowed); idempotent by SKU, or by
        name without one (names are unique per store): after a lost answer it is looked up before posting
        again."""
        sku, name = payload.get("sku"), payload.get("name")
        params = {"include": include} if include else None

        async def recover() -> dict | None:
            if sku:
                found = await self.get_products_by_skus([sku], include=include)
            elif isinstance(name, str) and name:
                extra = {"include": include} if include else {}
                found = [p for p in await self._list("/v3/catalog/products", {"name": name, **extra})
                         if str(p.get("name", "")).lower() == name.lower()]
            else:
                return None
            return {"data": found[0]} if found else None

        body = await self._send("POST", "/v3/catalog/products", json=payload, params=params, recover=recover)
        return body["data"]

    async def existing_product_ids(self, ids: Iterable[int]) -> set[int]:
        """Which of these products the store still holds: `id:in`, 250 a request (a page of ids only)."""
        wanted = sorted(set(ids))
        found: set[int] = set()
        for chunk in chunks(wanted, EXISTS_CHUNK):
            params = {"id:in": ",".join(map(str, chunk)), "include_fields": "id", "limit": EXISTS_CHUNK}
            found.update(int(p["id"]) for p in await self._list("/v3/catalog/products", params))
        return found

    async def update_products(self, items: Sequence[dict]) -> BatchResult:
        """Batch update (each item has `id`); a refused batch is split down to the bad items."""
        return await split_batch(self._send, "PUT", "/v3/catalog/products", items, PRODUCT_BATCH)

    async def delete_products(self, ids: Iterable[int]) -> None:
        for chunk in chunks(list(ids), ID_CHUNK):
            await self._send("DELETE", "/v3/catalog/products", params={"id:in": ",".join(map(str, chunk))})

    async def assign_channels(self, product_ids: Iterable[int], channel_id: int = 1) -> None:
        async with self._assign_lock:
            for chunk in chunks(list(product_ids), ID_CHUNK):
                body = [{"product_id": pid, "channel_id": channel_id} for pid in chunk]
                await self._send("PUT", "/v3/catalog/products/channel-assignments", json=body)

    # -- variants, options, images, custom fields ------------------------------------------

    async def update_variants(self, items: Sequence[dict]) -> BatchResult:
        """Batch variant update/create (`id`, or `product_id` + `sku` + `option_values`)."""
        return await split_batch(self._send, "PUT", "/v3/catalog/variants", items, VARIANT_BATCH)

    async def list_variants(self, product_id: int) -> list[dict]:
        return await self._list(f"/v3/catalog/products/{product_id}/variants")

    async def create_variant(self, product_id: int, variant: dict) -> dict:
        sku = variant.get("sku")

        async def recover() -> dict | None:
            for found in await self.list_variants(product_id):
                if sku and str(found.get("sku", "")).lower() == sku.lower():
                    return {"data": found}
            return None

        path = f"/v3/catalog/products/{product_id}/variants"
        return (await self._send("POST", path, json=variant, recover=recover))["data"]

    async def delete_variant(self, product_id: int, variant_id: int) -> None:
        """Gone already counts as done: what was wanted."""
        with contextlib.suppress(BigCommerceNotFound):
            await self._send("DELETE", f"/v3/catalog/products/{product_id}/variants/{variant_id}")

    async def delete_option(self, product_id: int, option_id: int) -> None:
        with contextlib.suppress(BigCommerceNotFound):
            await self._send("DELETE", f"/v3/catalog/products/{product_id}/options/{option_id}")

    async def delete_option_value(self, product_id: int, option_id: int, value_id: int) -> None:
        with contextlib.suppress(BigCommerceNotFound):
            await self._send("DELETE", f"/v3/catalog/products/{product_id}/options/{option_id}/values/{value_id}")

    async def list_options(self, product_id: int) -> list[dict]:
        return await self._list(f"/v3/catalog/products/{product_id}/options")

    async def create_option(self, product_id: int, option: dict) -> dict:
        """`option`: {display_name, type ("dropdown", "rectangles", ...), option_values: [{label, ...}]}.
        Display names are unique per product: after a lost answer the option is looked up by it."""
        path = f"/v3/catalog/products/{product_id}/options"
        display_name = option.get("display_name")

        async def recover() -> dict | None:
            for found in await self.list_options(product_id):
                if display_name and found.get("display_name") == display_name:
                    return {"data": found}
            return None

        return (await self._send("POST", path, json=option, recover=recover))["data"]

    async def create_option_value(
        self, product_id: int, option_id: int, label: str, *, sort_order: int = 0, is_default: bool = False
    ) -> dict:
        """Add a value to a product's option; an existing value of that label is returned instead."""
        path = f"/v3/catalog/products/{product_id}/options/{option_id}/values"
        payload = {"label": label, "sort_order": sort_order, "is_default": is_default}

        async def recover() -> dict | None:
            for value in await self._list(path):
                if str(value.get("label", "")).lower() == label.lower():
                    return {"data": value}
            return None

        return await self._create_once(path, payload, recover)

    async def create_image(
        self,
        product_id: int,
        image_url: str | None = None,
        file: bytes | tuple[str, bytes, str] | None = None,
        is_thumbnail: bool = False,
        sort_order: int | None = None,
    ) -> dict:
        """One image, by URL (BigCommerce downloads it) or uploaded (`file`: bytes or
        (filename, bytes, content type)). After a lost answer the product's images are looked up by
        `image_url` or by the file name BigCommerce keeps in `image_file` (`<name>__<n>.<ext>`), the
        newest match winning, before posting again."""
        path = f"/v3/catalog/products/{product_id}/images"
        if (image_url is None) == (file is None):
            raise ValueError("give exactly one of image_url and file")
        upload = None
        if file is not None:
            upload = file if isinstance(file, tuple) else ("image.jpg", file, "image/jpeg")
        stem = _file_stem(upload[0] if upload else urlsplit(image_url or "").path)

        async def recover() -> dict | None:
            matches = [
                img for img in await self.list_images(product_id)
                if (image_url is not None and img.get("image_url") == image_url)
                or (stem and _file_stem(str(img.get("image_file", "")).rpartition("__")[0]) == stem)
            ]
            return {"data": max(matches, key=lambda img: img.get("id", 0))} if matches else None

        if upload is None:
            payload = {"image_url": image_url, "is_thumbnail": is_thumbnail}
            if sort_order is not None:
                payload["sort_order"] = sort_order
            body = await self._send("POST", path, json=payload, recover=recover)
        else:
            body = await self._send(
                "POST",
                path,
                files={"image_file": upload},
                data={"is_thumbnail": "true" if is_thumbnail else "false",
                      **({"sort_order": str(sort_order)} if sort_order is not None else {})},
                recover=recover,
            )
        return body["data"]

    async def update_image(self, product_id: int, image_id: int, changes: dict) -> dict:
        """Sort order and thumbnail flag of an image already there (no new download)."""
        path = f"/v3/catalog/products/{product_id}/images/{image_id}"
        return (await self._send("PUT", path, json=changes))["data"]

    async def list_images(self, product_id: int) -> list[dict]:
        return await self._list(f"/v3/catalog/products/{product_id}/images")

    async def delete_image(self, product_id: int, image_id: int) -> None:
        await self._send("DELETE", f"/v3/catalog/products/{product_id}/images/{image_id}")

    async def list_custom_fields(self, product_id: int) -> list[dict]:
        return await self._list(f"/v3/catalog/products/{product_id}/custom-fields")

    async def create_custom_field(self, product_id: int, name: str, value: str) -> dict:
        """After a lost answer a field of that name and value is looked up before posting again."""
        path = f"/v3/catalog/products/{product_id}/custom-fields"

        async def recover() -> dict | None:
            matches = [f for f in await self.list_custom_fields(product_id)
                       if f.get("name") == name and f.get("value") == value]
            return {"data": max(matches, key=lambda f: f.get("id", 0))} if matches else None

        return (await self._send("POST", path, json={"name": name, "value": value}, recover=recover))["data"]

    async def update_custom_field(
        self, product_id: int, field_id: int, *, name: str | None = None, value: str | None = None
    ) -> dict:
        payload = {k: v for k, v in (("name", name), ("value", value)) if v is not None}
        path = f"/v3/catalog/products/{product_id}/custom-fields/{field_id}"
        return (await self._send("PUT", path, json=payload))["data"]

    async def delete_custom_field(self, product_id: int, field_id: int) -> None:
        await self._send("DELETE", f"/v3/catalog/products/{product_id}/custom-fields/{field_id}")

    # -- brands ------------------------------------------------------------------------------

    async def list_brands(self, name: str | None = None) -> list[dict]:
        return await self._list("/v3/catalog/brands", {"name": name} if name else None)

    async def create_brand(self, name: str) -> dict:
        """Create a brand; an existing brand of that name (409) is returned instead."""

        async def recover() -> dict | None:
            found = [b for b in await self.list_brands(name) if b.get("name", "").lower() == name.lower()]
            return {"data": found[0]} if found else None

        return await self._create_once("/v3/catalog/brands", {"name": name}, recover)

    async def _create_once(self, path: str, payload: dict, recover: Recover) -> dict:
        """POST an object whose name is unique: an existing one (409, or a lost answer) is returned."""
        try:
            body = await self._send("POST", path, json=payload, recover=recover)
        except BigCommerceConflict:
            body = await recover()
            if body is None:
                raise
        return body["data"]

    # -- category trees ----------------------------------------------------------------------

    async def list_trees(self, channel_id: int | None = None) -> list[dict]:
        params = {"channel_id:in": str(channel_id)} if channel_id is not None else None
        return await self._list("/v3/catalog/trees", params)

    async def iter_tree_categories(self, tree_id: int) -> AsyncIterator[dict]:
        """Every category of a tree, flat (`category_id`, `parent_id`, `name`, ...)."""
        async with self._tree_lock:
            async for category in self._pages("/v3/catalog/trees/categories", {"tree_id:in": str(tree_id)}):
                yield category

    async def create_categories(self, items: Sequence[dict]) -> BatchResult:
        """Create categories (`name`, `parent_id` (0 = top level), `tree_id` for top-level ones).
        BigCommerce saves what it can (207): refused items come back in `errors`, by item."""
        path = "/v3/catalog/trees/categories"
        return await category_batch(self._send, self._pages, "POST", path, items, CATEGORY_BATCH)

    async def update_categories(self, items: Sequence[dict]) -> BatchResult:
        """Update categories (each with `category_id`); refused items come back in `errors`."""
        path = "/v3/catalog/trees/categories"
        return await category_batch(self._send, self._pages, "PUT", path, items, CATEGORY_BATCH)

    async def delete_categories(self, ids: Iterable[int]) -> None:
        for chunk in chunks(list(ids), ID_CHUNK):
            params = {"category_id:in": ",".join(map(str, chunk))}
            await self._send("DELETE", "/v3/catalog/trees/categories", params=params)


def _file_stem(path: str) -> str:
    """`red_shirt` from `.../Red Shirt.png`: the part of a file name BigCommerce keeps in `image_file`,
    lower-cased with every run of other characters made one `_` (BigCommerce makes names URL-safe)."""
    stem = unquote(path).rsplit("/", 1)[-1].rsplit(".", 1)[0]
    return re.sub(r"[^a-z0-9]+", "_", stem.lower())


# The client, and (re-exported from bigcommerce_errors / bigcommerce_batch) the error family callers catch
# in one place and the batch results it returns.
__all__ = ["BigCommerceClient", "BatchResult", "ItemError", "BigCommerceAuthError", "BigCommerceConflict",
           "BigCommerceError", "BigCommerceForbidden", "BigCommerceNotFound", "BigCommercePayloadTooLarge",
           "BigCommerceRateLimited", "BigCommerceServerError", "BigCommerceUnreachable",
           "BigCommerceValidationError"]
