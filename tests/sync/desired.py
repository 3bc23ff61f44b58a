"""The test's OWN desired store state (docs/desired-state.md), straight from the sandbox PIM's data, the
mapping and the import settings; deliberately independent of service/transform.

Only what the model-based test's small catalog and mapping use is computed: no unit conversions (the PIM
and the store both weigh in kg, prices are taken in EUR, the store's currency), one channel, one locale."""

from __future__ import annotations

import hashlib
import html
from dataclasses import dataclass, field
from typing import Any

LOCALE, CHANNEL, CURRENCY = "en_US", "ecommerce", "EUR"


@dataclass
class Variant:
    sku: str
    options: frozenset[tuple[str, str]]  # (option display name, value label)
    price: float | None
    weight: float | None
    purchasing_disabled: bool


@dataclass
class Product:
    key: str  # product:<uuid> | model:<code lower>
    sku: str
    name: str
    visible: bool
    price: float
    weight: float
    categories: frozenset[tuple[str, ...]]  # label paths below the main category
    owned: dict[str, Any] = field(default_factory=dict)  # mapped fields: description, sale_price, ...
    custom_fields: dict[str, str] = field(default_factory=dict)
    images: list[str] = field(default_factory=list)  # sha256 of each file, in order
    variants: dict[str, Variant] = field(default_factory=dict)  # lower SKU -> variant
    from_submodels: set[str] = field(default_factory=set)  # fields whose value a sub-model gave (defect 14)


@dataclass
class Desired:
    products: dict[str, Product]  # key -> the item's desired product (items in scope only)
    skus: dict[str, set[str]]  # key -> every SKU the item has in the PIM now (product and variants)


def _value(values: dict, code: str | None, attr: dict | None) -> Any:
    """The value for the synced locale and channel, None when empty."""
    if not code or attr is None:
        return None
    for item in values.get(attr["code"], []):
        if attr["localizable"] and item["locale"] != LOCALE:
            continue
        if attr["scopable"] and item["scope"] != CHANNEL:
            continue
        if item["data"] not in (None, "", [], {}):
            return item["data"]
    return None


