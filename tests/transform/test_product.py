"""The payload builder on real icecat products and models (read from the sandbox PIM), with expectations
computed from the catalog's CSVs independently of the transform code, plus the rules of issues 9 and 10."""

from __future__ import annotations

import copy
import csv
import json
from pathlib import Path

import pytest

from service.transform.context import Context, StoreSettings
from service.transform.fields import MEDIA_PLACEHOLDER, custom_url
from service.transform.mapping import Mapping, suggest_mapping
from service.transform.product import build_product_model, build_simple_product, content_hash

CSV_DIR = Path(__file__).resolve().parents[3] / "shared" / "catalogs" / "icecat_demo_dev"
if not CSV_DIR.is_dir():  # a worktree sits beside main: /work/wt-x -> /work/shared
    CSV_DIR = Path("/work/shared/catalogs/icecat_demo_dev")

EUR_KG = StoreSettings("EUR", "KGS", "Centimeters")
USD_LB = StoreSettings("USD", "LBS", "Inches")


def _rows(name: str) -> list[dict]:
    with open(CSV_DIR / name, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle, delimiter=";"))


@pytest.fixture(scope="module")
def suggested(data):
    return suggest_mapping(data.catalog)


@pytest.fixture(scope="module")
def csv_data():
    products = {r["sku"]: r for r in _rows("products.csv")}
    models = {r["code"]: r for r in _rows("product_models.csv")}
    labels = {(r["attribute"], r["code"].lower()): r["label-en_US"] for r in _rows("attribute_options.csv")}
    return products, models, labels


def make_ctx(data, mapping, store=EUR_KG, **kwargs) -> Context:
    kwargs.setdefault("image_url", lambda code: f"https://connector.example/media/{code.split('_', 1)[-1]}")
    return Context(data.catalog, store, "en_US", "ecommerce", mapping, **kwargs)


def with_fields(mapping: Mapping, version: int | None = None, families=None, **fields) -> Mapping:
    return Mapping(mapping.version if version is None else version, {**mapping.fields, **fields},
                   mapping.families if families is None else families)


def model_plan(data, ctx, code):
    return build_product_model(data.models[code], data.sub_models_of(code), data.variants_of(code), ctx)


def messages(plan, field=None):
    return [i.message for i in plan.warnings if field is None or i.field == field]


def set_value(product: dict, code: str, value, locale=None, scope=None) -> dict:
    product = copy.deepcopy(product)
    product["values"][code] = [{"locale": locale, "scope": scope, "data": value}]
    return product


# --- simple products -------------------------------------------------------------------------------


def test_icecat_camera_exact_payload(data, suggested):
    product = data.products["10970033"]
    plan = build_simple_product(product, make_ctx(data, suggested, category_ids={"digital_cameras": 7, "fujifilm": 3}))
    assert plan.key == f"product:{product['uuid']}"
    assert plan.sku == "10970033"
    assert plan.errors == []
    assert plan.payload == {
        "name": "Fujifilm Z950EXR",
        "type": "physical",
        "sku": "10970033",
        "price": 0,
        "weight": 0.533,  # 533 GRAM in a KGS store
        "is_visible": False,
        "categories": [3, 7],  # cameras_sales is not in the store's tree: not sent
        "custom_url": {"url": "/fujifilm-z950exr-10970033/", "is_customized": True},
        "images": [{"image_url": "https://connector.example/media/10970033_1139.jpg", "is_thumbnail": True,
                    "sort_order": 0}],
        # mapped fields without a value are sent empty, so a clear in the PIM clears the store (issue 19)
        "description": "",  # its description exists for the print channel only: none for ecommerce
        "brand_id": 0, "gtin": "", "search_keywords": "", "page_title": "", "meta_description": "",
    }
    assert plan.media == ["0/5/6/5/05654daba586dcf7d1c189d92ffc18e620933f9f_10970033_1139.jpg"]
    assert plan.variants == []
    assert messages(plan) == ["No EUR price in 'price' (Price): created hidden at price 0; add a EUR price in the "
                              "PIM to show it"]


def test_the_print_channel_reads_print_values(data, suggested):
    ctx = Context(data.catalog, EUR_KG, "en_US", "print", suggested)
    plan = build_simple_product(data.products["10970033"], ctx)
    assert plan.payload["description"].startswith("<b>High Quality Photos &amp; Movies") or \
        plan.payload["description"].startswith("<b>High Quality Photos & Movies")
    assert "<b>" in plan.payload["description"]  # HTML kept


