"""The sandbox PIM's screens that embed UI extensions the way the PIM does: the activity navigation
(`pim.activity.navigation.tab`), product and product-model pages with extension tabs
(`pim.product.tab`, `pim.product-model.tab`, `pim.sub-product-model.tab`) and a product grid whose
action bar holds the `pim.product-grid.action-bar` extensions. A UI session (the `BAPID` cookie) is
required, as in the PIM. The JWT and the action POST are made on the server, never in the browser:
the browser never sees a secret."""

from __future__ import annotations

import html
import json
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from . import extensions as ext_api
from .state import PimState, UiExtension, User

PAGE_SIZE = 25
e = html.escape


def _state(request: Request) -> PimState:
    return request.app.state.pim


def _user(request: Request) -> User | None:
    return _state(request).session_user(request.cookies.get("BAPID"))


def _login(request: Request) -> Response:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/user/login?next={quote(target, safe='')}", status_code=302)


def _xhr(request: Request) -> bool:
    # the PIM's own XHR calls carry this header; a cross-site form cannot set it
    return request.headers.get("x-requested-with", "").lower() == "xmlhttprequest"


def active(state: PimState, *positions: str, type_: str | None = None) -> list[UiExtension]:
    found = [x for x in state.ui_extensions.values()
             if x.status == "active" and x.position in positions and (type_ is None or x.type == type_)]
    return sorted(found, key=lambda x: x.created_at)


def _name(entity: dict, locale: str) -> str:
    for item in (entity.get("values") or {}).get("name", []):
        if item.get("locale") in (None, locale) and item.get("data"):
            return str(item["data"])
    return ""


STYLE = ("body{font-family:system-ui,sans-serif;margin:0}header{background:#11324d;color:#fff;padding:8px 16px;"
         "display:flex;gap:16px;align-items:center}header a{color:#fff}main{padding:16px}"
         "nav.tabs a{display:inline-block;padding:6px 12px;border:1px solid #ccc;border-bottom:none;margin-right:4px;"
         "text-decoration:none;color:#11324d}nav.tabs a.active{background:#eef;font-weight:bold}"
         "iframe.extension{width:100%;height:70vh;border:1px solid #ccc}"
         "#notifications{position:fixed;top:8px;right:8px;width:360px}"
         ".notification{padding:8px 12px;margin-bottom:6px;border-radius:4px}"
         ".notification-success{background:#dcfce7;color:#14532d}.notification-error{background:#fee2e2;color:#7f1d1d}"
         "table{border-collapse:collapse}td,th{border-bottom:1px solid #ddd;padding:4px 8px;text-align:left}"
         ".action-bar{margin:8px 0;display:flex;gap:8px}#grid-panel iframe{height:50vh}")


def _layout(title: str, user: User, body: str, context: dict) -> HTMLResponse:
    state_json = json.dumps(context).replace("</", "<\\/")
    page = (f"<!doctype html><html><head><meta charset='utf-8'><title>{e(title)} | Akeneo PIM (sandbox)</title>"
            f"<style>{STYLE}</style></head><body>"
            "<header><strong>Akeneo PIM (sandbox)</strong><a href='/sandbox/ui'>Activity</a>"
            f"<a href='/sandbox/ui/products'>Products</a><span>{e(user.username)}</span></header>"
            f"<div id='notifications' role='status' aria-live='polite'></div><main>{body}</main>"
            f"<script type='application/json' id='pim-context'>{state_json}</script>"
            "<script src='/sandbox/ui/embed.js'></script></body></html>")
    return HTMLResponse(page)


def _context(user: User) -> dict:
    return {"context": {"locale": user.catalog_default_locale, "channel": user.catalog_default_scope},
            "user": ext_api.user_context(user)}


def _frame(state: PimState, ext: UiExtension, user: User, extra: dict[str, str] | None = None) -> str:
    src = ext_api.iframe_url(ext, state, user, extra)
    return (f"<iframe class='extension' id='extension-frame' data-extension='{e(ext.uuid)}' "
            f"data-position='{e(ext.position)}' title='{e(ext_api.label(ext, user.user_default_locale))}' "
            f"src='{e(src, quote=True)}'></iframe>")


# ---------------------------------------------------------------- pages

