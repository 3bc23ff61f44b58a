"""Any value shape a PIM could hand over builds a valid payload or a clean error (hostile input, issue 13):
hypothesis gives icecat products and product models any value shape a PIM could hand over (nulls, wrong types,
NaN and infinities, huge and deeply nested strings, broken HTML, unknown units and currencies, odd locales and
scopes, entries that are not entries) under a mapping that maps every field it can. Each build either yields a
payload that BigCommerce takes (the sandbox store's own rules, `sandbox.bigcommerce.products.product_errors`,
and the official OpenAPI spec) or a clean per-product error; it never raises. (The icecat payloads themselves
are checked in tests/transform/test_payloads.py.)"""

from __future__ import annotations

import copy
import json
import math
import traceback

import jsonschema
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from sandbox.bigcommerce.products import product_errors
from service.transform import attribute_types as t
from service.transform.context import Context, StoreSettings
from service.transform.mapping import FIELDS, Mapping, suggest_mapping
from service.transform.product import ProductPlan, build_product_model, build_simple_product
from tests.contract_bigcommerce import validate_request
from tests.reliability.figures import record

pytestmark = pytest.mark.reliability

PRODUCTS = "products_catalog.v3.yml"
INLINE = ("id", "product_id")  # productVariant_Full requires them, but not in a create request
SIMPLE, MODEL = "1111111171", "apollon"


def full_mapping(catalog) -> Mapping:
    """Every field the catalog has an attribute for is mapped (the suggestion first), and every textual
    attribute is a custom field: the most the builder can be asked to read."""
    suggested = suggest_mapping(catalog)
    fields = dict(suggested.fields)
    for spec in FIELDS:
        if not spec.multiple and fields.get(spec.field) is None:
            fields[spec.field] = next((code for code, a in sorted(catalog.attributes.items())
                                       if a.get("type") in spec.accepts), None)
    fields["custom_fields"] = [code for code, a in sorted(catalog.attributes.items())
                               if a.get("type") in t.TEXTUAL and code not in ("sku",)]
    return Mapping(1, fields, suggested.families)


def mapped_codes(mapping: Mapping) -> list[str]:
    codes: set[str] = set()
    for fam in (None, *mapping.families):
        for value in mapping.for_family(fam).values():
            codes.update([value] if isinstance(value, str) else value or [])
    return sorted(codes - {"enabled"})


# --- hostile value shapes ------------------------------------------------------------------------------------

JUNK_TEXT = st.one_of(
    st.text(max_size=40),
    st.sampled_from([
        "", "   ", "\t\n", "x" * 100_000, "é" * 300, "<div>" * 5000 + "deep" + "</div>" * 5000,
        "<b><i><p>unclosed <script>alert(1)</script><!-- never closed", "<<<>>>&&&;;", "&#0;&#xD800;&#99999999;&bogus;",
        "\ud800 lone surrogate", "NaN", "Infinity", "-Infinity", "1e309", "-5", "0x1F", "1,5", "12 kg", "\x00\x01\x7f",
        "<img src=x onerror=alert(1)>", "🙂" * 200, "Name\r\nX-Injected: 1", "../../etc/passwd", "null",
    ]),
)
NUMBERS = st.one_of(st.integers(min_value=-10**30, max_value=10**30), st.floats(allow_nan=True, allow_infinity=True),
                    st.sampled_from([0, -0.0, 1e308, -1e-308, 2**63, -(2**63)]))
SCALAR = st.one_of(st.none(), st.booleans(), NUMBERS, JUNK_TEXT)
CURRENCIES = st.sampled_from(["EUR", "USD", "eur", "XXX", "", None, 5, "€", "EURO", ["EUR"]])
UNITS = st.sampled_from(["KILOGRAM", "GRAM", "POUND", "CENTIMETER", "PARSEC", "", None, "kilogram", 3, ["GRAM"]])
PRICES = st.lists(st.one_of(st.fixed_dictionaries({"amount": SCALAR, "currency": CURRENCIES}), SCALAR), max_size=4)
METRIC = st.fixed_dictionaries({"amount": SCALAR, "unit": UNITS}, optional={"family": JUNK_TEXT})
DATA = st.one_of(SCALAR, PRICES, METRIC, st.lists(SCALAR, max_size=5),
                 st.dictionaries(st.text(max_size=6), SCALAR, max_size=3))