def test_usd_price_makes_the_only_visible_simple_product(data, suggested, csv_data):
    products, _, _ = csv_data
    with_usd = [sku for sku, r in products.items() if not r["parent"] and r["price-USD"]]
    ctx = make_ctx(data, suggested, USD_LB)
    plans = {sku: build_simple_product(data.products[sku], ctx) for sku, r in products.items() if not r["parent"]}
    visible = sorted(sku for sku, p in plans.items() if p.payload["is_visible"])
    assert visible == with_usd == ["AKNSTK"]
    assert plans["AKNSTK"].payload["price"] == 3
    hidden = [p for sku, p in plans.items() if sku != "AKNSTK"]
    assert all(p.payload["price"] == 0 and not p.payload["is_visible"] for p in hidden)
    assert all(any("No USD price in 'price'" in m for m in messages(p, "price")) for p in hidden)


def test_never_visible_at_price_0(data, suggested):
    product = set_value(data.products["AKNSTK"], "price", [{"amount": "0", "currency": "USD"}])
    plan = build_simple_product(product, make_ctx(data, suggested, USD_LB))
    assert plan.payload["price"] == 0 and plan.payload["is_visible"] is False
    assert messages(plan, "price") == ["The price in 'price' (Price) is 0: created hidden"]


def test_weights_in_store_units(data, suggested, csv_data):
    products, _, _ = csv_data
    row = products["1111111171"]  # Bag: 500 GRAM
    assert (row["weight"], row["weight-unit"]) == ("500", "GRAM")
    for store, expected in [(EUR_KG, 0.5), (USD_LB, 1.1023), (StoreSettings("USD", "Ounces", "Inches"), 17.637),
                            (StoreSettings("USD", "Grams", "Inches"), 500)]:
        plan = build_simple_product(data.products["1111111171"], make_ctx(data, suggested, store))
        assert plan.payload["weight"] == expected
        assert messages(plan, "weight") == []


def test_missing_weight_is_0_with_a_warning(data, suggested, csv_data):
    products, _, _ = csv_data
    no_weight = [s for s, r in products.items() if not r["parent"] and not r["weight"]]
    assert len(no_weight) == 838
    ctx = make_ctx(data, suggested)
    for sku in no_weight[:50]:
        plan = build_simple_product(data.products[sku], ctx)
        assert plan.payload["weight"] == 0
        assert messages(plan, "weight") == ["No weight in 'weight' (Weight): sent as 0"]
    unmapped = build_simple_product(data.products["1111111171"], make_ctx(data, with_fields(suggested, weight=None)))
    assert unmapped.payload["weight"] == 0
    assert messages(unmapped, "weight") == ["No weight attribute is mapped: sent as 0"]


def test_every_icecat_simple_product_builds(data, suggested, csv_data):
    products, _, _ = csv_data
    ctx = make_ctx(data, suggested, USD_LB)
    urls = set()
    for sku, row in products.items():
        if row["parent"]:
            continue
        plan = build_simple_product(data.products[sku], ctx)
        assert plan.errors == [], sku
        payload = plan.payload
        assert payload["sku"] == sku
        assert json.loads(json.dumps(payload, allow_nan=False)) == payload
        assert 1 <= len(payload["name"]) <= 250
        assert payload["type"] == "physical"
        assert not [k for k in payload if k.startswith("inventory")]
        assert payload["custom_url"]["url"] not in urls
        urls.add(payload["custom_url"]["url"])
        assert payload["name"] == " ".join(row["name"].split()) or not row["name"]


def test_only_mapped_fields_are_written(data, suggested):
    bare = Mapping(1, {"name": "name", "sku": "sku"}, {})
    plan = build_simple_product(data.products["1111111171"], make_ctx(data, bare))
    assert set(plan.payload) == {"name", "type", "sku", "price", "weight", "is_visible", "categories", "custom_url"}
    full = build_simple_product(data.products["1111111171"], make_ctx(data, suggested))
    assert full.payload["gtin"] == "1234567890183"  # ean feeds gtin
    assert "upc" not in full.payload  # nothing mapped to it


