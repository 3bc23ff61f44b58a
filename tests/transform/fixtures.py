"""A small hand-made PIM schema for the transform unit tests: one attribute per kind the mapping takes, a
family, a one-level family variant (size), and options whose labels hold characters HTML would eat."""

from __future__ import annotations

import copy

from service.transform import attribute_types as t
from service.transform.context import Catalog, Context, StoreSettings
from service.transform.mapping import Mapping


def _attr(code: str, kind: str, **extra) -> dict:
    return {"code": code, "type": kind, "labels": {"en_US": code.replace("_", " ").title()}, "localizable": False,
            "scopable": False, **extra}


ATTRIBUTES = {a["code"]: a for a in [
    _attr("sku", t.IDENTIFIER, is_main_identifier=True),
    _attr("name", t.TEXT),
    _attr("description", t.TEXTAREA, wysiwyg_enabled=True),
    _attr("notes", t.TEXTAREA),
    _attr("tagline", t.TEXT),
    _attr("price", t.PRICE),
    _attr("sale", t.PRICE),
    _attr("retail", t.NUMBER),
    _attr("cost", t.NUMBER),
    _attr("weight", t.METRIC, metric_family="Weight", default_metric_unit="KILOGRAM"),
    _attr("width", t.METRIC, metric_family="Length", default_metric_unit="CENTIMETER"),
    _attr("brand", t.SIMPLESELECT),
    _attr("upc", t.TEXT),
    _attr("ean", t.TEXT),
    _attr("mpn", t.TEXT),
    _attr("keywords", t.TEXTAREA),
    _attr("title", t.TEXT),
    _attr("meta", t.TEXTAREA),
    _attr("condition", t.SIMPLESELECT),
    _attr("warranty", t.TEXT),
    _attr("availability", t.TEXT),
    _attr("material", t.TEXT),
    _attr("picture", t.IMAGE),
    _attr("size", t.SIMPLESELECT, labels={"en_US": "Size <EU>"}),
]}
OPTIONS = {
    "brand": {"acme": {"code": "acme", "labels": {"en_US": "Acme <Pro> & Sons"}}},
    "condition": {"used": {"code": "used", "labels": {"en_US": "Used"}}},
    "size": {"s": {"code": "s", "labels": {"en_US": "S <small>"}, "sort_order": 1},
             "m": {"code": "m", "labels": {"en_US": "M"}, "sort_order": 2}},
}
CATALOG = Catalog(
    attributes=ATTRIBUTES,
    families={"bags": {"code": "bags", "attribute_as_label": "name"}},
    family_variants={"bags/by_size": {"code": "by_size", "variant_attribute_sets": [
        {"level": 1, "axes": ["size"], "attributes": ["size", "sku", "price", "weight", "upc", "sale", "picture"]}]}},
    options=OPTIONS,
    measurement_families={},
)
STORE = StoreSettings("EUR", "KGS", "Centimeters")

# every optional field mapped
FIELDS = {
    "name": "name", "sku": "sku", "description": "description", "price": "price", "sale_price": "sale",
    "retail_price": "retail", "cost_price": "cost", "weight": "weight", "width": "width", "height": None,
    "depth": None, "brand": "brand", "upc": "upc", "gtin": "ean", "mpn": "mpn", "search_keywords": "keywords",
    "page_title": "title", "meta_description": "meta", "condition": "condition", "warranty": "warranty",
    "availability_description": "availability", "visibility": "enabled", "images": ["picture"],
    "custom_fields": ["material"], "variant_sku": "sku", "variant_price": "price", "variant_weight": "weight",
    "variant_image": "picture", "variant_upc": "upc",
}


def ctx(**fields) -> Context:
    mapping = Mapping(1, {**FIELDS, **fields}, {})
    return Context(CATALOG, STORE, "en_US", "ecommerce", mapping,
                   image_url=lambda code: f"https://connector.example/media/{code}")


def v(data) -> list[dict]:
    return [{"locale": None, "scope": None, "data": data}]


FULL_VALUES = {
    "sku": v("BAG-1"), "name": v("Bag"), "description": v("<p>Soft <b>leather</b></p>"),
    "price": v([{"amount": "100", "currency": "EUR"}]), "sale": v([{"amount": "80", "currency": "EUR"}]),
    "retail": v("120"), "cost": v("40"), "weight": v({"amount": "2", "unit": "KILOGRAM"}),
    "width": v({"amount": "30", "unit": "CENTIMETER"}), "brand": v("acme"), "upc": v("012345678905"),
    "ean": v("1234567890183"), "mpn": v("M-1"), "keywords": v("bag, leather"), "title": v("The bag"),
    "meta": v("A bag"), "condition": v("used"), "warranty": v("Two years"), "availability": v("In 2 days"),
    "material": v("Leather"), "picture": v("a/b/c/bag.jpg"),
}


def simple(values: dict | None = None, **changes) -> dict:
    """A simple product with FULL_VALUES, `changes` on top (None removes the value, as a clear in the PIM)."""
    merged = copy.deepcopy(FULL_VALUES if values is None else values)
    for code, data in changes.items():
        if data is None:
            merged.pop(code, None)
        else:
            merged[code] = v(data)
    return {"uuid": "0c8e6f44-5d0f-4a4c-9bd7-3d2b1c0e9a11", "identifier": "BAG-1", "family": "bags",
            "enabled": True, "categories": [], "values": merged}


MODEL = {"code": "tote", "family": "bags", "family_variant": "by_size", "categories": [],
         "values": {"name": v("Tote"), "description": v("<p>Tote</p>")}}


def variant(sku: str, size: str, **values) -> dict:
    return {"uuid": f"uuid-{sku}", "identifier": sku, "family": "bags", "parent": "tote", "enabled": True,
            "categories": [], "values": {"sku": v(sku), "size": v(size),
                                         **{code: v(data) for code, data in values.items() if data is not None}}}
