"""The "Real-time updates" block in headless Chromium: the switch subscribes through the sandbox Event
Platform, the status badge and actions follow (suspend, resume, remove), a delivered event shows in the
figures. Screenshots go to test-output/screenshots/."""

from __future__ import annotations

import httpx
import pytest

from service.app import create_app
from service.settings import load_settings
from tests.browser.support import BROWSER_TESTS, SHOTS
from tests.browser.test_config_page import open_from_pim
from tests.config_env import PIM_CLIENT, PIM_PASSWORD, PIM_SECRET, PIM_USER
from tests.servers import free_port, serve

pytestmark = BROWSER_TESTS



@pytest.fixture(scope="module")
def connector(tmp_path_factory, redis_url, pim):
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    settings = load_settings({"DATA_DIR": str(tmp_path_factory.mktemp("events-browser")), "REDIS_URL": redis_url,
                              "SECRET_KEY": "events-browser-secret-key-0123456789abcdef", "APP_URL": url,
                              "ALLOW_PRIVATE_URLS": "true", "PIM_URLS": pim[0],
                              "EVENT_PLATFORM_URL": f"{pim[0]}/event-platform/api/v1"})
    app = create_app(settings)
    with serve(app, port=port):
        yield app, url


def test_the_switch_and_the_status_on_the_page(browser, connector, pim):
    from playwright.sync_api import expect

    app, url = connector
    pim_url, pim_app = pim
    page, tenant, errors = open_from_pim(browser, connector, pim)
    store = app.state.store
    store.put_credentials(tenant, "pim", {"url": pim_url, "client_id": PIM_CLIENT, "secret": PIM_SECRET,
                                          "username": PIM_USER, "password": PIM_PASSWORD})
    store.put_section(tenant, "pim", {"url": pim_url, "client_id": PIM_CLIENT, "username": PIM_USER,
                                      "connected": True})
    badge = page.locator("#realtime-status")
    assert badge.text_content() == "Off"
    page.locator("#realtime-switch").check()
    expect(page.locator("#realtime-status")).to_have_text("Active")
    expect(page.locator("#events-badge")).to_have_text("On")  # the section's badge follows the subscription
    assert page.locator("#realtime-suspend").is_visible() and page.locator("#realtime-remove").is_visible()
    [subscription] = httpx.get(f"{pim_url}/event-platform/sandbox/state").json()["subscriptions"]
    assert subscription["config"]["url"] == f"{url}/webhooks/akeneo/{tenant}"

    # a change in the PIM is delivered to the webhook and counted on the page (no worker here: it waits)
    product = next(iter(pim_app.state.pim.store.products.values()))
    assert httpx.patch(f"{pim_url}/sandbox/products/{product['identifier']}", json={"enabled": True}).status_code == 200
    expect(page.locator("#events-waiting")).to_have_text("1", timeout=15000)
    assert "received 1" in page.locator("#events-hour").text_content()
    page.screenshot(path=str(SHOTS / "events-active.png"), full_page=True)

    page.locator("#realtime-suspend").click()
    expect(page.locator("#realtime-status")).to_have_text("Suspended")
    assert page.locator("#realtime-resume").is_visible() and not page.locator("#realtime-suspend").is_visible()
    page.locator("#realtime-resume").click()
    expect(page.locator("#realtime-status")).to_have_text("Active")
    page.locator("#realtime-remove").click()
    expect(page.locator("#realtime-status")).to_have_text("Off")
    expect(page.locator("#events-badge")).to_have_text("Not set up")
    assert not page.locator("#realtime-switch").is_checked()
    assert [s["status"] for s in httpx.get(f"{pim_url}/event-platform/sandbox/state").json()["subscriptions"]] == \
        ["deleted"]
    page.screenshot(path=str(SHOTS / "events-off.png"), full_page=True)
    assert errors == []
