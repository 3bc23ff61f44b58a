"""Sandbox-only routes (`/sandbox/...`): set up stores and faults, inspect state, look at the storefront."""

from __future__ import annotations

import html

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response

from .. import strictjson
from . import catalog as cat
from .state import DEFAULT_SCOPES, BigCommerceState, Store


def _state(request: Request) -> BigCommerceState:
    return request.app.state.bc


async def _body(request: Request) -> dict:
    raw = await request.body()
    try:
        data = strictjson.loads(raw or b"{}")
    except ValueError:
        data = None
    if not isinstance(data, dict):
        raise ValueError("the body must be a JSON object")
    return data


def _bad(message: str, status: int = 400) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def _store(request: Request) -> Store | None:
    return _state(request).stores.get(request.path_params["store_hash"])


async def create_store(request: Request) -> Response:
    try:
        data = await _body(request)
    except ValueError as exc:
        return _bad(str(exc))
    hash_ = data.get("hash")
    if not isinstance(hash_, str) or not hash_.isalnum():
        return _bad("hash must be an alphanumeric string")
    if hash_ in _state(request).stores:
        return _bad(f"store {hash_} exists", 409)
    store = _state(request).create_store(hash_, data.get("token"), data.get("scopes") or DEFAULT_SCOPES,
                                         name=data.get("name"), weight_units=data.get("weight_units", "KGS"))
    return JSONResponse({"hash": store.hash, "id": store.id, "tokens": sorted(store.tokens)}, status_code=201)


async def add_token(request: Request) -> Response:
    if _store(request) is None:
        return _bad("unknown store", 404)
    try:
        data = await _body(request)
    except ValueError as exc:
        return _bad(str(exc))
    if not isinstance(data.get("token"), str) or not data["token"]:
        return _bad("token is required")
    _state(request).add_token(request.path_params["store_hash"], data["token"], data.get("scopes") or DEFAULT_SCOPES)
    return JSONResponse({"token": data["token"]}, status_code=201)


async def set_faults(request: Request) -> Response:
    if _store(request) is None:
        return _bad("unknown store", 404)
    try:
        data = await _body(request)
        _state(request).set_faults(request.path_params["store_hash"], **data)
    except (ValueError, TypeError) as exc:
        return _bad(str(exc))
    return JSONResponse(data)


async def set_rate_limit(request: Request) -> Response:
    if _store(request) is None:
        return _bad("unknown store", 404)
    try:
        data = await _body(request)
        _state(request).set_rate_limit(request.path_params["store_hash"], int(data["quota"]),
                                       int(data["window_ms"]), bool(data.get("unlimited", False)))
    except (ValueError, TypeError, KeyError) as exc:
        return _bad(f"quota and window_ms are required: {exc}")
    return JSONResponse(data)


async def issue_code(request: Request) -> Response:
    try:
        data = await _body(request)
        code = _state(request).issue_auth_code(data["client_id"], data["store_hash"], data["scope"],
                                               user=data.get("user"), redirect_uri=data.get("redirect_uri"))
    except (ValueError, KeyError) as exc:
        return _bad(f"cannot issue a code: {exc}")
    return JSONResponse({"code": code}, status_code=201)


def dump(store: Store) -> dict:
    products = []
    for p in sorted(store.products.values(), key=lambda p: p["id"]):
        out = cat.render_product(store, p, {"variants", "images", "custom_fields", "options"})
        out["channels"] = sorted(c for pid, c in store.assignments if pid == p["id"])
        products.append(out)
    return {
        "hash": store.hash,
        "products": products,
        "brands": sorted(store.brands.values(), key=lambda b: b["id"]),
        "trees": sorted(store.trees.values(), key=lambda t: t["id"]),
        "categories": sorted(store.categories.values(), key=lambda c: c["category_id"]),
        "channels": sorted(store.channels.values(), key=lambda c: c["id"]),
        "assignments": [{"product_id": p, "channel_id": c} for p, c in sorted(store.assignments)],
    }


async def get_state(request: Request) -> Response:
    store = _store(request)
    return _bad("unknown store", 404) if store is None else JSONResponse(dump(store))


async def requests_log(request: Request) -> Response:
    store = _store(request)
    if store is None:
        return _bad("unknown store", 404)
    if request.method == "DELETE":
        _state(request).reset_log(store.hash)
        return Response(status_code=204)
    return JSONResponse({"total": len(store.log), "counts": dict(store.counts), "throttled": store.throttled,
                         "requests": store.log[-1000:]})


async def image(request: Request) -> Response:
    for store in _state(request).stores.values():
        blob = store.image_blobs.get(request.path_params["image_id"])
        if blob is not None:
            return Response(blob[1], media_type=blob[0])
    return Response("image not found", status_code=404, media_type="text/plain")


async def storefront(request: Request) -> Response:
    store = _store(request)
    if store is None:
        return HTMLResponse("<h1>Unknown store</h1>", status_code=404)
    e = html.escape
    names = {c["category_id"]: c["name"] for c in store.categories.values()}
    brands = {b["id"]: b["name"] for b in store.brands.values()}
    rows = []
    for p in sorted(store.products.values(), key=lambda p: p["id"]):
        pics = "".join(f'<img src="/sandbox/images/{i["id"]}" alt="" height="80">'
                       for i in cat.product_images(store, p["id"]))
        variants = "".join(
            f"<li>{e(v['sku'])}: {e(', '.join(o['label'] for o in cat.render_variant(store, v)['option_values']))}"
            f"</li>" for v in store.variants.values() if v["product_id"] == p["id"])
        fields = "".join(f"<li>{e(f['name'])}: {e(f['value'])}</li>"
                         for f in cat.product_custom_fields(store, p["id"]))
        rows.append(
            f'<article class="product" data-id="{p["id"]}"><h2>{e(p["name"])}</h2>'
            f'<p class="sku">SKU {e(p["sku"])} · price {p["price"]} · '
            f'{"visible" if p["is_visible"] else "hidden"} · brand {e(brands.get(p["brand_id"], "-"))}</p>'
            f'<p class="categories">{e(", ".join(names.get(c, str(c)) for c in p["categories"]))}</p>'
            f'<div class="images">{pics}</div><ul class="variants">{variants}</ul>'
            f'<ul class="fields">{fields}</ul><div class="description">{e(p["description"][:500])}</div></article>')
    page = (f"<!doctype html><html><head><meta charset='utf-8'><title>{e(store.name)}</title></head>"
            f"<body><h1>{e(store.name)}</h1><p>{len(store.products)} products</p>{''.join(rows)}</body></html>")
    return HTMLResponse(page)
