"""Which PIM attribute feeds each BigCommerce field: the field table, the defaults suggested from the
PIM's schema, per-family overrides, and validation of the document the mapping page sends back.
A mapped field is owned: an empty PIM value clears it in the store; an unmapped one is never written
(docs/desired-state.md)."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from collections.abc import Mapping as MappingABC
from dataclasses import dataclass, field
from typing import Any

from service.transform import attribute_types as t
from service.transform.catalog import Catalog

MAX_CUSTOM_FIELDS = 200  # BigCommerce's cap per product
MAX_IMAGES = 50  # a sanity cap on the images list; BigCommerce itself has no documented one


@dataclass(frozen=True)
class FieldSpec:
    field: str
    label: str
    level: str  # "product" | "variant"
    accepts: tuple[str, ...]  # Akeneo attribute types accepted
    multiple: bool = False  # images, custom_fields: an ordered list of attribute codes
    max_items: int | None = None  # custom_fields: 200
    help: str = ""  # one line for the mapping page


_CODE = (t.IDENTIFIER, t.TEXT, t.NUMBER)
_LINE = (t.TEXT, t.TEXTAREA, t.IDENTIFIER, *t.SELECTS)
_AMOUNT = (t.PRICE, t.NUMBER)
_MEASURE = (t.METRIC, t.NUMBER)

FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec("name", "Name", "product", (t.TEXT, t.IDENTIFIER, t.TEXTAREA), help="Unique in the store, 250 characters at most"),
    FieldSpec("sku", "SKU", "product", (t.IDENTIFIER, t.TEXT), help="A product model's SKU is its code"),
    FieldSpec("description", "Description", "product", (t.TEXTAREA, t.TEXT),
              help="A text area's HTML is kept; text is shown as written"),
    FieldSpec("price", "Price", "product", _AMOUNT, help="In the store's currency; without one the product is hidden at price 0"),
    FieldSpec("sale_price", "Sale price", "product", _AMOUNT, help="Also each variant's own; none ends the sale"),
    FieldSpec("retail_price", "Retail price", "product", _AMOUNT, help="Also each variant's own"),
    FieldSpec("cost_price", "Cost price", "product", _AMOUNT),
    FieldSpec("weight", "Weight", "product", _MEASURE, help="Converted to the store's weight unit"),
    FieldSpec("width", "Width", "product", _MEASURE, help="Converted to the store's dimension unit"),
    FieldSpec("height", "Height", "product", _MEASURE, help="Converted to the store's dimension unit"),
    FieldSpec("depth", "Depth", "product", _MEASURE, help="Converted to the store's dimension unit"),
    FieldSpec("brand", "Brand", "product", (*t.SELECTS, t.TEXT), help="Created in the store when new"),
    FieldSpec("upc", "UPC", "product", _CODE, help="14 characters at most"),
    FieldSpec("mpn", "MPN", "product", _CODE),
    FieldSpec("gtin", "GTIN / EAN", "product", _CODE, help="14 characters at most"),
    FieldSpec("search_keywords", "Search keywords", "product", (t.TEXT, t.TEXTAREA, *t.SELECTS, *t.MULTISELECTS)),
    FieldSpec("page_title", "Page title", "product", (t.TEXT, t.TEXTAREA, t.IDENTIFIER), help="255 characters at most"),
    FieldSpec("meta_description", "Meta description", "product", (t.TEXTAREA, t.TEXT)),
    FieldSpec("condition", "Condition", "product", (*t.SELECTS, t.TEXT), help="New, Used or Refurbished"),
    FieldSpec("warranty", "Warranty", "product", (t.TEXT, t.TEXTAREA)),
    FieldSpec("availability_description", "Availability description", "product", _LINE, help="255 characters at most"),
    FieldSpec("visibility", "Visibility", "product", (t.ENABLED, t.BOOLEAN),
              help="The PIM's enabled flag or a Yes/No attribute; never visible at price 0"),
    FieldSpec("images", "Images", "product", (t.IMAGE,), multiple=True, max_items=MAX_IMAGES,
              help="In order; the first is the thumbnail"),
    FieldSpec("custom_fields", "Custom fields", "product", t.TEXTUAL, multiple=True, max_items=MAX_CUSTOM_FIELDS,
              help="200 at most; values over 250 characters are skipped"),
    FieldSpec("variant_sku", "Variant SKU", "variant", (t.IDENTIFIER, t.TEXT), help="Falls back to SKU"),
    FieldSpec("variant_price", "Variant price", "variant", _AMOUNT, help="Falls back to Price"),
    FieldSpec("variant_weight", "Variant weight", "variant", _MEASURE, help="Falls back to Weight"),
    FieldSpec("variant_image", "Variant image", "variant", (t.IMAGE,), help="Falls back to the first image"),
    FieldSpec("variant_upc", "Variant UPC", "variant", _CODE, help="Falls back to UPC"),
)

FIELD_SPECS: dict[str, FieldSpec] = {spec.field: spec for spec in FIELDS}

Value = str | list[str] | None


def _empty_fields() -> dict[str, Value]:
    return {spec.field: ([] if spec.multiple else None) for spec in FIELDS}


def _clean(spec: FieldSpec, value: Any) -> Value:
    """A stored value in its canonical shape (lists for multiple fields, None for unmapped)."""
    if spec.multiple:
        if value is None:
            return []
        items = [value] if isinstance(value, str) else list(value)
        return [str(v) for v in items if v]
    if isinstance(value, list):
        value = value[0] if value else None
    return str(value) if value else None


@dataclass(frozen=True)
class Mapping:
    version: int  # bumped by the store on every saved change
    fields: MappingABC[str, Value]  # field -> attribute code (list for multiple fields)
    families: MappingABC[str, MappingABC[str, Value]] = field(default_factory=dict)  # per-family overrides

    def for_family(self, family: str | None) -> dict[str, Value]:
        """The global fields with the family's overrides on top (family codes compare case-insensitively)."""
        merged = _empty_fields()
        for name, value in self.fields.items():
            if name in FIELD_SPECS:
                merged[name] = _clean(FIELD_SPECS[name], value)
        if family and isinstance(family, str):
            overrides = self.families.get(family)
            if overrides is None:
                wanted = family.lower()
                overrides = next((o for f, o in self.families.items() if f.lower() == wanted), None)
            for name, value in (overrides or {}).items():
                if name in FIELD_SPECS:
                    merged[name] = _clean(FIELD_SPECS[name], value)
        return merged

    def to_json(self) -> dict:
        """What the store saves: plain JSON, every field present, lists copied."""
        fields = _empty_fields()
        for name, value in self.fields.items():
            if name in FIELD_SPECS:
                fields[name] = _clean(FIELD_SPECS[name], value)
        families = {
            fam: {name: _clean(FIELD_SPECS[name], value) for name, value in overrides.items() if name in FIELD_SPECS}
            for fam, overrides in sorted(self.families.items())
        }
        return {"version": int(self.version), "fields": fields, "families": families}

    @classmethod
    def from_json(cls, doc: dict) -> Mapping:
        """Read what to_json wrote (tolerant: unknown fields dropped, missing ones unmapped)."""
        doc = doc or {}
        fields = _empty_fields()
        for name, value in (doc.get("fields") or {}).items():
            if name in FIELD_SPECS:
                fields[name] = _clean(FIELD_SPECS[name], value)
        families: dict[str, dict[str, Value]] = {}
        for fam, overrides in (doc.get("families") or {}).items():
            if isinstance(overrides, MappingABC):
                families[str(fam)] = {
                    name: _clean(FIELD_SPECS[name], value) for name, value in overrides.items() if name in FIELD_SPECS
                }
        return cls(version=int(doc.get("version") or 0), fields=fields, families=families)