async def home(request: Request) -> Response:
    """The activity navigation: one entry per `pim.activity.navigation.tab` extension."""
    user = _user(request)
    if user is None:
        return _login(request)
    tabs = active(_state(request), "pim.activity.navigation.tab")
    items = "".join(f"<li><a class='navigation-extension' data-extension='{e(x.uuid)}' "
                    f"href='/sandbox/ui/extensions/{e(x.uuid)}'>{e(ext_api.label(x, user.user_default_locale))}</a></li>"
                    for x in tabs) or "<li>No extension.</li>"
    return _layout("Activity", user, f"<h1>Activity</h1><ul id='navigation-extensions'>{items}</ul>", _context(user))


async def navigation_page(request: Request) -> Response:
    user = _user(request)
    if user is None:
        return _login(request)
    state = _state(request)
    ext = state.ui_extensions.get(request.path_params["uuid"].lower())
    if ext is None or ext.status != "active" or ext.position != "pim.activity.navigation.tab":
        return HTMLResponse("<h1>Not found</h1>", status_code=404)
    title = ext_api.label(ext, user.user_default_locale)
    return _layout(title, user, f"<h1>{e(title)}</h1>{_frame(state, ext, user)}", _context(user))


def _header_actions(state: PimState, position: str, payload: dict, locale: str) -> str:
    """The header's action buttons (`pim.product.header`, `pim.product-model.header`, …)."""
    data = e(json.dumps(payload), quote=True)
    buttons = "".join(f"<button type='button' class='extension-action' data-extension='{e(x.uuid)}' "
                      f"data-payload='{data}'>{e(ext_api.label(x, locale))}</button>"
                      for x in active(state, position, type_="action"))
    return f"<div class='action-bar' id='header-actions'>{buttons}</div>" if buttons else ""


def _tabs(base: str, chosen: UiExtension | None, tabs: list[UiExtension], locale: str) -> str:
    links = [f"<a class='tab{'' if chosen else ' active'}' href='{e(base)}'>Attributes</a>"]
    for x in tabs:
        cls = "tab extension-tab active" if chosen is x else "tab extension-tab"
        links.append(f"<a class='{cls}' data-extension='{e(x.uuid)}' href='{e(base)}?tab={e(x.uuid)}'>"
                     f"{e(ext_api.label(x, locale))}</a>")
    return f"<nav class='tabs'>{''.join(links)}</nav>"


def _chosen(request: Request, tabs: list[UiExtension]) -> UiExtension | None:
    wanted = request.query_params.get("tab", "").lower()
    return next((x for x in tabs if x.uuid == wanted), None)


async def product_page(request: Request) -> Response:
    """A product's edit page: its attributes, then one tab per `pim.product.tab` extension."""
    user = _user(request)
    if user is None:
        return _login(request)
    state = _state(request)
    wanted = request.path_params["uuid"]
    product = state.store.by_uuid.get(wanted.lower()) or state.store.product(wanted)  # an identifier works too
    if product is None:
        return HTMLResponse("<h1>No such product</h1>", status_code=404)
    tabs = active(state, "pim.product.tab")
    chosen = _chosen(request, tabs)
    base = f"/sandbox/ui/products/{product['uuid']}"
    if chosen:
        content = _frame(state, chosen, user, {"product[uuid]": product["uuid"],
                                               "product[identifier]": product["identifier"]})
    else:
        content = (f"<dl><dt>Name</dt><dd id='product-name'>{e(_name(product, user.catalog_default_locale))}</dd>"
                   f"<dt>Family</dt><dd>{e(product.get('family') or '')}</dd>"
                   f"<dt>Enabled</dt><dd>{'yes' if product.get('enabled', True) else 'no'}</dd></dl>"
                   f"<a href='/sandbox/products/{quote(product['identifier'])}/edit'>Edit name and price</a>")
    actions = _header_actions(state, "pim.product.header", {"productUuid": product["uuid"]}, user.user_default_locale)
    body = (f"<h1>Product <span id='product-identifier'>{e(product['identifier'])}</span></h1>{actions}"
            f"{_tabs(base, chosen, tabs, user.user_default_locale)}{content}")
    return _layout(product["identifier"], user, body, _context(user))