def test_name_cut_at_250_with_a_warning(data, suggested):
    product = set_value(data.products["AKNSTK"], "name", "Sticker " + "very " * 70 + "long")
    plan = build_simple_product(product, make_ctx(data, suggested, USD_LB))
    assert len(plan.payload["name"]) <= 250
    assert plan.payload["name"].startswith("Sticker very")
    assert messages(plan, "name") == [f"The name has {len('Sticker ' + 'very ' * 70 + 'long')} characters; "
                                      f"BigCommerce takes 250: it was cut"]


def test_missing_name_falls_back_to_the_sku(data, suggested):
    product = copy.deepcopy(data.products["AKNSTK"])
    del product["values"]["name"]
    plan = build_simple_product(product, make_ctx(data, suggested, USD_LB))
    assert plan.payload["name"] == "AKNSTK"
    assert "the SKU 'AKNSTK' is used as the name" in messages(plan, "name")[0]


def test_imports_deduplicated_name_keeps_the_url(data, suggested):
    ctx = make_ctx(data, suggested, USD_LB)
    plain = build_simple_product(data.products["AKNSTK"], ctx)
    renamed = build_simple_product(data.products["AKNSTK"], ctx, name="Akeneo Sticker (AKNSTK)")
    assert renamed.payload["name"] == "Akeneo Sticker (AKNSTK)"
    assert renamed.payload["custom_url"] == plain.payload["custom_url"] == {
        "url": "/akeneo-sticker-aknstk/", "is_customized": True}
    assert renamed.content_hash != plain.content_hash


def test_no_sku_is_an_error(data, suggested):
    product = copy.deepcopy(data.products["AKNSTK"])
    del product["values"]["sku"]
    plan = build_simple_product(product, make_ctx(data, suggested, USD_LB))
    assert [(e.field, e.message) for e in plan.errors] == [("sku", "No SKU in 'sku' (SKU): not sent")]
    product["identifier"] = "AKNSTK"  # /products answers it outside `values`
    assert build_simple_product(product, make_ctx(data, suggested, USD_LB)).errors == []


def test_custom_fields(data, suggested):
    mapping = with_fields(suggested, custom_fields=["main_color", "color_scanning", "release_date", "weight",
                                                    "price", "description", "name", "missing_value_attr"])
    product = set_value(data.products["AKNSTK"], "color_scanning", True)
    product = set_value(product, "release_date", "2011-09-10T00:00:00+00:00", scope="ecommerce")
    product = set_value(product, "weight", {"amount": "12.5000", "unit": "GRAM"})
    product = set_value(product, "description", "<p>Sticky &amp; <b>small</b></p>", "en_US", "ecommerce")
    plan = build_simple_product(product, make_ctx(data, mapping, USD_LB))
    assert plan.payload["custom_fields"] == [
        {"name": "Main color", "value": "Purple"},
        {"name": "Color scanning", "value": "Yes"},
        {"name": "Release date", "value": "2011-09-10"},
        {"name": "Weight", "value": "12.5 g"},
        {"name": "Price", "value": "3.00 USD"},
        {"name": "Description", "value": "Sticky & small"},
        {"name": "Name", "value": "Akeneo Sticker"},
    ]
    assert plan.payload["description"] == "<p>Sticky &amp; <b>small</b></p>"
    assert messages(plan, "custom_fields") == [
        "The mapped attribute 'missing_value_attr' no longer exists in the PIM; update the mapping"]


def test_multiselect_custom_field_and_over_long_value(data, suggested):
    mapping = with_fields(suggested, custom_fields=["collection", "description", "name"])
    model = data.models["apollon"]
    long_text = "x" * 251
    model = set_value(model, "description", long_text, "en_US", "ecommerce")
    model = set_value(model, "collection", ["summer_2016", "winter_2016"])
    plan = build_product_model(model, data.sub_models_of("apollon"), data.variants_of("apollon"),
                               make_ctx(data, mapping))
    assert plan.payload["custom_fields"] == [
        {"name": "Collection", "value": "Summer 2016, Winter 2016"},
        {"name": "Name", "value": "Long gray suit jacket and matching pants unstructured"},
    ]
    assert messages(plan, "custom_fields") == [
        "The value of 'description' (Description) has 251 characters; BigCommerce takes 250 in a custom field: "
        "skipped"]


