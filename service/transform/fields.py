"""Reading a product's mapped fields: one attribute's value for the context's locale and channel, as the
BigCommerce product field it feeds takes it, and the product-level fields built from those values.

Guarantees (docs/desired-state.md):
- Pure: reads only the item's `values` and the `Context` (no I/O), and never raises on PIM data. A value
  that cannot be converted, is negative or too long, or a mapped attribute the PIM no longer has, becomes
  an `Issue` (a warning naming the attribute and what to change): the value is cut (names, titles) or
  left out, and the field then gets its clear (`EMPTY`; a missing price or weight is 0).
- Values are read in the context's locale and channel only (`values.read_value`).
- Text vs HTML: every field is plain text (a textarea's HTML stripped) except `description` and
  `warranty`, the store's HTML fields, which keep a textarea's HTML and escape any other text.
- Prices are amounts in the store currency only (a price in another currency is no price); weights and
  dimensions are in the store's units.
- `_common_fields` holds every optional field the mapping names, with its value or its `EMPTY` clear, and
  nothing the mapping does not name (never inventory), so a value cleared in the PIM is cleared in the
  store.
- `custom_url` is deterministic: the same name and SKU give the same URL.

The names with a leading underscore are this package's own (product.py and variants.py build with them);
nothing outside service/transform/ uses them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from service.transform import attribute_types as t
from service.transform.context import Context
from service.transform.convert import (
    ConversionError,
    cut,
    json_number,
    measure,
    price_amount,
    slug,
    text_value,
    well_formed,
)
from service.transform.mapping import attribute_label
from service.transform.values import read_value

# BigCommerce's limits on the product fields: a longer value is cut or not sent, with a warning, since the
# catalog API would refuse the whole product for it
NAME_MAX = 250
CUSTOM_FIELD_MAX = 250
MAX_CUSTOM_FIELDS = 200
CODE_MAX = 14  # upc, gtin
TITLE_MAX = 255  # page_title, availability_description
CONDITIONS = ("New", "Used", "Refurbished")  # the only values BigCommerce's `condition` takes
MEDIA_PLACEHOLDER = "media:"  # image_url in the hashed payload: signed URLs change, media codes do not


@dataclass(frozen=True)
class Issue:
    """One thing wrong with an item, in the merchant's words: a warning (the item is sent without it) or an
    error (the item is not sent)."""

    item: str  # "product <sku>", "model <code>", "variant <sku>"
    field: str  # the BigCommerce field (or "product" / "variants")
    message: str  # what is wrong and what to change in the PIM

    def to_json(self) -> dict:
        return {"item": self.item, "field": self.field, "message": self.message}


# --- reading mapped fields ------------------------------------------------------------------------


class _Build:
    """One build's context: the family's field mapping, and the warnings and errors it collects."""

    def __init__(self, ctx: Context, family: str | None, item: str) -> None:
        self.ctx = ctx
        self.catalog = ctx.catalog
        self.fields = ctx.mapping.for_family(family)
        self.global_fields = ctx.mapping.for_family(None)
        self.item = item
        self.warnings: list[Issue] = []
        self.errors: list[Issue] = []
        self._reported: set[tuple[str, str]] = set()

    def warn(self, field_name: str, message: str, item: str | None = None) -> None:
        self.warnings.append(Issue(item or self.item, field_name, message))

    def error(self, field_name: str, message: str, item: str | None = None) -> None:
        self.errors.append(Issue(item or self.item, field_name, message))

    def attribute(self, code: str | None, field_name: str) -> dict | None:
        if not code:
            return None
        attr = self.catalog.attributes.get(code)
        if attr is None and (field_name, code) not in self._reported:
            self._reported.add((field_name, code))
            self.warn(field_name, f"The mapped attribute '{code}' no longer exists in the PIM; update the mapping")
        return attr

    def label(self, code: str) -> str:
        attr = self.catalog.attributes.get(code)
        return attribute_label(attr, self.ctx.locale) if attr else code

    def named(self, code: str) -> str:
        label = self.label(code)
        return f"'{code}'" if label == code else f"'{code}' ({label})"

    def raw(self, values: Mapping[str, Any], code: str | None, field_name: str) -> tuple[dict | None, Any]:
        attr = self.attribute(code, field_name)
        if attr is None or code is None:
            return None, None
        return attr, read_value(values, code, self.ctx.locale, self.ctx.channel, attr)

    def text(self, values: Mapping[str, Any], code: str | None, field_name: str, *, plain: bool = True,
             item: str | None = None) -> str | None:
        attr, data = self.raw(values, code, field_name)
        if attr is None or data is None:
            return None
        try:
            return text_value(data, attr, self.catalog, self.ctx.locale, self.ctx.store.currency, plain=plain)
        except ConversionError as exc:
            self.warn(field_name, f"{self.named(str(code))}: {exc}; not sent", item)
            return None

    def amount(self, values: Mapping[str, Any], code: str | None, field_name: str,
               item: str | None = None) -> Decimal | None:
        attr, data = self.raw(values, code, field_name)
        if attr is None or data is None:
            return None
        try:
            value = price_amount(data, attr.get("type"), self.ctx.store.currency)
        except ConversionError as exc:
            self.warn(field_name, f"{self.named(str(code))}: {exc}; not sent", item)
            return None
        if value is not None and value < 0:
            self.warn(field_name, f"{self.named(str(code))} is negative ({value}); not sent", item)
            return None
        return value

    def measure(self, values: Mapping[str, Any], code: str | None, field_name: str, kind: str,
                item: str | None = None) -> Decimal | None:
        attr, data = self.raw(values, code, field_name)
        if attr is None or data is None:
            return None
        units = self.ctx.store.weight_units if kind == "weight" else self.ctx.store.dimension_units
        try:
            value = measure(data, attr, units, kind, self.catalog)
        except ConversionError as exc:
            self.warn(field_name, f"{self.named(str(code))}: {exc}; not sent", item)
            return None
        if value is not None and value < 0:
            self.warn(field_name, f"{self.named(str(code))} is negative; not sent", item)
            return None
        return value

    def media(self, values: Mapping[str, Any], code: str | None, field_name: str) -> str | None:
        attr, data = self.raw(values, code, field_name)
        if attr is None or not isinstance(data, str) or not data or not well_formed(data):
            return None
        return data


# --- the product-level fields --------------------------------------------------------------------


def _name(b: _Build, values: Mapping[str, Any], fallback: str) -> str:
    code = b.fields["name"]
    name = b.text(values, code, "name")
    if name is None and b.global_fields["name"] not in (None, code):
        # A family's label attribute often sits on a variant level (icecat clothing: variation_name);
        # a model then falls back to the global name attribute.
        name = b.text(values, b.global_fields["name"], "name")
    if not name:
        where = f"in {b.named(code)}" if code else "(no name attribute is mapped)"
        b.warn("name", f"No name {where}; the SKU {fallback!r} is used as the name")
        name = fallback
    return _cut_name(b, name)


def _cut_name(b: _Build, name: str) -> str:
    name = " ".join(name.split())
    if len(name) > NAME_MAX:
        b.warn("name", f"The name has {len(name)} characters; BigCommerce takes {NAME_MAX}: it was cut")
        name = cut(name, NAME_MAX)
    return name


def _names(b: _Build, values: Mapping[str, Any], fallback: str, override: str | None) -> tuple[str, str]:
    """(the name sent, the name the URL slug comes from): the import's de-duplicated `override` keeps
    the URL of the PIM's name, so a rename for uniqueness does not move the product's page."""
    base = _name(b, values, fallback)
    return (_cut_name(b, override) if override else base), base


def _price(b: _Build, values: Mapping[str, Any]) -> Decimal | None:
    return b.amount(values, b.fields["price"], "price")


def _missing_price_warning(b: _Build) -> None:
    code = b.fields["price"]
    currency = b.ctx.store.currency
    if code:
        b.warn("price", f"No {currency} price in {b.named(code)}: created hidden at price 0; add a {currency} "
                        f"price in the PIM to show it")
    else:
        b.warn("price", "No price attribute is mapped: created hidden at price 0; map a price to show it")


def _weight_warning(b: _Build) -> None:
    code = b.fields["weight"]
    if code:
        b.warn("weight", f"No weight in {b.named(code)}: sent as 0")
    else:
        b.warn("weight", "No weight attribute is mapped: sent as 0")


def _visible_flag(b: _Build, product_enabled: bool, values: Mapping[str, Any]) -> bool:
    code = b.fields["visibility"]
    if not code:
        return True
    if code == t.ENABLED:
        return product_enabled
    attr, data = b.raw(values, code, "is_visible")
    if attr is None:
        return False
    if not isinstance(data, bool):
        b.warn("is_visible", f"No Yes/No value in {b.named(code)}: hidden")
        return False
    return data


# What the store holds for "no value", per optional product field the mapping may own: a mapped field
# whose PIM value is missing (or cannot be sent) is set to this, so a value cleared in the PIM is cleared
# in the store (issue 19, defect 4). docs/desired-state.md gives each one with its source.
EMPTY: dict[str, Any] = {
    "description": "", "sale_price": 0, "retail_price": 0, "cost_price": 0,
    "width": 0, "height": 0, "depth": 0,
    "upc": "", "gtin": "", "mpn": "", "search_keywords": "", "page_title": "", "availability_description": "",
    "meta_description": "", "warranty": "", "condition": "New",
}
NO_BRAND = {"brand_id": 0}  # BigCommerce's "no brand"; brand_name "" names no brand and clears nothing


def _common_fields(b: _Build, values: Mapping[str, Any]) -> dict[str, Any]:
    """Every optional mapped field that is read the same way for simple products and models: each field
    the mapping names is present, with its value or its EMPTY one; unmapped fields are absent (not ours)."""
    f = b.fields
    found: dict[str, Any] = {}

    description = b.text(values, f["description"], "description", plain=False)
    if description:
        found["description"] = description
    for name in ("sale_price", "retail_price", "cost_price"):
        value = b.amount(values, f[name], name)
        if value is not None:
            found[name] = json_number(value)
    for name in ("width", "height", "depth"):
        value = b.measure(values, f[name], name, "dimension")
        if value is not None:
            found[name] = json_number(value)
    for name in ("upc", "gtin"):
        value = b.text(values, f[name], name)
        if value:
            if len(value) > CODE_MAX:
                b.warn(name, f"{b.named(f[name])} is {value!r}, longer than BigCommerce's {CODE_MAX} characters: "
                             f"not sent")
            else:
                found[name] = value
    mpn = b.text(values, f["mpn"], "mpn")
    if mpn:
        found["mpn"] = cut(mpn, 255)
    keywords = b.text(values, f["search_keywords"], "search_keywords")
    if keywords:
        found["search_keywords"] = cut(keywords, 65535)
    for name in ("page_title", "availability_description"):
        value = b.text(values, f[name], name)
        if value:
            if len(value) > TITLE_MAX:
                b.warn(name, f"{b.named(f[name])} has {len(value)} characters; BigCommerce takes {TITLE_MAX}: "
                             f"it was cut")
                value = cut(value, TITLE_MAX)
            found[name] = value
    meta = b.text(values, f["meta_description"], "meta_description")
    if meta:
        found["meta_description"] = cut(meta, 65535)
    condition = b.text(values, f["condition"], "condition")
    if condition:
        match = next((c for c in CONDITIONS if c.lower() == condition.strip().lower()), None)
        if match:
            found["condition"] = match
        else:
            b.warn("condition", f"{b.named(f['condition'])} is {condition!r}; BigCommerce takes New, Used or "
                                f"Refurbished: not sent")
    warranty = b.text(values, f["warranty"], "warranty", plain=False)
    if warranty:
        found["warranty"] = cut(warranty, 65535)

    out = {name: found.get(name, empty) for name, empty in EMPTY.items() if f[name]}
    if f["brand"]:
        out.update(_brand(b, values))
    if f["custom_fields"]:
        out["custom_fields"] = _custom_fields(b, values)  # [] deletes the ones we made (the loader does)
    return out


def _brand(b: _Build, values: Mapping[str, Any]) -> dict[str, Any]:
    """brand_name (BigCommerce finds or creates the brand), else brand_id 0: the spec says to send one of
    the two, never both."""
    code = b.fields["brand"]
    brand = b.text(values, code, "brand_name")
    if not brand:
        return dict(NO_BRAND)
    if len(brand) > 255:
        b.warn("brand_name", f"The brand in {b.named(str(code))} has {len(brand)} characters; BigCommerce takes 255: "
                             f"not sent")
        return dict(NO_BRAND)
    return {"brand_name": brand}


def _custom_fields(b: _Build, values: Mapping[str, Any]) -> list[dict]:
    fields: list[dict] = []
    for code in b.fields["custom_fields"] or []:
        value = b.text(values, code, "custom_fields")
        if not value:
            continue
        name = cut(b.label(code), CUSTOM_FIELD_MAX)
        if len(value) > CUSTOM_FIELD_MAX:
            b.warn("custom_fields", f"The value of {b.named(code)} has {len(value)} characters; BigCommerce takes "
                                    f"{CUSTOM_FIELD_MAX} in a custom field: skipped")
            continue
        if len(fields) >= MAX_CUSTOM_FIELDS:
            b.warn("custom_fields", f"BigCommerce takes {MAX_CUSTOM_FIELDS} custom fields per product: "
                                    f"{b.named(code)} and the following were skipped")
            break
        fields.append({"name": name, "value": value})
    return fields


def _images(b: _Build, values: Mapping[str, Any]) -> list[str]:
    """The media codes of the mapped image attributes that have a value, in mapping order, once each."""
    codes: list[str] = []
    for attr in b.fields["images"] or []:
        media = b.media(values, attr, "images")
        if media and media not in codes:
            codes.append(media)
    return codes


def _listed(value: Any) -> list:
    """A PIM answers lists of codes; anything else there is no code at all."""
    return list(value) if isinstance(value, list | tuple) else []


def _categories(b: _Build, codes: Any) -> list[int]:
    ids = {b.ctx.category_ids[c.lower()] for c in _listed(codes)
           if isinstance(c, str) and c.lower() in b.ctx.category_ids}
    return sorted(ids)


def custom_url(name: str, sku: str) -> dict:
    """A deterministic URL: the name's slug and the SKU's (SKUs are unique, so URLs never collide)."""
    sku_slug = slug(sku, 100) or hashlib.sha1(sku.encode()).hexdigest()[:12]
    name_slug = slug(name, 120) or "product"
    return {"url": f"/{name_slug}-{sku_slug}/", "is_customized": True}


def _image_entries(media: list[str]) -> list[dict]:
    return [
        {"image_url": MEDIA_PLACEHOLDER + code, "is_thumbnail": i == 0, "sort_order": i}
        for i, code in enumerate(media)
    ]


# --- identity: the item's code and SKU ------------------------------------------------------------


def _identifier(product: Mapping[str, Any]) -> str | None:
    ident = product.get("identifier")
    return str(ident) if ident and well_formed(str(ident)) else None


def _own_code(value: Any) -> tuple[str, bool]:
    """The product's uuid or the model's code as text, and whether it was well formed (broken text is kept
    readable, and the caller refuses the item)."""
    text = str(value or "")
    if well_formed(text):
        return text, True
    return text.encode("utf-8", "replace").decode("utf-8"), False


def _sku(b: _Build, values: Mapping[str, Any], field_name: str, fallback: str | None,
         item: str | None = None) -> str | None:
    code = b.fields[field_name]
    sku = b.text(values, code, "sku", item=item) if code else None
    if not sku and field_name == "variant_sku":
        sku = b.text(values, b.fields["sku"], "sku", item=item)
    if not sku and fallback and (not code or code == b.catalog.identifier_attribute()):
        sku = fallback  # /products answers the identifier outside `values`
    return sku.strip() if sku else None