async def model_page(request: Request) -> Response:
    """A product model's page: `pim.product-model.tab` for a root model, `pim.sub-product-model.tab`
    for a sub-model; the iframe gets `product[code]`."""
    user = _user(request)
    if user is None:
        return _login(request)
    state = _state(request)
    model = state.store.model(request.path_params["code"])
    if model is None:
        return HTMLResponse("<h1>No such product model</h1>", status_code=404)
    position = "pim.sub-product-model.tab" if model.get("parent") else "pim.product-model.tab"
    tabs = active(state, position)
    chosen = _chosen(request, tabs)
    base = f"/sandbox/ui/product-models/{quote(model['code'])}"
    if chosen:
        content = _frame(state, chosen, user, {"product[code]": model["code"]})
    else:
        content = (f"<dl><dt>Name</dt><dd>{e(_name(model, user.catalog_default_locale))}</dd>"
                   f"<dt>Family variant</dt><dd>{e(model.get('family_variant') or '')}</dd></dl>")
    header = "pim.sub-product-model.header" if model.get("parent") else "pim.product-model.header"
    actions = _header_actions(state, header, {"productModelCode": model["code"]}, user.user_default_locale)
    body = (f"<h1>Product model <span id='model-code'>{e(model['code'])}</span></h1>{actions}"
            f"{_tabs(base, chosen, tabs, user.user_default_locale)}{content}")
    return _layout(model["code"], user, body, _context(user))


async def category_page(request: Request) -> Response:
    """A category's edit page with one tab per `pim.category.tab` extension (`category[code]`)."""
    user = _user(request)
    if user is None:
        return _login(request)
    state = _state(request)
    category = state.store.categories.get(request.path_params["code"].lower())
    if category is None:
        return HTMLResponse("<h1>No such category</h1>", status_code=404)
    tabs = active(state, "pim.category.tab")
    chosen = _chosen(request, tabs)
    base = f"/sandbox/ui/categories/{quote(category['code'])}"
    if chosen:
        content = _frame(state, chosen, user, {"category[code]": category["code"]})
    else:
        labels = category.get("labels") or {}
        content = f"<dl><dt>Label</dt><dd>{e(str(labels.get(user.catalog_default_locale) or ''))}</dd></dl>"
    body = (f"<h1>Category <span id='category-code'>{e(category['code'])}</span></h1>"
            f"{_tabs(base, chosen, tabs, user.user_default_locale)}{content}")
    return _layout(category["code"], user, body, _context(user))


async def grid_page(request: Request) -> Response:
    """The product grid: root models and products without a parent (or every match of `search`), with
    checkboxes and the action bar of `pim.product-grid.action-bar` extensions."""
    user = _user(request)
    if user is None:
        return _login(request)
    state = _state(request)
    store = state.store
    search = request.query_params.get("search", "").strip().lower()
    locale = user.catalog_default_locale
    rows: list[tuple[str, str, str, str, str]] = []  # (kind, key, label, href, name)
    for model in store.models.values():
        if (search and search in model["code"].lower()) or (not search and not model.get("parent")):
            rows.append(("model", model["code"], model["code"], f"/sandbox/ui/product-models/{quote(model['code'])}",
                         _name(model, locale)))
    for product in store.products.values():
        if (search and search in product["identifier"].lower()) or (not search and not product.get("parent")):
            rows.append(("product", product["uuid"], product["identifier"], f"/sandbox/ui/products/{product['uuid']}",
                         _name(product, locale)))
    rows.sort(key=lambda r: r[2].lower())
    try:
        page = max(1, int(request.query_params.get("page", "1")))
    except ValueError:
        page = 1
    shown = rows[(page - 1) * PAGE_SIZE: page * PAGE_SIZE]
    lines = "".join(
        f"<tr><td><input type='checkbox' class='grid-select' data-kind='{kind}' value='{e(key)}' "
        f"aria-label='Select {e(text)}'></td><td><a href='{e(href)}'>{e(text)}</a></td><td>{e(name)}</td>"
        f"<td>{'product model' if kind == 'model' else 'product'}</td></tr>"
        for kind, key, text, href, name in shown)
    buttons = "".join(
        f"<button type='button' class='extension-action' data-extension='{e(x.uuid)}'>"
        f"{e(ext_api.label(x, user.user_default_locale))}</button>"
        for x in active(state, "pim.product-grid.action-bar", type_="action"))
    buttons += "".join(
        f"<button type='button' class='extension-panel' data-extension='{e(x.uuid)}' "
        f"data-src='{e(ext_api.iframe_url(x, state, user), quote=True)}'>"
        f"{e(ext_api.label(x, user.user_default_locale))}</button>"
        for x in active(state, "pim.product-grid.action-bar", type_="iframe"))
    query = f"&search={quote(search)}" if search else ""
    pager = (f"<p>{len(rows)} results. " + (f"<a href='?page={page - 1}{query}'>Previous</a> " if page > 1 else "")
             + (f"<a href='?page={page + 1}{query}'>Next</a>" if page * PAGE_SIZE < len(rows) else "") + "</p>")
    body = ("<h1>Products</h1><form method='get'><input name='search' placeholder='Search identifier or code' "
            f"value='{e(search)}'><button type='submit'>Search</button></form>"
            f"<div class='action-bar' id='action-bar'>{buttons}</div>"
            f"<table id='grid'><tr><th></th><th>Identifier / code</th><th>Name</th><th>Type</th></tr>{lines}</table>{pager}"
            "<div id='grid-panel'></div>")
    return _layout("Products", user, body, _context(user))