def test_custom_fields_capped_at_200(data):
    attrs = {f"text_{i}": {"code": f"text_{i}", "type": "pim_catalog_text", "labels": {"en_US": f"T{i}"}}
             for i in range(205)}
    catalog = type(data.catalog)({**data.catalog.attributes, **attrs}, data.catalog.families, {}, {}, {})
    mapping = Mapping(1, {"sku": "sku", "name": "name", "custom_fields": list(attrs)}, {})
    product = copy.deepcopy(data.products["AKNSTK"])
    for code in attrs:
        product["values"][code] = [{"locale": None, "scope": None, "data": code}]
    plan = build_simple_product(product, Context(catalog, USD_LB, "en_US", "ecommerce", mapping))
    assert len(plan.payload["custom_fields"]) == 200
    assert any("200 custom fields" in m for m in messages(plan, "custom_fields"))


def test_brand_label_seo_fields_and_codes(data, suggested):
    product = data.products["1111111171"]
    product = set_value(product, "brand", "AKENEO")  # option codes compare case-insensitively
    product = set_value(product, "meta_title", "<b>Bag</b> " + "t" * 300, "en_US")
    product = set_value(product, "keywords", "<p>bag, leather</p>", "en_US")
    product = set_value(product, "meta_description", "<p>A <i>bag</i></p>", "en_US")
    product = set_value(product, "ean", "123456789012345")  # 15 characters
    plan = build_simple_product(product, make_ctx(data, suggested))
    assert plan.payload["brand_name"] == "Akeneo"
    unknown = build_simple_product(set_value(product, "brand", "nobrand"), make_ctx(data, suggested))
    assert unknown.payload["brand_name"] == "nobrand"  # the code when the option (or its label) is missing
    # a text attribute is text, never parsed as HTML (issue 19, defect 12); a textarea's HTML becomes text
    assert plan.payload["page_title"].startswith("<b>Bag</b> ttt") and len(plan.payload["page_title"]) <= 255
    assert plan.payload["search_keywords"] == "bag, leather"
    assert plan.payload["meta_description"] == "A bag"
    assert plan.payload["gtin"] == ""  # too long: not sent, the store's is emptied
    assert any("longer than BigCommerce's 14 characters" in m for m in messages(plan, "gtin"))
    assert any("BigCommerce takes 255: it was cut" in m for m in messages(plan, "page_title"))


def test_condition_must_be_bigcommerce_s(data, suggested):
    mapping = with_fields(suggested, condition="name")
    for name, expected in [("used", "Used"), ("REFURBISHED", "Refurbished"), ("Akeneo Sticker", "New")]:
        plan = build_simple_product(set_value(data.products["AKNSTK"], "name", name), make_ctx(data, mapping, USD_LB))
        assert plan.payload.get("condition") == expected


def test_visibility(data, suggested):
    usd = make_ctx(data, suggested, USD_LB)
    disabled = dict(data.products["AKNSTK"], enabled=False)
    assert build_simple_product(disabled, usd).payload["is_visible"] is False
    by_flag = make_ctx(data, with_fields(suggested, visibility="color_scanning"), USD_LB)
    assert build_simple_product(set_value(disabled, "color_scanning", True), by_flag).payload["is_visible"] is True
    off = build_simple_product(set_value(data.products["AKNSTK"], "color_scanning", False), by_flag)
    assert off.payload["is_visible"] is False
    missing = build_simple_product(data.products["AKNSTK"], by_flag)
    assert missing.payload["is_visible"] is False
    assert messages(missing, "is_visible") == ["No Yes/No value in 'color_scanning' (Color scanning): hidden"]
    unmapped = make_ctx(data, with_fields(suggested, visibility=None), USD_LB)
    assert build_simple_product(disabled, unmapped).payload["is_visible"] is True


def test_family_override(data, suggested):
    mapping = Mapping(2, suggested.fields, {**suggested.families, "accessories": {"name": "ean"}})
    plan = build_simple_product(data.products["1111111171"], make_ctx(data, mapping))
    assert plan.payload["name"] == "1234567890183"
    other = build_simple_product(data.products["10970033"], make_ctx(data, mapping))
    assert other.payload["name"] == "Fujifilm Z950EXR"


