"""The BigCommerce sandbox's catalog rules, over real HTTP: products, variants, options, images, custom
fields, brands, category trees, channel assignments."""

from __future__ import annotations

import struct
import uuid
import zlib

import httpx
import pytest
from starlette.applications import Starlette
from starlette.responses import Response
from starlette.routing import Route

from sandbox.bigcommerce import create_app
from tests.servers import serve


def png_bytes() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00"))
            + chunk(b"IEND", b""))


PNG = png_bytes()


def image_files() -> Starlette:
    async def png(request):
        return Response(PNG, media_type="image/png")

    async def fake(request):  # says PNG, is not one
        return Response(b"<html>not an image</html>", media_type="image/png")

    async def gone(request):
        return Response("gone", status_code=404)

    return Starlette(routes=[Route("/red.png", png), Route("/fake.png", fake), Route("/gone.png", gone)])


@pytest.fixture(scope="module")
def app():
    return create_app(unlimited=True)


@pytest.fixture(scope="module")
def files_url():
    with serve(image_files()) as url:
        yield url


@pytest.fixture
def api(app, base_url):
    """A client on a fresh store of the shared sandbox."""
    hash_ = "s" + uuid.uuid4().hex[:9]
    app.state.bc.create_store(hash_, "tok-" + hash_)
    with httpx.Client(base_url=f"{base_url}/stores/{hash_}", headers={"X-Auth-Token": "tok-" + hash_},
                      timeout=30) as client:
        client.store_hash = hash_
        yield client


def product(name="Shirt", **extra) -> dict:
    return {"name": name, "type": "physical", "weight": 1, "price": 10, **extra}


def create(api, **body):
    r = api.post("/v3/catalog/products", json=product(**body))
    assert r.status_code == 200, r.text
    return r.json()["data"]


def count_products(api) -> int:
    return api.get("/v3/catalog/products").json()["meta"]["pagination"]["total"]


# --- products ------------------------------------------------------------------------------------

def test_inline_variants_create_options_and_values(api):
    p = create(api, sku="TS", variants=[
        {"sku": "TS-R-M", "option_values": [{"option_display_name": "Color", "label": "Red"},
                                            {"option_display_name": "Size", "label": "M"}]},
        {"sku": "TS-B-M", "price": 12, "option_values": [{"option_display_name": "Color", "label": "Blue"},
                                                         {"option_display_name": "Size", "label": "M"}]},
    ])
    assert "base_variant_id" not in p
    options = api.get(f"/v3/catalog/products/{p['id']}/options").json()["data"]
    assert {o["display_name"]: sorted(v["label"] for v in o["option_values"]) for o in options} == {
        "Color": ["Blue", "Red"], "Size": ["M"]}
    variants = api.get(f"/v3/catalog/products/{p['id']}/variants").json()["data"]
    assert [(v["sku"], v["calculated_price"]) for v in variants] == [("TS-R-M", 10), ("TS-B-M", 12)]
    assert variants[0]["option_values"][0]["option_display_name"] == "Color"


def test_simple_product_has_a_base_variant_with_its_sku(api):
    p = create(api, sku="PLAIN")
    variants = api.get(f"/v3/catalog/products/{p['id']}/variants").json()["data"]
    assert [v["sku"] for v in variants] == ["PLAIN"]
    assert p["base_variant_id"] == variants[0]["id"]


@pytest.mark.parametrize("body, field", [
    ({"type": "physical", "weight": 1, "price": 1}, "name"),
    ({"name": "x", "weight": 1, "price": 1}, "type"),
    ({"name": "x", "type": "physical", "price": 1}, "weight"),
    ({"name": "x", "type": "physical", "weight": 1}, "price"),
    (product(name="x" * 251), "name"),
    (product(name=""), "name"),
    (product(type="service"), "type"),
    (product(price=-1), "price"),
    (product(price="10"), "price"),
    (product(weight=None), "weight"),
    (product(sku="x" * 256), "sku"),
    (product(is_visible="yes"), "is_visible"),
    (product(categories="1"), "categories"),
    (product(custom_url={"url": ""}), "custom_url.url"),
    (product(custom_fields=[{"name": "a"}]), "custom_fields.0.value"),
    (product(custom_fields=[{"name": "a", "value": "v" * 251}]), "custom_fields.0.value"),
    (product(variants=[{"option_values": []}]), "variants.0.sku"),
    (product(variants=[{"sku": "V", "option_values": [{"label": "Red"}]}]), "variants.0.option_values.0.option_display_name"),
    (product(images=[{"image_url": "x" * 256}]), "images.0.image_url"),
])
def test_invalid_fields_answer_422_and_create_nothing(api, body, field):
    r = api.post("/v3/catalog/products", json=body)
    assert r.status_code == 422
    error = r.json()
    assert error["status"] == 422 and error["title"] and error["type"]
    assert field in error["errors"]
    assert count_products(api) == 0


