"""A product model's variants and options: the axis values that make a variant's options, the option
names, each variant's own fields, and the product-level values and SKU of the model they hang from.

Guarantees (docs/desired-state.md):
- Pure: reads only the PIM values it is given and the `Context` (no I/O); PIM data never makes it raise,
  a value that cannot be used is a warning on the variant (`item`).
- Option values are the axis values as text in the locale, each with the key variants sort by: a select's
  options' sort order in the PIM, a metric's amount in its family's standard unit (so "1 m" sorts after
  "10 cm"), else the text.
- Option names are the axis labels in the locale, made unique case-insensitively (BigCommerce keys a
  product's options by name).
- A variant's field is present when the mapping owns it (its variant_* field or the product field it falls
  back to is mapped): its value, else null for price, sale and retail price and weight (null is "the
  product's") and "" for the UPC.
- A model's product-level values are its root's; a value the root lacks comes from its sub-models
  (`_model_values` says how values that differ between them are joined).
- A model's SKU never equals one of its variants' SKUs, case-insensitively.

build_product_model (product.py) puts these together; the names with a leading underscore are this
package's own.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from service.transform import attribute_types as t
from service.transform.convert import (
    ConversionError,
    cut,
    json_number,
    measurement_family,
    metric_amount,
    option_sort_key,
    text_value,
    to_decimal,
)
from service.transform.fields import CODE_MAX, _Build
from service.transform.values import read_value

# --- options: a variant's axis values and the option names ----------------------------------------


def _axis_text(b: _Build, values: Mapping[str, Any], axis: str, item: str) -> tuple[str | None, Any]:
    attr, data = b.raw(values, axis, "variants")
    if attr is None or data is None:
        return None, None
    try:
        label = text_value(data, attr, b.catalog, b.ctx.locale, b.ctx.store.currency)
    except ConversionError as exc:
        b.warn("variants", f"Axis {b.named(axis)}: {exc}", item)
        return None, None
    if attr.get("type") in t.SELECTS:
        order: Any = option_sort_key(b.catalog, axis, data)
    elif attr.get("type") == t.METRIC and isinstance(data, Mapping):
        family = measurement_family(b.catalog, attr.get("metric_family"))
        try:  # in the standard unit, so "1 m" sorts after "10 cm"
            standard = family.get("standard_unit_code") if family else None
            amount = metric_amount(data, attr, standard, b.catalog) if standard else to_decimal(data.get("amount"))
            order = (0, amount or Decimal(0), str(data.get("unit")))
        except ConversionError:
            order = (1, Decimal(0), str(data))
    else:
        order = (0, str(label).lower())
    return label, order


def _display_names(b: _Build, axes: list[str]) -> dict[str, str]:
    """Option names: the axis attribute's label in the locale, made unique (BigCommerce keys options by name)."""
    names: dict[str, str] = {}
    used: set[str] = set()
    for axis in axes:
        name = cut(" ".join(b.label(axis).split()), 255) or axis  # a label is text, never HTML
        if name.lower() in used:
            name = cut(f"{name} ({axis})", 255)
        used.add(name.lower())
        names[axis] = name
    return names


# one of _Build's readers (text, amount, measure) as (values, attribute code, field, item) -> value or None
_Reader = Callable[[Mapping[str, Any], str, str, str], Any]


def _variant_value(b: _Build, values: Mapping[str, Any], variant_field: str, product_field: str,
                   reader: _Reader, item: str) -> Any:
    """The variant_* attribute's value, else the product-level field's attribute read at the variant."""
    value = None
    code = b.fields[variant_field]
    if code:
        value = reader(values, code, variant_field, item)
    if value is None and b.fields[product_field] and b.fields[product_field] != code:
        value = reader(values, b.fields[product_field], variant_field, item)
    return value


def _variant_fields(b: _Build, values: Mapping[str, Any], item: str) -> dict[str, Any]:
    """A variant's own fields, each present when the mapping owns it (its variant_* field or the product
    field it falls back to is mapped): the value, else the empty the variants spec documents. Price,
    sale and retail price and weight are nullable there, null meaning "the product's"; UPC is text."""
    f = b.fields
    out: dict[str, Any] = {}
    if f["variant_price"] or f["price"]:
        price = _variant_value(b, values, "variant_price", "price", b.amount, item)
        out["price"] = None if price is None else json_number(price)
    for name in ("sale_price", "retail_price"):  # the product's fields read at the variant
        if f[name]:
            amount = b.amount(values, f[name], name, item)
            out[name] = None if amount is None else json_number(amount)
    if f["variant_weight"] or f["weight"]:
        weight = _variant_value(b, values, "variant_weight", "weight",
                                lambda v, c, n, i: b.measure(v, c, n, "weight", i), item)
        out["weight"] = None if weight is None else json_number(weight)
    if f["variant_upc"] or f["upc"]:
        upc = _variant_value(b, values, "variant_upc", "upc", lambda v, c, n, i: b.text(v, c, n, item=i), item)
        if upc and len(upc) > CODE_MAX:
            b.warn("variants", f"The UPC {upc!r} is longer than {CODE_MAX} characters: not sent", item)
            upc = None
        out["upc"] = upc or ""
    return out


# --- the model: its product-level values and its SKU ---------------------------------------------


def _model_values(b: _Build, root: Mapping[str, Any], subs: list[Any]) -> dict[str, Any]:
    """Product-level values of a model (docs/desired-state.md): the root's; a value the root lacks (in this
    locale and channel) is read from the sub-models (icecat's `composition`, `material` sit on that level):
    their one value when they agree; when they differ, text is their distinct values joined by ", " in
    sub-model code order, as are the labels of a select mapped only to custom fields; else the first's."""
    merged = dict(root) if isinstance(root, Mapping) else {}
    layers = [layer for layer in subs if isinstance(layer, Mapping)]
    locale, channel = b.ctx.locale, b.ctx.channel
    custom_only = set(b.fields["custom_fields"] or []) - {v for k, v in b.fields.items()
                                                           if k != "custom_fields" and isinstance(v, str)}
    for code in dict.fromkeys(c for layer in layers for c in layer):
        if read_value(merged, code, locale, channel) is not None:
            continue
        holders = [(layer, read_value(layer, code, locale, channel)) for layer in layers]
        holders = [(layer, data) for layer, data in holders if data is not None]
        if not holders:
            continue
        distinct: dict[str, Any] = {}
        for _, data in holders:
            distinct.setdefault(data.strip() if isinstance(data, str) else json.dumps(data, sort_keys=True, default=str),
                                data)
        datas = list(distinct.values())
        attr = b.catalog.attributes.get(code) or {}
        kind = attr.get("type")
        joined: Any = None
        if len(datas) > 1 and kind in (t.TEXT, t.TEXTAREA) and all(isinstance(d, str) for d in datas):
            joined = ", ".join(d.strip() for d in datas)
        elif len(datas) > 1 and kind in t.SELECTS and code in custom_only and all(isinstance(d, str) for d in datas):
            joined = datas  # a list of option codes: shown as their labels joined by ", "
        if joined is None:
            merged[code] = holders[0][0][code]
        else:
            merged[code] = [{"locale": locale if attr.get("localizable") else None,
                             "scope": channel if attr.get("scopable") else None, "data": joined}]
    return merged


def _model_sku(code: str, variant_skus: set[str]) -> str:
    """The model's code; suffixed when a variant already holds it (SKUs are unique across products and
    variants, case-insensitively)."""
    sku = code
    n = 1
    while sku.lower() in variant_skus:
        sku = f"{code}-model" if n == 1 else f"{code}-model-{n}"
        n += 1
    return sku
