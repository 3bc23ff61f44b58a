"""The configuration page in headless Chromium: red and green PIM tests with hints, the main configuration
unlocked and filled from the PIM, the confirmation of a guarded change. Screenshots of each state go to
test-output/screenshots/."""

from __future__ import annotations

import httpx

from tests.browser.support import BROWSER_TESTS, SHOTS
from tests.config_env import PIM_CLIENT, PIM_PASSWORD, PIM_SECRET, PIM_USER

pytestmark = BROWSER_TESTS



def open_from_pim(browser, connector, pim, width=1280):
    """Enter as the PIM does (its session cookie), then drop the connector's own cookie: from here on the
    page must work with the Bearer token it was given (the PIM's cookie stays: a session from the PIM is
    good only while the PIM still accepts the PIM session it came from)."""
    app, url = connector
    pim_url, _ = pim
    bapid = httpx.post(f"{pim_url}/sandbox/sessions", json={"username": "admin"}).json()["cookie"]
    context = browser.new_context(viewport={"width": width, "height": 900})
    context.add_cookies([{"name": "BAPID", "value": bapid, "url": url}])
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    # Expected 4xx answers (409, 422) are logged by the browser as failed resources: not page errors.
    page.on("console", lambda msg: errors.append(msg.text)
            if msg.type == "error" and not msg.text.startswith("Failed to load resource") else None)
    page.on("response", lambda r: errors.append(f"{r.status} {r.url}")
            if r.status == 404 or r.status >= 500 else None)
    response = page.goto(f"{url}/?pim={pim_url}")
    assert response.status == 200
    page.wait_for_selector("body[data-ready=true]")
    context.clear_cookies(name="connector_session")
    tenant = page.get_attribute('meta[name="tenant"]', "content")
    return page, tenant, errors


def fill_pim(page, pim_url, password):
    page.fill("#pim-url", pim_url)
    page.fill("#pim-client_id", PIM_CLIENT)
    page.fill("#pim-secret", PIM_SECRET)
    page.fill("#pim-username", PIM_USER)
    page.fill("#pim-password", password)
    page.click("#pim-save")


def shot(page, name):
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_pim_red_then_green_unlocks_the_main_configuration(browser, connector, pim, redis_conn):
    app, _ = connector
    page, tenant, errors = open_from_pim(browser, connector, pim)
    assert page.is_disabled("#main-save") and page.is_visible("#main-locked")
    shot(page, "1-initial-1280")

    fill_pim(page, pim[0], "renewed-elsewhere")
    page.wait_for_selector("#pim-result[data-state=error]")
    assert "No user found" in page.inner_text("#pim-result") and "renewed" in page.inner_text("#pim-result")
    assert page.inner_text("#pim-badge") == "Not connected"
    assert page.is_disabled("#main-save")
    shot(page, "2-pim-red-1280")

    page.fill("#pim-password", PIM_PASSWORD)
    page.click("#pim-save")
    page.wait_for_selector("#pim-result[data-state=ok]")
    assert page.inner_text("#pim-badge") == "Connected"
    assert page.input_value("#pim-secret") == "" and "leave empty" in page.get_attribute("#pim-secret", "placeholder")
    assert not page.is_disabled("#main-save") and not page.is_visible("#main-locked")

    page.wait_for_selector("#main-channel option[value=ecommerce]", state="attached")
    page.select_option("#main-channel", "ecommerce")
    page.wait_for_selector("#main-locale option[value=en_US]", state="attached")
    page.select_option("#main-locale", "en_US")
    page.click("button[aria-label='Show sub-categories of master']")
    page.wait_for_selector("label[for='cat-1-tvs_projectors']")
    shot(page, "3-pim-green-main-unlocked-1280")

    page.fill("#category-search", "monitors")
    page.wait_for_selector("#category-tree [data-flat] input[value=pc_monitors]", state="attached")
    page.check("#category-tree [data-flat] input[value=pc_monitors]")
    page.click("#main-save")
    page.wait_for_selector("#main-result[data-state=ok]")
    assert app.state.store.get_section(tenant, "main")["category"] == "pc_monitors"
    assert page.inner_text("#main-badge") == "Saved"
    shot(page, "4-main-saved-1280")
    assert errors == []
    page.context.close()


def test_guarded_change_asks_for_confirmation(browser, connector, pim, redis_conn):
    app, _ = connector
    page, tenant, errors = open_from_pim(browser, connector, pim)
    fill_pim(page, pim[0], PIM_PASSWORD)
    page.wait_for_selector("#pim-result[data-state=ok]")
    store = app.state.store
    store.put_section(tenant, "main", {"locale": "en_US", "channel": "ecommerce", "category": "master",
                                       "category_tree": "master"})
    store.put_section(tenant, "status", {"first_import_done": True})
    page.context.close()
    page, again, errors = open_from_pim(browser, connector, pim)  # the same PIM: the same tenant
    assert again == tenant
    page.wait_for_selector("#main-locale option[value=fr_FR]", state="attached")
    page.wait_for_selector("input[value=master]", state="attached")
    assert page.is_visible("#import-notice")

    page.select_option("#main-locale", "fr_FR")
    page.click("#main-save")
    page.wait_for_selector("#confirm-dialog[open]")
    assert "language" in page.inner_text("#confirm-message") and page.inner_text("#confirm-changed") == "locale"
    shot(page, "5-confirmation-1280")
    page.click("#confirm-cancel")
    page.wait_for_selector("#main-result[data-state=none]")
    assert store.get_section(tenant, "main")["locale"] == "en_US"

    page.click("#main-save")
    page.wait_for_selector("#confirm-dialog[open]")
    page.click("#confirm-ok")
    page.wait_for_selector("#main-result[data-state=ok]")
    assert "full one" in page.inner_text("#main-result")
    assert store.get_section(tenant, "main")["locale"] == "fr_FR"
    assert store.get_section(tenant, "status")["next_import"] == "full"
    assert store.config_changes(tenant)[0]["changed"] == ["locale"]
    shot(page, "6-confirmed-1280")
    assert errors == []
    page.context.close()


def test_narrow_screen_and_field_errors(browser, connector, pim, redis_conn):
    page, _, errors = open_from_pim(browser, connector, pim, width=375)
    page.fill("#pim-url", "ftp://pim.example.com")
    page.click("#pim-save")
    page.wait_for_selector("#pim-url[aria-invalid=true]")
    assert "https://" in page.inner_text("#pim-url-error")
    assert page.evaluate("document.activeElement.id") == "pim-url"  # focus goes to the first bad field
    # Nothing overflows sideways at 375 px.
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    shot(page, "7-field-errors-375")
    assert errors == []
    page.context.close()
