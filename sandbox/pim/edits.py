"""Merchant edits the other admin routes lack: attribute and option labels, an identifier rename.

Akeneo sends no product event for a label change (attributes and options are not products) and does not
move the products' `updated`; renaming an identifier is a product update (the uuid stays, `updated`
moves, a `product.updated` event names the uuid). Sources: Akeneo REST API reference, "Patch an
attribute", "Patch an attribute option", "Patch a product (uuid)"; Event Platform event list (no
attribute events are sent to product subscribers)."""

from __future__ import annotations

import copy

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from . import admin, api
from .state import PimState


def _own_schema(state: PimState) -> None:
    """The fixture catalog is cached and shared by every sandbox of the process: copy the attributes and
    options before the first edit so one sandbox's label edits never leak into another's."""
    if state.schema_owned:
        return
    state.catalog = copy.copy(state.catalog)
    state.catalog.attributes = [dict(a, labels=dict(a["labels"])) for a in state.catalog.attributes]
    state.catalog.options = {code: [dict(o, labels=dict(o["labels"])) for o in opts]
                             for code, opts in state.catalog.options.items()}
    state.catalog.index()
    state.store.catalog = state.catalog
    state.schema_owned = True


def _labels(target: dict, labels: object) -> None:
    """Akeneo's PATCH semantics for `labels`: each locale given is set, `null` (or "") removes it."""
    if not isinstance(labels, dict) or not all(isinstance(k, str) and (v is None or isinstance(v, str))
                                               for k, v in labels.items()):
        raise admin._Invalid('Property "labels" expects an array of {locale: label} (strings or null).')
    for locale, label in labels.items():
        if label:
            target["labels"][locale] = label
        else:
            target["labels"].pop(locale, None)


async def patch_attribute(request: Request) -> Response:
    state = admin._state(request)
    code = request.path_params["code"]
    if state.catalog.attribute(code) is None:
        return admin._fail(404, f'Attribute "{code}" does not exist.')
    body = await admin._json(request)
    _own_schema(state)
    attr = state.catalog.attribute(code)
    if "labels" in body:
        candidate = {"labels": dict(attr["labels"])}
        _labels(candidate, body["labels"])
        attr["labels"] = candidate["labels"]
    return JSONResponse({k: v for k, v in attr.items() if k != "group_labels"})


async def patch_option(request: Request) -> Response:
    state = admin._state(request)
    code, option = request.path_params["code"], request.path_params["option"]
    attr = state.catalog.attribute(code)
    found = attr and next((o for o in state.catalog.options.get(attr["code"], [])
                           if o["code"].lower() == option.lower()), None)
    if not found:
        return admin._fail(404, f'Attribute option "{option}" of attribute "{code}" does not exist.')
    body = await admin._json(request)
    _own_schema(state)
    found = next(o for o in state.catalog.options[attr["code"]] if o["code"].lower() == option.lower())
    if "labels" in body:
        candidate = {"labels": dict(found["labels"])}
        _labels(candidate, body["labels"])
        found["labels"] = candidate["labels"]
    return JSONResponse(found)


async def rename_product(request: Request) -> Response:
    """`{"identifier": "NEW"}`: the product keeps its uuid; its identifier value follows."""
    state = admin._state(request)
    store = state.store
    identifier = request.path_params["identifier"]
    product = store.product(identifier)
    if product is None:
        return admin._fail(404, f'Product "{identifier}" does not exist.')
    body = await admin._json(request)
    new = body.get("identifier")
    if not isinstance(new, str) or not new.strip():
        raise admin._Invalid('Property "identifier" expects a non-empty string.')
    other = store.product(new)
    if other is not None and other is not product:
        raise admin._Invalid(f"The {new} identifier is already used for another product.")
    ident_attr = next(a["code"] for a in state.catalog.attributes if a["type"] == "pim_catalog_identifier")
    del store.products[product["identifier"].lower()]
    product["identifier"] = new
    product["values"][ident_attr] = [{"locale": None, "scope": None, "data": new}]
    product["updated"] = state.now_dt()
    store.products[new.lower()] = product
    return admin._notify(request, [admin._product_change(request, product, "updated")],
                         api.render_product(state, product, by_uuid=False))


ROUTES = [
    Route("/sandbox/attributes/{code}", admin._handler(patch_attribute), methods=["PATCH"]),
    Route("/sandbox/attributes/{code}/options/{option}", admin._handler(patch_option), methods=["PATCH"]),
    Route("/sandbox/products/{identifier}/rename", admin._handler(rename_product), methods=["POST"]),
]
