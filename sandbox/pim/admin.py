"""Sandbox-only control routes under `/sandbox/` (no OAuth): users, sessions, faults, catalog edits, webhooks."""

from __future__ import annotations

import copy
import html
import json
from typing import Any

from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from .. import strictjson
from . import api
from .search import _php_type
from .state import PimState, Webhook
from .values import ValueError422, check_value
from .webhooks import deliver


def _state(request: Request) -> PimState:
    return request.app.state.pim


def _fail(status: int, message: str) -> JSONResponse:
    return JSONResponse({"code": status, "message": message}, status_code=status)


async def _json(request: Request) -> dict:
    try:
        body = strictjson.loads(await request.body() or b"{}")
    except ValueError:
        raise _BadBody("Invalid json message received") from None
    if not isinstance(body, dict):
        raise _BadBody("Expected a JSON object")
    return body


class _BadBody(Exception):
    pass


def _handler(fn):
    async def endpoint(request: Request) -> Response:
        try:
            return await fn(request)
        except _BadBody as exc:
            return _fail(400, str(exc))
        except _Invalid as exc:
            return _fail(422, str(exc))

    return endpoint


class _Invalid(Exception):
    pass


def _notify(request: Request, changes: list[dict], body: Any, status: int = 200) -> JSONResponse:
    source = str(request.base_url).rstrip("/")
    state = _state(request)
    task = BackgroundTask(deliver, state, source, changes) if state.webhooks or state.listeners else None
    return JSONResponse(body, status_code=status, background=task)


# ---------------------------------------------------------------- users, connections, sessions, faults

def _strings(body: dict, *names: str) -> None:
    """Each of `names` must be a non-empty string."""
    missing = [n for n in names if not isinstance(body.get(n), str) or not body[n]]
    if missing:
        raise _Invalid(f'{" and ".join(names)} are required, as non-empty strings ({", ".join(missing)})')


async def add_user(request: Request) -> Response:
    body = await _json(request)
    _strings(body, "username", "password")
    if body.get("permissions", "all") not in ("all", "none"):
        raise _Invalid('permissions must be "all" or "none"')
    if not isinstance(body.get("manage_extensions", True), bool):
        raise _Invalid("manage_extensions must be true or false")
    try:
        user = _state(request).add_user(body["username"], body["password"], body.get("permissions", "all"))
    except ValueError as exc:
        raise _Invalid(str(exc)) from None
    user.manage_extensions = body.get("manage_extensions", True)
    return JSONResponse({"id": user.id, "username": user.username, "permissions": user.permissions,
                         "manage_extensions": user.manage_extensions}, 201)


async def add_connection(request: Request) -> Response:
    body = await _json(request)
    _strings(body, "client_id", "secret")
    _state(request).add_connection(body["client_id"], body["secret"])
    return JSONResponse({"client_id": body["client_id"]}, 201)


async def open_session(request: Request) -> Response:
    body = await _json(request)
    try:
        cookie = _state(request).open_session(str(body.get("username", "")))
    except KeyError:
        raise _Invalid(f'unknown user "{body.get("username")}"') from None
    return JSONResponse({"cookie": cookie}, 201)


async def close_session(request: Request) -> Response:
    cookie = request.path_params.get("cookie") or str((await _json(request)).get("cookie", ""))
    found = _state(request).close_session(cookie)
    return Response(status_code=204) if found else _fail(404, "no such session")


async def set_faults(request: Request) -> Response:
    body = await _json(request)
    error_rate, latency = body.get("error_rate", 0.0), body.get("latency", 0.0)
    statuses = body.get("statuses", [500, 502, 503])
    if not _number(error_rate) or not 0 <= error_rate <= 1:
        raise _Invalid("error_rate must be a number within 0..1")
    if not _number(latency) or not 0 <= latency <= 60:
        raise _Invalid("latency must be a number of seconds within 0..60")
    if not isinstance(statuses, list) or not statuses or \
            not all(isinstance(x, int) and not isinstance(x, bool) and 400 <= x <= 599 for x in statuses):
        raise _Invalid("statuses must be a non-empty list of HTTP error statuses (400..599)")
    _state(request).set_faults(error_rate, latency, tuple(statuses))
    faults = _state(request).faults
    return JSONResponse({"error_rate": faults.error_rate, "latency": faults.latency,
                         "statuses": list(faults.statuses)})


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


