"""The mapping section of the configuration page in headless Chromium (sandbox PIM with the icecat catalog,
sandbox BigCommerce): locked until both connections are green, a choice saved and still there after a
reload, only compatible attributes offered, ordered lists, family overrides, the live preview. Screenshots
go to test-output/screenshots/."""

from __future__ import annotations

import re

import httpx
import pytest
from playwright.sync_api import expect

from service.app import create_app
from service.settings import load_settings
from service.store import mapping as mapping_store
from tests.browser.support import BROWSER_TESTS, SHOTS
from tests.config_env import BC_CLIENT, BC_TOKEN, STORE
from tests.servers import serve

pytestmark = BROWSER_TESTS
CAMERA = "10970033"
PRICE_TYPES = {"pim_catalog_price_collection", "pim_catalog_number"}



@pytest.fixture(scope="module")
def connector(tmp_path_factory, redis_url, pim, bc):
    settings = load_settings({"DATA_DIR": str(tmp_path_factory.mktemp("browser-mapping")), "REDIS_URL": redis_url,
                              "SECRET_KEY": "browser-mapping-secret-key-0123456789abcdef",
                              "ALLOW_PRIVATE_URLS": "true", "PIM_URLS": pim[0], "BC_API_URL": bc[0]})
    app = create_app(settings)
    with serve(app) as url:
        yield app, url


def open_from_pim(browser, connector, pim, width=1280):
    """Enter as the PIM does (its session cookie); from then on the page works with its Bearer token."""
    _, url = connector
    bapid = httpx.post(f"{pim[0]}/sandbox/sessions", json={"username": "admin"}).json()["cookie"]
    context = browser.new_context(viewport={"width": width, "height": 900})
    context.add_cookies([{"name": "BAPID", "value": bapid, "url": url}])
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text)
            if msg.type == "error" and not msg.text.startswith("Failed to load resource") else None)
    page.on("response", lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 500 else None)
    response = page.goto(f"{url}/?pim={pim[0]}")
    assert response.status == 200 and "script-src 'self';" in response.headers["content-security-policy"]
    page.wait_for_selector("body[data-ready=true]")
    context.clear_cookies(name="connector_session")
    return page, page.get_attribute('meta[name="tenant"]', "content"), errors


def api_of(page, connector) -> httpx.Client:
    """The page's own session, over HTTP (to set up what other tests already cover through the page)."""
    token = page.get_attribute('meta[name="session-token"]', "content")
    csrf = page.get_attribute('meta[name="csrf-token"]', "content")
    tenant = page.get_attribute('meta[name="tenant"]', "content")
    # The PIM's cookie goes along: a session from the PIM lasts while the PIM still accepts it.
    cookies = {c["name"]: c["value"] for c in page.context.cookies() if c["name"] == "BAPID"}
    return httpx.Client(base_url=connector[1], timeout=30, cookies=cookies, headers={
        "Authorization": f"Bearer {token}", "X-CSRF-Token": csrf, "X-Tenant": tenant})


def set_up(page, connector, pim, *, bigcommerce=True) -> None:
    from tests.config_env import PIM_CLIENT, PIM_PASSWORD, PIM_SECRET, PIM_USER

    with api_of(page, connector) as http:
        assert http.put("/api/config/pim", json={"url": pim[0], "client_id": PIM_CLIENT, "secret": PIM_SECRET,
                                                 "username": PIM_USER, "password": PIM_PASSWORD}).json()["connected"]
        assert http.put("/api/config/main", json={"locale": "en_US", "channel": "ecommerce",
                                                  "category": "master"}).status_code == 200
        if bigcommerce:
            assert http.put("/api/config/bigcommerce", json={"store_hash": STORE, "client_id": BC_CLIENT,
                                                             "access_token": BC_TOKEN}).json()["connected"]


def ready(browser, connector, pim, width=1280):
    """A page whose tenant has both connections green and its mapping section loaded."""
    page, tenant, errors = open_from_pim(browser, connector, pim, width)
    set_up(page, connector, pim)
    page.context.close()
    page, again, errors = open_from_pim(browser, connector, pim, width)  # the same PIM: the same tenant
    assert again == tenant
    page.wait_for_selector("#mapping-section[data-loaded=true]")
    return page, tenant, errors


def shot(page, name, element=None):
    target = page.locator(element) if element else page
    target.screenshot(path=str(SHOTS / f"{name}.png"), **({} if element else {"full_page": True}))