# ---------------------------------------------------------------- what the pages' script calls

async def extension_jwt(request: Request) -> Response:
    """The token the parent page posts to its iframe on `request_jwt` (minted server-side with the
    extension's secret)."""
    user = _user(request)
    if user is None or not _xhr(request):
        return JSONResponse({"message": "Authentication required"}, status_code=401)
    ext = _state(request).ui_extensions.get(request.path_params["uuid"].lower())
    if ext is None or ext.status != "active" or ext.type != "iframe" or not ext.configuration.get("secret"):
        return JSONResponse({"message": "No such iframe extension"}, status_code=404)
    if ext.position == "pim.activity.navigation.tab" and not _state(request).navigation_jwt:
        return JSONResponse({"message": "This position does not communicate"}, status_code=404)
    return JSONResponse({"token": ext_api.mint_jwt(ext.configuration["secret"], user, _state(request).now())})


def _strings(value: object) -> list[str] | None:
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return value
    return None


async def run_action(request: Request) -> Response:
    """Run an action extension for the page: POST the signed body from here, answer the outcome."""
    user = _user(request)
    if user is None or not _xhr(request):
        return JSONResponse({"message": "Authentication required"}, status_code=401)
    state = _state(request)
    ext = state.ui_extensions.get(request.path_params["uuid"].lower())
    if ext is None or ext.status != "active" or ext.type != "action":
        return JSONResponse({"ok": False, "message": "No such action extension"}, status_code=404)
    try:
        selection = json.loads(await request.body() or b"{}")
    except ValueError:
        selection = None
    if not isinstance(selection, dict):
        return JSONResponse({"ok": False, "message": "Expected a JSON object"}, status_code=400)
    if ext.position == "pim.product-grid.action-bar":
        uuids, codes = _strings(selection.get("productUuids", [])), _strings(selection.get("productModelCodes", []))
        if uuids is None or codes is None:
            return JSONResponse({"ok": False, "message": "productUuids and productModelCodes are lists of strings"},
                                status_code=400)
        if not uuids and not codes:
            return JSONResponse({"ok": False, "message": "Select products or product models first."}, status_code=422)
        if len(uuids) + len(codes) > ext_api.GRID_LIMIT:
            return JSONResponse({"ok": False, "message": f"At most {ext_api.GRID_LIMIT} items can be selected."},
                                status_code=422)
        data: dict = {"productUuids": uuids, "productModelCodes": codes}
    elif ext.position == "pim.product.header":
        data = {"productUuid": str(selection.get("productUuid", ""))}
    elif ext.position in ("pim.product-model.header", "pim.sub-product-model.header"):
        data = {"productModelCode": str(selection.get("productModelCode", ""))}
    else:
        data = {}
    if ext.uuid in state.actions_running:  # "An action cannot be executed multiple times simultaneously"
        return JSONResponse({"ok": False, "message": "This action is already running."}, status_code=409)
    state.actions_running.add(ext.uuid)
    try:
        outcome = await ext_api.run_action(state, ext, user, data, selection.get("category") or None)
    finally:
        state.actions_running.discard(ext.uuid)
    return JSONResponse(outcome)


async def embed_js(request: Request) -> Response:
    return Response(EMBED_JS, media_type="text/javascript")


