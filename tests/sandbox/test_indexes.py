"""The sandboxes' indexes (what lets them answer at 100,000 products) answer exactly as a full scan does.

PIM: a search_after page scans a sorted view from its cursor; page pagination still filters the whole
catalog, so it is the oracle here, also after products are added and removed (the view is rebuilt).
BigCommerce: sub-resources grouped by product, `sku:in` from the SKU index.
"""

from __future__ import annotations

import json
import uuid

import httpx
import pytest

from sandbox.bigcommerce import create_app as create_bc
from sandbox.pim import create_app as create_pim
from service.store.imports import ImportStore
from tests.servers import serve

API = "/api/rest/v1"
FILTERS = [
    None,
    {"categories": [{"operator": "IN CHILDREN", "value": ["master"]}], "enabled": [{"operator": "=", "value": True}]},
    {"family": [{"operator": "IN", "value": ["clothing", "shoes"]}]},
    {"parent": [{"operator": "EMPTY"}], "categories": [{"operator": "IN CHILDREN", "value": ["print"]}]},
]


@pytest.fixture(scope="module")
def pim():
    with serve(create_pim()) as base_url, httpx.Client(base_url=base_url, timeout=30) as http:
        token = http.post("/api/oauth/v1/token", auth=("sandbox-client", "sandbox-secret"),
                          json={"grant_type": "password", "username": "admin", "password": "admin"}).json()
        http.headers["Authorization"] = f"Bearer {token['access_token']}"
        yield http


def _key(item: dict) -> str:
    return item.get("identifier") or item.get("uuid") or item["code"]


def _walk(http: httpx.Client, path: str, **params) -> list[str]:
    """Every item's key following `_links.next`."""
    if "search" in params:
        params["search"] = json.dumps(params["search"])
    keys: list[str] = []
    answer = http.get(path, params=params)
    while True:
        assert answer.status_code == 200, answer.text
        body = answer.json()
        keys += [_key(item) for item in body["_embedded"]["items"]]
        nxt = body["_links"].get("next")
        if not nxt:
            return keys
        answer = http.get(nxt["href"])


def _both(http: httpx.Client, path: str, search: dict | None, limit: int) -> tuple[list[str], list[str]]:
    extra = {"search": search} if search else {}
    after = _walk(http, path, pagination_type="search_after", limit=limit, **extra)
    pages = _walk(http, path, pagination_type="page", limit=100, **extra)
    return after, pages


@pytest.mark.parametrize("search", FILTERS)
@pytest.mark.parametrize("path", ["products-uuid", "products", "product-models"])
def test_search_after_pages_equal_the_filtered_catalog(pim, path, search):
    if path == "product-models" and search and "enabled" in search:
        search = {k: v for k, v in search.items() if k != "enabled"}  # not a model filter
    if path == "product-models" and search and "parent" in search:
        search = {**search, "parent": [{"operator": "NOT EMPTY"}]}
    after, pages = _both(pim, f"{API}/{path}", search, limit=37)
    assert after == pages and len(after) == len(set(after)) and after


def test_search_after_follows_products_added_and_removed(pim):
    before, _ = _both(pim, f"{API}/products", FILTERS[1], limit=50)
    identifier = f"idx-{uuid.uuid4().hex[:8]}"
    made = pim.post("/sandbox/products", json={"identifier": identifier, "family": "clothing",
                                               "categories": ["master_men"]})
    assert made.status_code == 201, made.text
    assert pim.delete(f"/sandbox/products/{before[3]}").status_code == 200
    after, pages = _both(pim, f"{API}/products", FILTERS[1], limit=50)
    assert after == pages
    assert set(after) == (set(before) - {before[3]}) | {identifier}


def test_a_cursor_between_keys_starts_after_it(pim):
    first = pim.get(f"{API}/products", params={"pagination_type": "search_after", "limit": 3}).json()
    nxt = first["_links"]["next"]["href"]
    second = pim.get(nxt).json()["_embedded"]["items"]
    everything = _walk(pim, f"{API}/products", pagination_type="page", limit=100)
    ids = [_key(i) for i in first["_embedded"]["items"] + second]
    assert ids == everything[:6]


# ---------------------------------------------------------------- BigCommerce

