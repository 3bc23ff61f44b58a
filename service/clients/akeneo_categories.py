"""The category picker's page: Akeneo's category list, by parent, by codes, or searched by code and label.

`AkeneoClient.list_categories` is the entry point; this module holds the scan behind it, apart from the
transport because it is a policy (how much a picker may read for one keystroke), not a route.

Guarantees: reads only through the `get_page` it is given (so the client's auth, retries, in-flight cap
and typed errors apply to every request); one call makes at most `max_scan_pages + 1` requests; every
`next_url` handed back is one the PIM gave (`_links.next`), never built here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Protocol

from service.clients.akeneo_search import MAX_PAGE_SIZE, search_filter


class PageReader(Protocol):
    """What the scan needs of the client: one list page and the `_links.next.href` after it."""

    async def get_page(
        self, path: str, params: Mapping[str, Any] | None = None
    ) -> tuple[list[dict], str | None]: ...


async def category_page(
    pim: PageReader,
    path: str,
    *,
    parent: str | None = None,
    search: str | None = None,
    codes: Iterable[str] | None = None,
    limit: int = 20,
    page_url: str | None = None,
    max_scan_pages: int = 5,
) -> tuple[list[dict], str | None]:
    """One page of the categories list at `path` for a lazy picker: `(items, next_url)`; pass
    `next_url` back as `page_url` (with the same arguments) for more.

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
            return await pim.get_page(page_url)
        params = {"limit": min(limit, MAX_PAGE_SIZE), "search": search_filter(**filters)}
        return await pim.get_page(path, params)

    needle = search.strip().lower()
    exact_lookup = "code" not in filters
    found: list[dict] = []
    if page_url is None:
        if exact_lookup:
            exact_filters = {**filters, "code": ("IN", [search.strip()])}
            found.extend((await pim.get_page(path, {"search": search_filter(**exact_filters)}))[0])
        params = {"limit": MAX_PAGE_SIZE, "search": search_filter(**filters) if filters else None}
        items, next_url = await pim.get_page(path, params)
    else:
        items, next_url = await pim.get_page(page_url)
    pages = 1
    while True:
        found.extend(c for c in items if _category_matches(c, needle, skip_exact=exact_lookup))
        if len(found) >= limit or not next_url or pages >= max_scan_pages:
            return found, next_url
        items, next_url = await pim.get_page(next_url)
        pages += 1


def _category_matches(category: Mapping[str, Any], needle: str, *, skip_exact: bool) -> bool:
    code = str(category.get("code", "")).lower()
    if code == needle:
        return not skip_exact  # else already returned by the exact `code IN` lookup
    if needle in code:
        return True
    labels = category.get("labels") or {}
    return any(needle in str(label).lower() for label in labels.values() if label)
