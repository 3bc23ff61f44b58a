"""One readiness rule for every caller: the imports page, an import refused, the import and event workers
and the PIM's "sync now" all ask `service.connections.readiness` (or read the `Connections` it is made
of), so they can never disagree on whether a tenant can sync, nor on what the merchant must do first."""

from __future__ import annotations

import pytest

from service.connections import (
    MISSING_TEXT,
    Connections,
    MainConfig,
    credentials_in_force,
    read_connections,
    readiness,
)
from service.crypto import SecretBox
from service.imports import ImportRefused, start_import
from service.store import Store
from workers.sync.context import NotConfigured, read_config

PIM = {"url": "https://pim.example.com", "client_id": "c", "secret": "s", "username": "u", "password": "p"}
MAIN = {"locale": "en_US", "channel": "ecommerce", "category": "master", "category_tree": "master"}


@pytest.fixture
def store(redis_conn) -> Store:
    return Store(redis_conn, SecretBox("connections-tests-secret-key-0123456789"))


def connect(store: Store, tenant: str, *, pim: bool = True, bigcommerce: bool = True) -> None:
    if pim:
        store.put_credentials(tenant, "pim", PIM)
        store.put_section(tenant, "pim", {"url": PIM["url"], "client_id": "c", "username": "u", "connected": True})
    if bigcommerce:
        store.put_credentials(tenant, "bigcommerce", {"access_token": "token"})
        store.put_section(tenant, "bigcommerce", {"store_hash": "abc123", "connected": True})


def test_a_new_tenant_misses_everything_in_the_merchants_words(store, redis_conn):
    tenant = store.create_tenant(pim_url=PIM["url"])
    ready = readiness(store, tenant)
    assert not ready.ready and ready.missing == ["pim", "bigcommerce", "main"]
    assert ready.in_words() == [MISSING_TEXT[m] for m in ready.missing]
    with pytest.raises(ImportRefused) as refused:
        start_import(store, redis_conn, tenant, "full")
    assert refused.value.error == "configuration_incomplete"
    assert refused.value.message == (
        "Before an import: connect the PIM (its connection test must pass); connect the BigCommerce store (its "
        "connection test must pass); save the main configuration (locale, channel and main category).")
    assert refused.value.extra == {"missing": ["pim", "bigcommerce", "main"]}


def test_a_connected_tenant_with_its_main_configuration_is_ready_everywhere(store):
    tenant = store.create_tenant(pim_url=PIM["url"])
    connect(store, tenant)
    store.put_section(tenant, "main", MAIN)
    assert readiness(store, tenant).ready
    conns, _ = read_config(store, tenant)  # what an import page or an event batch opens
    assert conns.pim == PIM and conns.bigcommerce == {"store_hash": "abc123", "access_token": "token"}
    assert conns.main == MainConfig("en_US", "ecommerce", "master", "master") and conns.channel_id == 1


def test_credentials_of_a_failed_test_stored_in_place_are_not_in_force(store):
    """Older versions stored a failed test in place ("not connected"): neither a page nor a worker uses it."""
    tenant = store.create_tenant(pim_url=PIM["url"])
    connect(store, tenant)
    store.put_section(tenant, "main", MAIN)
    store.put_section(tenant, "pim", {"url": PIM["url"], "connected": False})
    assert credentials_in_force(store, tenant, "pim") is None
    assert readiness(store, tenant).missing == ["pim"]
    with pytest.raises(NotConfigured, match="both connections must be configured before an import"):
        read_config(store, tenant)


def test_the_main_category_is_optional_for_the_mapping_page_and_required_to_sync(store):
    tenant = store.create_tenant(pim_url=PIM["url"])
    connect(store, tenant)
    store.put_section(tenant, "main", {"locale": "en_US", "channel": "ecommerce"})
    conns = read_connections(store, tenant)
    assert conns.main == MainConfig("en_US", "ecommerce") and not conns.main.complete  # a preview can build
    assert readiness(store, tenant).missing == ["main"]
    with pytest.raises(NotConfigured, match=r"the main configuration \(locale, channel, category\) is missing"):
        read_config(store, tenant)


def test_a_page_is_refused_with_the_side_it_needs():
    from service.mapping_service import NotReady

    with pytest.raises(NotReady) as refused:
        Connections(pim=None, bigcommerce=None).require(pim=False)
    assert refused.value.status == 409 and refused.value.error == "bigcommerce_not_connected"
    with pytest.raises(NotReady) as refused:
        Connections(pim=None, bigcommerce=None).require()
    assert refused.value.error == "pim_not_connected"


def test_main_config_needs_a_locale_and_a_channel():
    assert MainConfig.from_section({}) is None
    assert MainConfig.from_section({"locale": "en_US", "category": "master"}) is None
    assert MainConfig.from_section(MAIN) == MainConfig("en_US", "ecommerce", "master", "master")