LOCALES = st.sampled_from([None, "en_US", "fr_FR", "de_DE", "xx_XX", "", "EN_us", "en-US", 5, ["en_US"]])
SCOPES = st.sampled_from([None, "ecommerce", "print", "mobile", "", "ECOMMERCE", 7, {"x": 1}])
ENTRY = st.one_of(
    st.fixed_dictionaries({"locale": LOCALES, "scope": SCOPES, "data": DATA}),
    st.fixed_dictionaries({"data": DATA}),  # no locale/scope keys at all
    st.fixed_dictionaries({"locale": LOCALES, "scope": SCOPES}),  # no data key
    SCALAR,  # an entry that is not an object
)
ATTRIBUTE_VALUES = st.one_of(st.lists(ENTRY, max_size=4), SCALAR, st.dictionaries(st.text(max_size=4), SCALAR,
                                                                                  max_size=2))
# The tenant's locale and channel are saved configuration (always text), but may match nothing in the values.
CONFIG_LOCALES = st.sampled_from(["en_US", "fr_FR", "de_DE", "xx_XX", "", "EN_us"])
CONFIG_CHANNELS = st.sampled_from(["ecommerce", "print", "mobile", "", "ECOMMERCE", "nowhere"])
STORES = st.builds(StoreSettings, st.sampled_from(["EUR", "USD", "XXX", "", "eur"]),
                   st.sampled_from(["KGS", "LBS", "Ounces", "Grams", "Tonnes", "Stones", ""]),
                   st.sampled_from(["Centimeters", "Inches", "Millimeters", "Meters", "Furlongs", ""]))


def hostile_item(template: dict, codes: list[str]):
    """`template` with some of its mapped values replaced by hostile shapes, and its own fields too."""
    top = st.fixed_dictionaries({}, optional={
        "identifier": SCALAR, "family": st.sampled_from([None, "", "CLOTHING", "no_such_family", 3]),
        "categories": st.one_of(st.lists(SCALAR, max_size=4), SCALAR), "enabled": SCALAR, "uuid": SCALAR,
        "code": SCALAR, "family_variant": st.sampled_from([None, "", "no_such_variant", 5])})
    changed_values = st.dictionaries(st.sampled_from(codes), ATTRIBUTE_VALUES, max_size=12)
    sku = st.one_of(st.none(), st.none(), ATTRIBUTE_VALUES)  # the identifier, hostile a third of the time

    def apply(parts) -> dict:
        values, fields, identifier = parts
        item = copy.deepcopy(template)
        item["values"] = {**item.get("values", {}), **values}
        if identifier is not None:
            item["values"]["sku"] = identifier
        item.update(fields)
        return item

    return st.tuples(changed_values, top, sku).map(apply)


# --- what BigCommerce would take ------------------------------------------------------------------------------

def problems(plan: ProductPlan) -> list[str]:
    """Why BigCommerce would refuse this plan's payload (empty: it would take it). A plan with errors is not
    sent: it must only say why, on its own item."""
    found = []
    for issue in (*plan.warnings, *plan.errors):
        if not all(isinstance(x, str) and x for x in (issue.item, issue.field, issue.message)):
            found.append(f"an issue that says nothing: {issue}")
    if plan.errors or plan.skipped:
        return found
    payload = plan.payload
    try:
        text = json.dumps(payload, allow_nan=False, ensure_ascii=False)
        text.encode("utf-8")
    except (ValueError, UnicodeError) as exc:
        return [*found, f"not JSON BigCommerce can read: {exc}"]
    found += [f"sandbox store: {k}: {v}" for k, v in product_errors(payload, creating=True).items()]
    try:
        validate_request(PRODUCTS, "/catalog/products", "post", payload, INLINE)
    except jsonschema.ValidationError as exc:
        found.append(f"OpenAPI: {exc.message[:200]} at {list(exc.absolute_path)}")
    if not (isinstance(payload.get("price"), int | float) and payload["price"] >= 0 and math.isfinite(payload["price"])):
        found.append(f"price {payload.get('price')!r}")
    if not (isinstance(payload.get("weight"), int | float) and payload["weight"] >= 0):
        found.append(f"weight {payload.get('weight')!r}")
    if not (isinstance(payload.get("name"), str) and 1 <= len(payload["name"]) <= 250 and payload["name"].strip()):
        found.append(f"name {str(payload.get('name'))[:60]!r}")
    if payload.get("price") == 0 and payload.get("is_visible") is not False:
        found.append("visible at price 0")
    for f in payload.get("custom_fields", []):
        if not (1 <= len(f["name"]) <= 250 and 1 <= len(f["value"]) <= 250):
            found.append(f"custom field {f['name'][:40]!r}")
    return found