class _Reader:
    def __init__(self, pim: Any, mapping: dict[str, Any], settings: dict[str, Any], main: str,
                 tree: list[dict] | None) -> None:
        self.pim, self.store, self.catalog = pim, pim.store, pim.store.catalog
        self.mapping, self.settings, self.main = mapping, settings, main.lower()
        self.cats = {c["code"].lower(): c for c in self.catalog.categories}
        # the store's category tree follows the PIM's at each import; between imports (events) it is the
        # tree as of the last one
        self.tree = {c["code"].lower(): c for c in tree} if tree is not None else self.cats

    # ---- the PIM's data

    def attr(self, code: str | None) -> dict | None:
        return self.catalog.attribute(code) if code else None

    def chain(self, entity: dict) -> list[dict]:
        """The entity's models, root first."""
        out, parent = [], self.store.model(entity.get("parent"))
        while parent is not None:
            out.insert(0, parent)
            parent = self.store.model(parent.get("parent"))
        return out

    def merged(self, entity: dict) -> dict:
        values: dict = {}
        for source in [*self.chain(entity), entity]:
            values.update(source["values"])
        return values

    def get(self, values: dict, field_name: str) -> Any:
        code = self.mapping.get(field_name)
        return _value(values, code, self.attr(code)) if isinstance(code, str) else None

    def label(self, attr: dict) -> str:
        return attr["labels"].get(LOCALE) or attr["code"]

    def option_rank(self, attr_code: str, data: Any) -> tuple:
        """Where a value stands in the storefront's order of an option: a select's options by their sort
        order in the PIM, other values by their text."""
        attr = self.attr(attr_code) or {}
        if attr.get("type") == "pim_catalog_simpleselect" and isinstance(data, str):
            for position, option in enumerate(self.catalog.options.get(attr_code, [])):
                if option["code"].lower() == data.lower():
                    return (0, option.get("sort_order", position), option["code"].lower())
        return (1, 0, str(data).lower())

    def option_label(self, attr_code: str, code: str) -> str:
        option = next((o for o in self.catalog.options.get(attr_code, []) if o["code"].lower() == code.lower()), None)
        return (option["labels"].get(LOCALE) if option else None) or code

    def text(self, field_name: str, data: Any) -> str:
        """A value as one line of text (select: its label)."""
        attr = self.attr(self.mapping.get(field_name)) or {}
        if attr.get("type") == "pim_catalog_simpleselect" and isinstance(data, str):
            return self.option_label(attr["code"], data)
        return "" if data is None else str(data)

    def amount(self, data: Any) -> float | None:
        if isinstance(data, list):
            found = next((p["amount"] for p in data if p["currency"] == CURRENCY and p["amount"] is not None), None)
            return float(found) if found is not None else None
        if isinstance(data, dict):
            return float(data["amount"])
        return None

    def in_tree(self, code: str) -> bool:
        cat = self.cats.get(code.lower())
        while cat is not None:
            if cat["code"].lower() == self.main:
                return True
            cat = self.cats.get((cat["parent"] or "").lower())
        return False

    def path(self, code: str) -> tuple[str, ...] | None:
        """Labels from the main category's child down to `code`; None for the main category itself."""
        names: list[str] = []
        cat = self.tree.get(code.lower())
        while cat is not None and cat["code"].lower() != self.main:
            names.insert(0, cat["labels"].get(LOCALE) or cat["code"])
            cat = self.tree.get((cat["parent"] or "").lower())
        return tuple(names) if cat is not None and names else None

    def complete(self, product: dict) -> bool:
        threshold = self.settings.get("completeness")
        if threshold is None:
            return True
        family = self.store.families.get((product.get("family") or "").lower())
        if family is None:
            return False
        required = family["attribute_requirements"].get(CHANNEL, [])
        values = self.merged(product)
        currencies = {c.upper() for c in (self.store.channels.get(CHANNEL.lower()) or {}).get("currencies", [])}

        def filled_in(code: str) -> bool:
            attr = self.attr(code)
            data = _value(values, code, attr)
            if data is None:
                return False
            if attr and attr.get("type") == "pim_catalog_price_collection":  # Akeneo: every channel currency
                priced = {str(p.get("currency", "")).upper() for p in data if p.get("amount") not in (None, "")}
                return currencies <= priced
            if attr and attr.get("type") == "pim_catalog_metric":  # Akeneo: an amount
                return isinstance(data, dict) and data.get("amount") not in (None, "")
            return True

        filled = sum(1 for code in required if filled_in(code))
        return (100 * filled // len(required) if required else 100) >= threshold

    def family_ok(self, family: str | None) -> bool:
        wanted = [f.lower() for f in self.settings.get("families") or []]
        return not wanted or (family or "").lower() in wanted

    def enabled_ok(self, product: dict) -> bool:
        return product["enabled"] or not self.settings.get("enabled_only", True)

    def digest(self, media_code: str) -> str | None:
        media = self.catalog.media.get(media_code)
        return hashlib.sha256(media.path.read_bytes()).hexdigest() if media and media.exists else None

    # ---- the desired product

    def common(self, key: str, sku: str, values_list: list[dict]) -> Product:
        """Product-level fields from the first of `values_list` holding a value (a model: root, then the
        sub-models in code order; text fields and custom fields join differing sub-model values)."""
        sub_fields: set[str] = set()

        def first(field_name: str) -> Any:
            for i, vals in enumerate(values_list):
                value = self.get(vals, field_name)
                if value is not None:
                    if i:
                        sub_fields.add(field_name)
                    return value
            return None

        def joined(field_name: str, code: str | None = None) -> str:
            attr = self.attr(code or self.mapping.get(field_name))
            if attr is None:
                return ""
            own = _value(values_list[0], attr["code"], attr)
            if own is not None or len(values_list) == 1:
                return self.text(field_name, own) if code is None else ("" if own is None else str(own))
            found = [str(v) for v in (_value(vals, attr["code"], attr) for vals in values_list[1:]) if v is not None]
            if found:
                sub_fields.add("custom fields" if code else field_name)
            return ", ".join(dict.fromkeys(found))

        name = " ".join(str(first("name") or "").split())[:250] or sku
        product = Product(key=key, sku=sku, name=name, visible=False, price=self.amount(first("price")) or 0.0,
                          weight=self.amount(first("weight")) or 0.0, categories=frozenset())
        owned = product.owned
        if self.mapping.get("description"):
            attr = self.attr(self.mapping["description"])
            data = first("description")
            owned["description"] = "" if data is None else (
                str(data) if attr["type"] == "pim_catalog_textarea" else html.escape(str(data), quote=False))
        if self.mapping.get("sale_price"):
            owned["sale_price"] = self.amount(first("sale_price")) or 0.0
        if self.mapping.get("search_keywords"):
            owned["search_keywords"] = joined("search_keywords")
        if self.mapping.get("warranty"):
            owned["warranty"] = html.escape(joined("warranty"), quote=False)
        if self.mapping.get("gtin"):
            gtin = self.text("gtin", first("gtin"))
            owned["gtin"] = gtin if len(gtin) <= 14 else ""
        if self.mapping.get("brand"):
            brand = first("brand")
            owned["brand"] = self.text("brand", brand) if brand is not None else ""
        for code in self.mapping.get("custom_fields") or []:
            attr = self.attr(code)
            text = joined("custom_fields", code) if attr else ""
            if attr and text:
                product.custom_fields[self.label(attr)] = text
        seen: list[str] = []
        for code in self.mapping.get("images") or []:
            media = next((v for v in (_value(vals, code, self.attr(code)) for vals in values_list) if v), None)
            digest = self.digest(media) if media else None
            if digest and digest not in seen:
                seen.append(digest)
        product.images = seen
        product.from_submodels = sub_fields
        return product

    def simple(self, product: dict) -> Product | None:
        if not any(self.in_tree(c) for c in product["categories"]) or not self.family_ok(product["family"]) \
                or not self.enabled_ok(product) or not self.complete(product):
            return None
        want = self.common(f"product:{product['uuid']}", product["identifier"], [product["values"]])
        want.categories = frozenset(p for p in map(self.path, product["categories"]) if p)
        want.visible = want.price > 0 and (product["enabled"] if self.mapping.get("visibility") == "enabled" else True)
        return want

    def model(self, root: dict) -> Product | None:
        subs = sorted((m for m in self.store.models.values() if (m.get("parent") or "").lower() ==
                       root["code"].lower()), key=lambda m: m["code"].lower())
        levels = [root, *subs]
        if not any(self.in_tree(c) for m in levels for c in m["categories"]) or not self.family_ok(root["family"]):
            return None
        variant_set = self.store.variants.get(root["family_variant"].lower())
        axes = [a for s in variant_set["variant_attribute_sets"] for a in s["axes"]]
        # option names: the axes' labels; BigCommerce keys options by name, so a repeated one names its axis
        names: dict[str, str] = {}
        for axis in axes:
            name = self.label(self.attr(axis))
            names[axis] = f"{name} ({axis})" if name.lower() in {n.lower() for n in names.values()} else name
        variants = [p for p in self.store.products.values() if p.get("parent") and
                    self.chain(p) and self.chain(p)[0] is root and self.enabled_ok(p) and self.complete(p)]
        if not variants:
            return None
        want = self.common(f"model:{root['code'].lower()}", root["code"], [root["values"], *(m["values"] for m in subs)])
        combos: set[frozenset] = set()
        pictures: list[tuple[tuple, str]] = []  # (the variant's place in the option order, its picture)
        for variant in sorted(variants, key=lambda p: p["identifier"].lower()):
            values = self.merged(variant)
            sku = self.get(values, "variant_sku") or self.get(values, "sku")
            options = []
            for axis in axes:
                attr = self.attr(axis)
                data = _value(values, axis, attr)
                if data is None:
                    break
                options.append((names[axis], self.option_label(attr["code"], data)
                                if attr["type"] == "pim_catalog_simpleselect" else str(data)))
            if not sku or len(options) != len(axes) or frozenset(options) in combos:
                continue  # left out with a warning
            combos.add(frozenset(options))
            picture_attr = self.mapping.get("variant_image") or (self.mapping.get("images") or [None])[0]
            picture = _value(values, picture_attr, self.attr(picture_attr)) if picture_attr else None
            if picture and self.digest(picture):
                pictures.append((tuple(self.option_rank(axis, _value(values, axis, self.attr(axis))) for axis in axes)
                                 + (str(sku).lower(),), self.digest(picture)))
            price = self.amount(self.get(values, "variant_price") if self.mapping.get("variant_price")
                                else self.get(values, "price"))
            weight = self.amount(self.get(values, "variant_weight") if self.mapping.get("variant_weight")
                                 else self.get(values, "weight"))
            want.variants[str(sku).lower()] = Variant(str(sku), frozenset(options), price, weight,
                                                      not (price and price > 0))
        if not want.images and pictures:  # pictures on its variants only: the first one's is the product's
            want.images = [min(pictures)[1]]
        prices = [v.price for v in want.variants.values() if v.price]
        if not want.price and prices:
            want.price = min(prices)
        weights = [v.weight for v in want.variants.values() if v.weight]
        if not want.weight and weights:
            want.weight = min(weights)
        cats = [c for m in levels for c in m["categories"]] + [c for v in variants for c in v["categories"]]
        want.categories = frozenset(p for p in map(self.path, cats) if p)
        want.visible = want.price > 0 and any(not v.purchasing_disabled for v in want.variants.values())
        return want


def desired_state(pim: Any, mapping: dict[str, Any], settings: dict[str, Any], main: str,
                  tree: list[dict] | None = None) -> Desired:
    """`pim`: the sandbox PIM's state (`app.state.pim`); `tree`: the categories as of the last import (for
    checks after an event), else the PIM's now."""
    reader = _Reader(pim, mapping, settings, main, tree)
    products: dict[str, Product] = {}
    skus: dict[str, set[str]] = {}
    for product in reader.store.products.values():
        if product.get("parent"):
            chain = reader.chain(product)
            if chain:
                skus.setdefault(f"model:{chain[0]['code'].lower()}", set()).add(product["identifier"].lower())
            continue
        key = f"product:{product['uuid']}"
        skus.setdefault(key, set()).add(product["identifier"].lower())
        want = reader.simple(product)
        if want is not None:
            products[key] = want
    for model in reader.store.models.values():
        if model.get("parent"):
            continue
        key = f"model:{model['code'].lower()}"
        skus.setdefault(key, set()).add(model["code"].lower())
        want = reader.model(model)
        if want is not None:
            products[key] = want
    return Desired(products, skus)