def test_name_is_unique_case_insensitively(api):
    create(api, name="Blue Mug")
    r = api.post("/v3/catalog/products", json=product(name="blue mug"))
    assert r.status_code == 409
    assert "name" in r.json()["errors"]
    assert count_products(api) == 1


def test_skus_are_unique_across_products_and_variants_case_insensitively(api):
    create(api, name="A", sku="A-1", variants=[
        {"sku": "A-1-red", "option_values": [{"option_display_name": "Color", "label": "Red"}]}])
    for body in (
        product(name="B", sku="a-1"),  # another product's sku
        product(name="B", sku="A-1-RED"),  # another product's variant sku
        product(name="B", sku="B-1", variants=[  # a variant taking a product sku
            {"sku": "a-1", "option_values": [{"option_display_name": "Color", "label": "Red"}]}]),
        product(name="B", sku="B-1", variants=[  # a variant repeating its own product's sku
            {"sku": "b-1", "option_values": [{"option_display_name": "Color", "label": "Red"}]}]),
        product(name="B", sku="B-1", variants=[  # two variants with one sku
            {"sku": "B-x", "option_values": [{"option_display_name": "Color", "label": "Red"}]},
            {"sku": "b-X", "option_values": [{"option_display_name": "Color", "label": "Blue"}]}]),
    ):
        r = api.post("/v3/catalog/products", json=body)
        assert r.status_code == 409, body
    assert count_products(api) == 1
    create(api, name="B", sku="B-1")


def test_custom_url_duplicates_conflict_and_urls_are_derived(api):
    p = create(api, name="Café Noir")
    assert p["custom_url"] == {"url": "/cafe-noir/", "is_customized": False}
    create(api, name="Other", custom_url={"url": "/mine/", "is_customized": True})
    r = api.post("/v3/catalog/products", json=product(name="Third", custom_url={"url": "/MINE/"}))
    assert r.status_code == 409 and "custom_url" in r.json()["errors"]


def test_categories_and_brand_ids_must_exist(api):
    assert api.post("/v3/catalog/products", json=product(categories=[999999])).status_code == 409
    assert api.post("/v3/catalog/products", json=product(brand_id=999999)).status_code == 409
    cats = api.post("/v3/catalog/trees/categories", json=[{"name": "Mugs", "tree_id": 1, "parent_id": 0}])
    cid = cats.json()["data"][0]["category_id"]
    assert create(api, categories=[cid])["categories"] == [cid]


def test_brand_name_creates_the_brand_once(api):
    a = create(api, name="A", brand_name="Acme")
    b = create(api, name="B", brand_name="ACME")
    assert a["brand_id"] == b["brand_id"] != 0
    assert [x["name"] for x in api.get("/v3/catalog/brands").json()["data"]] == ["Acme"]


def test_at_most_200_custom_fields(api):
    fields = [{"name": f"f{i}", "value": "v"} for i in range(200)]
    p = create(api, custom_fields=fields)
    assert len(p["custom_fields"]) == 200
    r = api.post(f"/v3/catalog/products/{p['id']}/custom-fields", json={"name": "one", "value": "more"})
    assert r.status_code == 422
    r = api.post("/v3/catalog/products", json=product(name="Other", custom_fields=[*fields, {"name": "x", "value": "y"}]))
    assert r.status_code == 422 and "custom_fields" in r.json()["errors"]