def _check(build, item_name: str, tally: dict, failures: list[str]) -> None:
    tally["inputs"] += 1
    try:
        plan = build()
    except Exception as exc:  # the property: never an exception, whatever the PIM sent
        tally["exceptions"] += 1
        where = [f"{f.filename.split('/service/')[-1]}:{f.lineno}" for f in traceback.extract_tb(exc.__traceback__)
                 if "/service/" in f.filename][-2:]
        failures.append(f"{item_name}: {type(exc).__name__}: {str(exc)[:200]} at {where}")
        return
    tally["errors" if plan.errors else "skipped" if plan.skipped else "payloads"] += 1
    wrong = problems(plan)
    if wrong:
        tally["accepted_bad"] += 1
        failures.append(f"{item_name}: {wrong[:5]}")


def test_any_value_shape_builds_a_valid_simple_product_or_a_clean_error(data):
    mapping = full_mapping(data.catalog)
    codes = mapped_codes(mapping)
    template = data.products[SIMPLE]
    tally = {"inputs": 0, "payloads": 0, "errors": 0, "skipped": 0, "exceptions": 0, "accepted_bad": 0}
    failures: list[str] = []

    @given(product=hostile_item(template, codes), store=STORES, locale=CONFIG_LOCALES, channel=CONFIG_CHANNELS)
    @settings(max_examples=300, deadline=None, database=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    def build(product, store, locale, channel):
        ctx = Context(data.catalog, store, locale, channel, mapping, {"master_accessories_bags": 5},
                      lambda code: f"https://connector.example/media/{str(code)[-60:]}")
        _check(lambda: build_simple_product(product, ctx), f"product {product.get('identifier')!r:.40}", tally,
               failures)

    build()
    record("hostile", "transform: hypothesis value shapes on a simple product, every field mapped", **tally)
    assert not failures, "\n".join(failures[:15])
    assert tally["payloads"] > 30 and tally["errors"] > 5  # both outcomes were reached


def test_any_value_shape_builds_a_valid_product_model_or_a_clean_error(data):
    mapping = full_mapping(data.catalog)
    codes = mapped_codes(mapping)
    model, subs, variants = data.models[MODEL], data.sub_models_of(MODEL), data.variants_of(MODEL)
    tally = {"inputs": 0, "payloads": 0, "errors": 0, "skipped": 0, "exceptions": 0, "accepted_bad": 0}
    failures: list[str] = []
    # Most variants as they are, a few hostile (a model whose every variant is broken is an error, not a test
    # of the payload); each sub-model hostile or not; sometimes a variant twice, sometimes none at all.
    leaf = st.one_of(*(st.just(v) for v in variants[:8]), *(hostile_item(v, codes) for v in variants[:8]))
    leaves = st.lists(leaf, min_size=0, max_size=10)
    sub_models = st.tuples(*(st.one_of(st.just(s), hostile_item(s, codes)) for s in subs)).map(list) if subs \
        else st.just([])

    @given(root=hostile_item(model, codes), leaves=leaves, sub_models=sub_models, store=STORES,
           locale=CONFIG_LOCALES, channel=CONFIG_CHANNELS)
    @settings(max_examples=120, deadline=None, database=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    def build(root, leaves, sub_models, store, locale, channel):
        ctx = Context(data.catalog, store, locale, channel, mapping, {}, None)
        _check(lambda: build_product_model(root, sub_models, leaves, ctx), f"model {root.get('code')!r:.40}", tally,
               failures)

    build()
    record("hostile", "transform: hypothesis value shapes on a product model, its sub-models and variants", **tally)
    assert not failures, "\n".join(failures[:15])
    assert tally["payloads"] > 5, tally
