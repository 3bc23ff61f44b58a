"""The imports section in headless Chromium: readiness, start buttons, the live progress bar while the run
advances, the last 30 runs, a run's errors and warnings filtered by text, the settings and schedule form,
and the clean-up offered after a confirmed guarded change. Screenshots go to test-output/screenshots/.

The run advances through the engine's own store API (ImportStore counters and issues, the run record), as
the import workers write it."""

from __future__ import annotations

import time

from rq import Queue
from rq.registry import ScheduledJobRegistry

from service.store.imports import ImportStore, PageCommit
from tests.browser.support import BROWSER_TESTS, SHOTS
from tests.browser.test_config_page import open_from_pim, shot
from tests.config_env import PIM_CLIENT, PIM_PASSWORD, PIM_SECRET, PIM_USER

pytestmark = BROWSER_TESTS


def configure(store, tenant, pim_url):
    """What the connection tests and the main configuration store once they passed (the PIM is the
    sandbox: the rest of the page reads its channels)."""
    store.put_credentials(tenant, "pim", {"url": pim_url, "client_id": PIM_CLIENT, "secret": PIM_SECRET,
                                          "username": PIM_USER, "password": PIM_PASSWORD})
    store.put_section(tenant, "pim", {"url": pim_url, "client_id": PIM_CLIENT, "username": PIM_USER,
                                      "connected": True})
    store.put_credentials(tenant, "bigcommerce", {"access_token": "t"})
    store.put_section(tenant, "bigcommerce", {"store_hash": "abc123", "connected": True})
    store.put_section(tenant, "main", {"locale": "en_US", "channel": "ecommerce", "category": "master"})


def wait_text(page, selector, text, timeout=10):
    deadline = time.monotonic() + timeout
    while text not in page.inner_text(selector):
        if time.monotonic() > deadline:
            raise AssertionError(f"{selector} never showed {text!r}: {page.inner_text(selector)!r}")
        page.wait_for_timeout(100)


def test_start_follow_filter_and_history(browser, connector, pim, redis_conn):
    app, _ = connector
    store = app.state.store
    page, tenant, errors = open_from_pim(browser, connector, pim)
    page.wait_for_selector("#imports-missing:not([hidden])")
    assert "connect the BigCommerce store" in page.inner_text("#imports-missing")
    assert page.is_disabled("#import-full") and page.is_disabled("#import-delta")
    assert page.inner_text("#imports-badge") == "Not ready"

    configure(store, tenant, pim[0])
    # the section checks its readiness again by itself
    page.wait_for_selector("#import-full:not([disabled])", timeout=10000)
    assert page.inner_text("#imports-badge") == "Ready" and not page.is_visible("#imports-missing")

    page.click("#import-full")
    page.wait_for_selector("#import-progress:not([hidden])")
    wait_text(page, "#import-progress-label", "Full import queued")
    assert page.is_disabled("#import-full")
    [run] = store.list_runs(tenant)
    assert run["mode"] == "full" and run["status"] == "queued"
    assert Queue("imports", connection=redis_conn).get_job_ids() == [f"import-{run['id']}"]

    # the engine picks it up and loads pages
    imports = ImportStore(redis_conn)
    store.update_run(tenant, run["id"], status="running", started_at=time.time())
    imports.add_total(run["id"], 1239)
    commit = PageCommit()
    commit.count("categories", "created", 66)
    commit.count("products", "created", 600)
    commit.done = 600
    imports.commit_page(run["id"], commit, {"phase": "simple"})
    wait_text(page, "#import-progress-label", "600 of 1239 products (48 %)")
    assert page.get_attribute("#import-progress-bar", "value") == "48"
    assert "600 created" in page.inner_text("#import-progress-counts")
    shot(page, "imports-1-progress-1280")

    last = PageCommit()
    last.count("products", "created", 637)
    last.count("products", "failed", 2)
    last.done = 639
    last.errors += [
        {"item": "product 1111111", "field": "price", "message": "BigCommerce refused the price: check price"},
        {"item": "product 2222222", "field": "name", "message": "The name is empty: fill name in the PIM"}]
    last.warnings += [{"item": f"product {n}", "field": "weight", "message": "No weight: sent as 0"}
                      for n in range(1000, 1040)]
    last.warnings.append({"item": "product 1111111", "field": "price", "message": "No USD price: created hidden"})
    imports.commit_page(run["id"], last, {"phase": "finish"})
    store.ledger(tenant).note_failures(["product:1111111", "product:2222222"], [])  # what the loader notes
    store.update_run(tenant, run["id"], status="partial", finished_at=time.time())
    page.wait_for_selector("#imports-result[data-state=error]")
    assert "Full import partial" in page.inner_text("#imports-result")
    # the two it could not send are tried again by the next delta: the section says so
    page.wait_for_selector("#imports-retry:not([hidden])")
    assert page.inner_text("#imports-retry").startswith("2 products could not be sent to the store last time")
    assert page.get_attribute("#import-progress-bar", "value") == "100"
    page.wait_for_selector("#import-full:not([disabled])")
    row = page.locator(f"#runs-body tr[data-run={run['id']}]")
    assert "Partial" in row.inner_text() and "1237 created" in row.inner_text() and "2 failed" in row.inner_text()

    row.locator("button").click()
    page.wait_for_selector("#run-detail:not([hidden])")
    assert page.locator("#run-errors li").count() == 2 and page.locator("#run-warnings li").count() == 41
    page.fill("#issues-filter", "1111111")
    wait_text(page, "#issues-count", "Showing 1 of 2 errors and 1 of 41 warnings")
    assert "refused the price" in page.inner_text("#run-errors") and "created hidden" in page.inner_text("#run-warnings")
    page.fill("#issues-filter", "WEIGHT")
    wait_text(page, "#issues-count", "Showing 0 of 2 errors and 40 of 41 warnings")
    assert "None match the filter." in page.inner_text("#run-errors")
    shot(page, "imports-2-run-issues-filtered-1280")

    # the last 30 runs
    for _ in range(34):
        extra = store.create_run(tenant, {"mode": "delta", "status": "succeeded", "trigger": "schedule"})
        store.update_run(tenant, extra, started_at=time.time())
    page.reload()
    page.wait_for_selector("#runs-body tr[data-run]")
    assert page.locator("#runs-body tr[data-run]").count() == 30
    assert "Delta (scheduled)" in page.locator("#runs-body tr").first.inner_text()
    assert errors == []
    page.context.close()


