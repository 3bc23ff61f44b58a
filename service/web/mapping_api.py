"""The mapping JSON API (`/api/mapping`, `/api/mapping/preview`): parse, call service.mapping_service, answer."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from service import mapping_service
from service.web.body import api_json
from service.web.guard import current_session

# The document GET returns carries every field's compatible attributes: a PIM with hundreds of attributes
# makes it large, and PUT takes it back whole.
MAX_BODY = 16 * 1024 * 1024


async def _json_body(request: Request) -> Any:
    """The JSON body, read as a stream that stops at MAX_BODY (413); 422 when it is not JSON."""
    return await api_json(request, MAX_BODY, f"{MAX_BODY // (1024 * 1024)} MB")


def _who(request: Request) -> str | None:
    user = current_session(request).user or {}
    found = user.get("email") or user.get("username") or user.get("id")
    return str(found) if found is not None else None


async def get_mapping(request: Request) -> JSONResponse:
    """
    summary: "The attribute mapping document: each BigCommerce field, the PIM attributes it can take, the
      current choice and the suggestion (on a new tenant the suggested defaults, in force until changed)."
    description: "`?refresh=1` reads the PIM's attributes again instead of the few minutes' cache."
    parameters:
      - {name: refresh, in: query, required: false, schema: {type: string}}
    responses:
      200: {description: "{version, locale, fields: [{field, label, level, help, accepts, multiple, max_items,
        value, suggested, attributes: [{code, label, type}]}], families, suggested_families, family_list,
        saved, connections}", content: {application/json: {schema: {$ref: '#/components/schemas/MappingDocument'}}}}
      409: {description: pim_not_connected}
      502: {description: the PIM failed}
    """
    refresh = request.query_params.get("refresh", "") in ("1", "true")
    document = await mapping_service.get_document(request.app.state.store, current_session(request).tenant,
                                                  request.app.state.settings, refresh=refresh)
    return JSONResponse(document)


async def put_mapping(request: Request) -> JSONResponse:
    """
    summary: "Save the mapping document GET returned, edited (or `{fields: {field: code}, families}`)."
    description: "Every field is checked against the PIM's attributes before anything is saved; a saved
      change bumps the version, which every product's change-detection hash includes, so the next import
      re-evaluates every product."
    requestBody: {required: true, content: {application/json: {schema: {$ref: '#/components/schemas/MappingForm'}}}}
    responses:
      200: {description: "{saved, version, changed, mapping: <the document GET returns>}",
        content: {application/json: {schema: {$ref: '#/components/schemas/MappingSaved'}}}}
      409: {description: "pim_not_connected, bigcommerce_not_connected, or mapping_changed (the body's version
        is not the current one)"}
      413: {description: body larger than 16 MB}
      422: {description: "invalid: {fields: {field: message naming the accepted types}}; nothing saved"}
      502: {description: the PIM failed}
    """
    body = await _json_body(request)
    result = await mapping_service.save_document(request.app.state.store, current_session(request).tenant,
                                                 request.app.state.settings, body, by=_who(request))
    return JSONResponse(result)


async def preview_mapping(request: Request) -> JSONResponse:
    """
    summary: The BigCommerce payload the import would send for one product or product model.
    description: 'Body `{"identifier": ...}` or `{"model": ...}`, optionally `"mapping"`: an edited
      document to preview before saving it. The same Context and build function as the import.'
    requestBody: {required: true, content: {application/json: {schema: {$ref: '#/components/schemas/PreviewForm'}}}}
    responses:
      200: {description: "{payload, warnings, errors, sku, key, content_hash, media, mapping_version, notes}",
        content: {application/json: {schema: {$ref: '#/components/schemas/Preview'}}}}
      404: {description: no such product or product model in the PIM}
      409: {description: "pim_not_connected, bigcommerce_not_connected or main_not_configured"}
      413: {description: body larger than 16 MB}
      422: {description: "neither or both of identifier and model, or an invalid mapping"}
      502: {description: the PIM or BigCommerce failed}
    """
    body = await _json_body(request)
    result = await mapping_service.preview(request.app.state.store, current_session(request).tenant,
                                           request.app.state.settings, body)
    return JSONResponse(result)


routes: list[Route] = [
    Route("/api/mapping", get_mapping, methods=["GET"]),
    Route("/api/mapping", put_mapping, methods=["PUT"]),
    Route("/api/mapping/preview", preview_mapping, methods=["POST"]),
]
