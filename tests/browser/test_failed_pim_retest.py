"""A failed PIM re-test never takes the working connection away, in headless Chromium (issue 8): a working PIM
connection, then a typo in the password, then the good password again. The credentials in force (what imports
and events read) never change to the typo; the page shows the failed attempt in red and says the previous
connection is still in use."""

from __future__ import annotations

from service.connections import credentials_in_force as in_force
from tests.browser.support import BROWSER_TESTS
from tests.browser.test_config_page import fill_pim, open_from_pim, shot
from tests.config_env import PIM_PASSWORD, PIM_SECRET

pytestmark = BROWSER_TESTS


def test_a_typo_never_takes_the_working_connection_away(browser, connector, pim, redis_conn):
    app, _ = connector
    store = app.state.store
    page, tenant, errors = open_from_pim(browser, connector, pim)
    fill_pim(page, pim[0], PIM_PASSWORD)
    page.wait_for_selector("#pim-result[data-state=ok]")
    assert page.inner_text("#pim-badge") == "Connected" and not page.is_visible("#pim-in-use")
    working = in_force(store, tenant, "pim")
    assert working and working["password"] == PIM_PASSWORD and working["secret"] == PIM_SECRET

    # A typo in the password (the secret field left empty: the stored one is kept for the same PIM).
    page.fill("#pim-password", "a-typo")
    page.click("#pim-save")
    page.wait_for_selector("#pim-result[data-state=error]")
    assert "No user found" in page.inner_text("#pim-result")
    assert page.inner_text("#pim-badge") == "Connected"
    assert page.is_visible("#pim-in-use")
    note = page.inner_text("#pim-in-use")
    assert "previous connection is still in use" in note and pim[0] in note
    assert in_force(store, tenant, "pim") == working  # imports keep the connection
    assert not page.is_disabled("#main-save") and not page.is_visible("#main-locked")
    page.wait_for_selector("#main-channel option[value=ecommerce]", state="attached")  # the PIM is still read
    shot(page, "trust-1-typo-previous-in-use-1280")
    page.context.close()

    # Opened again later: the page says the same from what is stored.
    page, again, errors_again = open_from_pim(browser, connector, pim)
    assert again == tenant
    assert page.get_attribute("#pim-result", "data-state") == "error"
    assert "No user found" in page.inner_text("#pim-result")
    assert page.inner_text("#pim-badge") == "Connected" and page.is_visible("#pim-in-use")
    assert not page.is_disabled("#main-save")

    # The good password: connected with it, the note goes away.
    page.fill("#pim-password", PIM_PASSWORD)
    page.click("#pim-save")
    page.wait_for_selector("#pim-result[data-state=ok]")
    assert page.inner_text("#pim-badge") == "Connected" and not page.is_visible("#pim-in-use")
    assert in_force(store, tenant, "pim") == working
    assert store.get_section(tenant, "pim_attempt") == {}
    shot(page, "trust-2-good-password-again-1280")
    assert errors == [] and errors_again == []
    page.context.close()


def test_a_first_typo_connects_nothing(browser, connector, pim, redis_conn):
    app, _ = connector
    page, tenant, errors = open_from_pim(browser, connector, pim)
    fill_pim(page, pim[0], "a-typo")
    page.wait_for_selector("#pim-result[data-state=error]")
    assert page.inner_text("#pim-badge") == "Not connected" and not page.is_visible("#pim-in-use")
    assert page.is_disabled("#main-save")
    assert in_force(app.state.store, tenant, "pim") is None
    assert errors == []
    page.context.close()
