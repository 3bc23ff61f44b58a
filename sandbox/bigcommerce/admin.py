"""Sandbox-only routes (`/sandbox/...`): set up stores and faults, inspect state, look at the storefront."""

from __future__ import annotations

import html

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response

from .. import strictjson
from . import catalog as cat
from . import plans
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
        if "plan" in data:  # a BigCommerce plan by name (plans.py)
            chosen = plans.plan(str(data["plan"]))
            data = {"quota": chosen.quota, "window_ms": chosen.window_ms, "unlimited": not chosen.enforced, **data}
        _state(request).set_rate_limit(request.path_params["store_hash"], int(data["quota"]),
                                       int(data["window_ms"]), bool(data.get("unlimited", False)))
    except (ValueError, TypeError, KeyError) as exc:
        return _bad(f"a plan, or quota and window_ms, are required: {exc}")
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
    limit = int(request.query_params.get("limit", "1000")) if request.query_params.get("limit", "").isdigit() \
        else 1000
    return JSONResponse({"total": len(store.log), "counts": dict(store.counts), "throttled": store.throttled,
                         "seconds": {k: round(v, 4) for k, v in store.seconds.items()},
                         "longest": {k: round(v, 4) for k, v in store.longest.items()},
                         "first_at": store.first_request_at,
                         "last_at": store.log[-1]["time"] if store.log else None,
                         "products": len(store.products), "requests": store.log[-limit:] if limit else []})


async def image(request: Request) -> Response:
    for store in _state(request).stores.values():
        blob = store.image_blobs.get(request.path_params["image_id"])
        if blob is not None:
            return Response(blob[1], media_type=blob[0])
    return Response("image not found", status_code=404, media_type="text/plain")


STOREFRONT_CSS = """
body{font-family:system-ui,sans-serif;margin:0;background:#f5f6f8;color:#1d2330}
header{background:#1d2330;color:#fff;padding:18px 28px}header h1{margin:0;font-size:22px}
header p{margin:4px 0 0;color:#b8c0d0;font-size:14px}
main{display:grid;grid-template-columns:repeat(auto-fill,minmax(230px,1fr));gap:16px;padding:24px 28px}
.product{background:#fff;border-radius:10px;box-shadow:0 1px 3px rgba(0,0,0,.08);padding:14px;display:flex;
flex-direction:column;gap:6px}.product.hidden{opacity:.55}
.images{height:150px;display:flex;align-items:center;justify-content:center;background:#fafbfc;border-radius:6px}
.images img{max-height:140px;max-width:100%;object-fit:contain}.images img+img{display:none}
.noimage{color:#9aa3b5;font-size:13px}h2{font-size:15px;margin:4px 0 0;line-height:1.3}
.price{font-size:18px;font-weight:700}.meta,.categories{font-size:12px;color:#5b6477;margin:0}
.badge{display:inline-block;font-size:11px;border-radius:9px;padding:1px 7px;background:#e7ebf3;color:#3d4760}
.badge.off{background:#fde8e8;color:#9b1c1c}ul{margin:0;padding-left:16px;font-size:12px;color:#3d4760}
"""


async def storefront(request: Request) -> Response:
    """One page with every product (visible ones first): what a visitor of the store would look at."""
    store = _store(request)
    if store is None:
        return HTMLResponse("<h1>Unknown store</h1>", status_code=404)
    e = html.escape
    names = {c["category_id"]: c["name"] for c in store.categories.values()}
    brands = {b["id"]: b["name"] for b in store.brands.values()}
    symbol = {"EUR": "€", "USD": "$", "GBP": "£"}.get(store.currency, store.currency + " ")
    rows = []
    products = sorted(store.products.values(), key=lambda p: (not p["is_visible"], p["id"]))
    for p in products:
        pics = "".join(f'<img src="/sandbox/images/{i["id"]}" alt="{e(p["name"])}">'
                       for i in sorted(cat.product_images(store, p["id"]), key=lambda i: not i.get("is_thumbnail")))
        variants = "".join(
            f"<li>{e(v['sku'])}: {e(', '.join(o['label'] for o in cat.render_variant(store, v)['option_values']))}"
            f"</li>" for v in store.variants.values() if v["product_id"] == p["id"]
            and cat.render_variant(store, v)["option_values"])
        fields = "".join(f"<li>{e(f['name'])}: {e(f['value'])}</li>"
                         for f in cat.product_custom_fields(store, p["id"])[:4])
        state = '<span class="badge">visible</span>' if p["is_visible"] else '<span class="badge off">hidden</span>'
        rows.append(
            f'<article class="product{"" if p["is_visible"] else " hidden"}" data-id="{p["id"]}">'
            f'<div class="images">{pics or "<span class=noimage>no image</span>"}</div>'
            f'<h2>{e(p["name"])}</h2><p class="price">{symbol}{float(p["price"]):,.2f}</p>'
            f'<p class="meta sku">SKU {e(p["sku"])} · brand {e(brands.get(p["brand_id"], "-"))} {state}</p>'
            f'<p class="categories">{e(", ".join(names.get(c, str(c)) for c in p["categories"]))}</p>'
            f'<ul class="variants">{variants}</ul><ul class="fields">{fields}</ul></article>')
    visible = sum(1 for p in products if p["is_visible"])
    page = (f"<!doctype html><html><head><meta charset='utf-8'><title>{e(store.name)}</title>"
            f"<style>{STOREFRONT_CSS}</style></head><body><header><h1>{e(store.name)}</h1>"
            f"<p>{len(products)} products · {visible} visible · {len(store.variants)} variants · "
            f"{len(store.categories)} categories</p></header><main>{''.join(rows)}</main></body></html>")
    return HTMLResponse(page)