# --- labels and compatibility --------------------------------------------------------------------


def attribute_label(attribute: MappingABC[str, Any], locale: str) -> str:
    """The attribute's label in the locale, else en_US, else any, else its code."""
    labels = attribute.get("labels") or {}
    for key in (locale, "en_US"):
        if labels.get(key):
            return str(labels[key])
    return next((str(v) for v in labels.values() if v), str(attribute.get("code", "")))


ENABLED_CHOICE = {"code": t.ENABLED, "label": "Enabled (the PIM's product status)", "type": t.ENABLED}


def compatible_attributes(spec: FieldSpec, catalog: Catalog, locale: str = "en_US") -> list[dict]:
    """The attributes the field can take: [{code, label, type}], sorted by label."""
    found = [
        {"code": code, "label": attribute_label(attr, locale), "type": attr.get("type")}
        for code, attr in catalog.attributes.items()
        if attr.get("type") in spec.accepts
    ]
    found.sort(key=lambda a: (a["label"].lower(), a["code"]))
    if t.ENABLED in spec.accepts:
        found.insert(0, dict(ENABLED_CHOICE))
    return found


def accepted_types_text(spec: FieldSpec) -> str:
    names = {t.ENABLED: "the PIM's enabled flag"}
    return ", ".join(names.get(a, a) for a in spec.accepts)


