"""The tenant store on a real Redis: credentials encrypted at rest and key rotation, tenant lookup and
deletion, sections, what was learned about a store, runs and their history."""

import pytest

from service.crypto import DecryptionError, SecretBox
from service.store import Store
from service.store.ledger import StoreLedger, drop_other_ledgers

KEY = "current-secret-key-0123456789"
OLD = "previous-secret-key-0123456789"


def everything_stored(conn):
    readers = {b"string": lambda k: [conn.get(k)], b"hash": lambda k: conn.hvals(k),
               b"set": lambda k: list(conn.smembers(k)), b"list": lambda k: conn.lrange(k, 0, -1)}
    for key in conn.keys("*"):
        yield from readers[conn.type(key)](key)


@pytest.fixture
def store(redis_conn):
    return Store(redis_conn, SecretBox(KEY))


def test_credentials_are_ciphertext_at_rest(store, redis_conn):
    tenant = store.create_tenant(pim_url="https://pim.example.com")
    creds = {"url": "https://pim.example.com", "secret": "s3cr3t-value", "password": "hunter2-password"}
    store.put_credentials(tenant, "pim", creds)
    raw = b"".join(everything_stored(redis_conn))
    assert b"s3cr3t-value" not in raw and b"hunter2-password" not in raw
    assert store.get_credentials(tenant, "pim") == creds


def test_rotated_out_key_still_decrypts_while_listed(redis_conn):
    old_store = Store(redis_conn, SecretBox(OLD))
    tenant = old_store.create_tenant(store_hash="abc123")
    old_store.put_credentials(tenant, "bigcommerce", {"access_token": "tok-abcdef"})

    rotated = Store(redis_conn, SecretBox(KEY, [OLD]))
    assert rotated.get_credentials(tenant, "bigcommerce") == {"access_token": "tok-abcdef"}
    assert rotated.rotate_credentials() == 1

    # Once rotated, the new key alone is enough and the old key alone no longer is.
    assert Store(redis_conn, SecretBox(KEY)).get_credentials(tenant, "bigcommerce") == {"access_token": "tok-abcdef"}
    with pytest.raises(DecryptionError):
        Store(redis_conn, SecretBox(OLD)).get_credentials(tenant, "bigcommerce")


def test_key_not_listed_cannot_decrypt(store, redis_conn):
    tenant = store.create_tenant()
    store.put_credentials(tenant, "pim", {"secret": "x"})
    with pytest.raises(DecryptionError):
        Store(redis_conn, SecretBox("some-other-key-0123456789")).get_credentials(tenant, "pim")


def test_tenant_lookup_and_relink(store):
    tenant = store.create_tenant(pim_url="https://pim.example.com", store_hash="abc123")
    assert store.tenant_exists(tenant)
    assert store.tenant_for_pim("https://pim.example.com") == tenant
    assert store.tenant_for_store("abc123") == tenant
    store.set_tenant_store_hash(tenant, "def456")
    assert store.tenant_for_store("abc123") is None
    assert store.tenant_for_store("def456") == tenant
    assert store.tenant(tenant)["store_hash"] == "def456"
    assert not store.tenant_exists("t-unknown")


def test_delete_tenant_leaves_nothing_of_it(store, redis_conn):
    keep = store.create_tenant(store_hash="keep")
    store.put_section(keep, "main", {"locale": "en_US"})
    tenant = store.create_tenant(pim_url="https://pim.example.com", store_hash="gone")
    store.put_credentials(tenant, "pim", {"secret": "x"})
    store.put_section(tenant, "main", {"locale": "en_US"})
    store.put_mapping(tenant, {"name": "name"})
    store.ledger(tenant).map_product("product:1", 11)
    store.ledger(tenant).set_bookmark(1767225600.0)
    run = store.create_run(tenant, {"mode": "full", "status": "queued"})
    store.delete_tenant(tenant)
    assert not store.tenant_exists(tenant)
    assert store.get_run(tenant, run) is None
    assert store.tenant_for_store("gone") is None and store.tenant_for_pim("https://pim.example.com") is None
    assert not [k for k in redis_conn.keys("*") if tenant.encode() in k]
    assert store.get_section(keep, "main") == {"locale": "en_US"}