def test_images_ordered_first_is_thumbnail_only_with_value(data, suggested):
    product = set_value(data.products["1111111171"], "picture", "a/b/c/d/e_second.jpg")
    mapping = with_fields(suggested, images=["variation_image", "image", "picture"])
    plan = build_simple_product(product, make_ctx(data, mapping))
    assert [i["image_url"] for i in plan.payload["images"]] == [
        "https://connector.example/media/bag.jpg", "https://connector.example/media/second.jpg"]
    assert [i["is_thumbnail"] for i in plan.payload["images"]] == [True, False]
    assert [i["sort_order"] for i in plan.payload["images"]] == [0, 1]
    assert plan.media[1] == "a/b/c/d/e_second.jpg" and plan.media[0].endswith("_bag.jpg")
    uploads = build_simple_product(product, make_ctx(data, mapping, image_url=None))
    assert "images" not in uploads.payload and uploads.media == plan.media
    assert uploads.content_hash == plan.content_hash  # the hash sees media codes, not URLs


def test_content_hash(data, suggested):
    product = data.products["1111111171"]
    first = build_simple_product(product, make_ctx(data, suggested))
    again = build_simple_product(copy.deepcopy(product), make_ctx(data, suggested, image_url=lambda c: "https://x/" + c[-8:]))
    assert first.content_hash == again.content_hash and len(first.content_hash) == 64
    bumped = build_simple_product(product, make_ctx(data, with_fields(suggested, version=5)))
    assert bumped.content_hash != first.content_hash
    changed = build_simple_product(set_value(product, "name", "Bag 2"), make_ctx(data, suggested))
    assert changed.content_hash != first.content_hash
    hashed = copy.deepcopy(first.payload)
    hashed["images"][0]["image_url"] = MEDIA_PLACEHOLDER + first.media[0]
    assert content_hash(hashed, suggested.version) == first.content_hash


def test_custom_url_is_deterministic_ascii():
    assert custom_url("Été 2016 — Bag", "SKU/42") == {"url": "/ete-2016-bag-sku-42/", "is_customized": True}
    assert custom_url("日本", "日本")["url"].startswith("/product-")
    assert custom_url("x" * 300, "y" * 300)["url"] == "/" + "x" * 120 + "-" + "y" * 100 + "/"


# --- product models --------------------------------------------------------------------------------


def expected_variants(csv_data, root: str, axes_labels) -> dict[str, list[tuple[str, str]]]:
    """From the CSVs alone: each leaf's SKU -> [(option name, label)], walking parents case-insensitively."""
    products, models, labels = csv_data
    by_lower = {code.lower(): row for code, row in models.items()}
    out = {}
    for sku, row in products.items():
        if not row["parent"]:
            continue
        chain = [row]
        parent = by_lower.get(row["parent"].lower())
        while parent is not None:
            chain.append(parent)
            parent = by_lower.get(parent["parent"].lower()) if parent["parent"] else None
        if chain[-1]["code"].lower() != root.lower():
            continue
        options = []
        for axis, name in axes_labels:
            value = next(level[axis] for level in chain if level.get(axis))
            options.append((name, labels.get((axis, value.lower()), value)))
        out[sku] = options
    return out


def variant_options(plan) -> dict[str, list[tuple[str, str]]]:
    return {v["sku"]: [(o["option_display_name"], o["label"]) for o in v["option_values"]] for v in plan.variants}


def test_one_level_model_shoes(data, suggested, csv_data):
    plan = model_plan(data, make_ctx(data, suggested), "brogueshoe")
    assert plan.errors == []
    assert plan.key == "model:brogueshoe" and plan.sku == "brogueshoe"
    assert variant_options(plan) == expected_variants(csv_data, "brogueshoe", [("eu_shoes_size", "EU Shoes Size")])
    # in the PIM's option order (icecat sorts 41 before 40)
    assert [o[0][1] for o in variant_options(plan).values()] == ["38", "39", "41", "40"]
    assert plan.payload["variants"] == plan.variants
    assert plan.payload["price"] == 267 and plan.payload["is_visible"] is True
    assert all(v["price"] == 267 for v in plan.variants)
    products, _, _ = csv_data
    for v in plan.variants:  # 800 / 900 GRAM in a KGS store
        row = products[v["sku"]]
        assert v["weight"] == float(row["weight"]) / 1000 and row["weight-unit"] == "GRAM"
    assert plan.payload["weight"] == 0.8  # the lightest variant when the model has none


