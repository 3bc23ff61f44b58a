"""The `/api/rest/v1` read routes, shaped like Akeneo's answers."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse

from .auth import error
from .measurements import MEASUREMENT_FAMILIES
from .pagination import matching, paginate, read_params
from .search import SearchError, build_predicates, parse_search
from .state import PimState, stamp

API = "/api/rest/v1"


def _state(request: Request) -> PimState:
    return request.app.state.pim


def _href(request: Request, path: str) -> dict:
    return {"self": {"href": str(request.base_url).rstrip("/") + path}}


def _not_found(kind: str, code: str) -> JSONResponse:
    return error(404, f'{kind} "{code}" does not exist.')


# ---------------------------------------------------------------- value reduction

def _reduce_options(request: Request, state: PimState) -> dict:
    """Validate `scope`, `locales` and `attributes` (Akeneo's messages) and return the reduction."""
    q = request.query_params
    store = state.store
    scope = q.get("scope")
    channel = None
    if scope is not None:
        channel = store.channels.get(scope.lower())
        if channel is None:
            raise SearchError(f'Scope "{scope}" does not exist.')
    locales = None
    if q.get("locales") is not None:
        locales = [loc.strip() for loc in q["locales"].split(",")]
        enabled = {loc["code"] for loc in state.catalog.locales if loc["enabled"]}
        bad = [loc for loc in locales if loc not in enabled]
        if bad:
            if len(bad) > 1:
                raise SearchError(f'Locales "{", ".join(bad)}" do not exist or are not activated.')
            raise SearchError(f'Locale "{bad[0]}" does not exist or is not activated.')
    attributes = None
    if q.get("attributes") is not None:
        attributes = [a.strip() for a in q["attributes"].split(",")]
        bad = [a for a in attributes if state.catalog.attribute(a) is None]
        if bad:
            if len(bad) > 1:
                raise SearchError(f'Attributes "{", ".join(bad)}" do not exist.')
            raise SearchError(f'Attribute "{bad[0]}" does not exist.')
        attributes = [state.catalog.attribute(a)["code"] for a in attributes]
    return {"channel": channel, "locales": locales, "attributes": attributes}


def _reduce_values(values: dict, reduce: dict | None) -> dict:
    if not reduce:
        return values
    channel, locales, attributes = reduce["channel"], reduce["locales"], reduce["attributes"]
    out: dict[str, list] = {}
    for code, items in values.items():
        if attributes is not None and code not in attributes:
            continue
        kept = []
        for item in items:
            if channel is not None and item["scope"] not in (None, channel["code"]):
                continue
            if channel is not None and item["locale"] is not None and item["locale"] not in channel["locales"]:
                continue
            if locales is not None and item["locale"] is not None and item["locale"] not in locales:
                continue
            kept.append(item)
        if kept:
            out[code] = kept
    return out


# ---------------------------------------------------------------- renderers

def stored_code(store, parent: str | None) -> str | None:
    """Akeneo resolves a parent reference case-insensitively and answers with the model's code as stored."""
    model = store.model(parent) if parent else None
    return model["code"] if model is not None else parent


def render_product(state: PimState, product: dict, *, by_uuid: bool, reduce: dict | None = None,
                   completenesses: bool = False) -> dict:
    store = state.store
    values = store.merged_values(product)
    identifier_attr = next(a["code"] for a in state.catalog.attributes if a["type"] == "pim_catalog_identifier")
    if not by_uuid:
        values = {k: v for k, v in values.items() if k != identifier_attr}
    associations = {}
    for kind, assoc in product["associations"].items():
        products = assoc["products"]
        if by_uuid:
            products = [p["uuid"] for p in (store.product(i) for i in products) if p]
        associations[kind] = {"groups": list(assoc["groups"]), "products": products,
                              "product_models": list(assoc["product_models"])}
    body: dict[str, Any] = {"uuid": product["uuid"]}
    if not by_uuid:
        body["identifier"] = product["identifier"]
    body.update(
        {
            "enabled": product["enabled"],
            "family": product["family"],
            "categories": store.merged_categories(product),
            "groups": list(product["groups"]),
            "parent": stored_code(store, product["parent"]),
            "values": _reduce_values(values, reduce),
            "created": stamp(product["created"]),
            "updated": stamp(store.effective_updated(product)),
            "associations": associations,
            "quantified_associations": {},
        }
    )
    if completenesses:
        body["completenesses"] = [
            {"scope": scope, "locale": locale, "data": data}
            for (scope, locale), data in sorted(store.completeness(product).items())
        ]
    return body


def render_model(state: PimState, model: dict, reduce: dict | None = None) -> dict:
    store = state.store
    return {
        "code": model["code"],
        "family": model["family"],
        "family_variant": model["family_variant"],
        "parent": stored_code(store, model["parent"]),
        "categories": store.merged_categories(model),
        "values": _reduce_values(store.merged_values(model), reduce),
        "created": stamp(model["created"]),
        "updated": stamp(store.effective_updated(model)),
        "associations": {t: {"groups": [], "products": [], "product_models": []}
                         for t in state.catalog.association_types},
        "quantified_associations": {},
    }


def _with_self(request: Request, path: str, body: dict) -> dict:
    return {"_links": _href(request, path), **body}


# ---------------------------------------------------------------- products and models

def _list_search(request: Request, state: PimState, *, models: bool) -> tuple[list, dict, dict]:
    search = parse_search(request.query_params.get("search"), invalid_json_status=422 if models else 400)
    reduce = _reduce_options(request, state)
    if reduce["channel"] is not None and "categories" not in search:
        # Akeneo limits a channel's results to its category tree unless the search names categories
        search = {**search, "categories": [{"operator": "IN CHILDREN",
                                            "value": [reduce["channel"]["category_tree"]]}]}
    predicates = build_predicates(state, search, models=models)
    params = read_params(request, search_after_allowed=True)
    return predicates, params, reduce


def _bool_param(request: Request, name: str) -> bool:
    return request.query_params.get(name, "false") == "true"


async def list_products(request: Request) -> JSONResponse:
    state = _state(request)
    by_uuid = request.url.path.rstrip("/").endswith("products-uuid")
    predicates, params, reduce = _list_search(request, state, models=False)
    store = state.store

    def key(p: dict) -> str:
        return p["uuid"] if by_uuid else p["identifier"].lower()

    items = matching(store.sorted_view("products-uuid" if by_uuid else "products"), predicates, params)
    scanned = items is not None
    if items is None:
        items = sorted((p for p in store.products.values() if all(pred(p) for pred in predicates)), key=key)
    base = f"{API}/products-uuid" if by_uuid else f"{API}/products"
    completenesses = _bool_param(request, "with_completenesses")

    def render(p: dict) -> dict:
        path = f"{base}/{p['uuid'] if by_uuid else p['identifier']}"
        return _with_self(request, path, render_product(state, p, by_uuid=by_uuid, reduce=reduce,
                                                         completenesses=completenesses))

    return JSONResponse(paginate(request, items, params, path=base, render=render, sort_key=key, scanned=scanned))


async def get_product(request: Request) -> JSONResponse:
    state = _state(request)
    code = request.path_params["code"]
    product = state.store.product(code)
    if product is None:
        return error(404, f'Product "{code}" does not exist or you do not have permission to access it.')
    return JSONResponse(render_product(state, product, by_uuid=False,
                                       completenesses=_bool_param(request, "with_completenesses")))


async def get_product_uuid(request: Request) -> JSONResponse:
    state = _state(request)
    ident = request.path_params["uuid"]
    product = state.store.by_uuid.get(ident.lower())
    if product is None:
        return error(404, f'Product "{ident}" does not exist or you do not have permission to access it.')
    return JSONResponse(render_product(state, product, by_uuid=True,
                                       completenesses=_bool_param(request, "with_completenesses")))


async def list_product_models(request: Request) -> JSONResponse:
    state = _state(request)
    predicates, params, reduce = _list_search(request, state, models=True)

    def key(m: dict) -> str:
        return m["code"].lower()

    items = matching(state.store.sorted_view("models"), predicates, params)
    scanned = items is not None
    if items is None:
        items = sorted((m for m in state.store.models.values() if all(pred(m) for pred in predicates)), key=key)
    base = f"{API}/product-models"

    def render(m: dict) -> dict:
        return _with_self(request, f"{base}/{m['code']}", render_model(state, m, reduce))

    return JSONResponse(paginate(request, items, params, path=base, render=render, sort_key=key, scanned=scanned))


async def get_product_model(request: Request) -> JSONResponse:
    state = _state(request)
    code = request.path_params["code"]
    model = state.store.model(code)
    if model is None:
        return error(404, f'Product model "{code}" does not exist or you do not have permission to access it.')
    return JSONResponse(render_model(state, model))


# ---------------------------------------------------------------- simple resources

def _simple_list(request: Request, items: list[dict], path: str, item_path, render=None) -> JSONResponse:
    params = read_params(request, search_after_allowed=False)

    def rendered(it: dict) -> dict:
        return _with_self(request, item_path(it), render(it) if render else it)

    return JSONResponse(paginate(request, items, params, path=path, render=rendered, sort_key=lambda it: ""))


def _simple_search(request: Request, allowed: dict[str, set[str]]) -> dict:
    search = parse_search(request.query_params.get("search"), invalid_json_status=422)
    for key, filters in search.items():
        for flt in filters:
            if key not in allowed or flt["operator"] not in allowed[key]:
                raise SearchError(
                    f'Filter on property "{key}" is not supported or does not support operator "{flt["operator"]}"'
                )
    return search


def _codes_in(value: Any, field: str) -> set[str]:
    if not isinstance(value, list):
        raise SearchError(f'In order to search on {field} you must send an array of {field} codes as value.')
    return {str(v).lower() for v in value}


def _category_date(value: Any) -> datetime:
    """The categories' `updated` filter takes an ISO 8601 date-time (`2021-05-10T10:00:00Z`, any offset;
    the products' "yyyy-mm-dd hh:mm:ss" form, read as UTC, is accepted too)."""
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:?\d{2})?",
                                               value):
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            pass
        else:
            return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    shown = value if isinstance(value, str) else json.dumps(value)
    raise SearchError(f'Property "updated" expects a string with the ISO 8601 format as data, "{shown}" given.')


