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

Pure: no I/O; the same inputs give the same payload and the same `content_hash`. This module is the
entry point (`build_simple_product`, `build_product_model`, `ProductPlan`, `content_hash`); fields.py
reads the mapped fields and builds the product-level ones, variants.py a model's variants and options.
"""

from __future__ import annotations

import copy
import hashlib
import json
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from service.transform.context import Context
from service.transform.convert import cut, json_number, to_decimal
from service.transform.fields import (
    MEDIA_PLACEHOLDER,
    Issue,
    _Build,
    _categories,
    _common_fields,
    _identifier,
    _image_entries,
    _images,
    _listed,
    _missing_price_warning,
    _names,
    _own_code,
    _price,
    _sku,
    _visible_flag,
    _weight_warning,
    custom_url,
)
from service.transform.values import merge_values
from service.transform.variants import _axis_text, _display_names, _model_sku, _model_values, _variant_fields

# BigCommerce's limits: past one the item is not sent (past SKU_MAX a variant: that variant), and an
# image URL past IMAGE_URL_MAX is left out of the body (the image is sent separately)
SKU_MAX = 255
IMAGE_URL_MAX = 255
MAX_VARIANTS = 600
MAX_OPTION_VALUES = 250


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