def test_two_level_model_tshirt_with_case_quirk(data, suggested, csv_data):
    products, _, _ = csv_data
    quirky = [s for s, r in products.items() if r["parent"] == "Model-tshirt-divided-blue"]
    assert quirky
    plan = model_plan(data, make_ctx(data, suggested), "model-tshirt-divided")
    assert plan.errors == []
    expected = expected_variants(csv_data, "model-tshirt-divided", [("color", "Color"), ("size", "Size")])
    assert variant_options(plan) == expected
    assert set(quirky) <= set(expected)  # matched case-insensitively
    assert {o[0] for opts in expected.values() for o in opts} == {"Color", "Size"}


def test_two_level_model_variant_images(data, suggested):
    plan = model_plan(data, make_ctx(data, suggested), "apollon")
    yellow = [v for v in plan.variants if v["option_values"][0]["label"] == "Yellow"]
    others = [v for v in plan.variants if v["option_values"][0]["label"] != "Yellow"]
    assert yellow and others
    # apollon_yellow has its own variation_image; the other colours show the product's picture
    assert all(v["image_url"] == "https://connector.example/media/apollon.jpg" for v in yellow)
    assert set(plan.variant_media.values()) == {"4/4/9/2/449298e3881c14a069b9261252fd4ac60d21040d_apollon.jpg"}
    assert all(v["image_url"] == "" for v in others)  # none of their own: an old one is cleared
    assert set(plan.variant_media) == {v["sku"] for v in yellow}
    assert plan.media == ["3/b/7/7/3b77f020c87ac537899095a2940e3116d7b7a878_apollon.jpg"]
    no_urls = model_plan(data, make_ctx(data, suggested, image_url=None), "apollon")
    assert all(v.get("image_url", "") == "" for v in no_urls.variants)  # no URL to send
    assert no_urls.variant_media == plan.variant_media and no_urls.content_hash == plan.content_hash


def test_metric_axis_model_tv(data, suggested, csv_data):
    plan = model_plan(data, make_ctx(data, suggested), "samtv")
    products, _, _ = csv_data
    assert variant_options(plan) == {
        sku: [("Display diagonal", f"{products[sku]['display_diagonal']} in")]
        for sku in ("tvsam32", "tvsam37", "tvsam40", "tvsam46")
    }
    assert list(variant_options(plan)) == ["tvsam32", "tvsam37", "tvsam40", "tvsam46"]  # by size


def test_every_icecat_model_builds(data, suggested, csv_data):
    products, models, _ = csv_data
    ctx = make_ctx(data, suggested)
    roots = [c for c, r in models.items() if not r["parent"]]
    assert len(roots) == 50
    leaves = 0
    all_skus: set[str] = set()
    skipped = []
    for code in roots:
        plan = model_plan(data, ctx, code)
        assert plan.errors == [], (code, plan.errors)
        if plan.skipped:
            skipped.append(code)
            assert plan.variants == []
            continue
        variant_skus = {v["sku"].lower() for v in plan.variants}
        assert plan.sku.lower() not in variant_skus
        assert len(plan.variants) == len(variant_skus)
        combos = [tuple(o["label"] for o in v["option_values"]) for v in plan.variants]
        assert len(set(combos)) == len(combos)
        assert json.loads(json.dumps(plan.payload, allow_nan=False)) == plan.payload
        assert not [k for k in plan.payload if k.startswith("inventory")]
        assert not (plan.payload["is_visible"] and plan.payload["price"] == 0)
        leaves += len(plan.variants)
        all_skus |= variant_skus | {plan.sku.lower()}
    assert leaves == sum(1 for r in products.values() if r["parent"]) == 240
    # roots without any variant product below them, from the CSVs
    lower = {c.lower(): r for c, r in models.items()}
    with_leaves = set()
    for row in products.values():
        parent = lower.get(row["parent"].lower()) if row["parent"] else None
        while parent is not None and parent["parent"]:
            parent = lower.get(parent["parent"].lower())
        if parent is not None:
            with_leaves.add(parent["code"])
    assert sorted(skipped) == sorted(set(roots) - with_leaves)
    assert "minerva" in skipped
    assert len(all_skus) == 240 + len(roots) - len(skipped)


def test_model_sku_never_equals_a_variant_sku(data, suggested):
    variants = copy.deepcopy(data.variants_of("brogueshoe"))
    variants[0]["values"]["sku"] = [{"locale": None, "scope": None, "data": "BrogueShoe"}]
    plan = build_product_model(data.models["brogueshoe"], [], variants, make_ctx(data, suggested))
    assert plan.sku == "brogueshoe-model"
    assert "BrogueShoe" in {v["sku"] for v in plan.variants}
    assert plan.payload["custom_url"]["url"].endswith("-brogueshoe-model/")


