"""A PIM product, or a product model with its variants, to exactly one POST /v3/catalog/products body.

The import sends what these functions return and the mapping page's preview shows it: one function
produces both. Rules (issues 9 and 10): price in the store currency, else price 0, hidden, and a
warning naming the price attribute (never a visible product at price 0); a missing weight is 0 with a
warning; names over 250 characters are cut with a warning; custom field values over 250 characters
are skipped with a warning; a deterministic `custom_url`; only mapped categories; `type: physical`;
only the fields the mapping names (never inventory), each with its value or, when the PIM has none,
its clear value (EMPTY; a variant's: null or ""), so a clear in the PIM reaches the store; a variant's
`purchasing_disabled` is always sent (issue 19, defects 3 and 4; docs/desired-state.md). A model's
product SKU never equals one of its variants' SKUs (case-insensitively).
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from service.transform import attribute_types as t
from service.transform.context import Context
from service.transform.convert import (
    ConversionError,
    cut,
    json_number,
    measure,
    measurement_family,
    metric_amount,
    option_sort_key,
    price_amount,
    slug,
    text_value,
    to_decimal,
    well_formed,
)
from service.transform.mapping import attribute_label
from service.transform.values import merge_values, read_value

NAME_MAX = 250
SKU_MAX = 255
CUSTOM_FIELD_MAX = 250
MAX_CUSTOM_FIELDS = 200
CODE_MAX = 14  # upc, gtin
TITLE_MAX = 255  # page_title, availability_description
IMAGE_URL_MAX = 255
MAX_VARIANTS = 600
MAX_OPTION_VALUES = 250
CONDITIONS = ("New", "Used", "Refurbished")
MEDIA_PLACEHOLDER = "media:"  # image_url in the hashed payload: signed URLs change, media codes do not


@dataclass(frozen=True)
class Issue:
    item: str  # "product <sku>", "model <code>", "variant <sku>"
    field: str  # the BigCommerce field (or "product" / "variants")
    message: str  # what is wrong and what to change in the PIM

    def to_json(self) -> dict:
        return {"item": self.item, "field": self.field, "message": self.message}


@dataclass
class ProductPlan:
    key: str  # "product:<uuid>" (simple) or "model:<code as stored>"
    sku: str  # the BigCommerce product SKU (a model's never equals a variant's)
    payload: dict  # exact POST /v3/catalog/products body, inline images/variants/custom_fields
    variants: list[dict]  # also inside payload["variants"]; [] for simple products
    warnings: list[Issue]
    errors: list[Issue]  # non-empty: do not send (e.g. no SKU)
    content_hash: str  # sha256 of the canonical payload + mapping version: change detection
    media: list[str]  # media-file codes of the images, in payload order
    variant_media: dict[str, str] = field(default_factory=dict)  # variant SKU -> its image's media code
    # Why nothing is to be sent although nothing is wrong (a model without variant products yet): the
    # import neither sends it nor counts it as failed. Errors take precedence.
    skipped: str | None = None
    # variant SKU -> the variant product's PIM uuid: a variant's identity (its SKU may change)
    variant_keys: dict[str, str] = field(default_factory=dict)
    # when the PIM data it was built from was read (the engine sets it): never written over what was
    # built from data read later
    read_at: float = 0.0

    def to_json(self) -> dict:
        """The plan as the preview shows it (plain JSON)."""
        return {
            "key": self.key,
            "sku": self.sku,
            "payload": self.payload,
            "warnings": [issue.to_json() for issue in self.warnings],
            "errors": [issue.to_json() for issue in self.errors],
            "content_hash": self.content_hash,
            "media": list(self.media),
            "variant_media": dict(self.variant_media),
            "skipped": self.skipped,
        }


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


# --- hashing and final payload --------------------------------------------------------------------


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def content_hash(hashed_payload: dict, mapping_version: int) -> str:
    body = canonical_json({"payload": hashed_payload, "mapping_version": mapping_version})
    return hashlib.sha256(body.encode()).hexdigest()


def _finish(b: _Build, key: str, sku: str, hashed: dict, media: list[str],
            variant_media: dict[str, str]) -> ProductPlan:
    """The payload sent: image placeholders replaced by the URLs BigCommerce downloads, or dropped when
    the import uploads images itself (ctx.image_url None). The hash is over the placeholders."""
    digest = content_hash(hashed, b.ctx.mapping.version)
    payload = copy.deepcopy(hashed)
    image_url = b.ctx.image_url
    if "images" in payload:
        if image_url is None:
            del payload["images"]
        else:
            kept = []
            for entry in payload["images"]:
                url = image_url(entry["image_url"][len(MEDIA_PLACEHOLDER):])
                if len(url) > IMAGE_URL_MAX:
                    b.warn("images", f"The image URL is {len(url)} characters; BigCommerce takes {IMAGE_URL_MAX}: "
                                     f"the image is sent separately")
                    continue
                kept.append({**entry, "image_url": url})
            if kept:
                kept[0]["is_thumbnail"] = True
                payload["images"] = kept
            else:
                del payload["images"]
    for variant in payload.get("variants", []):
        placeholder = variant.pop("image_url", None)
        if placeholder == "":
            variant["image_url"] = ""  # the clear is sent as is
        elif placeholder and image_url is not None:
            url = image_url(placeholder[len(MEDIA_PLACEHOLDER):])
            if len(url) <= IMAGE_URL_MAX:
                variant["image_url"] = url
    return ProductPlan(
        key=key,
        sku=sku,
        payload=payload,
        variants=list(payload.get("variants", [])),
        warnings=b.warnings,
        errors=b.errors,
        content_hash=digest,
        media=media,
        variant_media=variant_media,
    )


# --- simple products ------------------------------------------------------------------------------


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


def build_simple_product(product: dict, ctx: Context, *, name: str | None = None) -> ProductPlan:
    """One simple product. `name` replaces the mapped name (the import's de-duplicated name)."""
    values = product.get("values") or {}
    identifier = _identifier(product)
    uuid, readable = _own_code(product.get("uuid") or product.get("identifier"))
    key = f"product:{uuid}"
    b = _Build(ctx, product.get("family"), f"product {identifier or uuid}")
    if not readable:
        b.error("sku", "The product's uuid holds broken characters (not valid text): not sent")
    sku = _sku(b, values, "sku", identifier)
    if sku:
        b.item = f"product {sku}"
    if not sku:
        code = b.fields["sku"]
        b.error("sku", f"No SKU in {b.named(code)}: not sent" if code else "No SKU attribute is mapped: not sent")
        sku = ""
    elif len(sku) > SKU_MAX:
        b.error("sku", f"The SKU has {len(sku)} characters; BigCommerce takes {SKU_MAX}: not sent")

    product_name, url_name = _names(b, values, sku or uuid, name)
    price = _price(b, values)
    if price is None:
        _missing_price_warning(b)
        price = Decimal(0)
    elif price == 0:
        b.warn("price", f"The price in {b.named(str(b.fields['price']))} is 0: created hidden")
    weight = b.measure(values, b.fields["weight"], "weight", "weight")
    if weight is None:
        _weight_warning(b)
        weight = Decimal(0)
    visible = _visible_flag(b, product.get("enabled", True) is not False, values) and price > 0

    payload: dict[str, Any] = {
        "name": product_name,
        "type": "physical",
        "sku": sku,
        "price": json_number(price),
        "weight": json_number(weight),
        "is_visible": visible,
        "categories": _categories(b, product.get("categories") or []),
        "custom_url": custom_url(url_name, sku),
    }
    payload.update(_common_fields(b, values))
    media = _images(b, values)
    if media:
        payload["images"] = _image_entries(media)
    return _finish(b, key, sku, payload, media, {})


# --- product models -------------------------------------------------------------------------------


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


def _variant_value(b: _Build, values: Mapping[str, Any], variant_field: str, product_field: str, reader,
                   item: str):
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


def build_product_model(model: dict, sub_models: list[dict], variants: list[dict], ctx: Context, *,
                        name: str | None = None) -> ProductPlan:
    """One BigCommerce product for a root product model, one variant per leaf (variant product);
    `sub_models` are the level-1 models of a two-level family variant ([] for one level)."""
    family = model.get("family")
    code, readable = _own_code(model.get("code"))
    key = f"model:{code}"
    b = _Build(ctx, family, f"model {code}")
    if not readable:
        b.error("sku", "The model's code holds broken characters (not valid text): not sent")
    elif not code.strip():
        b.error("sku", "The model has no code (its SKU and identity): not sent")
    root_values = model.get("values") or {}
    family_variant = b.catalog.family_variant(family, model.get("family_variant"))
    if family_variant is None:
        b.error("variants", f"The family variant {model.get('family_variant')!r} of family {family!r} is unknown")
        axes: list[str] = []
    else:
        levels = sorted(family_variant.get("variant_attribute_sets") or [], key=lambda s: s.get("level", 0))
        axes = [axis for level in levels for axis in level.get("axes") or []]
    names = _display_names(b, axes)

    subs = {str(m.get("code", "")).lower(): m for m in sub_models}
    built: list[tuple[tuple, dict, str | None, bool]] = []  # (sort key, variant, media, purchasable)
    seen_skus: set[str] = set()
    seen_options: set[tuple] = set()
    variant_keys: dict[str, str] = {}
    all_categories: list[Any] = _listed(model.get("categories"))
    variant_prices: list[Decimal] = []
    variant_weights: list[Decimal] = []
    any_enabled = False

    for leaf in variants:
        ident = _identifier(leaf) or str(leaf.get("uuid") or "")
        item = f"variant {ident}"
        parent = str(leaf.get("parent") or "").lower()
        if parent == code.lower():
            chain = [leaf.get("values"), root_values]
        elif parent in subs:
            chain = [leaf.get("values"), subs[parent].get("values"), root_values]
        else:
            b.warn("variants", f"Its parent {leaf.get('parent')!r} is not model {code} nor one of its sub-models: "
                               f"not sent", item)
            continue
        values = merge_values(*chain)
        sku = _sku(b, values, "variant_sku", _identifier(leaf), item)
        if not sku:
            b.warn("variants", "No SKU: this variant is not sent", item)
            continue
        item = f"variant {sku}"
        if len(sku) > SKU_MAX:
            b.warn("variants", f"The SKU has {len(sku)} characters; BigCommerce takes {SKU_MAX}: not sent", item)
            continue
        if sku.lower() in seen_skus:
            b.warn("variants", f"Another variant of model {code} has the SKU {sku!r}: not sent", item)
            continue
        option_values = []
        order = []
        missing = None
        for axis in axes:
            label, sort_key = _axis_text(b, values, axis, item)
            if not label:
                missing = axis
                break
            option_values.append({"option_display_name": names[axis], "label": cut(label, 255)})
            order.append(sort_key)
        if missing:
            b.warn("variants", f"No value for the axis {b.named(missing)}: this variant is not sent", item)
            continue
        combination = tuple(v["label"].lower() for v in option_values)
        if combination in seen_options:
            b.warn("variants", f"Another variant has the same options ({', '.join(combination)}): not sent", item)
            continue
        seen_skus.add(sku.lower())
        seen_options.add(combination)
        variant_keys[sku] = str(leaf.get("uuid") or sku)
        all_categories.extend(_listed(leaf.get("categories")))

        variant: dict[str, Any] = {"sku": sku, "option_values": option_values}
        enabled = leaf.get("enabled", True) is not False
        any_enabled = any_enabled or enabled
        variant.update(_variant_fields(b, values, item))
        price = variant.get("price")
        purchasable = enabled
        if price is not None and price > 0:
            variant_prices.append(to_decimal(price) or Decimal(0))
        else:
            currency = b.ctx.store.currency
            b.warn("variants", f"No {currency} price (or a price of 0): this variant cannot be bought; add a "
                               f"{currency} price in the PIM", item)
            purchasable = False
        if variant.get("weight") is not None:
            variant_weights.append(to_decimal(variant["weight"]) or Decimal(0))
        image_attr = b.fields["variant_image"] or (b.fields["images"] or [None])[0]
        media = b.media(values, image_attr, "variant_image") if image_attr else None
        # always sent (defect 3): a variant created without a price becomes buyable when the price arrives
        variant["purchasing_disabled"] = not purchasable
        built.append(((tuple(order), sku.lower()), variant, media, purchasable))

    built.sort(key=lambda entry: entry[0])
    skipped = None
    if not variants:
        skipped = f"Model {code} has no variant products yet: not sent until it has one"
        b.warn("variants", skipped)
    elif not built and not b.errors:
        b.error("variants", f"Model {code} has no variant that can be sent (each needs a SKU and a value for "
                            f"every axis): not sent")
    if len(built) > MAX_VARIANTS:
        b.error("variants", f"Model {code} has {len(built)} variants; BigCommerce takes {MAX_VARIANTS}: not sent")
    for axis in axes:
        labels = {v["option_values"][axes.index(axis)]["label"].lower() for _, v, _, _ in built}
        if len(labels) > MAX_OPTION_VALUES:
            b.error("variants", f"The axis {b.named(axis)} has {len(labels)} values; BigCommerce takes "
                                f"{MAX_OPTION_VALUES} per option: not sent")

    sku = _model_sku(code, seen_skus)
    # the product-level fields read the root, then its sub-models (a two-level model's `composition` sits on
    # the sub-models only); the name and the pictures stay the root's (a sub-model's `variation_name` and
    # `variation_image` describe one colour: the name falls back to the global one, pictures go to variants)
    model_values = _model_values(b, root_values, [subs[c].get("values") for c in sorted(subs)])
    product_name, url_name = _names(b, root_values, sku, name)
    price = _price(b, root_values)
    if price is None and variant_prices:
        price = min(variant_prices)  # the product price shows "from"; each variant carries its own
    if price is None:
        _missing_price_warning(b)
        price = Decimal(0)
    weight = b.measure(root_values, b.fields["weight"], "weight", "weight")
    if weight is None and variant_weights:
        weight = min(variant_weights)
    if weight is None:
        _weight_warning(b)
        weight = Decimal(0)
    purchasable_any = any(p for *_, p in built)
    visible = _visible_flag(b, any_enabled, model_values) and price > 0 and purchasable_any

    media = _images(b, root_values)
    if not media:  # pictures on the variants only: the first variant's is the product's (its listing shows one)
        media = next(([image] for _, _, image, _ in built if image), [])
    thumbnail = media[0] if media else None
    variant_list = []
    variant_media: dict[str, str] = {}
    owns_image = bool(b.fields["variant_image"] or b.fields["images"])
    for _, variant, variant_image, _ in built:
        if variant_image and variant_image != thumbnail:  # the product's own picture needs no copy
            variant["image_url"] = MEDIA_PLACEHOLDER + variant_image
            variant_media[variant["sku"]] = variant_image
        elif owns_image:
            variant["image_url"] = ""  # none of its own: BigCommerce's "no image" clears an old one
        variant_list.append(variant)

    payload: dict[str, Any] = {
        "name": product_name,
        "type": "physical",
        "sku": sku,
        "price": json_number(price),
        "weight": json_number(weight),
        "is_visible": visible,
        "categories": _categories(b, all_categories),
        "custom_url": custom_url(url_name, sku),
    }
    payload.update(_common_fields(b, model_values))
    if media:
        payload["images"] = _image_entries(media)
    payload["variants"] = variant_list
    plan = _finish(b, key, sku, payload, media, variant_media)
    plan.skipped = skipped
    plan.variant_keys = {v["sku"]: variant_keys[v["sku"]] for v in variant_list}
    return plan


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
