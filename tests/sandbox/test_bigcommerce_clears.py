"""The BigCommerce sandbox on clearing values (issue 19): what a PUT with each field's empty value
does, as the specs say (products_catalog.v3.yml, product-variants_catalog.v3.yml); strictest where silent."""

from __future__ import annotations

import uuid

import httpx
import pytest

from sandbox.bigcommerce import create_app
from tests.servers import serve


@pytest.fixture(scope="module")
def sandbox():
    app = create_app(unlimited=True)
    with serve(app) as url:
        yield url, app


@pytest.fixture
def api(sandbox):
    url, app = sandbox
    hash_ = "c" + uuid.uuid4().hex[:9]
    app.state.bc.create_store(hash_, "tok-" + hash_)
    with httpx.Client(base_url=f"{url}/stores/{hash_}", headers={"X-Auth-Token": "tok-" + hash_},
                      timeout=30) as client:
        yield client


FULL = {"description": "<p>Soft</p>", "sale_price": 8, "retail_price": 12, "cost_price": 4, "width": 3,
        "upc": "012345678905", "gtin": "1234567890183", "mpn": "M-1", "search_keywords": "bag",
        "page_title": "Bag", "meta_description": "A bag", "meta_keywords": ["bag"], "warranty": "2 years",
        "availability_description": "Ships in 2 days", "condition": "Used", "brand_name": "Acme"}
EMPTY = {"description": "", "sale_price": 0, "retail_price": 0, "cost_price": 0, "width": 0, "upc": "", "gtin": "",
         "mpn": "", "search_keywords": "", "page_title": "", "meta_description": "", "meta_keywords": [],
         "warranty": "", "availability_description": "", "condition": "New", "brand_id": 0}


def create(api, **body) -> dict:
    r = api.post("/v3/catalog/products", json={"name": "Bag", "type": "physical", "weight": 1, "price": 10, **body})
    assert r.status_code == 200, r.text
    return r.json()["data"]


def test_a_put_of_each_empty_value_clears_the_field(api):
    p = create(api, **FULL)
    assert p["brand_id"] != 0 and p["calculated_price"] == 8  # on sale
    r = api.put("/v3/catalog/products", json=[{"id": p["id"], **EMPTY}])
    assert r.status_code == 200, r.text
    after = api.get(f"/v3/catalog/products/{p['id']}").json()["data"]
    assert {k: after[k] for k in EMPTY} == EMPTY
    assert after["calculated_price"] == 10  # sale_price 0: the sale ended, the price applies


def test_brand_id_0_unsets_the_brand_and_an_empty_brand_name_clears_nothing(api):
    p = create(api, brand_name="Acme")
    api.put(f"/v3/catalog/products/{p['id']}", json={"brand_name": ""})
    assert api.get(f"/v3/catalog/products/{p['id']}").json()["data"]["brand_id"] == p["brand_id"] != 0
    api.put(f"/v3/catalog/products/{p['id']}", json={"brand_id": 0})
    assert api.get(f"/v3/catalog/products/{p['id']}").json()["data"]["brand_id"] == 0


def test_brand_id_and_brand_name_together_are_refused(api):
    p = create(api)
    r = api.put(f"/v3/catalog/products/{p['id']}", json={"brand_id": 0, "brand_name": "Acme"})
    assert r.status_code == 422 and "brand_name" in r.json()["errors"]


@pytest.mark.parametrize("field", ["description", "sale_price", "upc", "gtin", "warranty", "weight", "page_title"])
def test_null_is_no_empty_value_for_a_product(api, field):
    """Product fields are not nullable: a client must send the field's own empty."""
    p = create(api)
    r = api.put(f"/v3/catalog/products/{p['id']}", json={field: None})
    assert r.status_code == 422 and field in r.json()["errors"]


def test_a_variant_s_nulls_fall_back_to_the_product_and_empty_image_url_removes_its_image(api):
    p = create(api, sale_price=0, variants=[{
        "sku": "BAG-S", "price": 9, "sale_price": 7, "retail_price": 11, "weight": 2, "upc": "012345678905",
        "image_url": "https://example.com/bag.png", "purchasing_disabled": True,
        "option_values": [{"option_display_name": "Size", "label": "S"}]}])
    vid = p["variants"][0]["id"]
    assert p["variants"][0]["calculated_price"] == 7
    r = api.put("/v3/catalog/variants", json=[{"id": vid, "price": None, "sale_price": None, "retail_price": None,
                                                "weight": None, "upc": "", "image_url": "",
                                                "purchasing_disabled": False}])
    assert r.status_code == 200, r.text
    v = api.get(f"/v3/catalog/products/{p['id']}/variants/{vid}").json()["data"]
    assert (v["price"], v["sale_price"], v["retail_price"], v["weight"]) == (None, None, None, None)
    assert (v["upc"], v["image_url"], v["purchasing_disabled"]) == ("", "", False)
    assert (v["calculated_price"], v["calculated_weight"]) == (10, 1)  # the product's


def test_a_variant_without_a_sale_price_takes_the_product_s(api):
    p = create(api, sale_price=6, variants=[{"sku": "BAG-M", "price": 9,
                                             "option_values": [{"option_display_name": "Size", "label": "M"}]}])
    assert p["variants"][0]["calculated_price"] == 6