def test_at_most_600_variants(api):
    def variants(n):
        return [{"sku": f"V-{i}", "option_values": [{"option_display_name": "Color", "label": f"c{i // 20}"},
                                                    {"option_display_name": "Size", "label": f"s{i % 20}"}]}
                for i in range(n)]

    r = api.post("/v3/catalog/products", json=product(name="Too many", variants=variants(601)))
    assert r.status_code == 422 and "variants" in r.json()["errors"]
    p = create(api, variants=variants(600))
    total = api.get(f"/v3/catalog/products/{p['id']}/variants").json()["meta"]["pagination"]["total"]
    assert total == 600
    options = {o["display_name"]: o for o in api.get(f"/v3/catalog/products/{p['id']}/options").json()["data"]}
    value = api.post(f"/v3/catalog/products/{p['id']}/options/{options['Color']['id']}/values",
                     json={"label": "extra", "sort_order": 99}).json()["data"]
    size = options["Size"]["option_values"][0]
    r = api.post(f"/v3/catalog/products/{p['id']}/variants", json={"sku": "V-extra", "option_values": [
        {"id": value["id"], "option_id": options["Color"]["id"]}, {"id": size["id"], "option_id": options["Size"]["id"]}]})
    assert r.status_code == 422


def test_batch_update_of_products(api):
    ids = [create(api, name=f"P{i}", sku=f"P{i}", custom_fields=[{"name": "k", "value": "old"}])["id"]
           for i in range(11)]
    assert api.put("/v3/catalog/products", json=[{"id": i, "price": 5} for i in ids]).status_code == 413
    assert api.put("/v3/catalog/products", json=[{"price": 5}]).status_code == 422
    assert api.put("/v3/catalog/products", json=[{"id": 999999, "price": 5}]).status_code == 404
    # a conflict anywhere leaves every item untouched
    r = api.put("/v3/catalog/products", json=[{"id": ids[0], "price": 7}, {"id": ids[1], "name": "p0"}])
    assert r.status_code == 409
    assert api.get(f"/v3/catalog/products/{ids[0]}").json()["data"]["price"] == 10
    first = api.get(f"/v3/catalog/products/{ids[0]}?include=custom_fields").json()["data"]
    field_id = first["custom_fields"][0]["id"]
    r = api.put("/v3/catalog/products", json=[
        {"id": ids[0], "price": 7, "custom_fields": [{"id": field_id, "name": "k", "value": "new"},
                                                     {"name": "added", "value": "yes"}]},
        *({"id": i, "is_visible": False} for i in ids[1:10])])
    assert r.status_code == 200, r.text
    assert len(r.json()["data"]) == 10
    after = api.get(f"/v3/catalog/products/{ids[0]}?include=custom_fields").json()["data"]
    assert after["price"] == 7
    assert sorted((f["name"], f["value"]) for f in after["custom_fields"]) == [("added", "yes"), ("k", "new")]
    assert api.get(f"/v3/catalog/products/{ids[5]}").json()["data"]["is_visible"] is False


def test_listing_filters_and_pagination(api):
    ids = [create(api, name=f"Item {i}", sku=f"SKU-{i}")["id"] for i in range(5)]
    assert api.get("/v3/catalog/products?limit=251").status_code == 422
    page = api.get("/v3/catalog/products?limit=2&page=2").json()
    assert [p["id"] for p in page["data"]] == ids[2:4]
    pagination = page["meta"]["pagination"]
    assert (pagination["total"], pagination["total_pages"], pagination["current_page"]) == (5, 3, 2)
    assert "page=3" in pagination["links"]["next"] and "page=1" in pagination["links"]["previous"]
    found = api.get("/v3/catalog/products", params={"sku:in": "sku-1,SKU-3"}).json()["data"]
    assert [p["sku"] for p in found] == ["SKU-1", "SKU-3"]
    assert [p["id"] for p in api.get(f"/v3/catalog/products?id:in={ids[0]},{ids[4]}").json()["data"]] == [ids[0], ids[4]]
    assert api.get("/v3/catalog/products?sku=sku-2").json()["data"][0]["id"] == ids[2]
    assert api.get("/v3/catalog/products?name=Item 4").json()["data"][0]["id"] == ids[4]
    slim = api.get("/v3/catalog/products?include_fields=sku&include=variants").json()["data"][0]
    assert set(slim) == {"id", "sku", "variants"}


