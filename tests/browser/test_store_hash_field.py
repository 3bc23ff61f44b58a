"""The store hash field shows the cleaned hash after saving a pasted store URL (issue 8), in headless
Chromium."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.servers import serve


@pytest.mark.browser
@pytest.mark.skipif(not Path("/usr/bin/chromium").exists() and not __import__("os").environ.get("CI"),
                    reason="Chromium is not installed (the browser tests always run in CI)")
def test_store_hash_field_shows_the_cleaned_hash_after_saving_a_pasted_url(tmp_path, redis_url, redis_conn):
    from playwright.sync_api import sync_playwright

    from tests.browser.support import ARGS, CHROMIUM
    from tests.config_env import BC_CLIENT, BC_TOKEN, STORE, bc_sandbox_app, running_connector

    with serve(bc_sandbox_app()) as bc_url, running_connector(tmp_path, redis_url, bc_url) as (app, url), \
            sync_playwright() as p:
        tenant = app.state.store.create_tenant()
        token, _ = app.state.sessions.issue(tenant, {"id": 1}, "bigcommerce")
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            # APP_URL is https here (a __Host- cookie the http test server cannot set): the Bearer token.
            context = browser.new_context(extra_http_headers={"Authorization": f"Bearer {token}"})
            page = context.new_page()
            assert page.goto(f"{url}/").status == 200
            page.wait_for_selector("body[data-ready=true]")
            page.fill("#bc-store_hash", f"https://store-{STORE}.mybigcommerce.com/manage/dashboard")
            page.fill("#bc-client_id", BC_CLIENT)
            page.fill("#bc-access_token", BC_TOKEN)
            page.click("#bc-save")
            page.wait_for_selector("#bc-result[data-state=ok]")
            assert page.input_value("#bc-store_hash") == STORE
        finally:
            browser.close()
    assert app.state.store.get_section(tenant, "bigcommerce")["store_hash"] == STORE
