"""The connector inside the PIM (UI extensions): the iframe pages, the grid action, and the JSON routes of
the configuration block and the product tab. Policy lives in service/embed/.

- `GET /embed/{tenant}/{kind}` (kind page | product | model): the page the PIM's iframe opens. Its
  script asks the parent (the tenant's PIM origin) for a JWT (`request_jwt` → `JWT_TOKEN`) and posts it
  to the same URL.
- `POST /embed/{tenant}/{kind}` (form field `token`): the JWT is verified (that extension's secret, exp,
  jti once), a cookieless session (via `pim_extension`, Bearer token in the page) bound to the extension's
  PIM is issued for the tenant, and the page is served: the whole configuration page, or the item's status
  page.
- `POST /embed/{tenant}/action`: the grid action ("Send to BigCommerce"), signed by the PIM.
- `/api/embed…`: behind ApiGuard (session, tenant, CSRF).
"""

from __future__ import annotations

import asyncio
import json
import logging
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from service.connections import readiness
from service.embed import extensions, status, tokens
from service.embed import sync as embed_sync
from service.events.policy import RETRY_AFTER
from service.store import embed as embed_store
from service.store.limits import CapReached
from service.web import pages
from service.web.body import read_capped
from service.web.errors import ApiError
from service.web.frames import tenant_pim_origin
from service.web.guard import current_session
from service.web.templating import message_page, templates

log = logging.getLogger("connector.embed")

MAX_FORM = 16 * 1024
MAX_ACTION = 512 * 1024  # 500 uuids and codes with the rest of the PIM's body
MAX_SYNC = 4096  # {"product": uuid} or {"model": code}
VIA = "pim_extension"


def _kind(request: Request) -> str | None:
    kind = request.path_params["kind"]
    return kind if kind in extensions.IFRAMES else None


def _context(request: Request) -> dict[str, str]:
    """The PIM's context parameters (never trusted for access: they only say which item to show)."""
    q = request.query_params
    return {"uuid": q.get("product[uuid]") or q.get("product_uuid") or "",
            "code": q.get("product[code]") or q.get("product_model[code]") or "",
            "identifier": q.get("product[identifier]") or "", "locale": q.get("user[catalog_locale]") or ""}


async def frame(request: Request) -> Response:
    tenant, kind = request.path_params["tenant"], _kind(request)
    store = request.app.state.store
    if kind is None or not await asyncio.to_thread(store.tenant_exists, tenant):
        return message_page(request, 404, "Not found", "This page of the connector does not exist.",
                            hint="Add the connector to the PIM again from its configuration page.")
    origin = await asyncio.to_thread(tenant_pim_origin, store, tenant)
    action = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    response = templates.TemplateResponse(request, "embed_frame.html",
                                          {"origin": origin, "action": action, "kind": kind})
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


async def open_frame(request: Request) -> Response:
    tenant, kind = request.path_params["tenant"], _kind(request)
    app = request.app.state
    raw = await read_capped(request, MAX_FORM)
    token = (parse_qs(raw.decode("utf-8", "replace")).get("token") or [""])[0] if raw is not None else ""
    if kind is None:
        return message_page(request, 404, "Not found", "This page of the connector does not exist.")
    try:
        claims, pim_url = await asyncio.to_thread(tokens.verify_jwt, app.store, tenant, kind, token)
        session_token, session = await asyncio.to_thread(_session, app.sessions, tenant, claims, pim_url)
    except CapReached as exc:  # a flood of genuine tokens: the tenant's guard is full for now
        response = message_page(request, 429, "Too many attempts", "The connector was opened too often in the "
                                "last hour.", hint=f"Try again in {exc.retry_after} seconds.")
        response.headers["Retry-After"] = str(exc.retry_after)
        return response
    except tokens.Refused as exc:
        log.warning("extension token refused", extra={"tenant": tenant, "kind": kind, "reason": exc.reason})
        return message_page(request, 401, "Cannot open the connector", "The PIM's token did not check out.",
                            hint="Reload the page in the PIM. If it keeps failing, add the connector to the PIM "
                                 "again from the connector's configuration page.")
    if kind == "page":
        response = await pages.config_page(request, session, session_token)
    else:
        context = _context(request)
        response = templates.TemplateResponse(request, "embed_product.html", {
            "session": session, "token": session_token, "kind": kind, "uuid": context["uuid"],
            "code": context["code"], "identifier": context["identifier"]})
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def _session(sessions, tenant: str, claims: dict, pim_url: str):
    """A session bound to the extension's PIM; refused should the tenant have left that PIM since the check."""
    token, session = sessions.issue(tenant, tokens.jwt_user(claims), VIA, pim_url=pim_url)
    if not sessions.current(session):
        sessions.revoke(session)
        raise tokens.Refused("the tenant left the extension's PIM meanwhile")
    return token, session