def category_updated(cat: dict, state: PimState) -> datetime:
    """A category edited through the admin routes carries its own `updated`; the fixture's share one."""
    return cat.get("updated") or state.catalog_time()


def _category_body(cat: dict, state: PimState, with_position: bool) -> dict:
    body = {"code": cat["code"], "parent": cat["parent"], "updated": stamp(category_updated(cat, state)),
            "labels": cat["labels"]}
    if with_position:
        body["position"] = cat["position"]
    return body


def category_resource(state: PimState, cat: dict) -> dict:
    return _category_body(cat, state, True)


async def list_categories(request: Request) -> JSONResponse:
    state = _state(request)
    search = _simple_search(request, {"code": {"IN"}, "parent": {"="}, "is_root": {"="}, "updated": {">"}})
    items = list(state.catalog.categories)
    for key, filters in search.items():
        for flt in filters:
            value = flt.get("value")
            if key == "code":
                wanted = _codes_in(value, "codes")
                items = [c for c in items if c["code"].lower() in wanted]
            elif key == "parent":
                if not isinstance(value, str):
                    raise SearchError('Property "parent" expects a string as data.')
                items = [c for c in items if (c["parent"] or "").lower() == value.lower()]
            elif key == "is_root":
                if not isinstance(value, bool):
                    raise SearchError('Property "is_root" expects a boolean as data.')
                items = [c for c in items if (c["parent"] is None) == value]
            elif key == "updated":
                since = _category_date(value)
                items = [c for c in items if category_updated(c, state) > since]
    with_position = _bool_param(request, "with_position")
    return _simple_list(request, items, f"{API}/categories", lambda c: f"{API}/categories/{c['code']}",
                        lambda c: _category_body(c, state, with_position))