def test_deleting_products(api):
    ids = [create(api, name=f"D{i}", sku=f"D{i}")["id"] for i in range(3)]
    assert api.delete("/v3/catalog/products").status_code == 422  # a filter is required
    assert api.delete(f"/v3/catalog/products?id:in={ids[0]},{ids[1]}").status_code == 204
    assert api.get(f"/v3/catalog/products/{ids[0]}").status_code == 404
    assert api.delete(f"/v3/catalog/products/{ids[2]}").status_code == 204
    assert count_products(api) == 0
    create(api, name="D0", sku="D0")  # names and skus are free again


def test_channel_assignments(api):
    p = create(api)
    assert api.put("/v3/catalog/products/channel-assignments",
                   json=[{"product_id": p["id"], "channel_id": 1}]).status_code == 204
    assert api.put("/v3/catalog/products/channel-assignments",
                   json=[{"product_id": 999999, "channel_id": 1}]).status_code == 422
    assert api.put("/v3/catalog/products/channel-assignments",
                   json=[{"product_id": p["id"], "channel_id": 7}]).status_code == 422
    listed = api.get(f"/v3/catalog/products/channel-assignments?product_id:in={p['id']}").json()["data"]
    assert listed == [{"product_id": p["id"], "channel_id": 1}]
    assert api.get("/v3/channels").json()["data"][0]["id"] == 1


# --- variants and options ------------------------------------------------------------------------

def test_variant_batch(api):
    p = create(api, sku="M", variants=[
        {"sku": f"M-{c}", "option_values": [{"option_display_name": "Color", "label": c}]} for c in ("Red", "Blue")])
    variants = api.get(f"/v3/catalog/products/{p['id']}/variants").json()["data"]
    too_many = [{"id": variants[0]["id"], "price": 1}] * 51
    assert api.put("/v3/catalog/variants", json=too_many).status_code == 413
    color = api.get(f"/v3/catalog/products/{p['id']}/options").json()["data"][0]
    green = api.post(f"/v3/catalog/products/{p['id']}/options/{color['id']}/values",
                     json={"label": "Green", "sort_order": 3}).json()["data"]
    r = api.put("/v3/catalog/variants", json=[{"id": variants[0]["id"], "price": 15},
                                              {"product_id": p["id"], "sku": "m-red",
                                               "option_values": [{"id": green["id"], "option_id": color["id"]}]}])
    assert r.status_code == 409  # "m-red" is M-Red's sku in another case
    r = api.put("/v3/catalog/variants", json=[{"id": variants[0]["id"], "price": 15},
                                              {"product_id": p["id"], "sku": "M-Green",
                                               "option_values": [{"id": green["id"], "option_id": color["id"]}]}])
    assert r.status_code == 200, r.text
    listed = api.get(f"/v3/catalog/variants?product_id:in={p['id']}").json()["data"]
    assert sorted((v["sku"], v["calculated_price"]) for v in listed) == [("M-Blue", 10), ("M-Green", 10), ("M-Red", 15)]


def test_option_values_are_limited_and_unique(api):
    p = create(api)
    values = [{"label": f"v{i}", "sort_order": i} for i in range(250)]
    r = api.post(f"/v3/catalog/products/{p['id']}/options",
                 json={"display_name": "Size", "type": "dropdown", "option_values": values})
    assert r.status_code == 200, r.text
    oid = r.json()["data"]["id"]
    assert api.post(f"/v3/catalog/products/{p['id']}/options/{oid}/values",
                    json={"label": "v251", "sort_order": 251}).status_code == 422
    second = api.post(f"/v3/catalog/products/{p['id']}/options",
                      json={"display_name": "Fit", "type": "dropdown", "option_values": [{"label": "a", "sort_order": 0}]})
    fid = second.json()["data"]["id"]
    assert api.post(f"/v3/catalog/products/{p['id']}/options/{fid}/values",
                    json={"label": "a", "sort_order": 1}).status_code == 409
    assert api.post(f"/v3/catalog/products/{p['id']}/options",
                    json={"display_name": "Bad", "type": "wheel", "option_values": []}).status_code == 422


# --- images --------------------------------------------------------------------------------------