# --- suggestions ---------------------------------------------------------------------------------


def _words(text: str) -> set[str]:
    return {w for w in re.split(r"[^a-z0-9]+", text.lower()) if w}


def _score(attr: MappingABC[str, Any], exact: Iterable[str], words: Iterable[str], avoid: Iterable[str]) -> int:
    """How well an attribute's code or English label matches: exact code > word in code > word in label."""
    code = str(attr.get("code", "")).lower()
    label = attribute_label(attr, "en_US").lower()
    code_words, label_words = _words(code), _words(label)
    if code_words & set(avoid) or label_words & set(avoid):
        return 0
    exact = [e.lower() for e in exact]
    if code in exact:
        return 100 - exact.index(code)
    if label in exact:
        return 80 - exact.index(label)
    for w in words:
        if w in code_words:
            return 60
        if w in label_words:
            return 40
    return 0


def _best(
    catalog: Catalog,
    types: Iterable[str],
    exact: Iterable[str] = (),
    words: Iterable[str] = (),
    avoid: Iterable[str] = (),
    metric_family: str | None = None,
) -> str | None:
    types = tuple(types)
    exact, words, avoid = list(exact), list(words), list(avoid)
    scored = []
    for code, attr in catalog.attributes.items():
        if attr.get("type") not in types:
            continue
        if metric_family and attr.get("type") == t.METRIC and str(attr.get("metric_family", "")).lower() != metric_family:
            continue
        score = _score(attr, exact, words, avoid)
        if score:
            # Ties: the type listed first wins (a price collection over a number), then the code.
            scored.append((-score, types.index(attr["type"]), code))
    return min(scored)[2] if scored else None


def _most_common(values: Iterable[str | None]) -> str | None:
    counts = Counter(v for v in values if v)
    if not counts:
        return None
    return min(counts.items(), key=lambda kv: (-kv[1], kv[0]))[0]


def _images(catalog: Catalog, first: str | None) -> list[str]:
    """The family's attribute_as_image first, then every other image attribute (a product shows those
    with a value), ordered by the PIM's sort order."""
    images = sorted(
        (a for a in catalog.attributes.values() if a.get("type") == t.IMAGE),
        key=lambda a: (a.get("sort_order") or 0, a["code"]),
    )
    codes = [a["code"] for a in images]
    if first in codes:
        codes.remove(first)
        codes.insert(0, first)
    return codes[:MAX_IMAGES]