def options(page, selector) -> list[str]:
    return page.eval_on_selector_all(f"{selector} option", "els => els.map(e => e.value)")


@pytest.fixture(autouse=True)
def fresh(redis_conn):
    """Each test starts from an empty Redis: a new tenant for the same PIM."""


def test_locked_until_both_connections_are_green(browser, connector, pim, bc):
    page, tenant, errors = open_from_pim(browser, connector, pim)
    assert page.is_visible("#mapping-locked") and page.is_disabled("#mapping-save")
    set_up(page, connector, pim, bigcommerce=False)
    page.context.close()
    page, _, errors = open_from_pim(browser, connector, pim)
    assert page.is_visible("#mapping-locked") and page.is_disabled("#mapping-save")
    # Connecting the store on the page unlocks the section without a reload.
    page.fill("#bc-store_hash", STORE)
    page.fill("#bc-client_id", BC_CLIENT)
    page.fill("#bc-access_token", BC_TOKEN)
    page.click("#bc-save")
    page.wait_for_selector("#bc-result[data-state=ok]")
    page.wait_for_selector("#mapping-section[data-loaded=true]")
    assert not page.is_visible("#mapping-locked") and not page.is_disabled("#mapping-save")
    assert page.inner_text("#mapping-badge") == "Suggested defaults"
    assert page.input_value("#map-name") == "name" and page.input_value("#map-sku") == "sku"
    assert errors == []
    page.context.close()


def test_pick_save_reload_and_it_is_kept(browser, connector, pim):
    app, _ = connector
    page, tenant, errors = ready(browser, connector, pim)
    shot(page, "mapping-1-suggested-1280")
    # Scripts come from files only (CSP script-src 'self'): no inline script on the page.
    assert page.eval_on_selector_all("script", "els => els.filter(e => !e.src).length") == 0
    assert "mapping.js" in " ".join(page.eval_on_selector_all("script", "els => els.map(e => e.src)"))
    page.select_option("#map-name", "erp_name")
    assert page.inner_text("#mapping-badge") == "Unsaved changes"
    page.click("#mapping-save")
    page.wait_for_selector("#mapping-result[data-state=ok]")
    assert "version 1" in page.inner_text("#mapping-result")
    assert page.inner_text("#mapping-badge") == "Saved · version 1"
    assert mapping_store.get_mapping(app.state.store, tenant)["fields"]["name"] == "erp_name"
    page.context.close()

    page, _, errors = open_from_pim(browser, connector, pim)
    page.wait_for_selector("#mapping-section[data-loaded=true]")
    assert page.input_value("#map-name") == "erp_name"
    assert "Suggested: Name (name)" in page.inner_text("#map-name-help")
    page.click("#map-row-name button:has-text('Use it')")
    assert page.input_value("#map-name") == "name"
    assert errors == []
    page.context.close()


def test_only_compatible_attributes_are_offered(browser, connector, pim, catalog_types):
    page, _, errors = ready(browser, connector, pim)
    prices = [v for v in options(page, "#map-price") if v]
    assert "price" in prices and "name" not in prices and "description" not in prices
    assert {catalog_types[c] for c in prices} <= PRICE_TYPES
    chosen = page.eval_on_selector_all("#map-images-list li[data-code]", "els => els.map(e => e.dataset.code)")
    assert page.is_disabled("#map-images-add")  # every image attribute is already in the list
    page.click("#map-images-list li:first-child [data-action=remove]")
    assert page.is_disabled("#map-images-add") is False
    images = [v for v in options(page, "#map-images-add") if v]
    assert images == [chosen[0]] and {catalog_types[c] for c in chosen} == {"pim_catalog_image"}
    assert options(page, "#map-visibility")[1] == "enabled"
    assert {catalog_types[c] for c in options(page, "#map-visibility") if c not in ("", "enabled")} <= \
        {"pim_catalog_boolean"}
    # Long lists can be filtered; the choice is kept while filtering.
    page.fill("#map-custom_fields-filter", "megapix")
    assert [v for v in options(page, "#map-custom_fields-add") if v] == ["total_megapixels"]
    page.select_option("#map-custom_fields-add", "total_megapixels")
    assert not page.locator("#map-name-filter").count()  # short lists need no filter
    page.fill("#map-search_keywords-filter", "zzz-nothing")
    assert page.input_value("#map-search_keywords") == "keywords"
    assert options(page, "#map-search_keywords") == ["", "keywords"]
    assert page.inner_text("#map-custom_fields-count") == "1 of at most 200 attributes"
    assert page.locator("#map-custom_fields-list li").all_inner_texts()[0].startswith("Total megapixels")
    assert errors == []
    page.context.close()