async def request_counts(request: Request) -> Response:
    state = _state(request)
    throttle = request.app.state.throttle
    if request.method == "DELETE":
        state.request_counts.clear()
        throttle.throttled = 0
        return Response(status_code=204)
    return JSONResponse({"counts": dict(state.request_counts), "total": sum(state.request_counts.values()),
                         "throttled": throttle.throttled})


async def add_webhook(request: Request) -> Response:
    body = await _json(request)
    fmt = body.get("format", "event_platform")
    url, secondary = body.get("url"), body.get("secondary_secret")
    if not isinstance(url, str) or not url.startswith(("http://", "https://")) or \
            not isinstance(body.get("secret"), str) or not body["secret"] or \
            fmt not in ("event_platform", "events_api") or not (secondary is None or isinstance(secondary, str)):
        raise _Invalid('url (http or https), secret and format ("event_platform" or "events_api") are required')
    _state(request).webhooks.append(Webhook(body["url"], body["secret"], fmt, body.get("secondary_secret")))
    return JSONResponse({"url": body["url"], "format": fmt}, 201)


async def webhook_deliveries(request: Request) -> Response:
    state = _state(request)
    if request.method == "DELETE":
        state.deliveries.clear()
        return Response(status_code=204)
    return JSONResponse({"deliveries": list(state.deliveries)})


# ---------------------------------------------------------------- catalog edits

def _apply_values(state: PimState, entity: dict, values: Any) -> None:
    if not isinstance(values, dict):
        raise _Invalid('Property "values" expects an array as data.')
    for code, items in values.items():
        attr = state.catalog.attribute(code)
        if attr is None:
            raise _Invalid(f'Attribute "{code}" does not exist.')
        if not isinstance(items, list):
            raise _Invalid(f'Property "{code}" expects an array of values.')
        current = entity["values"].setdefault(attr["code"], [])
        for item in items:
            if not isinstance(item, dict) or "data" not in item:
                raise _Invalid(f'Property "{code}" expects {{"locale", "scope", "data"}} items.')
            locale, scope = item.get("locale"), item.get("scope")
            if not all(x is None or isinstance(x, str) for x in (locale, scope)):
                raise _Invalid(f'Attribute "{code}" expects a locale and a scope that are strings or null.')
            if bool(locale) != attr["localizable"] or bool(scope) != attr["scopable"]:
                raise _Invalid(f'Attribute "{code}" expects locale/scope matching its localizable/scopable flags.')
            try:
                check_value(state.catalog, attr, item["data"])
            except ValueError422 as exc:
                raise _Invalid(str(exc)) from None
            current[:] = [v for v in current if (v["locale"], v["scope"]) != (locale, scope)]
            if item["data"] not in (None, "", []):
                current.append({"locale": locale, "scope": scope, "data": item["data"]})
        if not current:
            del entity["values"][attr["code"]]


def _apply_common(state: PimState, entity: dict, body: dict) -> None:
    store = state.store
    if "categories" in body:
        cats = body["categories"]
        if not isinstance(cats, list) or any(not isinstance(c, str) or c.lower() not in store.categories
                                             for c in cats):
            raise _Invalid(f'Property "categories" expects existing category codes, {json.dumps(cats)} given.')
        entity["categories"] = list(cats)
    if "values" in body:
        _apply_values(state, entity, body["values"])


def _apply_product(state: PimState, product: dict, body: dict) -> None:
    store = state.store
    if "enabled" in body:
        if not isinstance(body["enabled"], bool):
            raise _Invalid('Property "enabled" expects a boolean as data.')
        product["enabled"] = body["enabled"]
    if "family" in body:
        if body["family"] is not None and (not isinstance(body["family"], str)
                                           or body["family"].lower() not in store.families):
            raise _Invalid(f'Property "family" expects a valid family code. The family does not exist, '
                           f'"{body["family"]}" given.')
        product["family"] = store.families[body["family"].lower()]["code"] if body["family"] else None
    if "parent" in body:
        if body["parent"] is not None and not isinstance(body["parent"], str):
            raise _Invalid(f'Property "parent" expects a string as data, "{_php_type(body["parent"])}" given.')
        if body["parent"] is not None and store.model(body["parent"]) is None:
            raise _Invalid(f'Property "parent" expects a valid parent code. The parent product model does not '
                           f'exist, "{body["parent"]}" given.')
        product["parent"] = body["parent"]
        if body["parent"]:
            product["family"] = store.model(body["parent"])["family"]
    _apply_common(state, product, body)


