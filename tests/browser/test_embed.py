"""The connector inside the PIM, in headless Chromium on the sandbox PIM's own pages: the connector's tab in
the PIM's navigation, a product's "BigCommerce" tab with its store status and "Sync now" (the store
changes), and "Send to BigCommerce" on products selected in the grid (they are synced). The iframes get
their session the PIM's way (postMessage request_jwt → JWT_TOKEN); a real RQ worker runs meanwhile.
Screenshots go to test-output/screenshots/."""

from __future__ import annotations

import os
import signal
import time

import httpx
import pytest

from service.app import create_app
from service.settings import load_settings
from tests.browser.support import ARGS, BROWSER_TESTS, CHROMIUM, SHOTS
from tests.import_env import expected_catalog, import_env, wait_for
from tests.servers import serve

pytestmark = BROWSER_TESTS


@pytest.fixture(scope="module")
def embedded(redis_url, tmp_path_factory):
    with import_env(redis_url, tmp_path_factory.mktemp("embed-browser"), category="print") as env:
        run_id = env.start("full")
        env.work()
        assert env.run(run_id)["status"] == "succeeded"
        app = create_app(load_settings(env.env), env.conn)
        with serve(app) as url:
            token, session = app.state.sessions.issue(env.tenant, {"id": 7}, "bigcommerce")
            installed = httpx.post(f"{url}/api/embed/install", timeout=30, headers={
                "Authorization": f"Bearer {token}", "X-CSRF-Token": session.csrf_token})
            assert installed.status_code == 200, installed.text
            worker = env.worker(burst=False)
            try:
                yield env
            finally:
                os.killpg(worker.pid, signal.SIGTERM)  # the worker we started, and its work horse
                worker.wait(timeout=30)


@pytest.fixture(scope="module")
def page(embedded):
    from playwright.sync_api import sync_playwright

    env = embedded
    SHOTS.mkdir(parents=True, exist_ok=True)
    cookie = httpx.post(f"{env.pim_url}/sandbox/sessions", json={"username": "admin"}).json()["cookie"]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        context.add_cookies([{"name": "BAPID", "value": cookie, "url": env.pim_url}])
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        yield page, errors
        browser.close()


def _price(amount: str) -> dict:
    return {"values": {"price": [{"locale": None, "scope": None, "data": [{"amount": amount, "currency": "EUR"}]}]}}


def _store_price(env, sku: str) -> float | None:
    product = next((p for p in env.state()["products"] if p["sku"].lower() == sku.lower()), None)
    return float(product["price"]) if product else None


def test_the_connectors_tab_then_a_products_status_and_sync_now(embedded, page):
    from playwright.sync_api import expect

    env = embedded
    tab, errors = page
    tab.goto(f"{env.pim_url}/sandbox/ui")
    tab.locator("a.navigation-extension").first.click()
    frame = tab.frame_locator("iframe#extension-frame")
    expect(frame.locator("#pim-badge")).to_have_text("Connected", timeout=15000)
    expect(frame.locator("#embed-badge")).to_have_text("Added to the PIM", timeout=15000)
    tab.screenshot(path=str(SHOTS / "embed-navigation-tab.png"), full_page=True)
    frame.locator("#embed-section").screenshot(path=str(SHOTS / "embed-config-block.png"))
    expect(frame.locator("#embed-extensions li[data-installed='true']")).to_have_count(4)
    frame.locator("#embed-install").click()  # "Update the connector in the PIM": idempotent
    expect(frame.locator("#embed-result")).to_contain_text("The connector is in your PIM")
    assert len(httpx.get(f"{env.pim_url}/sandbox/ui-extensions").json()["extensions"]) == 4

    sku = sorted(expected_catalog("print").simple)[0]
    product_uuid = env.pim_app.state.pim.store.product(sku)["uuid"]
    tab.goto(f"{env.pim_url}/sandbox/ui/products/{product_uuid}")
    tab.locator("a.extension-tab").first.click()
    frame = tab.frame_locator("iframe#extension-frame")
    expect(frame.locator("#item-badge")).to_contain_text("In the store", timeout=15000)
    expect(frame.locator("#item-store")).to_contain_text(sku)
    assert "/manage/products/edit/" in frame.locator("#item-control-panel").get_attribute("href")
    expect(frame.locator("#item-scope")).to_contain_text("In the selection")
    expect(frame.locator("#item-last-sync")).to_contain_text("import")
    tab.screenshot(path=str(SHOTS / "embed-product-tab.png"), full_page=True)

    assert httpx.patch(f"{env.pim_url}/sandbox/products/{sku}", json=_price("66.60")).status_code == 200
    frame.locator("#item-sync").click()
    expect(frame.locator("#item-result")).to_contain_text("Synced", timeout=60000)
    expect(frame.locator("#item-store")).to_contain_text("66.6")
    expect(frame.locator("#item-badge")).to_have_text("In the store")  # a price makes it visible
    assert _store_price(env, sku) == 66.6
    tab.screenshot(path=str(SHOTS / "embed-product-synced.png"), full_page=True)
    assert errors == []


def test_send_to_bigcommerce_from_the_grid(embedded, page):
    from playwright.sync_api import expect

    env = embedded
    tab, errors = page
    skus = sorted(expected_catalog("print").simple)[:2]  # 1111111171, 1111111172: one grid page
    for n, sku in enumerate(skus):
        assert httpx.patch(f"{env.pim_url}/sandbox/products/{sku}", json=_price(f"5{n}.25")).status_code == 200
    prefix = os.path.commonprefix([s.lower() for s in skus]) or skus[0].lower()
    tab.goto(f"{env.pim_url}/sandbox/ui/products?search={prefix}")
    for sku in skus:
        tab.locator(f"input.grid-select[value='{env.pim_app.state.pim.store.product(sku)['uuid']}']").check()
    started = time.monotonic()
    tab.locator("#action-bar button.extension-action").first.click()
    expect(tab.locator("#notifications .notification-success")).to_contain_text("Sending 2 products", timeout=10000)
    assert time.monotonic() - started < 5
    wait_for(lambda: [_store_price(env, s) for s in skus] == [50.25, 51.25], timeout=60, every=0.3)
    tab.screenshot(path=str(SHOTS / "embed-grid-action.png"), full_page=True)
    assert errors == []
