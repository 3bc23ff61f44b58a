"""`/v3/catalog/brands`: names are unique per store, compared case-insensitively."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from . import catalog as cat
from . import validate as val
from .errors import conflict, invalid, not_found
from .gateway import no_content, ok, read_json
from .products import new_brand
from .query import int_list, int_param, paginate
from .state import Store


def _brand(store: Store, bid: int) -> dict:
    brand = store.brands.get(bid)
    if brand is None:
        raise not_found(f"Brand {bid} not found")
    return brand


def _check(store: Store, body: object, creating: bool, bid: int | None = None) -> None:
    errors = val.check_fields(body, val.BRAND_RULES, ("name",) if creating else ())
    if not errors and "custom_url" in body:
        errors |= val.check_fields(body["custom_url"], val.CUSTOM_URL_RULES, ("url",), "custom_url.")
    val.require_valid(errors)
    if "name" in body:
        other = cat.brand_by_name(store, body["name"])
        if other is not None and other["id"] != bid:
            raise conflict("Brand name is a duplicate", {"name": f"Brand name '{body['name']}' is not unique"})


def _apply(brand: dict, body: dict) -> None:
    for k in ("name", "page_title", "meta_keywords", "meta_description", "search_keywords", "image_url"):
        if k in body:
            brand[k] = body[k]
    if "custom_url" in body:
        brand["custom_url"] = {"url": body["custom_url"]["url"],
                               "is_customized": body["custom_url"].get("is_customized", True)}


async def list_brands(request: Request, store: Store) -> Response:
    q = request.query_params
    items = sorted(store.brands.values(), key=lambda b: b["id"])
    one = int_param(request, "id")
    if one is not None:
        items = [b for b in items if b["id"] == one]
    ids = int_list(request, "id:in")
    if ids is not None:
        items = [b for b in items if b["id"] in ids]
    if "name" in q:
        items = [b for b in items if b["name"].lower() == q["name"].lower()]
    if "name:like" in q:
        items = [b for b in items if q["name:like"].lower() in b["name"].lower()]
    page, meta = paginate(request, items)
    return ok(page, meta)


async def create_brand(request: Request, store: Store) -> Response:
    body = await read_json(request)
    _check(store, body, creating=True)
    brand = new_brand(store, body["name"])
    _apply(brand, body)
    return ok(brand)


async def get_brand(request: Request, store: Store) -> Response:
    return ok(_brand(store, request.path_params["brand_id"]))


async def put_brand(request: Request, store: Store) -> Response:
    brand = _brand(store, request.path_params["brand_id"])
    body = await read_json(request)
    _check(store, body, creating=False, bid=brand["id"])
    _apply(brand, body)
    return ok(brand)


def _forget(store: Store, bid: int) -> None:
    del store.brands[bid]
    for p in store.products.values():
        if p["brand_id"] == bid:
            p["brand_id"] = 0


async def delete_brand(request: Request, store: Store) -> Response:
    _forget(store, _brand(store, request.path_params["brand_id"])["id"])
    return no_content()


async def delete_brands(request: Request, store: Store) -> Response:
    name = request.query_params.get("name")
    if not name:
        raise invalid({"name": "The name filter is required"})
    brand = cat.brand_by_name(store, name)
    if brand is not None:
        _forget(store, brand["id"])
    return no_content()
