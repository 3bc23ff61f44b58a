"""Contract tests: what we send to the BigCommerce sandbox and what it answers must match BigCommerce's
official OpenAPI specs, so a sandbox drifting from the real API fails here."""

from __future__ import annotations

import uuid

import httpx
import jsonschema
import pytest

from sandbox.bigcommerce import create_app
from tests.contract_bigcommerce import validate_request, validate_response, validate_schema
from tests.sandbox.test_bigcommerce_catalog import image_files
from tests.servers import serve

PRODUCTS = "products_catalog.v3.yml"
VARIANTS = "product-variants_catalog.v3.yml"
OPTIONS = "product-variant-options_catalog.v3.yml"
TREES = "category-trees_catalog.v3.yml"
BRANDS = "brands_catalog.v3.yml"
INLINE = ("id", "product_id")  # productVariant_Full requires them, but not in a create request


@pytest.fixture(scope="module")
def urls():
    with serve(create_app(stores=[("contract", "tok")], unlimited=True)) as base, serve(image_files()) as files:
        yield base, files


@pytest.fixture(scope="module")
def api(urls):
    with httpx.Client(base_url=f"{urls[0]}/stores/contract", headers={"X-Auth-Token": "tok"}, timeout=30) as c:
        yield c


def call(api, spec, path, method, url, body=None, relax=(), **kwargs):
    """Send `body` after checking it against the spec; check the answer against the spec too."""
    if body is not None:
        validate_request(spec, path, method, body, relax)
    r = api.request(method.upper(), url, json=body, **kwargs)
    if r.status_code != 204:
        validate_response(spec, path, method, r.status_code, r.json())
    return r


@pytest.fixture(scope="module")
def made(api, urls):
    """One product with inline variants, an image, custom fields, a category and a brand."""
    cats = call(api, TREES, "/catalog/trees/categories", "post", "/v3/catalog/trees/categories",
                [{"name": "Contract", "tree_id": 1, "parent_id": 0}])
    assert cats.status_code == 201
    body = {
        "name": "Contract tee", "type": "physical", "sku": "CT", "weight": 0.2, "price": 19.5,
        "categories": [cats.json()["data"][0]["category_id"]], "brand_name": "Contract brand",
        "description": "<p>Soft</p>", "is_visible": True,
        "custom_url": {"url": "/contract-tee-ct/", "is_customized": True},
        "custom_fields": [{"name": "Material", "value": "Cotton"}],
        "images": [{"image_url": f"{urls[1]}/red.png", "is_thumbnail": True}],
        "variants": [{"sku": f"CT-{c}", "price": 19.5, "option_values": [
            {"option_display_name": "Color", "label": c}, {"option_display_name": "Size", "label": "M"}]}
            for c in ("Red", "Blue")],
    }
    r = call(api, PRODUCTS, "/catalog/products", "post", "/v3/catalog/products", body, relax=INLINE)
    assert r.status_code == 200, r.text
    return r.json()["data"]


def test_product_create_and_read(api, made):
    assert len(made["variants"]) == 2 and made["images"][0]["is_thumbnail"]
    r = call(api, PRODUCTS, "/catalog/products", "get", "/v3/catalog/products",
             params={"include": "variants,images,custom_fields,options,primary_image", "sku:in": "CT"})
    assert r.json()["data"][0]["id"] == made["id"]
    r = call(api, PRODUCTS, "/catalog/products/{product_id}", "get", f"/v3/catalog/products/{made['id']}")
    assert r.status_code == 200


def test_product_errors(api, made):
    dup = {"name": "contract TEE", "type": "physical", "weight": 1, "price": 1}
    assert call(api, PRODUCTS, "/catalog/products", "post", "/v3/catalog/products", dup).status_code == 409
    bad = {"name": "x", "type": "physical", "weight": 1, "price": 1, "condition": "Broken"}
    with pytest.raises(jsonschema.ValidationError):  # the spec itself forbids it ...
        validate_request(PRODUCTS, "/catalog/products", "post", bad)
    r = api.post("/v3/catalog/products", json=bad)  # ... and so does the sandbox
    assert r.status_code == 422
    validate_response(PRODUCTS, "/catalog/products", "post", 422, r.json())
    validate_schema(PRODUCTS, "error_Base", r.json())
    r = api.get(f"/v3/catalog/products/{made['id'] + 10_000}")
    assert r.status_code == 404
    validate_response(PRODUCTS, "/catalog/products", "put", 404, r.json())


def test_batch_update(api, made):
    field_id = made["custom_fields"][0]["id"]
    body = [{"id": made["id"], "price": 21, "custom_fields": [{"id": field_id, "name": "Material", "value": "Linen"}]}]
    r = call(api, PRODUCTS, "/catalog/products", "put", "/v3/catalog/products", body)
    assert r.status_code == 200 and r.json()["data"][0]["price"] == 21
    r = call(api, PRODUCTS, "/catalog/products", "put", "/v3/catalog/products", [{"id": made["id"]}] * 11)
    assert r.status_code == 413
    r = api.put("/v3/catalog/products", json=[{"id": made["id"], "name": "x" * 300}])
    assert r.status_code == 422
    validate_response(PRODUCTS, "/catalog/products", "put", 422, r.json())