async def get_category(request: Request) -> JSONResponse:
    state = _state(request)
    code = request.path_params["code"]
    cat = state.store.categories.get(code.lower())
    if cat is None:
        return _not_found("Category", code)
    return JSONResponse(_category_body(cat, state, _bool_param(request, "with_position")))


async def list_channels(request: Request) -> JSONResponse:
    state = _state(request)
    return _simple_list(request, state.catalog.channels, f"{API}/channels",
                        lambda c: f"{API}/channels/{c['code']}")


async def get_channel(request: Request) -> JSONResponse:
    state = _state(request)
    code = request.path_params["code"]
    channel = state.store.channels.get(code.lower())
    return JSONResponse(channel) if channel else _not_found("Channel", code)


async def list_locales(request: Request) -> JSONResponse:
    state = _state(request)
    search = _simple_search(request, {"enabled": {"="}})
    items = state.catalog.locales
    for flt in search.get("enabled", []):
        if not isinstance(flt.get("value"), bool):
            raise SearchError('Property "enabled" expects a boolean as data.')
        items = [loc for loc in items if loc["enabled"] == flt["value"]]
    return _simple_list(request, items, f"{API}/locales", lambda loc: f"{API}/locales/{loc['code']}")


async def get_locale(request: Request) -> JSONResponse:
    code = request.path_params["code"]
    found = next((loc for loc in _state(request).catalog.locales if loc["code"].lower() == code.lower()), None)
    return JSONResponse(found) if found else _not_found("Locale", code)


