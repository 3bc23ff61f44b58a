"""Akeneo's two pagination styles, their parameter checks and `_links`."""

from __future__ import annotations

import base64
import binascii
import bisect
import itertools
import re
from collections.abc import Callable
from urllib.parse import urlencode

from starlette.requests import Request

from .search import SearchError

LIMIT_MAX = 100
LIMIT_DEFAULT = 10
# Elasticsearch's result window: Akeneo refuses offset pages beyond it
MAX_RESULT_WINDOW = 10_000


PHP_INT = (-(2**63), 2**63 - 1)


def _is_int(text: str) -> bool:
    """Akeneo's isInteger(): strval($p) === strval(intval($p)). So ASCII digits only (no "١٢", "+1", " 1",
    "01" or "-0"), and nothing beyond PHP's 64-bit integers."""
    if not re.fullmatch(r"-?[0-9]+", text):
        return False
    number = int(text)
    return str(number) == text and PHP_INT[0] <= number <= PHP_INT[1]


def read_params(request: Request, *, search_after_allowed: bool) -> dict:
    q = request.query_params
    ptype = q.get("pagination_type", "page")
    if ptype not in ("page", "search_after"):
        raise SearchError("Pagination type does not exist.")
    if ptype == "search_after" and not search_after_allowed:
        raise SearchError("Pagination type is not supported.")
    limit_raw = q.get("limit", str(LIMIT_DEFAULT))
    if not _is_int(limit_raw) or int(limit_raw) < 1:
        raise SearchError(f'"{limit_raw}" is not a valid limit number.')
    if int(limit_raw) > LIMIT_MAX:
        raise SearchError(f"You cannot request more than {LIMIT_MAX} items.")
    page_raw = q.get("page", "1")
    if ptype == "page" and (not _is_int(page_raw) or int(page_raw) < 1):
        raise SearchError(f'"{page_raw}" is not a valid page number.')
    with_count = q.get("with_count", "false")
    if with_count not in ("true", "false"):
        raise SearchError(
            f'Parameter "with_count" has to be a boolean. Only "true" or "false" allowed, "{with_count}" given.'
        )
    return {
        "type": ptype,
        "limit": int(limit_raw),
        "page": int(page_raw) if ptype == "page" else 1,
        "with_count": with_count == "true",
        "search_after": q.get("search_after"),
    }


def _url(request: Request, path: str, params: dict[str, str]) -> str:
    base = str(request.base_url).rstrip("/")
    return f"{base}{path}?{urlencode(params)}" if params else f"{base}{path}"


def encode_cursor(key: str) -> str:
    return base64.urlsafe_b64encode(key.encode("utf-8")).decode("ascii").rstrip("=")


def decode_cursor(cursor: str) -> str:
    """The cursor the sandbox put in `_links.next`; anything else (not URL-safe base64 of UTF-8) is a 422."""
    try:
        if not re.fullmatch(r"[A-Za-z0-9_-]+={0,2}", cursor):
            raise ValueError("not URL-safe base64")
        return base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise SearchError(f'Parameter "search_after" is not valid: "{cursor}" given.') from None


def matching(view, predicates: list, params: dict) -> list | None:
    """For a search_after page: only the entities the page needs, scanning the sorted `view` from the cursor
    (the page's items plus one, which tells whether there is a next page). None for `page` pagination,
    which needs the whole filtered list (its count and Elasticsearch's window check)."""
    if params["type"] != "search_after":
        return None
    start = 0
    if params["search_after"]:
        start = bisect.bisect_right(view.keys, decode_cursor(params["search_after"]))
    wanted = params["limit"] + 1
    found: list = []
    for item in itertools.islice(view.items, start, None):
        if all(pred(item) for pred in predicates):
            found.append(item)
            if len(found) == wanted:
                break
    return found


def paginate(
    request: Request,
    items: list,
    params: dict,
    *,
    path: str,
    render: Callable[[object], dict],
    sort_key: Callable[[object], str],
    scanned: bool = False,
) -> dict:
    """Build the list body. `items` must already be sorted by `sort_key`; `scanned`: they are what `matching`
    found (already past the cursor)."""
    carried = {k: v for k, v in request.query_params.items() if k not in ("page", "search_after", "limit",
                                                                       "with_count", "pagination_type")}
    limit = params["limit"]
    body: dict = {"_links": {}}
    if params["type"] == "search_after":
        start = 0
        if params["search_after"] and not scanned:
            after = decode_cursor(params["search_after"])
            start = next((i for i, it in enumerate(items) if sort_key(it) > after), len(items))
        chunk = items[start:start + limit]
        common = {"pagination_type": "search_after", "limit": str(limit), **carried}
        first = _url(request, path, common)
        self_params = {**common, "search_after": params["search_after"]} if params["search_after"] else common
        body["_links"]["self"] = {"href": _url(request, path, self_params)}
        body["_links"]["first"] = {"href": first}
        if start + limit < len(items) and chunk:
            nxt = {**common, "search_after": encode_cursor(sort_key(chunk[-1]))}
            body["_links"]["next"] = {"href": _url(request, path, nxt)}
    else:
        page = params["page"]
        if page * limit > MAX_RESULT_WINDOW and len(items) > MAX_RESULT_WINDOW:
            raise SearchError(
                'You have reached the maximum number of pages you can retrieve with the "page" pagination '
                'type. Please use the search after pagination type instead'
            )
        offset = (page - 1) * limit
        chunk = items[offset:offset + limit]

        def link(number: int) -> dict:
            query = {"page": str(number), "with_count": "true" if params["with_count"] else "false",
                     "pagination_type": "page", "limit": str(limit), **carried}
            return {"href": _url(request, path, query)}

        body["_links"]["self"] = link(page)
        body["_links"]["first"] = link(1)
        if page > 1:
            body["_links"]["previous"] = link(page - 1)
        if offset + limit < len(items):
            body["_links"]["next"] = link(page + 1)
        body["current_page"] = page
        if params["with_count"]:
            body["items_count"] = len(items)
    body["_embedded"] = {"items": [render(it) for it in chunk]}
    return body