def _notice(status_code: int, message: str, *, retry_after: int = 0) -> JSONResponse:
    """The PIM shows an action's answer as a notification: a short message, in words."""
    return JSONResponse({"message": message}, status_code=status_code,
                        headers={"Retry-After": str(retry_after)} if retry_after else None)


async def action(request: Request) -> Response:
    tenant = request.path_params["tenant"]
    app = request.app.state
    raw = await read_capped(request, MAX_ACTION)
    if raw is None:
        return _notice(413, "Too much at once: select at most 500 products and models.")
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        body = None
    if not isinstance(body, dict):
        return _notice(400, "The PIM's request could not be read.")
    try:
        await asyncio.to_thread(tokens.verify_action, app.store, tenant, request.headers, raw, body.get("timestamp"))
    except CapReached as exc:
        return _notice(429, "Too many requests from the PIM in the last minutes: try again shortly.",
                       retry_after=exc.retry_after)
    except tokens.Refused as exc:
        log.warning("extension action refused", extra={"tenant": tenant, "reason": exc.reason})
        return _notice(401, "The connector did not accept this request (signature or time). Add the connector "
                            "to the PIM again from its configuration page.")
    data = body.get("data") if isinstance(body.get("data"), dict) else {}
    uuids = data.get("productUuids") if isinstance(data.get("productUuids"), list) else []
    codes = data.get("productModelCodes") if isinstance(data.get("productModelCodes"), list) else []
    if isinstance(data.get("productUuid"), str):
        uuids = [*uuids, data["productUuid"]]
    if isinstance(data.get("productModelCode"), str):
        codes = [*codes, data["productModelCode"]]
    try:
        wanted = embed_sync.items(uuids, codes)
    except embed_sync.BadSelection as exc:
        return _notice(422, f"Nothing was sent: {exc}.")
    if not wanted:
        return _notice(422, "Select products or product models first.")
    if not (await asyncio.to_thread(readiness, app.store, tenant)).ready:
        return _notice(409, "Nothing was sent: finish the connector's configuration first (both connections and "
                            "the main configuration).")
    accepted = await asyncio.to_thread(embed_sync.enqueue, app.redis, tenant, wanted)
    if accepted.over_backlog:
        return _notice(429, "The connector is busy with many changes: try again in a few minutes.",
                       retry_after=RETRY_AFTER)
    products = sum(1 for w in wanted if w.startswith("product:"))
    models = len(wanted) - products
    what = " and ".join(p for p in (f"{products} product{'s' * (products != 1)}" if products else "",
                                    f"{models} product model{'s' * (models != 1)}" if models else "") if p)
    log.info("extension action accepted", extra={"tenant": tenant, "items": len(wanted)})
    return _notice(200, f"Sending {what} to BigCommerce: the store is updated within a minute.")


# -- /api/embed ---------------------------------------------------------------------------------------

async def _public(request: Request, tenant: str, section: dict | None = None) -> JSONResponse:
    store = request.app.state.store
    if section is None:
        section = await asyncio.to_thread(embed_store.section, store, tenant)
    pim = await asyncio.to_thread(store.get_section, tenant, "pim")
    return JSONResponse(extensions.public(section, pim))


async def get_embed(request: Request) -> JSONResponse:
    """
    summary: The connector's UI extensions in the PIM, installed or not, and the last problem.
    responses:
      200: {description: "{installed, pim_connected, extensions: [{kind, type, position, label, installed}], message, hints}"}
    """
    return await _public(request, current_session(request).tenant)