@pytest.fixture
def bc():
    app = create_bc(unlimited=True)
    app.state.bc.create_store("idx", "tok")
    with serve(app) as base_url, httpx.Client(base_url=f"{base_url}/stores/idx", timeout=30,
                                              headers={"X-Auth-Token": "tok"}) as http:
        http.state = app.state.bc.stores["idx"]
        yield http


def _model(sku: str) -> dict:
    return {"name": f"Model {sku}", "type": "physical", "weight": 1, "price": 5, "sku": sku,
            "custom_fields": [{"name": "Origin", "value": sku}],
            "variants": [{"sku": f"{sku}-{size}", "option_values": [{"option_display_name": "Size", "label": size}]}
                         for size in ("S", "M")]}


def test_sub_resources_stay_with_their_product(bc):
    a = bc.post("/v3/catalog/products", json=_model("A1"), params={"include": "variants,custom_fields"}).json()["data"]
    b = bc.post("/v3/catalog/products", json=_model("B1"), params={"include": "variants,custom_fields"}).json()["data"]
    assert [v["sku"] for v in a["variants"]] == ["A1-S", "A1-M"] and [v["sku"] for v in b["variants"]] == ["B1-S", "B1-M"]
    assert [f["value"] for f in b["custom_fields"]] == ["B1"]
    assert bc.delete(f"/v3/catalog/products/{a['id']}").status_code == 204
    store = bc.state
    assert a["id"] not in store.variants.of and a["id"] not in store.options.of
    assert all(v["product_id"] == b["id"] for v in store.variants.values())
    kept = bc.get(f"/v3/catalog/products/{b['id']}", params={"include": "variants,options,custom_fields"}).json()["data"]
    assert [v["sku"] for v in kept["variants"]] == ["B1-S", "B1-M"] and len(kept["options"]) == 1
    # a new variant for B lands in B's group
    option = kept["options"][0]
    value = bc.post(f"/v3/catalog/products/{b['id']}/options/{option['id']}/values", json={"label": "L", "sort_order": 2}).json()["data"]
    made = bc.post(f"/v3/catalog/products/{b['id']}/variants",
                   json={"sku": "B1-L", "option_values": [{"id": value["id"], "option_id": option["id"]}]})
    assert made.status_code == 200, made.text
    assert [v["sku"] for v in store.variants.for_product(b["id"])] == ["B1-S", "B1-M", "B1-L"]


def test_sku_filters_from_the_index_match_a_scan(bc):
    for sku in ("Red-1", "red-2", "Blue-1"):
        assert bc.post("/v3/catalog/products", json={"name": sku, "type": "physical", "weight": 1, "price": 1,
                                                     "sku": sku}).status_code == 200
    def skus(**params):
        return sorted(p["sku"] for p in bc.get("/v3/catalog/products", params=params).json()["data"])
    assert skus(**{"sku:in": "RED-1,red-2,nope"}) == ["Red-1", "red-2"]
    assert skus(sku="blue-1") == ["Blue-1"]
    assert skus(sku="Red-1-S") == []  # a variant's SKU is no product's
    assert skus(**{"sku:in": "red-1", "name": "Red-1"}) == ["Red-1"]  # other filters still apply
    assert skus(**{"sku:in": "red-1", "name": "red-2"}) == []


# ---------------------------------------------------------------- the import's read-ahead page

def test_a_page_read_ahead_is_taken_once_and_only_for_its_url(redis_conn):
    imports = ImportStore(redis_conn)
    run = f"run-{uuid.uuid4().hex[:8]}"
    imports.put_next_page(run, "https://pim/x?search_after=a", [{"uuid": "1"}], "https://pim/x?search_after=b",
                           1767225600.5)
    assert imports.take_next_page(run, "https://pim/x?search_after=a") == (
        [{"uuid": "1"}], "https://pim/x?search_after=b", 1767225600.5)
    assert imports.take_next_page(run, "https://pim/x?search_after=a") is None  # taken
    imports.put_next_page(run, "https://pim/x?search_after=b", [], None, 0.0)
    assert imports.take_next_page(run, "https://pim/x?search_after=c") is None  # another page: read it again
    assert imports.take_next_page(run, "https://pim/x?search_after=b") is None
    imports.put_next_page(run, "https://pim/x?search_after=d", [], None, 0.0)
    assert 0 < redis_conn.ttl(f"connector:run:{run}:next-page") <= 60  # a stale read-ahead expires
    imports.mark_finished(run)
    assert not redis_conn.exists(f"connector:run:{run}:next-page")
