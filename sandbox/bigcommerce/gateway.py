"""The API gateway in front of every `/stores/{hash}/...` route: auth, scopes, rate limit, faults, log."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .. import strictjson
from .errors import ApiError, error_response
from .plans import LIFTED_HEADER
from .state import BigCommerceState, Store

Handler = Callable[[Request, Store], Awaitable[Response]]
MAX_JSON_BYTES = 10 * 1024 * 1024

# scope families: a GET passes with the read-only scope, anything else needs the full one
SCOPES = {
    "products": "store_v2_products",
    "information": "store_v2_information",
    "channels": "store_channel_settings",
}


def scope_ok(family: str | None, method: str, granted: frozenset[str]) -> bool:
    if family is None:
        return True
    name = SCOPES[family]
    return name in granted or (method in ("GET", "HEAD") and f"{name}_read_only" in granted)


def rate_headers(store: Store, now: float) -> dict[str, str]:
    rate = store.rate
    headers = {
        "X-Rate-Limit-Requests-Quota": str(rate.quota),
        "X-Rate-Limit-Requests-Left": str(max(0, rate.quota - rate.used)),
        "X-Rate-Limit-Time-Reset-Ms": str(rate.reset_ms(now)),
        "X-Rate-Limit-Time-Window-Ms": str(rate.window_ms),
    }
    if store.unlimited:  # the quota above is what a lifted store announces (plans.py), none is enforced
        headers[LIFTED_HEADER] = "lifted"
    return headers


async def read_json(request: Request):
    raw = await request.body()
    if len(raw) > MAX_JSON_BYTES:
        raise ApiError(413, "The request payload is too large.", {})
    try:
        return strictjson.loads(raw)
    except ValueError:
        raise ApiError(400, "The request body is not valid JSON", {}) from None


def _pick_fault(store: Store) -> int | None:
    faults = store.faults
    if faults.error_rate > 0 and store.rng.random() < faults.error_rate:
        return store.rng.choice(faults.statuses)
    return None


async def _hold_until_client_leaves(request: Request, seconds: float) -> None:
    """The 'timeout after apply' fault: the change is made, the answer comes too late."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if await request.is_disconnected():
            return
        await asyncio.sleep(0.05)


ID_FIELDS = ("id", "product_id", "variant_id", "category_id", "parent_id", "brand_id", "option_id",
             "option_value_id", "image_id")
ID_LISTS = ("categories", "id:in", "product_id:in", "category_id:in")
MAX_LOGGED_IDS = 2000


def _ids_in(doc: object, out: set[int]) -> None:
    """Every object id a JSON document names (the fields above; `categories` lists of ids)."""
    if isinstance(doc, dict):
        for key, value in doc.items():
            if key in ID_FIELDS and isinstance(value, int) and not isinstance(value, bool) and value > 0:
                out.add(value)
            elif key in ID_LISTS and isinstance(value, list):
                out.update(v for v in value if isinstance(v, int) and not isinstance(v, bool) and v > 0)
            elif isinstance(value, (dict, list)):
                _ids_in(value, out)
    elif isinstance(doc, list):
        for value in doc:
            _ids_in(value, out)


async def _named_ids(request: Request) -> list[int]:
    """The ids a request names (path, `...:in` filters, body), for the request log: tests check that a
    client only ever names ids this store handed out to it (never another store's)."""
    ids = {int(v) for v in request.path_params.values() if isinstance(v, int)}
    for key, value in request.query_params.multi_items():
        if key in ID_LISTS or key in ("id", "product_id"):
            ids.update(int(v) for v in value.split(",") if v.strip().isdigit())
    if request.method in ("POST", "PUT") and "json" in request.headers.get("content-type", ""):
        # a streamed (multipart) body, or not JSON: nothing named there
        with contextlib.suppress(RuntimeError, ValueError):
            _ids_in(json.loads(await request.body()), ids)
    return sorted(ids)[:MAX_LOGGED_IDS]


def _answer_ids(response: Response) -> list[int]:
    """The ids an answer hands out (created or listed objects)."""
    if response.status_code >= 400 or "json" not in (response.media_type or ""):
        return []
    ids: set[int] = set()
    try:
        _ids_in(json.loads(response.body), ids)
    except (AttributeError, ValueError):
        return []
    return sorted(ids)[:MAX_LOGGED_IDS]


def api_route(path: str, endpoint: Handler, methods: list[str], scope: str | None = "products") -> Route:
    """A route under /stores/{store_hash}; `path` (e.g. /v3/catalog/products) names it in the request log."""
    template = path.replace(":int}", "}")

    async def gateway(request: Request) -> Response:
        state: BigCommerceState = request.app.state.bc
        store = state.stores.get(request.path_params["store_hash"])
        if store is None:
            return error_response(404, "Store not found", {})
        now = time.time()
        store.rate.roll(now)
        method = request.method
        timing: list[float] = []
        response = await _answer(request, store, now, timing)
        state.log_request(store, method, template, request.url.path, response.status_code, sum(timing),
                          ids=await _named_ids(request), answer_ids=_answer_ids(response))
        return response

    async def _answer(request: Request, store: Store, now: float, timing: list[float]) -> Response:
        token = request.headers.get("x-auth-token")
        if not token:
            return error_response(401, "No auth token was provided", {}, rate_headers(store, now))
        granted = store.tokens.get(token)
        if granted is None:
            return error_response(401, "The access token is invalid or has been revoked", {},
                                  rate_headers(store, now))
        if not scope_ok(scope, request.method, granted):
            return error_response(403, "You don't have a required scope to access the endpoint", {},
                                  rate_headers(store, now))
        if not store.unlimited and store.rate.used >= store.rate.quota:
            return error_response(429, "Too many requests", {}, rate_headers(store, now))
        store.rate.used += 1
        headers = rate_headers(store, now)
        faults = store.faults
        if faults.latency > 0:
            await asyncio.sleep(faults.latency)
        fault = _pick_fault(store)
        if fault is not None:  # the platform failed before doing anything
            return error_response(fault, None, {}, headers)
        began = time.monotonic()  # the work itself (image downloads included), not the injected latency
        try:
            response = await endpoint(request, store)
        except ApiError as exc:
            response = exc.response()
        timing.append(time.monotonic() - began)
        response.headers.update(headers)
        if (request.method != "GET" and response.status_code < 400 and faults.timeout_after_apply_rate > 0
                and store.rng.random() < faults.timeout_after_apply_rate):
            await _hold_until_client_leaves(request, faults.timeout_delay)
        return response

    return Route(path, gateway, methods=methods)


def ok(data, meta: dict | None = None, status: int = 200) -> JSONResponse:
    return JSONResponse({"data": data, "meta": meta if meta is not None else {}}, status_code=status)


def no_content(status: int = 204) -> Response:
    return Response(status_code=status)