@pytest.fixture(scope="module")
def catalog_types(pim):
    return {a["code"]: a["type"] for a in pim[1].state.pim.catalog.attributes}


def test_ordered_lists_and_family_overrides(browser, connector, pim):
    app, _ = connector
    page, tenant, errors = ready(browser, connector, pim)
    first = page.locator("#map-images-list li").all_inner_texts()
    assert len(first) >= 2 and "Thumbnail" in first[0]
    page.click("#map-images-list li:nth-child(2) [data-action=up]")
    again = page.locator("#map-images-list li").all_inner_texts()
    assert again[0].split("\n")[0] == first[1].split("\n")[0] and "Thumbnail" in again[0]
    page.select_option("#mapping-family", "digital_cameras")
    assert page.input_value("#map-name") == "__inherit__"
    page.select_option("#map-name", "sku")
    assert "family override" in page.evaluate("getComputedStyle(document.querySelector('#map-row-name > label'), "
                                              "'::after').content")
    shot(page, "mapping-2-family-override-1280", "#mapping-section")
    page.click("#mapping-save")
    page.wait_for_selector("#mapping-result[data-state=ok]")
    saved = mapping_store.get_mapping(app.state.store, tenant)
    assert saved["families"]["digital_cameras"]["name"] == "sku"
    assert saved["fields"]["name"] == "name"
    assert saved["fields"]["images"][0] == first[1].split("\n")[0].split("(")[-1].rstrip(")")
    assert re.search(r"digital_cameras\) · 1 override", page.inner_text("#mapping-family"))
    assert errors == []
    page.context.close()


def test_the_preview_updates(browser, connector, pim):
    page, _, errors = ready(browser, connector, pim)
    page.fill("#preview-code", CAMERA)
    page.wait_for_selector("#preview-details:not([hidden])")
    payload = page.inner_text("#preview-payload")
    assert '"name": "Fujifilm Z950EXR"' in payload and '"weight": 0.533' in payload
    assert "No EUR price" in page.inner_text("#preview-warnings")
    shot(page, "mapping-3-preview-1280", "#mapping-preview")
    # An unsaved change shows in the preview at once.
    page.select_option("#map-name", "sku")
    expect(page.locator("#preview-payload")).to_contain_text(f'"name": "{CAMERA}"')
    # A product model: one product, its variants.
    page.select_option("#preview-kind", "model")
    page.fill("#preview-code", "apollon")
    expect(page.locator("#preview-payload")).to_contain_text('"variants"')
    assert "Variants" in page.inner_text("#preview-summary")
    page.fill("#preview-code", "no_such_model")
    page.wait_for_selector("#preview-code[aria-invalid=true]")
    assert "no product model" in page.inner_text("#preview-code-error")
    assert errors == []
    page.context.close()


def test_an_invalid_save_names_the_field_and_saves_nothing(browser, connector, pim):
    app, _ = connector
    page, tenant, errors = ready(browser, connector, pim)
    # An attribute the PIM no longer has (e.g. deleted since): offered nowhere, refused on save.
    page.evaluate("""() => { const s = document.getElementById('map-brand');
        const o = document.createElement('option'); o.value = 'gone_attribute'; o.text = 'gone'; s.appendChild(o);
        s.value = 'gone_attribute'; s.dispatchEvent(new Event('change')); }""")
    page.click("#mapping-save")
    page.wait_for_selector("#mapping-result[data-state=error]")
    assert "gone_attribute" in page.inner_text("#map-brand-error")
    assert page.get_attribute("#map-brand", "aria-invalid") == "true"
    assert mapping_store.get_mapping(app.state.store, tenant) is None
    assert errors == []
    page.context.close()


def test_narrow_screen(browser, connector, pim):
    page, _, errors = ready(browser, connector, pim, width=375)
    page.fill("#preview-code", CAMERA)
    page.wait_for_selector("#preview-details:not([hidden])")
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    shot(page, "mapping-4-375")
    shot(page, "mapping-5-preview-375", "#mapping-preview")
    assert errors == []
    page.context.close()
