"""The desired state of each store field the mapping owns (issue 19; docs/desired-state.md):
every mapped field is in the payload, with its value or its documented empty, so a value cleared in the PIM is
cleared in the store; unmapped fields are never in it; a clear changes the content hash."""

from __future__ import annotations

import pytest

from service.transform.product import build_product_model, build_simple_product
from tests.transform.fixtures import FIELDS, FULL_VALUES, MODEL, ctx, simple, variant

# PIM attribute -> the store field(s) it feeds, and what the field holds once the attribute is cleared
CLEARS = {
    "description": {"description": ""}, "sale": {"sale_price": 0}, "retail": {"retail_price": 0},
    "cost": {"cost_price": 0}, "width": {"width": 0}, "upc": {"upc": ""}, "ean": {"gtin": ""}, "mpn": {"mpn": ""},
    "keywords": {"search_keywords": ""}, "title": {"page_title": ""}, "meta": {"meta_description": ""},
    "condition": {"condition": "New"}, "warranty": {"warranty": ""}, "availability": {"availability_description": ""},
    "brand": {"brand_id": 0}, "material": {"custom_fields": []},
}
PRICE = [{"amount": "10", "currency": "EUR"}]
# the contract of docs/desired-state.md, stated here apart from the code
EMPTY = {"description": "", "sale_price": 0, "retail_price": 0, "cost_price": 0, "width": 0, "upc": "", "gtin": "",
         "mpn": "", "search_keywords": "", "page_title": "", "availability_description": "", "meta_description": "",
         "warranty": "", "condition": "New"}


@pytest.mark.parametrize("code", sorted(CLEARS))
def test_a_cleared_value_is_sent_as_the_field_s_empty(code):
    full = build_simple_product(simple(), ctx())
    cleared = build_simple_product(simple(**{code: None}), ctx())
    for field, empty in CLEARS[code].items():
        assert field in full.payload or (field == "brand_id" and "brand_name" in full.payload)
        assert cleared.payload[field] == empty
    assert cleared.content_hash != full.content_hash  # a clear is a change: the loader sends it


def test_every_mapped_field_is_present_when_the_pim_has_no_value_at_all():
    plan = build_simple_product(simple({"sku": FULL_VALUES["sku"]}), ctx())
    assert plan.errors == []
    assert {k: plan.payload[k] for k in EMPTY} == EMPTY
    assert plan.payload["brand_id"] == 0 and "brand_name" not in plan.payload
    assert plan.payload["custom_fields"] == []
    assert (plan.payload["price"], plan.payload["weight"], plan.payload["is_visible"]) == (0, 0, False)


def test_fields_the_mapping_does_not_map_are_never_sent():
    unmapped = {name: None for name in FIELDS if name not in ("name", "sku", "visibility")}
    unmapped.update(images=[], custom_fields=[])
    plan = build_simple_product(simple(), ctx(**unmapped))
    assert set(plan.payload) == {"name", "type", "sku", "price", "weight", "is_visible", "categories", "custom_url"}
    assert "height" not in build_simple_product(simple(), ctx()).payload  # height is unmapped in FIELDS


def test_brand_is_a_name_or_brand_id_0_never_both():
    assert build_simple_product(simple(), ctx()).payload.get("brand_id") is None
    assert build_simple_product(simple(brand=None), ctx()).payload.get("brand_name") is None
    long_name = build_simple_product(simple(brand="x" * 300), ctx())  # the code when no option: 300 characters
    assert long_name.payload["brand_id"] == 0 and "brand_name" not in long_name.payload


def test_a_value_that_cannot_be_sent_empties_the_field():
    """A present but unusable value is not the old one either: the store holds no stale data."""
    plan = build_simple_product(simple(upc="0123456789012345", condition="mint", sale=[{"amount": "-1",
                                                                                       "currency": "EUR"}]), ctx())
    assert (plan.payload["upc"], plan.payload["condition"], plan.payload["sale_price"]) == ("", "New", 0)
    assert {w.field for w in plan.warnings} >= {"upc", "condition", "sale_price"}


# --- variants --------------------------------------------------------------------------------------


def model(*variants, **fields):
    return build_product_model(MODEL, [], list(variants), ctx(**fields))


def test_purchasing_disabled_is_always_sent():
    plan = model(variant("T-S", "s", price=PRICE), variant("T-M", "m"))
    flags = {v["sku"]: v["purchasing_disabled"] for v in plan.variants}
    assert flags == {"T-S": False, "T-M": True}
    priced = model(variant("T-S", "s", price=PRICE), variant("T-M", "m", price=PRICE))
    assert all(v["purchasing_disabled"] is False for v in priced.variants)
    assert priced.content_hash != plan.content_hash


def test_a_disabled_variant_cannot_be_bought_even_with_a_price():
    off = dict(variant("T-S", "s", price=PRICE), enabled=False)
    plan = model(off, variant("T-M", "m", price=PRICE))
    assert {v["sku"]: v["purchasing_disabled"] for v in plan.variants} == {"T-S": True, "T-M": False}


def test_a_variant_s_cleared_fields_are_null_or_empty():
    full = model(variant("T-S", "s", price=PRICE, sale=[{"amount": "8", "currency": "EUR"}],
                         weight={"amount": "1500", "unit": "GRAM"}, upc="012345678905", picture="a/b/s.jpg"),
                 variant("T-M", "m", price=PRICE))
    small = full.variants[0]
    assert (small["price"], small["sale_price"], small["weight"], small["upc"]) == (10, 8, 1.5, "012345678905")
    # the only picture is this variant's: it is the product's too (its listing shows it), not copied
    assert full.media == ["a/b/s.jpg"] and small["image_url"] == ""
    cleared = model(variant("T-S", "s"), variant("T-M", "m", price=PRICE))
    small = cleared.variants[0]
    # null: the product's own value applies (variants spec); "" is no UPC and no image
    assert {k: small[k] for k in ("price", "sale_price", "retail_price", "weight", "upc", "image_url")} == \
        {"price": None, "sale_price": None, "retail_price": None, "weight": None, "upc": "", "image_url": ""}
    assert cleared.content_hash != full.content_hash


def test_a_variant_s_unmapped_fields_are_not_sent():
    plan = model(variant("T-S", "s", price=PRICE), sale_price=None, retail_price=None, weight=None,
                 variant_weight=None, upc=None, variant_upc=None, images=[], variant_image=None)
    assert set(plan.variants[0]) == {"sku", "option_values", "price", "purchasing_disabled"}


def test_a_variant_showing_the_product_s_picture_clears_its_own():
    shared = "a/b/tote.jpg"
    root = dict(MODEL, values={**MODEL["values"], "picture": [{"locale": None, "scope": None, "data": shared}]})
    plan = build_product_model(root, [], [variant("T-S", "s", price=PRICE)], ctx())
    assert plan.variants[0]["image_url"] == "" and plan.variant_media == {}