async def list_currencies(request: Request) -> JSONResponse:
    state = _state(request)
    search = _simple_search(request, {"enabled": {"="}})
    items = state.catalog.currencies
    for flt in search.get("enabled", []):
        items = [c for c in items if c["enabled"] == flt.get("value")]
    return _simple_list(request, items, f"{API}/currencies", lambda c: f"{API}/currencies/{c['code']}")


async def get_currency(request: Request) -> JSONResponse:
    code = request.path_params["code"]
    found = next((c for c in _state(request).catalog.currencies if c["code"].lower() == code.lower()), None)
    return JSONResponse(found) if found else _not_found("Currency", code)


async def list_attributes(request: Request) -> JSONResponse:
    state = _state(request)
    search = _simple_search(request, {"code": {"IN"}, "type": {"IN"}, "updated": {">"}})
    items = state.catalog.attributes
    for key, filters in search.items():
        for flt in filters:
            if key == "code":
                wanted = _codes_in(flt.get("value"), "codes")
                items = [a for a in items if a["code"].lower() in wanted]
            elif key == "type":
                wanted = _codes_in(flt.get("value"), "types")
                items = [a for a in items if a["type"].lower() in wanted]
            else:
                items = [] if state.catalog_time().strftime("%Y-%m-%d %H:%M:%S") <= str(flt.get("value")) else items
    return _simple_list(request, items, f"{API}/attributes", lambda a: f"{API}/attributes/{a['code']}")


async def get_attribute(request: Request) -> JSONResponse:
    code = request.path_params["code"]
    attr = _state(request).catalog.attribute(code)
    return JSONResponse(attr) if attr else _not_found("Attribute", code)


async def list_attribute_options(request: Request) -> JSONResponse:
    state = _state(request)
    code = request.path_params["attribute_code"]
    attr = state.catalog.attribute(code)
    if attr is None:
        return _not_found("Attribute", code)
    if attr["type"] not in ("pim_catalog_simpleselect", "pim_catalog_multiselect"):
        return error(404, f'Attribute "{code}" does not support options. Only attributes of type '
                          '"pim_catalog_simpleselect", "pim_catalog_multiselect" support options.')
    items = state.catalog.options.get(attr["code"], [])
    return _simple_list(request, items, f"{API}/attributes/{attr['code']}/options",
                        lambda o: f"{API}/attributes/{attr['code']}/options/{o['code']}")


async def get_attribute_option(request: Request) -> JSONResponse:
    state = _state(request)
    code, option = request.path_params["attribute_code"], request.path_params["code"]
    attr = state.catalog.attribute(code)
    if attr is None:
        return _not_found("Attribute", code)
    found = next((o for o in state.catalog.options.get(attr["code"], []) if o["code"].lower() == option.lower()),
                 None)
    if found is None:
        return error(404, f'Attribute option "{option}" does not exist or is not an option of the attribute '
                          f'"{code}".')
    return JSONResponse(found)


async def list_families(request: Request) -> JSONResponse:
    state = _state(request)
    search = _simple_search(request, {"code": {"IN"}, "has_products": {"="}, "updated": {">"}})
    items = state.catalog.families
    for flt in search.get("code", []):
        wanted = _codes_in(flt.get("value"), "codes")
        items = [f for f in items if f["code"].lower() in wanted]
    return _simple_list(request, items, f"{API}/families", lambda f: f"{API}/families/{f['code']}")


async def get_family(request: Request) -> JSONResponse:
    code = request.path_params["code"]
    fam = _state(request).store.families.get(code.lower())
    return JSONResponse(fam) if fam else _not_found("Family", code)


async def list_family_variants(request: Request) -> JSONResponse:
    state = _state(request)
    code = request.path_params["family_code"]
    fam = state.store.families.get(code.lower())
    if fam is None:
        return _not_found("Family", code)
    items = state.catalog.family_variants.get(fam["code"], [])
    return _simple_list(request, items, f"{API}/families/{fam['code']}/variants",
                        lambda v: f"{API}/families/{fam['code']}/variants/{v['code']}")


