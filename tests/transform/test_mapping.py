"""The field table, the suggested defaults against the icecat catalog, overrides, and validation."""

from __future__ import annotations

import json

import pytest

from service.transform.mapping import (
    FIELD_SPECS,
    FIELDS,
    MAX_CUSTOM_FIELDS,
    Mapping,
    compatible_attributes,
    mapping_document,
    parse_mapping_document,
    suggest_mapping,
)

CONTRACT_FIELDS = [
    "name", "sku", "description", "price", "sale_price", "retail_price", "cost_price", "weight", "width",
    "height", "depth", "brand", "upc", "mpn", "gtin", "search_keywords", "page_title", "meta_description",
    "condition", "warranty", "availability_description", "visibility", "images", "custom_fields",
    "variant_sku", "variant_price", "variant_weight", "variant_image", "variant_upc",
]


@pytest.fixture(scope="module")
def suggested(catalog):
    return suggest_mapping(catalog)


def test_fields_are_the_contracts():
    assert [spec.field for spec in FIELDS] == CONTRACT_FIELDS
    assert FIELD_SPECS["custom_fields"].max_items == 200
    assert FIELD_SPECS["images"].multiple and FIELD_SPECS["custom_fields"].multiple
    assert {s.field for s in FIELDS if s.level == "variant"} == {f for f in CONTRACT_FIELDS if f.startswith("variant_")}
    assert FIELD_SPECS["price"].accepts == ("pim_catalog_price_collection", "pim_catalog_number")
    assert FIELD_SPECS["weight"].accepts == ("pim_catalog_metric", "pim_catalog_number")


def test_suggestions_on_icecat(suggested):
    f = suggested.fields
    assert suggested.version == 0
    assert f["name"] == "name"  # 16 of 17 families label with `name`
    assert f["sku"] == "sku" and f["variant_sku"] == "sku"
    assert f["description"] == "description"  # not short_description, meta_description, variation_description
    assert f["price"] == "price" and f["variant_price"] == "price"
    assert f["weight"] == "weight" and f["variant_weight"] == "weight"
    assert f["brand"] == "brand"  # exact code beats camera_brand (labelled "Brand" too)
    assert f["gtin"] == "ean"
    assert f["upc"] is None and f["mpn"] is None  # icecat has neither: nothing invented
    assert f["search_keywords"] == "keywords"
    assert f["page_title"] == "meta_title"
    assert f["meta_description"] == "meta_description"
    assert f["visibility"] == "enabled"
    assert f["images"][0] == "picture"  # 13 families' attribute_as_image
    assert set(f["images"]) == {"picture", "image", "variation_image"}
    assert f["variant_image"] == "variation_image"
    assert f["custom_fields"] == []
    assert f["sale_price"] is None and f["width"] is None  # no look-alike attributes


def test_family_overrides_where_label_or_image_differ(suggested):
    clothing = suggested.for_family("clothing")
    assert clothing["name"] == "variation_name"
    assert clothing["images"][0] == "variation_image"
    assert suggested.for_family("shoes")["images"][0] == "image"
    assert suggested.for_family("shoes")["name"] == "name"
    assert suggested.for_family("webcams")["images"][0] == "picture"
    assert set(suggested.families) == {"clothing", "accessories", "shoes"}
    assert suggested.for_family("CLOTHING")["name"] == "variation_name"  # codes compare case-insensitively
    assert suggested.for_family(None) == suggested.for_family("unknown_family")


def test_json_round_trip(suggested):
    doc = suggested.to_json()
    assert json.loads(json.dumps(doc)) == doc
    again = Mapping.from_json(doc)
    assert again.to_json() == doc
    assert again.for_family("clothing") == suggested.for_family("clothing")
    assert set(doc["fields"]) == set(CONTRACT_FIELDS)


def test_from_json_is_tolerant():
    m = Mapping.from_json({"version": 3, "fields": {"name": "title", "images": "picture", "bogus": "x"}})
    assert m.version == 3
    assert m.fields["name"] == "title" and m.fields["images"] == ["picture"]
    assert "bogus" not in m.fields and m.fields["price"] is None
    assert Mapping.from_json({}).version == 0


def test_compatible_attributes_offer_only_accepted_types(catalog):
    price = compatible_attributes(FIELD_SPECS["price"], catalog)
    assert {a["type"] for a in price} <= {"pim_catalog_price_collection", "pim_catalog_number"}
    assert "price" in {a["code"] for a in price} and "name" not in {a["code"] for a in price}
    visibility = compatible_attributes(FIELD_SPECS["visibility"], catalog)
    assert visibility[0]["code"] == "enabled"
    assert all(a["type"] in ("enabled", "pim_catalog_boolean") for a in visibility)
    french = compatible_attributes(FIELD_SPECS["weight"], catalog, "fr_FR")
    assert {"code": "weight", "label": "Poids", "type": "pim_catalog_metric"} in french