def test_sections_and_mapping(store):
    tenant = store.create_tenant()
    assert store.get_section(tenant, "main") == {}
    store.put_section(tenant, "main", {"locale": "en_US", "channel": "ecommerce"})
    assert store.all_sections(tenant) == {"main": {"locale": "en_US", "channel": "ecommerce"}}
    assert store.get_mapping(tenant) is None
    store.put_mapping(tenant, {"fields": {"name": "name"}})
    assert store.get_mapping(tenant) == {"fields": {"name": "name"}}


def test_what_was_learned_about_a_store_is_bound_to_it(store, redis_conn):
    tenant = store.create_tenant(store_hash="store-a")
    assert store.ledger(store.create_tenant()) is None  # no store connected: nothing to learn into
    a = store.ledger(tenant)
    a.map_product("model:m", 11, {"v": {"u-1": {"id": 101}}})
    a.save_categories({"Audio": {"code": "audio", "id": 2, "visible": True}})
    a.set_bookmark(1767225600.0)
    assert a.product_ids(["model:m", "product:2"]) == {"model:m": 11} and a.owners_of([11]) == {11: "model:m"}
    assert a.variant_owners(["u-1"]) == {"u-1": "model:m"} and a.category_ids() == {"audio": 2}
    b = StoreLedger(redis_conn, tenant, "store-b")
    assert b.product_ids(["product:1"]) == {} and b.category_ids() == {} and b.bookmark() is None
    b.map_product("product:1", 7)
    drop_other_ledgers(redis_conn, tenant, "store-b")
    assert a.product_ids(["model:m"]) == {} and a.bookmark() is None and a.category_ids() == {}
    assert b.product_ids(["product:1"]) == {"product:1": 7}


def test_runs_newest_first_and_tenant_bound(store):
    tenant, other = store.create_tenant(), store.create_tenant()
    first = store.create_run(tenant, {"mode": "full", "status": "queued"})
    second = store.create_run(tenant, {"mode": "delta", "status": "queued"})
    store.update_run(tenant, first, status="succeeded")
    assert [r["id"] for r in store.list_runs(tenant)] == [second, first]
    assert store.get_run(tenant, first)["status"] == "succeeded"
    assert store.get_run(other, first) is None
    with pytest.raises(KeyError):
        store.update_run(other, first, status="failed")


def test_claim_once(store):
    assert store.claim_once("jti", "abc", 60)
    assert not store.claim_once("jti", "abc", 60)
    assert store.claim_once("jti", "def", 60)


def test_a_run_leaving_the_history_takes_its_engine_keys(store, redis_conn):
    """Was (issue 18): runs past the 100 kept lost their record but left their counts, issues, checkpoint... for
    14 days, so starting runs in a loop grew Redis without bound."""
    from service.store import RUN_HISTORY_KEPT, RUN_PARTS

    tenant = store.create_tenant()
    runs = []
    for _ in range(RUN_HISTORY_KEPT + 5):
        run_id = store.create_run(tenant, {"mode": "delta", "status": "succeeded"})
        pipe = redis_conn.pipeline()
        for part in RUN_PARTS[1:]:
            pipe.set(f"connector:run:{run_id}{part}", "x", ex=14 * 24 * 3600)
        pipe.execute()
        runs.append(run_id)
    for run_id in runs[:5]:
        assert not redis_conn.keys(f"connector:run:{run_id}*"), run_id
    assert len(redis_conn.keys("connector:run:*")) == RUN_HISTORY_KEPT * len(RUN_PARTS)
    assert [r["id"] for r in store.list_runs(tenant, 3)] == runs[::-1][:3]