async def get_family_variant(request: Request) -> JSONResponse:
    state = _state(request)
    code, variant = request.path_params["family_code"], request.path_params["code"]
    fam = state.store.families.get(code.lower())
    if fam is None:
        return _not_found("Family", code)
    found = next((v for v in state.catalog.family_variants.get(fam["code"], [])
                  if v["code"].lower() == variant.lower()), None)
    return JSONResponse(found) if found else _not_found("Family variant", variant)


async def measurement_families(request: Request) -> JSONResponse:
    return JSONResponse(MEASUREMENT_FAMILIES)


# ---------------------------------------------------------------- media files

def _media_body(request: Request, media) -> dict:
    size = media.path.stat().st_size if media.exists else 0
    return {
        "_links": {"download": {"href": str(request.base_url).rstrip("/")
                                + f"{API}/media-files/{media.code}/download"}},
        "code": media.code,
        "original_filename": media.original_filename,
        "mime_type": media.mime_type,
        "size": size,
        "extension": media.extension,
    }


async def list_media_files(request: Request) -> JSONResponse:
    state = _state(request)
    params = read_params(request, search_after_allowed=False)
    items = sorted(state.catalog.media.values(), key=lambda m: m.code)

    def render(m) -> dict:
        body = _media_body(request, m)
        body["_links"] = {**_href(request, f"{API}/media-files/{m.code}"), **body["_links"]}
        return body

    return JSONResponse(paginate(request, items, params, path=f"{API}/media-files", render=render,
                                 sort_key=lambda m: m.code))


async def get_media_file(request: Request) -> JSONResponse:
    code = request.path_params["code"]
    media = _state(request).catalog.media.get(code)
    if media is None:
        return error(404, f'Media file "{code}" does not exist.')
    return JSONResponse(_media_body(request, media))


async def download_media_file(request: Request):
    code = request.path_params["code"]
    media = _state(request).catalog.media.get(code)
    if media is None or not media.exists:
        return error(404, f'Media file "{code}" does not exist.')
    return FileResponse(media.path, media_type=media.mime_type, filename=media.original_filename,
                        content_disposition_type="attachment")


# ---------------------------------------------------------------- endpoint list

async def endpoints(request: Request) -> JSONResponse:
    base = str(request.base_url).rstrip("/")
    routes: dict[str, dict] = {}
    for name, path in [
        ("pim_api_channel_list", "/channels"), ("pim_api_channel_get", "/channels/{code}"),
        ("pim_api_locale_list", "/locales"), ("pim_api_locale_get", "/locales/{code}"),
        ("pim_api_currency_list", "/currencies"), ("pim_api_currency_get", "/currencies/{code}"),
        ("pim_api_category_list", "/categories"), ("pim_api_category_get", "/categories/{code}"),
        ("pim_api_attribute_list", "/attributes"), ("pim_api_attribute_get", "/attributes/{code}"),
        ("pim_api_attribute_option_list", "/attributes/{attributeCode}/options"),
        ("pim_api_attribute_option_get", "/attributes/{attributeCode}/options/{code}"),
        ("pim_api_family_list", "/families"), ("pim_api_family_get", "/families/{code}"),
        ("pim_api_family_variant_list", "/families/{familyCode}/variants"),
        ("pim_api_family_variant_get", "/families/{familyCode}/variants/{code}"),
        ("pim_api_product_list", "/products"), ("pim_api_product_get", "/products/{code}"),
        ("pim_api_product_uuid_list", "/products-uuid"), ("pim_api_product_uuid_get", "/products-uuid/{uuid}"),
        ("pim_api_product_model_list", "/product-models"), ("pim_api_product_model_get", "/product-models/{code}"),
        ("pim_api_media_file_list", "/media-files"), ("pim_api_media_file_get", "/media-files/{code}"),
        ("pim_api_media_file_download", "/media-files/{code}/download"),
        ("pim_api_measurement_family_list", "/measurement-families"),
    ]:
        routes[name] = {"route": API + path, "methods": ["GET"]}
    return JSONResponse({
        "host": base,
        "authentication": {"fos_oauth_server_token": {"route": "/api/oauth/v1/token", "methods": ["POST"]}},
        "routes": routes,
    })

