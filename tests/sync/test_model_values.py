"""Which level a two-level model's fields read (docs/desired-state.md; [converge] 14), on icecat's
model-tshirt-divided (root -> colour sub-models holding `composition`, `material`, `variation_name` -> size
variants), read from the sandbox PIM over HTTP. The build is pure: edits are made on copies of the JSON."""

from __future__ import annotations

import copy

from service.transform.context import Context, StoreSettings
from service.transform.mapping import Mapping, suggest_mapping
from service.transform.product import build_product_model

ROOT = "model-tshirt-divided"


def _ctx(data, **fields) -> Context:
    base = suggest_mapping(data.catalog)
    mapping = Mapping(base.version, {**base.fields, **fields}, base.families)
    return Context(data.catalog, StoreSettings("EUR", "kg", "cm"), "en_US", "ecommerce", mapping)


def _one(data) -> list[dict]:
    return [{"locale": None, "scope": None, "data": data}]


def _tree(data):
    return copy.deepcopy(data.models[ROOT]), copy.deepcopy(data.sub_models_of(ROOT)), data.variants_of(ROOT)


def test_the_sub_models_fill_what_the_root_lacks(data):
    root, subs, variants = _tree(data)
    for sub in subs:  # every sub-model agrees: that one value
        sub["values"]["composition"] = _one("100% linen")
    plan = build_product_model(root, subs, variants, _ctx(data, custom_fields=["composition"]))
    assert {f["name"]: f["value"] for f in plan.payload["custom_fields"]} == {"Composition": "100% linen"}


def test_the_root_wins_over_its_sub_models(data):
    root, subs, variants = _tree(data)
    root["values"]["composition"] = _one("root blend")
    plan = build_product_model(root, subs, variants, _ctx(data, custom_fields=["composition"]))
    assert {f["name"]: f["value"] for f in plan.payload["custom_fields"]} == {"Composition": "root blend"}


def test_differing_text_is_joined_a_select_used_elsewhere_takes_the_first(data):
    root, subs, variants = _tree(data)
    subs = sorted(subs, key=lambda s: s["code"].lower(), reverse=True)  # the order given does not matter
    by_code = {s["code"].lower(): s for s in subs}
    order = sorted(by_code)
    # `material` mapped to the brand as well: one brand, the first sub-model's (code order)
    plan = build_product_model(root, subs, variants, _ctx(data, custom_fields=["material"], brand="material"))
    first = by_code[order[0]]["values"]["material"][0]["data"]
    label = data.catalog.options["material"][first.lower()]["labels"]["en_US"]
    assert plan.payload["brand_name"] == label
    assert {f["name"]: f["value"] for f in plan.payload["custom_fields"]} == {"Material": label}
    # a text attribute of the sub-models: their distinct values joined in code order
    root["values"].pop("care_instructions", None)
    for i, sub in enumerate(order):
        by_code[sub]["values"]["care_instructions"] = _one(f"care {i % 2}")
    plan = build_product_model(root, subs, variants, _ctx(data, custom_fields=["care_instructions"]))
    fields = {f["name"]: f["value"] for f in plan.payload["custom_fields"]}
    assert list(fields.values()) == ["care 0, care 1"]


def test_the_name_and_pictures_stay_the_roots(data):
    root, subs, variants = _tree(data)
    plan = build_product_model(root, subs, variants, _ctx(data))
    assert plan.payload["name"] == data.models[ROOT]["values"]["name"][0]["data"]
    assert all(not m.endswith(tuple(s["code"] for s in subs)) for m in plan.media)