def _unique_axes(state: PimState, product: dict) -> None:
    """Akeneo's UniqueVariantAxis constraint: siblings (variant products of one parent) never share the
    values of their level's axes. Akeneo answers 422 "Cannot set value "[red],[l]" for the attribute axis
    "color,size" on product "X", as the product "Y" already has this value" (pim-community-dev,
    Pim/Component/Catalog/Validator/Constraints/UniqueVariantAxisValidator)."""
    store = state.store
    parent = store.model(product.get("parent"))
    if parent is None:
        return
    ancestors = store.ancestors(product)
    variant = store.variants.get(ancestors[-1]["family_variant"].lower())
    if variant is None:
        return
    axes = variant["variant_attribute_sets"][-1]["axes"]

    def combination(entity: dict) -> tuple:
        values = store.merged_values(entity)
        return tuple(str((values.get(axis) or [{}])[0].get("data", "")).lower() for axis in axes)

    mine = combination(product)
    for other in store.products.values():
        if (other["uuid"] != product["uuid"] and str(other.get("parent") or "").lower() == parent["code"].lower()
                and combination(other) == mine):
            shown = ",".join(f"[{v}]" for v in mine)
            raise _Invalid(f'Cannot set value "{shown}" for the attribute axis "{",".join(axes)}" on product '
                           f'"{product["identifier"]}", as the product "{other["identifier"]}" already has this value')


def _product_resource(request: Request, product: dict) -> dict:
    return api.render_product(_state(request), product, by_uuid=False)


def _product_change(request: Request, product: dict, action: str) -> dict:
    change = {"kind": "product", "action": action, "uuid": product["uuid"], "identifier": product["identifier"]}
    if action != "deleted":
        change["resource"] = _product_resource(request, product)
    return change


async def create_product(request: Request) -> Response:
    state = _state(request)
    store = state.store
    body = await _json(request)
    identifier = body.get("identifier")
    if not isinstance(identifier, str) or not identifier.strip():
        raise _Invalid('Property "identifier" is required.')
    if store.product(identifier) is not None:
        raise _Invalid(f'The {identifier} identifier is already used for another product.')
    now = state.now_dt()
    product = {"uuid": store.new_uuid(identifier), "identifier": identifier, "enabled": True, "family": None,
               "categories": [], "groups": [], "parent": None,
               "values": {"sku": [{"locale": None, "scope": None, "data": identifier}]},
               "associations": {t: {"groups": [], "products": [], "product_models": []}
                                for t in state.catalog.association_types},
               "created": now, "updated": now}
    _apply_product(state, product, body)
    _unique_axes(state, product)
    store.products[identifier.lower()] = product
    store.by_uuid[product["uuid"]] = product
    return _notify(request, [_product_change(request, product, "created")],
                   _product_resource(request, product), 201)


async def patch_product(request: Request) -> Response:
    state = _state(request)
    identifier = request.path_params["identifier"]
    product = state.store.product(identifier)
    if product is None:
        return _fail(404, f'Product "{identifier}" does not exist.')
    body = await _json(request)
    candidate = copy.deepcopy(product)  # a refused change leaves the product as it was
    _apply_product(state, candidate, body)
    _unique_axes(state, candidate)
    product.update(candidate)
    product["updated"] = state.now_dt()
    return _notify(request, [_product_change(request, product, "updated")], _product_resource(request, product))


async def delete_product(request: Request) -> Response:
    state = _state(request)
    identifier = request.path_params["identifier"]
    product = state.store.product(identifier)
    if product is None:
        return _fail(404, f'Product "{identifier}" does not exist.')
    del state.store.products[product["identifier"].lower()]
    del state.store.by_uuid[product["uuid"]]
    return _notify(request, [_product_change(request, product, "deleted")], {"deleted": product["identifier"]})


def _model_change(request: Request, model: dict, action: str) -> dict:
    change = {"kind": "product_model", "action": action, "code": model["code"]}
    if action != "deleted":
        change["resource"] = api.render_model(_state(request), model)
    return change