def test_image_urls_are_downloaded_and_checked(api, base_url, files_url):
    p = create(api, images=[{"image_url": f"{files_url}/red.png", "is_thumbnail": True}])
    image = p["images"][0]
    assert image["is_thumbnail"] is True and image["image_url"] == f"{files_url}/red.png"
    served = httpx.get(image["url_standard"])
    assert served.content == PNG and served.headers["content-type"] == "image/png"
    for bad in ("fake.png", "gone.png"):
        r = api.post("/v3/catalog/products", json=product(name=f"With {bad}", images=[{"image_url": f"{files_url}/{bad}"}]))
        assert r.status_code == 400
        assert "could not be downloaded" in r.json()["errors"]["invalid_reason"]
    unreachable = f"{base_url.rsplit(':', 1)[0]}:1/none.png"
    assert api.post(f"/v3/catalog/products/{p['id']}/images", json={"image_url": unreachable}).status_code == 400
    assert count_products(api) == 1


def test_one_thumbnail_per_product_and_multipart_uploads(api, files_url):
    p = create(api)
    first = api.post(f"/v3/catalog/products/{p['id']}/images", json={"image_url": f"{files_url}/red.png"})
    assert first.json()["data"]["is_thumbnail"] is True  # the first image becomes the thumbnail
    second = api.post(f"/v3/catalog/products/{p['id']}/images", files={"image_file": ("a.png", PNG, "image/png")},
                      data={"is_thumbnail": "true"})
    assert second.status_code == 200, second.text
    images = api.get(f"/v3/catalog/products/{p['id']}/images").json()["data"]
    assert [i["is_thumbnail"] for i in images] == [False, True]
    text = api.post(f"/v3/catalog/products/{p['id']}/images", files={"image_file": ("a.png", b"hello", "image/png")})
    assert text.status_code == 400
    huge = PNG + b"\0" * (8 * 1024 * 1024)
    big = api.post(f"/v3/catalog/products/{p['id']}/images", files={"image_file": ("big.png", huge, "image/png")})
    assert big.status_code == 413
    assert api.delete(f"/v3/catalog/products/{p['id']}/images/{images[1]['id']}").status_code == 204
    assert api.get(f"/v3/catalog/products/{p['id']}/images").json()["data"][0]["is_thumbnail"] is True


# --- brands --------------------------------------------------------------------------------------

def test_brands(api):
    acme = api.post("/v3/catalog/brands", json={"name": "Acme"}).json()["data"]
    other = api.post("/v3/catalog/brands", json={"name": "Other"}).json()["data"]
    assert api.post("/v3/catalog/brands", json={"name": "ACME"}).status_code == 409
    assert api.post("/v3/catalog/brands", json={"name": ""}).status_code == 422
    assert api.get("/v3/catalog/brands?name=Acme").json()["data"] == [acme]
    assert api.put(f"/v3/catalog/brands/{other['id']}", json={"name": "acme"}).status_code == 409
    assert api.put(f"/v3/catalog/brands/{other['id']}", json={"name": "Renamed"}).json()["data"]["name"] == "Renamed"
    assert api.delete(f"/v3/catalog/brands/{acme['id']}").status_code == 204
    assert api.get(f"/v3/catalog/brands/{acme['id']}").status_code == 404


# --- category trees ------------------------------------------------------------------------------

def test_default_channel_tree(api):
    trees = api.get("/v3/catalog/trees?channel_id:in=1").json()["data"]
    assert trees == [{"id": 1, "name": "Default", "channels": [1]}]
    r = api.put("/v3/catalog/trees", json=[{"name": "Second", "channels": [1]}])
    assert r.status_code == 422  # channel 1 has its tree
    assert api.put("/v3/catalog/trees", json=[{"id": 1, "name": "Main"}]).json()["data"][0]["name"] == "Main"