EMBED_JS = r"""
(function () {
  'use strict';
  var pim = JSON.parse(document.getElementById('pim-context').textContent);

  function frames() { return Array.prototype.slice.call(document.querySelectorAll('iframe[data-extension]')); }
  function frameFor(source) { return frames().filter(function (f) { return f.contentWindow === source; })[0]; }
  function originOf(frame) { return new URL(frame.src).origin; }
  function selection() {
    var data = {productUuids: [], productModelCodes: []};
    document.querySelectorAll('input.grid-select:checked').forEach(function (box) {
      (box.dataset.kind === 'model' ? data.productModelCodes : data.productUuids).push(box.value);
    });
    return data;
  }
  function contextMessage(frame) {
    var message = {context: pim.context, user: pim.user};
    if (frame.dataset.position === 'pim.product-grid.action-bar') { message.data = selection(); }
    return message;
  }
  function notify(ok, text) {
    var box = document.createElement('div');
    box.className = 'notification ' + (ok ? 'notification-success' : 'notification-error');
    box.textContent = text;
    document.getElementById('notifications').appendChild(box);
  }

  // an iframe asks its parent; only the extension's own frame is answered, only at its own origin
  window.addEventListener('message', function (event) {
    var frame = frameFor(event.source);
    var type = event.data && event.data.type;
    if (!frame || !type) { return; }
    if (type === 'request_jwt') {
      fetch('/sandbox/ui/extensions/' + frame.dataset.extension + '/jwt',
            {credentials: 'same-origin', headers: {'X-Requested-With': 'XMLHttpRequest'}})
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (body) {
          if (body) { frame.contentWindow.postMessage({type: 'JWT_TOKEN', token: body.token}, originOf(frame)); }
        });
    } else if (type === 'request_context' && frame.dataset.position !== 'pim.activity.navigation.tab') {
      // the navigation tab has no context to give ("Communication: No" in Akeneo's positions table)
      frame.contentWindow.postMessage(contextMessage(frame), originOf(frame));
    } else if (type === 'reload_parent') {
      window.location.reload();
    }
  });

  function watchGridFrame(frame) {
    // the grid's iframe gets the selection once loaded (api.akeneo.com/extensions/iframe.html)
    frame.addEventListener('load', function () { frame.contentWindow.postMessage(contextMessage(frame), originOf(frame)); });
  }

  document.querySelectorAll('button.extension-action').forEach(function (button) {
    button.addEventListener('click', function () {
      button.disabled = true;  // the menu is deactivated while the action runs
      var label = button.textContent;
      fetch('/sandbox/ui/actions/' + button.dataset.extension, {
        method: 'POST', credentials: 'same-origin',
        headers: {'Content-Type': 'application/json', 'X-Requested-With': 'XMLHttpRequest'},
        body: button.dataset.payload || JSON.stringify(selection())
      }).then(function (r) { return r.json(); })
        .then(function (outcome) { notify(outcome.ok, label + ': ' + outcome.message); })
        .catch(function () { notify(false, label + ': the PIM could not run the action.'); })
        .then(function () { button.disabled = false; });
    });
  });

  document.querySelectorAll('button.extension-panel').forEach(function (button) {
    button.addEventListener('click', function () {
      var panel = document.getElementById('grid-panel');
      panel.innerHTML = '';
      var frame = document.createElement('iframe');
      frame.className = 'extension';
      frame.id = 'extension-frame';
      frame.dataset.extension = button.dataset.extension;
      frame.dataset.position = 'pim.product-grid.action-bar';
      frame.src = button.dataset.src;
      watchGridFrame(frame);
      panel.appendChild(frame);
    });
  });
})();
"""


ROUTES_SPEC = [
    ("/sandbox/ui", home, ["GET"]),
    ("/sandbox/ui/embed.js", embed_js, ["GET"]),
    ("/sandbox/ui/extensions/{uuid}", navigation_page, ["GET"]),
    ("/sandbox/ui/extensions/{uuid}/jwt", extension_jwt, ["GET"]),
    ("/sandbox/ui/products", grid_page, ["GET"]),
    ("/sandbox/ui/products/{uuid}", product_page, ["GET"]),
    ("/sandbox/ui/product-models/{code}", model_page, ["GET"]),
    ("/sandbox/ui/categories/{code}", category_page, ["GET"]),
    ("/sandbox/ui/actions/{uuid}", run_action, ["POST"]),
]