async def create_model(request: Request) -> Response:
    state = _state(request)
    store = state.store
    body = await _json(request)
    code, variant_code, parent = body.get("code"), body.get("family_variant"), body.get("parent")
    if not isinstance(code, str) or not code.strip():
        raise _Invalid('Property "code" is required.')
    for name, value in (("family_variant", variant_code), ("parent", parent)):
        if value is not None and not isinstance(value, str):
            raise _Invalid(f'Property "{name}" expects a string as data, "{_php_type(value)}" given.')
    if store.model(code) is not None:
        raise _Invalid(f'The same identifier is already set on another product model: "{code}".')
    parent_model = store.model(parent) if parent else None
    if parent and parent_model is None:
        raise _Invalid(f'The product model "{parent}" does not exist.')
    if parent_model is not None:
        variant_code = parent_model["family_variant"]
    variant = store.variants.get(str(variant_code or "").lower())
    if variant is None:
        raise _Invalid(f'Property "family_variant" expects a valid family variant code, "{variant_code}" given.')
    now = state.now_dt()
    model = {"code": code, "family": store._variant_family(variant), "family_variant": variant["code"],
             "parent": parent, "categories": [], "values": {}, "created": now, "updated": now}
    _apply_common(state, model, body)
    store.models[code.lower()] = model
    return _notify(request, [_model_change(request, model, "created")], api.render_model(state, model), 201)


async def patch_model(request: Request) -> Response:
    state = _state(request)
    code = request.path_params["code"]
    model = state.store.model(code)
    if model is None:
        return _fail(404, f'Product model "{code}" does not exist.')
    body = await _json(request)
    candidate = copy.deepcopy(model)
    _apply_common(state, candidate, body)
    model.update(candidate)
    model["updated"] = state.now_dt()
    return _notify(request, [_model_change(request, model, "updated")], api.render_model(state, model))


async def delete_model(request: Request) -> Response:
    state = _state(request)
    store = state.store
    code = request.path_params["code"]
    model = store.model(code)
    if model is None:
        return _fail(404, f'Product model "{code}" does not exist.')
    # as in Akeneo, removing a model removes its sub-models and variant products
    doomed_models = [m for m in store.models.values() if m is model or model in store.ancestors(m)]
    doomed_products = [p for p in store.products.values() if any(m in doomed_models for m in store.ancestors(p))]
    changes = [_product_change(request, p, "deleted") for p in doomed_products]
    changes += [_model_change(request, m, "deleted") for m in reversed(doomed_models)]
    for p in doomed_products:
        del store.products[p["identifier"].lower()]
        del store.by_uuid[p["uuid"]]
    for m in doomed_models:
        del store.models[m["code"].lower()]
    return _notify(request, changes, {"deleted": [m["code"] for m in doomed_models],
                                      "deleted_products": [p["identifier"] for p in doomed_products]})


# ---------------------------------------------------------------- categories

def _own_categories(state: PimState) -> None:
    """The fixture catalog is cached and shared by every sandbox of the process: copy the category list
    before the first edit so one test's edits never leak into another's PIM."""
    if state.categories_owned:
        return
    state.catalog = copy.copy(state.catalog)
    state.catalog.categories = [dict(c, labels=dict(c["labels"])) for c in state.catalog.categories]
    state.store.catalog = state.catalog
    state.store.categories = {c["code"].lower(): c for c in state.catalog.categories}
    state.categories_owned = True


def _reorder_categories(state: PimState) -> None:
    """Depth-first order with 1-based sibling positions, as the API lists them."""
    children: dict[str, list[dict]] = {}
    for cat in state.catalog.categories:
        children.setdefault((cat["parent"] or "").lower(), []).append(cat)
    ordered: list[dict] = []

    def walk(parent: str, depth: int) -> None:
        kids = sorted(children.get(parent, []), key=lambda c: c["position"])
        for position, cat in enumerate(kids, start=1):
            cat["position"], cat["depth"] = position, depth
            ordered.append(cat)
            walk(cat["code"].lower(), depth + 1)

    walk("", 0)
    state.catalog.categories = ordered


def _category_labels(cat: dict, labels: Any) -> None:
    if not isinstance(labels, dict) or not all(isinstance(k, str) and (v is None or isinstance(v, str))
                                               for k, v in labels.items()):
        raise _Invalid('Property "labels" expects an object of locale codes to strings or null.')
    for locale, label in labels.items():
        if label in (None, ""):
            cat["labels"].pop(locale, None)
        else:
            cat["labels"][locale] = label


