"""The mapping store on a real Redis: versions, history, conflicts, racing saves, the short cache."""

from __future__ import annotations

import threading

import pytest
import redis

from service.crypto import SecretBox
from service.store import Store
from service.store import mapping as mstore


@pytest.fixture
def store(redis_conn: redis.Redis) -> Store:
    return Store(redis_conn, SecretBox("mapping-store-test-secret-0123456789"))


def doc(name: str = "name") -> dict:
    return {"fields": {"name": name, "images": ["picture"]}, "families": {}}


def test_a_new_tenant_has_no_saved_mapping(store):
    tenant = store.create_tenant()
    assert mstore.get_mapping(store, tenant) is None
    assert mstore.mapping_versions(store, tenant) == []


def test_each_save_is_a_new_version_recorded_with_its_content(store):
    tenant = store.create_tenant()
    assert mstore.save_mapping(store, tenant, {**doc("name"), "version": 0}, by="m@example.com") == 1
    assert mstore.save_mapping(store, tenant, doc("title")) == 2
    current = mstore.get_mapping(store, tenant)
    assert current == {**doc("title"), "version": 2}
    assert mstore.mapping_versions(store, tenant) == [1, 2]
    first = mstore.get_mapping_version(store, tenant, 1)
    assert first["mapping"] == {**doc("name"), "version": 1} and first["by"] == "m@example.com"
    assert first["saved_at"] > 0
    # The key trust-core's Store reads is the same document.
    assert store.get_mapping(tenant) == current


def test_saving_the_same_mapping_again_keeps_the_version(store):
    tenant = store.create_tenant()
    mstore.save_mapping(store, tenant, doc())
    # Key order and a stale version number in the body do not make it a change.
    same = {"families": {}, "fields": {"images": ["picture"], "name": "name"}, "version": 7}
    assert mstore.save_mapping(store, tenant, same) == 1
    assert mstore.mapping_versions(store, tenant) == [1]


def test_expected_version_guards_against_a_lost_update(store):
    tenant = store.create_tenant()
    mstore.save_mapping(store, tenant, doc(), expected_version=0)
    with pytest.raises(mstore.MappingConflict) as caught:
        mstore.save_mapping(store, tenant, doc("title"), expected_version=0)
    assert caught.value.current == 1
    assert mstore.get_mapping(store, tenant)["fields"]["name"] == "name"
    assert mstore.save_mapping(store, tenant, doc("title"), expected_version=1) == 2


def test_racing_saves_get_distinct_consecutive_versions(store, redis_url):
    tenant = store.create_tenant()
    results: list[int] = []
    lock = threading.Lock()

    def writer(i: int) -> None:
        own = Store(redis.Redis.from_url(redis_url), store.box)
        for j in range(10):
            version = mstore.save_mapping(own, tenant, doc(f"name_{i}_{j}"))
            with lock:
                results.append(version)

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == list(range(1, 41))
    assert mstore.get_mapping(store, tenant)["version"] == 40
    assert mstore.mapping_versions(store, tenant) == list(range(1, 41))


def test_old_versions_are_trimmed(store, monkeypatch):
    monkeypatch.setattr(mstore, "VERSIONS_KEPT", 3)
    tenant = store.create_tenant()
    for i in range(5):
        mstore.save_mapping(store, tenant, doc(f"n{i}"))
    assert mstore.mapping_versions(store, tenant) == [3, 4, 5]
    assert mstore.get_mapping_version(store, tenant, 1) is None


def test_tenant_deletion_removes_the_mapping_and_its_history(store):
    tenant = store.create_tenant()
    mstore.save_mapping(store, tenant, doc())
    mstore.cache_put(store, tenant, "catalog", "fp", {"a": 1})
    store.delete_tenant(tenant)
    assert mstore.get_mapping(store, tenant) is None and mstore.mapping_versions(store, tenant) == []
    assert mstore.cache_get(store, tenant, "catalog", "fp") is None


def test_cache_answers_only_for_the_same_fingerprint_and_expires(store, redis_conn):
    tenant = store.create_tenant()
    mstore.cache_put(store, tenant, "catalog", "pim-a", {"attributes": {"sku": {}}}, ttl=30)
    assert mstore.cache_get(store, tenant, "catalog", "pim-a") == {"attributes": {"sku": {}}}
    assert mstore.cache_get(store, tenant, "catalog", "pim-b") is None
    assert 0 < redis_conn.ttl(f"connector:tenant:{tenant}:mapping-cache:catalog") <= 30
    mstore.cache_drop(store, tenant, "catalog")
    assert mstore.cache_get(store, tenant, "catalog", "pim-a") is None