def test_document_round_trips_through_parse(suggested, catalog):
    doc = mapping_document(suggested, suggested, catalog, "en_US")
    assert [f["field"] for f in doc["fields"]] == CONTRACT_FIELDS
    name = doc["fields"][0]
    assert name["value"] == "name" and name["suggested"] == "name"
    assert all(a["type"] in name["accepts"] for a in name["attributes"])
    parsed, errors = parse_mapping_document(json.loads(json.dumps(doc)), catalog)
    assert errors == {}
    assert parsed.to_json() == suggested.to_json()


def _edit(suggested, catalog, **values):
    doc = mapping_document(suggested, suggested, catalog, "en_US")
    for item in doc["fields"]:
        if item["field"] in values:
            item["value"] = values[item["field"]]
    return doc


def test_parse_accepts_an_edit_and_keeps_the_version(suggested, catalog):
    mapping = Mapping(version=7, fields=suggested.fields, families=suggested.families)
    doc = mapping_document(mapping, suggested, catalog, "en_US")
    for item in doc["fields"]:
        if item["field"] == "custom_fields":
            item["value"] = ["color", "collection", "release_date"]
        if item["field"] == "visibility":
            item["value"] = "color_scanning"
    doc["families"]["webcams"] = {"name": "erp_name"}
    parsed, errors = parse_mapping_document(doc, catalog)
    assert errors == {}
    assert parsed.version == 7
    assert parsed.fields["custom_fields"] == ["color", "collection", "release_date"]
    assert parsed.fields["visibility"] == "color_scanning"
    assert parsed.for_family("webcams")["name"] == "erp_name"


@pytest.mark.parametrize(
    ("values", "field", "words"),
    [
        ({"price": "name"}, "price", ["'name'", "pim_catalog_text", "pim_catalog_price_collection"]),
        ({"weight": "no_such"}, "weight", ["unknown attribute 'no_such'", "pim_catalog_metric"]),
        ({"images": "picture"}, "images", ["list"]),
        ({"images": ["picture", "name"]}, "images", ["'name'", "pim_catalog_image"]),
        ({"name": ["name"]}, "name", ["one attribute"]),
        ({"custom_fields": ["color", "color"]}, "custom_fields", ["twice"]),
        ({"visibility": "name"}, "visibility", ["enabled flag", "pim_catalog_boolean"]),
        ({"custom_fields": ["picture"]}, "custom_fields", ["pim_catalog_image"]),
    ],
)
def test_parse_refuses_incompatible_choices(suggested, catalog, values, field, words):
    mapping, errors = parse_mapping_document(_edit(suggested, catalog, **values), catalog)
    assert mapping is None
    assert set(errors) == {field}
    for word in words:
        assert word in errors[field]


def test_parse_caps_custom_fields_at_200(suggested, catalog):
    many = [f"attr_{i}" for i in range(MAX_CUSTOM_FIELDS + 1)]
    _, errors = parse_mapping_document(_edit(suggested, catalog, custom_fields=many), catalog)
    assert "at most 200" in errors["custom_fields"]
    codes = sorted(catalog.attributes)
    ok, errors = parse_mapping_document({"fields": {"custom_fields": [c for c in codes if catalog.attributes[c]["type"]
                                                                      not in ("pim_catalog_image", "pim_catalog_file")]}},
                                        catalog)
    assert errors == {} and len(ok.fields["custom_fields"]) > 50


def test_parse_refuses_unknown_fields_families_and_shapes(catalog):
    _, errors = parse_mapping_document({"fields": {"colour": "color"}}, catalog)
    assert errors == {"colour": "unknown field 'colour'"}
    _, errors = parse_mapping_document({"fields": {}, "families": {"nope": {"name": "name"}}}, catalog)
    assert errors == {"families.nope": "unknown family 'nope'"}
    _, errors = parse_mapping_document({"fields": {}, "families": {"Clothing": {"price": "name"}}}, catalog)
    assert list(errors) == ["families.clothing.price"]
    assert parse_mapping_document([], catalog)[1] == {"mapping": "the mapping must be a JSON object"}
    assert "version" in parse_mapping_document({"fields": {}, "version": "2"}, catalog)[1]
    assert "fields" in parse_mapping_document({"fields": "name"}, catalog)[1]


def test_unset_fields_are_allowed(catalog):
    mapping, errors = parse_mapping_document({"version": 1, "fields": {"price": None, "images": []}}, catalog)
    assert errors == {}
    assert mapping.fields["price"] is None and mapping.fields["images"] == []