def _category_place(state: PimState, cat: dict, body: dict, siblings_of_new_parent: bool) -> None:
    """Parent and position from the body; a new position puts the category before that sibling."""
    store = state.store
    if "parent" in body:
        parent = body["parent"]
        if parent is not None and (not isinstance(parent, str) or parent.lower() not in store.categories):
            raise _Invalid(f'Property "parent" expects a valid category code, {json.dumps(parent)} given.')
        if parent is not None and parent.lower() in store.category_descendants(cat["code"]):
            raise _Invalid("A category cannot be moved under itself or one of its children.")
        cat["parent"] = store.categories[parent.lower()]["code"] if parent else None
    position = body.get("position")
    if position is not None and (not isinstance(position, int) or isinstance(position, bool) or position < 1):
        raise _Invalid('Property "position" expects a positive integer.')
    siblings = sorted((c for c in state.catalog.categories
                       if (c["parent"] or "").lower() == (cat["parent"] or "").lower()
                       and c["code"].lower() != cat["code"].lower()), key=lambda c: c["position"])
    if position is None and not siblings_of_new_parent:
        return
    for number, sibling in enumerate(siblings, start=1):
        sibling["position"] = number
    # at `position` among its siblings (0.5 sorts it ahead of the one there), or last
    cat["position"] = (position - 0.5) if position is not None else len(siblings) + 1


async def create_category(request: Request) -> Response:
    state = _state(request)
    body = await _json(request)
    code = body.get("code")
    if not isinstance(code, str) or not code.strip():
        raise _Invalid('Property "code" is required.')
    if body.get("parent") is None:
        raise _Invalid('Property "parent" is required (the sandbox does not create category trees).')
    _own_categories(state)
    if code.lower() in state.store.categories:
        raise _Invalid(f'The category code "{code}" is already used.')
    cat = {"code": code, "parent": None, "labels": {}, "position": 0, "depth": 0, "updated": state.now_dt()}
    _category_labels(cat, body.get("labels", {}))
    _category_place(state, cat, body, siblings_of_new_parent=True)
    state.catalog.categories.append(cat)
    state.store.categories[code.lower()] = cat
    _reorder_categories(state)
    return _notify(request, [{"kind": "category", "action": "created", "code": cat["code"]}],
                   api.category_resource(state, cat), 201)


async def patch_category(request: Request) -> Response:
    state = _state(request)
    code = request.path_params["code"]
    if code.lower() not in state.store.categories:
        return _fail(404, f'Category "{code}" does not exist.')
    body = await _json(request)
    _own_categories(state)
    cat = state.store.categories[code.lower()]
    if cat["parent"] is None and body.get("parent") is not None:
        raise _Invalid("A category tree cannot be moved under another category.")
    candidate = dict(cat, labels=dict(cat["labels"]))
    _category_labels(candidate, body.get("labels", {}))
    moved = "parent" in body and (body["parent"] or "").lower() != (cat["parent"] or "").lower()
    _category_place(state, candidate, body, siblings_of_new_parent=moved)
    cat.update(candidate)
    cat["updated"] = state.now_dt()
    _reorder_categories(state)
    return _notify(request, [{"kind": "category", "action": "updated", "code": cat["code"]}],
                   api.category_resource(state, cat))


async def delete_category(request: Request) -> Response:
    """Removes the category and its children, and unclassifies products and models from them."""
    state = _state(request)
    code = request.path_params["code"]
    if code.lower() not in state.store.categories:
        return _fail(404, f'Category "{code}" does not exist.')
    _own_categories(state)
    doomed = state.store.category_descendants(code)
    state.catalog.categories = [c for c in state.catalog.categories if c["code"].lower() not in doomed]
    for lowered in doomed:
        state.store.categories.pop(lowered, None)
    now = state.now_dt()
    for entity in [*state.store.products.values(), *state.store.models.values()]:
        kept = [c for c in entity["categories"] if c.lower() not in doomed]
        if len(kept) != len(entity["categories"]):
            entity["categories"], entity["updated"] = kept, now
    _reorder_categories(state)
    return _notify(request, [{"kind": "category", "action": "deleted", "code": c} for c in sorted(doomed)],
                   {"deleted": sorted(doomed)})



# ---------------------------------------------------------------- a person's edit form (the demo)