def suggest_mapping(catalog: Catalog) -> Mapping:
    """Defaults derived from the PIM, in force until the merchant edits the mapping (version 0)."""
    attrs = catalog.attributes
    families = catalog.families
    identifier = catalog.identifier_attribute()

    def valid(code: str | None, types: Iterable[str]) -> str | None:
        return code if code and code in attrs and attrs[code].get("type") in tuple(types) else None

    name_types = FIELD_SPECS["name"].accepts
    label_codes = [valid(f.get("attribute_as_label"), name_types) for f in families.values()]
    name = _most_common(label_codes) or _best(catalog, (t.TEXT,), exact=["name", "title", "product_name"])
    image_codes = [valid(f.get("attribute_as_image"), (t.IMAGE,)) for f in families.values()]
    first_image = _most_common(image_codes)

    price = _best(catalog, _AMOUNT, exact=["price"], words=["price", "prices"],
                  avoid=["sale", "special", "retail", "msrp", "cost", "purchase"])
    weight = _best(catalog, _MEASURE, exact=["weight", "net_weight", "gross_weight"], words=["weight"],
                   metric_family="weight")
    variant_image = _best(catalog, (t.IMAGE,), exact=["variation_image", "variant_image"],
                          words=["variation", "variant"]) or first_image
    upc = _best(catalog, _CODE, exact=["upc", "upc_code"], words=["upc"])

    fields: dict[str, Value] = {
        "name": name,
        "sku": identifier,
        "description": _best(catalog, (t.TEXTAREA, t.TEXT), exact=["description", "long_description"],
                             words=["description"], avoid=["short", "meta", "variation", "variant", "pdf", "seo"]),
        "price": price,
        "sale_price": _best(catalog, _AMOUNT, exact=["sale_price", "special_price"], words=["sale", "special"]),
        "retail_price": _best(catalog, _AMOUNT, exact=["retail_price", "msrp"], words=["retail", "msrp"]),
        "cost_price": _best(catalog, _AMOUNT, exact=["cost_price", "cost", "purchase_price"], words=["cost"]),
        "weight": weight,
        "width": _best(catalog, _MEASURE, exact=["width"], words=["width"], metric_family="length"),
        "height": _best(catalog, _MEASURE, exact=["height"], words=["height"], metric_family="length"),
        "depth": _best(catalog, _MEASURE, exact=["depth", "length"], words=["depth"], metric_family="length"),
        "brand": _best(catalog, (*t.SELECTS, t.TEXT), exact=["brand", "manufacturer", "brand_name"],
                       words=["brand", "manufacturer"]),
        "upc": upc,
        "mpn": _best(catalog, _CODE, exact=["mpn", "manufacturer_part_number"], words=["mpn"]),
        "gtin": _best(catalog, _CODE, exact=["gtin", "ean", "ean13", "gtin13"], words=["gtin", "ean"]),
        "search_keywords": _best(catalog, FIELD_SPECS["search_keywords"].accepts,
                                 exact=["keywords", "search_keywords", "meta_keywords"]),
        "page_title": _best(catalog, (t.TEXT,), exact=["meta_title", "page_title", "seo_title"]),
        "meta_description": _best(catalog, (t.TEXTAREA, t.TEXT), exact=["meta_description", "seo_description"]),
        "condition": _best(catalog, (*t.SELECTS, t.TEXT), exact=["condition"]),
        "warranty": _best(catalog, (t.TEXT, t.TEXTAREA), exact=["warranty"]),
        "availability_description": None,
        "visibility": t.ENABLED,
        "images": _images(catalog, first_image),
        "custom_fields": [],
        "variant_sku": identifier,
        "variant_price": price,
        "variant_weight": weight,
        "variant_image": variant_image,
        "variant_upc": upc,
    }

    overrides: dict[str, dict[str, Value]] = {}
    for fam_code, fam in sorted(families.items()):
        override: dict[str, Value] = {}
        label = valid(fam.get("attribute_as_label"), name_types)
        if label and label != name:
            override["name"] = label
        image = valid(fam.get("attribute_as_image"), (t.IMAGE,))
        if image and image != first_image:
            override["images"] = _images(catalog, image)
        if override:
            overrides[fam_code] = override
    return Mapping(version=0, fields=fields, families=overrides)


# --- the mapping page's document ------------------------------------------------------------------


def mapping_document(mapping: Mapping, suggested: Mapping, catalog: Catalog, locale: str) -> dict:
    """What GET /api/mapping returns; PUT /api/mapping takes it back edited (`fields[].value`,
    `families`)."""
    current = mapping.to_json()
    suggestion = suggested.to_json()
    fields = []
    for spec in FIELDS:
        fields.append({
            "field": spec.field,
            "label": spec.label,
            "level": spec.level,
            "help": spec.help,
            "accepts": list(spec.accepts),
            "multiple": spec.multiple,
            "max_items": spec.max_items,
            "value": current["fields"][spec.field],
            "suggested": suggestion["fields"][spec.field],
            "attributes": compatible_attributes(spec, catalog, locale),
        })
    family_list = [
        {"code": code, "label": attribute_label(fam, locale)}
        for code, fam in sorted(catalog.families.items())
    ]
    return {
        "version": current["version"],
        "locale": locale,
        "fields": fields,
        "families": current["families"],
        "suggested_families": suggestion["families"],
        "family_list": family_list,
    }


