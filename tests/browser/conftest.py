"""The browser tests' fixtures: one headless Chromium per module, and the connector the configuration page
tests open from the PIM."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def browser():
    """One headless Chromium per module (tests/browser/support.py says where it is and how it starts)."""
    from playwright.sync_api import sync_playwright  # only when a browser test runs

    from tests.browser.support import ARGS, CHROMIUM, SHOTS

    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def connector(tmp_path_factory, redis_url, pim):
    """The connector for the sandbox PIM `pim` (tests/conftest.py), no store: (app, url)."""
    from service.app import create_app
    from service.settings import load_settings
    from tests.servers import serve

    settings = load_settings({"DATA_DIR": str(tmp_path_factory.mktemp("browser")), "REDIS_URL": redis_url,
                              "SECRET_KEY": "browser-test-secret-key-0123456789abcdef", "ALLOW_PRIVATE_URLS": "true",
                              "PIM_URLS": pim[0]})
    app = create_app(settings)
    with serve(app) as url:
        yield app, url