async def install(request: Request) -> JSONResponse:
    """
    summary: Add the connector to the PIM (create or update its four UI extensions).
    responses:
      200: {description: as GET /api/embed}
      403: {description: the PIM connection's user may not manage UI extensions (hints say how)}
      409: {description: the PIM is not connected}
      502: {description: the PIM refused}
    """
    tenant = current_session(request).tenant
    section = await extensions.install(request.app.state.settings, request.app.state.store, tenant)
    return await _public(request, tenant, section)


async def remove(request: Request) -> JSONResponse:
    """
    summary: Remove the connector's UI extensions from the PIM.
    responses:
      200: {description: as GET /api/embed}
      403: {description: the PIM connection's user may not manage UI extensions}
      502: {description: the PIM refused}
    """
    tenant = current_session(request).tenant
    section = await extensions.remove(request.app.state.settings, request.app.state.store, tenant)
    # what the extensions opened ends with them (also this page, when it is the PIM's own tab)
    await asyncio.to_thread(request.app.state.sessions.revoke_via, tenant, VIA)
    return await _public(request, tenant, section)


async def item(request: Request) -> JSONResponse:
    """
    summary: The BigCommerce status of one product (query product = its uuid) or product model (model = its code).
    responses:
      200: {description: "{item, kind, pim, linked, store, last_sync, scope, waiting, store_hash}"}
      404: {description: no such product or model in the PIM}
      409: {description: a connection or the main configuration is missing}
      422: {description: neither a product uuid nor a model code}
    """
    tenant = current_session(request).tenant
    q = request.query_params
    try:
        doc = await status.item_status(request.app.state.settings, request.app.state.store, tenant,
                                       uuid=q.get("product") or None, model=q.get("model") or None)
    except status.ItemNotFound as exc:
        raise ApiError(404, "not_found", str(exc)) from None
    except status.BadItem as exc:
        raise ApiError(422, "invalid", str(exc)) from None
    return JSONResponse(doc)


async def sync_now(request: Request) -> JSONResponse:
    """
    summary: Sync one product (body product = its uuid) or product model (body model = its code) now, enqueued.
    responses:
      202: {description: "{items, waiting}"}
      409: {description: the configuration is incomplete}
      422: {description: bad body}
      429: {description: too many changes waiting}
    """
    tenant = current_session(request).tenant
    app = request.app.state
    raw = await read_capped(request, MAX_SYNC)
    try:
        body = json.loads(raw) if raw is not None else None
    except (ValueError, UnicodeDecodeError):
        body = None
    if not isinstance(body, dict):
        raise ApiError(422, "invalid", 'Send {"product": "<uuid>"} or {"model": "<code>"}.')
    try:
        wanted = embed_sync.items([body["product"]] if "product" in body else [],
                                  [body["model"]] if "model" in body else [])
    except embed_sync.BadSelection as exc:
        raise ApiError(422, "invalid", str(exc)) from None
    if len(wanted) != 1:
        raise ApiError(422, "invalid", 'Send {"product": "<uuid>"} or {"model": "<code>"}.')
    if not (await asyncio.to_thread(readiness, app.store, tenant)).ready:
        raise ApiError(409, "configuration_incomplete", "Finish the configuration first (both connections and the "
                                                        "main configuration).")
    accepted = await asyncio.to_thread(embed_sync.enqueue, app.redis, tenant, wanted)
    if accepted.over_backlog:
        raise ApiError(429, "too_many_waiting", "The connector is busy with many changes: try again in a few "
                                                "minutes.", retry_after=RETRY_AFTER)
    return JSONResponse({"items": wanted, "waiting": accepted.waiting}, status_code=202)


routes = [
    Route("/api/embed", get_embed, methods=["GET"]),
    Route("/api/embed/install", install, methods=["POST"]),
    Route("/api/embed/remove", remove, methods=["POST"]),
    Route("/api/embed/item", item, methods=["GET"]),
    Route("/api/embed/sync", sync_now, methods=["POST"]),
]
pages_routes = [
    # signed by the PIM (JWT, HMAC): outside /api, no session or CSRF
    Route("/embed/{tenant}/action", action, methods=["POST"], include_in_schema=False),
    Route("/embed/{tenant}/{kind}", frame, methods=["GET"], include_in_schema=False),
    Route("/embed/{tenant}/{kind}", open_frame, methods=["POST"], include_in_schema=False),
]