def _check_value(spec: FieldSpec, value: Any, catalog: Catalog) -> tuple[Value, str | None]:
    """One field's value: (clean value, None) or (None, message naming the accepted types)."""
    accepted = accepted_types_text(spec)
    if value is None or value == "" or (spec.multiple and value == []):
        return ([] if spec.multiple else None), None
    if spec.multiple:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            return None, f"{spec.label} takes a list of attribute codes ({accepted})"
        if spec.max_items is not None and len(value) > spec.max_items:
            return None, f"{spec.label} takes at most {spec.max_items} attributes, got {len(value)}"
        codes = list(value)
    else:
        if not isinstance(value, str):
            return None, f"{spec.label} takes one attribute code ({accepted})"
        codes = [value]
    clean: list[str] = []
    for code in codes:
        if code in clean:
            return None, f"{spec.label}: attribute '{code}' is listed twice"
        if t.ENABLED in spec.accepts and code == t.ENABLED:
            clean.append(code)
            continue
        attr = catalog.attributes.get(code)
        if attr is None:
            return None, f"{spec.label}: unknown attribute '{code}'; accepted types: {accepted}"
        if attr.get("type") not in spec.accepts:
            return None, (f"{spec.label}: attribute '{code}' is of type {attr.get('type')}; "
                          f"accepted types: {accepted}")
        clean.append(code)
    return (clean if spec.multiple else clean[0]), None


def _field_values(raw: Any) -> tuple[dict[str, Any], dict[str, str]]:
    """`fields` as GET sends it (a list of {field, value, ...}) or as a plain {field: value} object."""
    errors: dict[str, str] = {}
    if isinstance(raw, MappingABC):
        return dict(raw), errors
    if isinstance(raw, list):
        values: dict[str, Any] = {}
        for item in raw:
            if not isinstance(item, MappingABC) or not isinstance(item.get("field"), str):
                errors["fields"] = "each entry of fields needs a 'field' name and a 'value'"
                continue
            values[item["field"]] = item.get("value")
        return values, errors
    return {}, {"fields": "fields must be a list of {field, value} or an object {field: value}"}


def parse_mapping_document(doc: Any, catalog: Catalog) -> tuple[Mapping | None, dict[str, str]]:
    """Validate a PUT body: (mapping with version unchanged, {}) or (None, {field: message})."""
    if not isinstance(doc, MappingABC):
        return None, {"mapping": "the mapping must be a JSON object"}
    raw_fields, errors = _field_values(doc.get("fields", {}))
    fields = _empty_fields()
    for name, value in raw_fields.items():
        spec = FIELD_SPECS.get(name)
        if spec is None:
            errors[name] = f"unknown field '{name}'"
            continue
        clean, message = _check_value(spec, value, catalog)
        if message:
            errors[name] = message
        else:
            fields[name] = clean

    families: dict[str, dict[str, Value]] = {}
    raw_families = doc.get("families") or {}
    if not isinstance(raw_families, MappingABC):
        errors["families"] = "families must be an object {family code: {field: attribute code}}"
        raw_families = {}
    family_codes = {code.lower(): code for code in catalog.families}
    for fam, overrides in raw_families.items():
        stored = family_codes.get(str(fam).lower())
        if stored is None:
            errors[f"families.{fam}"] = f"unknown family '{fam}'"
            continue
        if not isinstance(overrides, MappingABC):
            errors[f"families.{fam}"] = "a family's overrides must be an object {field: attribute code}"
            continue
        clean_overrides: dict[str, Value] = {}
        for name, value in overrides.items():
            spec = FIELD_SPECS.get(name)
            key = f"families.{stored}.{name}"
            if spec is None:
                errors[key] = f"unknown field '{name}'"
                continue
            clean, message = _check_value(spec, value, catalog)
            if message:
                errors[key] = message
            else:
                clean_overrides[name] = clean
        if clean_overrides:
            families[stored] = clean_overrides

    version = doc.get("version", 0)
    if not isinstance(version, int) or isinstance(version, bool) or version < 0:
        errors["version"] = "version must be a whole number (the one GET returned)"
    if errors:
        return None, errors
    return Mapping(version=version, fields=fields, families=families), {}