def test_variants_options_images_fields(api, made):
    pid = made["id"]
    r = call(api, VARIANTS, "/catalog/products/{product_id}/variants", "get", f"/v3/catalog/products/{pid}/variants")
    variants = r.json()["data"]
    body = [{"id": variants[0]["id"], "price": 25, "purchasing_disabled": True}]
    r = call(api, VARIANTS, "/catalog/variants", "put", "/v3/catalog/variants", body)
    assert r.status_code == 200
    r = call(api, VARIANTS, "/catalog/variants", "put", "/v3/catalog/variants", body * 51)
    assert r.status_code == 413
    r = call(api, VARIANTS, "/catalog/variants", "get", "/v3/catalog/variants")
    assert r.status_code == 200
    call(api, OPTIONS, "/catalog/products/{product_id}/options", "get", f"/v3/catalog/products/{pid}/options")
    r = call(api, PRODUCTS, "/catalog/products/{product_id}/custom-fields", "post",
             f"/v3/catalog/products/{pid}/custom-fields", {"name": "Origin", "value": "EU"})
    assert r.status_code == 200
    r = call(api, PRODUCTS, "/catalog/products/{product_id}/images", "get", f"/v3/catalog/products/{pid}/images")
    assert r.json()["data"][0]["product_id"] == pid


def test_channel_assignments_and_store(api, made):
    r = call(api, PRODUCTS, "/catalog/products/channel-assignments", "put",
             "/v3/catalog/products/channel-assignments", [{"product_id": made["id"], "channel_id": 1}])
    assert r.status_code == 204
    call(api, PRODUCTS, "/catalog/products/channel-assignments", "get", "/v3/catalog/products/channel-assignments")
    call(api, "channels.v3.yml", "/channels", "get", "/v3/channels")
    call(api, "store_information.v2.yml", "/store", "get", "/v2/store")
    call(api, "store_information.v2.yml", "/time", "get", "/v2/time")


def test_trees_and_categories(api):
    call(api, TREES, "/catalog/trees", "get", "/v3/catalog/trees", params={"channel_id:in": "1"})
    r = call(api, TREES, "/catalog/trees", "put", "/v3/catalog/trees", [{"id": 1, "name": "Main tree"}])
    assert r.status_code == 200
    r = call(api, TREES, "/catalog/trees/categories", "post", "/v3/catalog/trees/categories",
             [{"name": "Top", "tree_id": 1, "parent_id": 0, "is_visible": True}])
    top = r.json()["data"][0]
    r = call(api, TREES, "/catalog/trees/categories", "post", "/v3/catalog/trees/categories",
             [{"name": "Child", "tree_id": 1, "parent_id": top["category_id"],
               "url": {"path": "/top/child/", "is_customized": True}}])
    assert r.status_code == 201
    r = call(api, TREES, "/catalog/trees/categories", "post", "/v3/catalog/trees/categories",
             [{"name": "Top", "tree_id": 1, "parent_id": 0}])
    assert r.status_code == 422  # a duplicate sibling name; the spec documents no 409 here
    r = call(api, TREES, "/catalog/trees/categories", "put", "/v3/catalog/trees/categories",
             [{"category_id": top["category_id"], "name": "Top renamed"}])
    assert r.status_code == 200
    call(api, TREES, "/catalog/trees/categories", "get", "/v3/catalog/trees/categories", params={"tree_id:in": "1"})
    call(api, TREES, "/catalog/trees/{tree_id}/categories", "get", "/v3/catalog/trees/1/categories")
    r = api.post("/v3/catalog/trees/categories", json=[{"name": "z" * 51, "tree_id": 1, "parent_id": 0}])
    assert r.status_code == 422
    validate_response(TREES, "/catalog/trees/categories", "post", 422, r.json())
    r = api.delete(f"/v3/catalog/trees/categories?category_id:in={top['category_id']}")
    validate_response(TREES, "/catalog/trees/categories", "delete", r.status_code, r.json())


def test_brands(api):
    name = "Brand " + uuid.uuid4().hex[:6]
    r = call(api, BRANDS, "/catalog/brands", "post", "/v3/catalog/brands", {"name": name, "page_title": name})
    assert r.status_code == 200
    assert call(api, BRANDS, "/catalog/brands", "post", "/v3/catalog/brands", {"name": name}).status_code == 409
    call(api, BRANDS, "/catalog/brands", "get", "/v3/catalog/brands", params={"name": name})
    bid = r.json()["data"]["id"]
    call(api, BRANDS, "/catalog/brands/{brand_id}", "put", f"/v3/catalog/brands/{bid}", {"name": name + "!"})


def test_the_contract_helper_catches_drift():
    good = {"data": {"id": 1, "name": "x", "type": "physical", "price": 1.0}, "meta": {}}
    validate_response(PRODUCTS, "/catalog/products", "post", 200, good)
    for drift in ({"data": {**good["data"], "price": "1.0"}, "meta": {}},
                  {"data": {**good["data"], "type": "service"}, "meta": {}},
                  {"data": {**good["data"], "id": 0}, "meta": {}}):
        with pytest.raises(jsonschema.ValidationError):
            validate_response(PRODUCTS, "/catalog/products", "post", 200, drift)
    with pytest.raises(jsonschema.ValidationError):  # nullable fields take null, others do not
        validate_schema(PRODUCTS, "productVariant_Base", {"price": None, "purchasing_disabled": None})
    validate_schema(PRODUCTS, "productVariant_Base", {"price": None})