def test_variants_that_cannot_be_sent(data, suggested):
    variants = copy.deepcopy(data.variants_of("brogueshoe"))
    del variants[0]["values"]["eu_shoes_size"]  # no axis value
    variants[1]["values"]["sku"] = variants[2]["values"]["sku"]  # duplicate SKU
    variants[3]["enabled"] = False
    plan = build_product_model(data.models["brogueshoe"], [], variants, make_ctx(data, suggested))
    assert len(plan.variants) == 2
    assert [v.get("purchasing_disabled") for v in plan.variants].count(True) == 1
    text = " | ".join(messages(plan, "variants"))
    assert "No value for the axis 'eu_shoes_size' (EU Shoes Size)" in text
    assert "has the SKU" in text
    stray = dict(variants[2], parent="another_model")
    plan = build_product_model(data.models["brogueshoe"], [], [stray], make_ctx(data, suggested))
    assert plan.variants == [] and plan.errors and "no variant that can be sent" in plan.errors[0].message
    assert plan.skipped is None
    empty = build_product_model(data.models["brogueshoe"], [], [], make_ctx(data, suggested))
    assert empty.errors == [] and empty.skipped == "Model brogueshoe has no variant products yet: not sent until it has one"


def test_model_without_prices_is_hidden(data, suggested):
    plan = model_plan(data, make_ctx(data, suggested, USD_LB), "brogueshoe")  # EUR prices only
    assert plan.payload["price"] == 0 and plan.payload["is_visible"] is False
    assert all(v["purchasing_disabled"] is True and v["price"] is None for v in plan.variants)
    assert "No USD price in 'price' (Price)" in messages(plan, "price")[0]


def test_variant_fields_fall_back_and_override(data, suggested):
    ctx = make_ctx(data, with_fields(suggested, variant_sku=None, variant_price=None, variant_weight=None))
    plan = model_plan(data, ctx, "brogueshoe")
    reference = model_plan(data, make_ctx(data, suggested), "brogueshoe")
    assert plan.variants == reference.variants  # the product-level fields feed them
    upc = with_fields(suggested, variant_upc="ean")
    plan = model_plan(data, make_ctx(data, upc), "apollon")
    assert plan.variants and all(len(v["upc"]) == 13 for v in plan.variants)
    assert "upc" not in plan.payload  # the product-level upc is unmapped


def test_clothing_model_name_falls_back_to_the_global_name(data, suggested):
    # clothing labels with variation_name, which sits on the sub-models; the root model has `name`
    plan = model_plan(data, make_ctx(data, suggested), "apollon")
    assert plan.payload["name"] == "Long gray suit jacket and matching pants unstructured"
    assert messages(plan, "name") == []


def test_plan_to_json_for_the_preview(data, suggested):
    plan = build_simple_product(data.products["10970033"], make_ctx(data, suggested))
    doc = json.loads(json.dumps(plan.to_json()))
    assert doc["payload"] == plan.payload and doc["sku"] == "10970033" and doc["errors"] == []
    assert doc["warnings"] == [{"item": "product 10970033", "field": "price", "message": messages(plan)[0]}]
    assert doc["content_hash"] == plan.content_hash and doc["skipped"] is None


def test_a_model_with_pictures_on_its_variants_only_shows_the_first_variants_picture(data, suggested, csv_data):
    """Its storefront listing shows a picture: the first variant's (no copy of it on that variant)."""
    _, models, _ = csv_data
    ctx = make_ctx(data, suggested)
    image_attributes = set(suggested.fields["images"] or [])
    from_variants = []
    for code in [c for c, r in models.items() if not r["parent"]]:
        plan = model_plan(data, ctx, code)
        if plan.skipped or plan.errors:
            continue
        if not plan.media:  # then none of its variants has a picture either
            assert not plan.variant_media and all(not v.get("image_url") for v in plan.variants), code
            continue
        assert plan.payload["images"][0]["is_thumbnail"], code
        if not image_attributes & set(data.models[code].get("values") or {}):  # no picture of its own
            from_variants.append(code)
            assert plan.media[0] not in plan.variant_media.values(), code
    assert from_variants, "icecat has models with pictures on their variants only"