def _edit_page(product: dict, message: str = "") -> HTMLResponse:
    e = html.escape
    values = product.get("values") or {}
    name = next((v["data"] for v in values.get("name", []) if v.get("locale") is None), "")
    prices = next((v["data"] for v in values.get("price", []) if v.get("scope") is None), []) or []
    eur = next((p["amount"] for p in prices if p.get("currency") == "EUR"), "")
    checked = " checked" if product.get("enabled", True) else ""
    page = (f"<!doctype html><html><head><meta charset='utf-8'><title>Edit {e(product['identifier'])}</title>"
            "<style>body{font-family:system-ui,sans-serif;max-width:520px;margin:40px auto}"
            "label{display:block;margin:12px 0 4px}input[type=text]{width:100%;padding:6px}"
            "button{margin-top:16px;padding:8px 16px}.ok{color:#166534}</style></head><body>"
            f"<h1>Product {e(product['identifier'])}</h1><p class='ok'>{e(message)}</p>"
            "<form method='post'><label for='name'>Name</label>"
            f"<input type='text' id='name' name='name' value='{e(str(name))}'>"
            "<label for='price'>Price (EUR)</label>"
            f"<input type='text' id='price' name='price' value='{e(str(eur))}'>"
            f"<label><input type='checkbox' name='enabled' value='1'{checked}> Enabled</label>"
            "<button type='submit'>Save</button></form></body></html>")
    return HTMLResponse(page)


async def edit_product_form(request: Request) -> Response:
    """GET: a form for a product's name, EUR price and enabled flag; POST: saves them as a PATCH would
    (same validation, same change event), so a person can change the PIM and watch the store follow."""
    state = _state(request)
    identifier = request.path_params["identifier"]
    product = state.store.product(identifier)
    if product is None:
        return HTMLResponse(f"<h1>No product {html.escape(identifier)}</h1>", status_code=404)
    if request.method == "GET":
        return _edit_page(product)
    form = await request.form()
    values: dict[str, list] = {"name": [{"locale": None, "scope": None, "data": str(form.get("name", ""))}]}
    price = str(form.get("price", "")).strip()
    if price:
        values["price"] = [{"locale": None, "scope": None, "data": [{"amount": price, "currency": "EUR"}]}]
    candidate = copy.deepcopy(product)
    try:
        _apply_product(state, candidate, {"values": values, "enabled": form.get("enabled") == "1"})
    except (_Invalid, _BadBody) as exc:
        return HTMLResponse(f"<h1>Not saved</h1><p>{html.escape(str(exc))}</p>", status_code=422)
    product.update(candidate)
    product["updated"] = state.now_dt()
    source = str(request.base_url).rstrip("/")
    task = BackgroundTask(deliver, state, source, [_product_change(request, product, "updated")]) \
        if state.webhooks or state.listeners else None
    response = _edit_page(product, "Saved: the connector has been told.")
    response.background = task
    return response


ROUTES = [
    Route("/sandbox/users", _handler(add_user), methods=["POST"]),
    Route("/sandbox/connections", _handler(add_connection), methods=["POST"]),
    Route("/sandbox/sessions", _handler(open_session), methods=["POST"]),
    Route("/sandbox/sessions", _handler(close_session), methods=["DELETE"]),
    Route("/sandbox/sessions/{cookie}", _handler(close_session), methods=["DELETE"]),
    Route("/sandbox/faults", _handler(set_faults), methods=["PUT"]),
    Route("/sandbox/requests", _handler(request_counts), methods=["GET", "DELETE"]),
    Route("/sandbox/webhooks", _handler(add_webhook), methods=["POST"]),
    Route("/sandbox/webhooks/deliveries", _handler(webhook_deliveries), methods=["GET", "DELETE"]),
    Route("/sandbox/products", _handler(create_product), methods=["POST"]),
    Route("/sandbox/products/{identifier}", _handler(patch_product), methods=["PATCH"]),
    Route("/sandbox/products/{identifier}/edit", edit_product_form, methods=["GET", "POST"]),
    Route("/sandbox/products/{identifier}", _handler(delete_product), methods=["DELETE"]),
    Route("/sandbox/product-models", _handler(create_model), methods=["POST"]),
    Route("/sandbox/product-models/{code}", _handler(patch_model), methods=["PATCH"]),
    Route("/sandbox/product-models/{code}", _handler(delete_model), methods=["DELETE"]),
    Route("/sandbox/categories", _handler(create_category), methods=["POST"]),
    Route("/sandbox/categories/{code}", _handler(patch_category), methods=["PATCH"]),
    Route("/sandbox/categories/{code}", _handler(delete_category), methods=["DELETE"]),
]