def test_settings_schedule_and_cleanup(browser, connector, pim, redis_conn):
    app, _ = connector
    store = app.state.store
    page, tenant, errors = open_from_pim(browser, connector, pim)
    configure(store, tenant, pim[0])
    page.wait_for_selector("#imports-enabled_only")
    assert page.is_checked("#imports-enabled_only") and not page.is_checked("#imports-completeness-on")
    assert page.is_checked("#imports-removed-hide") and page.input_value("#imports-every") == "off"
    assert not page.is_visible("#cleanup")

    page.check("#imports-completeness-on")
    page.fill("#imports-completeness", "80")
    page.fill("#imports-families", "webcams, camcorders")
    page.check("#imports-removed-delete")
    page.select_option("#imports-every", "daily")
    page.fill("#imports-at", "03:30")
    page.click("#imports-save")
    page.wait_for_selector("#imports-settings-result[data-state=ok]")
    assert "03:30 UTC" in page.inner_text("#imports-settings-result")
    saved = store.get_section(tenant, "import")
    assert saved["completeness"] == 80 and saved["families"] == ["webcams", "camcorders"]
    assert saved["removed"] == "delete" and saved["schedule"] == {"every": "daily", "at": "03:30"}
    assert len(ScheduledJobRegistry(queue=Queue("imports", connection=redis_conn)).get_job_ids()) == 1
    assert "Next scheduled delta import" in page.inner_text("#imports-next")

    page.fill("#imports-completeness", "150")
    page.click("#imports-save")
    page.wait_for_selector("#imports-settings-result[data-state=error]")
    assert "0 to 100" in page.inner_text("#imports-completeness-error")
    assert store.get_section(tenant, "import")["completeness"] == 80

    # after a confirmed guarded change the clean-up is offered
    store.put_section(tenant, "status", {"first_import_done": True, "next_import": "full"})
    store.record_config_change(tenant, {"changed": ["category"], "from": {"category": "master"},
                                        "to": {"category": "cameras"}})
    page.reload()
    page.wait_for_selector("#cleanup:not([hidden])")
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#cleanup-hide")
    page.wait_for_selector("#cleanup-result[data-state=busy]")
    wait_text(page, "#cleanup-result", "Clean-up (hide): queued")
    assert store.get_section(tenant, "cleanup")["action"] == "hide"
    assert page.is_disabled("#cleanup-delete")
    shot(page, "imports-3-settings-cleanup-1280")
    assert errors == []
    page.context.close()


def test_narrow_screen(browser, connector, pim, redis_conn):
    app, _ = connector
    page, tenant, errors = open_from_pim(browser, connector, pim, width=375)
    configure(app.state.store, tenant, pim[0])
    store = app.state.store
    run = store.create_run(tenant, {"mode": "full", "status": "succeeded", "trigger": "manual"})
    store.update_run(tenant, run, started_at=time.time(), finished_at=time.time(),
                     counts={"products": {"created": 999}, "categories": {"created": 66}})
    page.reload()
    page.wait_for_selector("#runs-body tr[data-run]")
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    page.locator("#imports-section").screenshot(path=str(SHOTS / "imports-4-section-375.png"))
    assert errors == []
    page.context.close()