def test_category_rules(api):
    post = lambda body: api.post("/v3/catalog/trees/categories", json=body)  # noqa: E731
    assert post([{"name": "Orphan"}]).status_code == 422  # neither tree_id nor parent_id
    assert post([{"name": "x" * 51, "tree_id": 1}]).status_code == 422
    top = post([{"name": "Clothes", "tree_id": 1, "parent_id": 0}])
    assert top.status_code == 201, top.text
    clothes = top.json()["data"][0]
    assert clothes["url"]["path"] == "/clothes/" and clothes["parent_id"] == 0
    assert post([{"name": "clothes", "tree_id": 1}]).status_code == 422  # sibling names are unique
    shirts = post([{"name": "Shirts", "parent_id": clothes["category_id"]}]).json()["data"][0]
    assert shirts["tree_id"] == 1
    mixed = post([{"name": "Shirts", "parent_id": clothes["category_id"]}, {"name": "Shoes", "tree_id": 1}])
    assert mixed.status_code == 207
    assert mixed.json()["meta"] == {"total": 2, "success": 1, "failed": 1}
    assert post([{"name": "Clothes", "parent_id": shirts["category_id"]}]).status_code == 201  # other parent
    parent = shirts["category_id"]
    for level in range(3, 9):
        parent = post([{"name": f"L{level}", "parent_id": parent}]).json()["data"][0]["category_id"]
    assert post([{"name": "L9", "parent_id": parent}]).status_code == 422  # 8 levels at most
    tree = api.get("/v3/catalog/trees/1/categories").json()["data"]
    node = next(n for n in tree if n["name"] == "Clothes")
    assert node["children"][0]["name"] == "Shirts" and node["children"][0]["path"] == [clothes["category_id"]]


def test_category_update_and_delete(api):
    post = lambda body: api.post("/v3/catalog/trees/categories", json=body).json()["data"]  # noqa: E731
    a, b = post([{"name": "A", "tree_id": 1}, {"name": "B", "tree_id": 1}])
    child = post([{"name": "A1", "parent_id": a["category_id"]}])[0]
    p = create(api, categories=[a["category_id"], child["category_id"], b["category_id"]])
    assert api.put("/v3/catalog/trees/categories", json=[{"category_id": b["category_id"], "name": "a"}]).status_code == 422
    r = api.put("/v3/catalog/trees/categories", json=[{"category_id": b["category_id"], "name": "Bee"}])
    assert r.status_code == 200 and r.json()["meta"]["success"] == 1
    assert api.get("/v3/catalog/trees/categories?name=Bee").json()["data"][0]["category_id"] == b["category_id"]
    assert api.delete("/v3/catalog/trees/categories").status_code == 422
    assert api.delete(f"/v3/catalog/trees/categories?category_id:in={a['category_id']}").status_code == 202
    left = api.get("/v3/catalog/trees/categories?tree_id:in=1").json()["data"]
    assert [c["name"] for c in left] == ["Bee"]  # the child went with its parent
    assert api.get(f"/v3/catalog/products/{p['id']}").json()["data"]["categories"] == [b["category_id"]]


# -- non-JSON numbers ----------------------------------------------------------------------------


@pytest.mark.parametrize("raw", [
    '{"name":"N","type":"physical","weight":1,"price":NaN}',
    '{"name":"N","type":"physical","weight":1,"price":1,"categories":[Infinity]}',
    '{"name":"N","type":"physical","weight":-Infinity,"price":1}',
    '{"name":"N","type":"physical","weight":1,"price":1e999}',
])
def test_nan_and_infinity_are_invalid_json_and_nothing_is_saved(app, api, raw):
    response = api.post("/v3/catalog/products", content=raw, headers={"Content-Type": "application/json"})
    assert response.status_code == 400, response.text
    assert app.state.bc.stores[api.store_hash].products == {}
    assert api.get("/v3/catalog/products").status_code == 200


def test_numbers_beyond_a_double_are_refused(app, api):
    huge = "1" + "0" * 400
    response = api.post("/v3/catalog/products", content=f'{{"name":"N","type":"physical","weight":1,"price":{huge}}}',
                        headers={"Content-Type": "application/json"})
    assert response.status_code == 422 and "price" in response.json()["errors"]
    assert api.get("/v3/catalog/products").status_code == 200


def test_sandbox_routes_refuse_nan_too(base_url, api):
    response = httpx.put(f"{base_url}/sandbox/stores/{api.store_hash}/faults", content='{"latency":NaN}')
    assert response.status_code == 400


@pytest.mark.parametrize("url", ["http://[::1", "http://host:port/x.png", "http://\u0000/x.png"])
def test_a_malformed_image_url_is_a_400_not_a_500(api, url):
    p = api.post("/v3/catalog/products", json=product()).json()["data"]
    response = api.post(f"/v3/catalog/products/{p['id']}/images", json={"image_url": url})
    assert response.status_code == 400, response.text
    assert "invalid_reason" in response.json()["errors"]
