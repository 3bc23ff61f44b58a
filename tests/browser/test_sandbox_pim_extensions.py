"""The sandbox PIM's extension screens in headless Chromium: an iframe on another origin asks for its
JWT and context by postMessage and gets them; the grid's action button POSTs the signed selection and
shows the answer as a notification; the grid iframe receives the selection."""

from __future__ import annotations

import hashlib
import hmac
import json

import jwt
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from sandbox.pim import create_app
from tests.browser.support import BROWSER_TESTS, SHOTS
from tests.servers import serve

pytestmark = BROWSER_TESTS

SECRET = "browser-extension-secret-0123456789abcdef"

FRAME = """<!doctype html><meta charset="utf-8"><title>extension</title>
<p id="token"></p><pre id="context"></pre>
<script>
window.addEventListener('message', function (event) {
  if (event.data && event.data.type === 'JWT_TOKEN') {
    document.getElementById('token').textContent = event.data.token;
  } else if (event.data && event.data.user) {
    document.getElementById('context').textContent = JSON.stringify(event.data);
  }
});
window.parent.postMessage({type: 'request_jwt'}, '*');
window.parent.postMessage({type: 'request_context'}, '*');
</script>"""


class Extension:
    """The connector's side: an iframe page and an action endpoint."""

    def __init__(self) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.app = Starlette(routes=[Route("/frame", self.frame), Route("/action", self.action, methods=["POST"])])

    async def frame(self, request: Request) -> Response:
        return HTMLResponse(FRAME)

    async def action(self, request: Request) -> Response:
        self.received.append((dict(request.headers), await request.body()))
        return JSONResponse({"message": "Queued for BigCommerce"})



@pytest.fixture(scope="module")
def env():
    app = create_app()
    ext = Extension()
    with serve(app) as pim_url, serve(ext.app) as ext_url:
        yield app, pim_url, ext, ext_url


def _install(app, owner: str, ext_url: str, **body) -> str:
    from sandbox.pim.state import UiExtension

    ext = UiExtension(uuid=f"00000000-0000-4000-8000-{len(app.state.pim.ui_extensions):012d}", owner=owner,
                      created_at=app.state.pim.now(), **body)
    app.state.pim.ui_extensions[ext.uuid] = ext
    return ext.uuid


def _page(browser, app, pim_url):
    context = browser.new_context()
    context.add_cookies([{"name": "BAPID", "value": app.state.pim.open_session("admin"), "url": pim_url}])
    return context, context.new_page()


def test_the_iframe_gets_its_jwt_and_context_by_postmessage(browser, env):
    from playwright.sync_api import expect

    app, pim_url, _, ext_url = env
    tab = _install(app, "admin", ext_url, name="status", type="iframe", position="pim.product.tab",
                   configuration={"url": f"{ext_url}/frame", "default_label": "BigCommerce", "secret": SECRET})
    product = next(p for p in app.state.pim.store.products.values() if not p.get("parent"))
    context, page = _page(browser, app, pim_url)
    try:
        page.goto(f"{pim_url}/sandbox/ui/products/{product['uuid']}")
        page.click(f"a.extension-tab[data-extension='{tab}']")
        frame = page.frame_locator("#extension-frame")
        expect(frame.locator("#token")).not_to_be_empty(timeout=10_000)
        claims = jwt.decode(frame.locator("#token").text_content(), SECRET, algorithms=["HS256"])
        assert claims["userUuid"] == app.state.pim.user("admin").uuid
        expect(frame.locator("#context")).not_to_be_empty()
        sent = json.loads(frame.locator("#context").text_content())
        assert sent["user"]["username"] == "admin" and sent["context"] == {"locale": "en_US", "channel": "ecommerce"}
        page.screenshot(path=str(SHOTS / "sandbox-pim-product-tab.png"), full_page=True)
    finally:
        context.close()


def test_the_grid_action_is_posted_signed_and_its_answer_shown(browser, env):
    from playwright.sync_api import expect

    app, pim_url, ext, ext_url = env
    action = _install(app, "admin", ext_url, name="send", type="action", position="pim.product-grid.action-bar",
                      configuration={"url": f"{ext_url}/action", "default_label": "Send to BigCommerce",
                                     "secret": SECRET})
    panel = _install(app, "admin", ext_url, name="panel", type="iframe", position="pim.product-grid.action-bar",
                     configuration={"url": f"{ext_url}/frame", "default_label": "Preview", "secret": SECRET})
    context, page = _page(browser, app, pim_url)
    try:
        page.goto(f"{pim_url}/sandbox/ui/products")
        boxes = page.locator("input.grid-select")
        boxes.nth(0).check()
        boxes.nth(1).check()
        chosen = [(boxes.nth(i).get_attribute("data-kind"), boxes.nth(i).get_attribute("value")) for i in (0, 1)]
        page.click(f"button.extension-action[data-extension='{action}']")
        expect(page.locator("#notifications .notification-success")).to_have_text(
            "Send to BigCommerce: Queued for BigCommerce", timeout=10_000)
        headers, raw = ext.received[-1]
        assert headers["signature"] == "sha512=" + hmac.new(SECRET.encode(), raw, hashlib.sha512).hexdigest()
        data = json.loads(raw)["data"]
        assert sorted(data["productUuids"] + data["productModelCodes"]) == sorted(v for _, v in chosen)

        page.click(f"button.extension-panel[data-extension='{panel}']")
        frame = page.frame_locator("#grid-panel iframe")
        expect(frame.locator("#context")).not_to_be_empty(timeout=10_000)
        sent = json.loads(frame.locator("#context").text_content())["data"]
        assert sorted(sent["productUuids"] + sent["productModelCodes"]) == sorted(v for _, v in chosen)
        page.screenshot(path=str(SHOTS / "sandbox-pim-grid-action.png"), full_page=True)
    finally:
        context.close()
