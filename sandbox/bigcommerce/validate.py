"""Field rules for request bodies, transcribed from the OpenAPI specs (types, enums, ranges, lengths).

Unknown fields are ignored, as BigCommerce does; known fields are checked strictly (a JSON string where a
number is expected is an error, as in the real API)."""

from __future__ import annotations

import math
from collections.abc import Callable

from .errors import ApiError, invalid

Rule = Callable[[object], str | None]

INT32 = (-2147483648, 2147483647)


def _is_number(v) -> bool:
    """A JSON number BigCommerce can hold (a double): never NaN, Infinity or an integer beyond 1.8e308."""
    if not isinstance(v, int | float) or isinstance(v, bool):
        return False
    try:
        return math.isfinite(v)
    except OverflowError:
        return False


def string(min_len: int = 0, max_len: int | None = None, nullable: bool = False) -> Rule:
    def check(v):
        if v is None:
            return None if nullable else "error.expected.jsstring"
        if not isinstance(v, str):
            return "error.expected.jsstring"
        if len(v) < min_len:
            return "error.minLength" if min_len > 1 else "error.path.missing"
        if max_len is not None and len(v) > max_len:
            return f"error.maxLength: must be at most {max_len} characters"
        return None

    return check


def number(minimum: float | None = None, maximum: float | None = None, nullable: bool = False,
           integer: bool = False) -> Rule:
    def check(v):
        if v is None:
            return None if nullable else "error.expected.jsnumber"
        if not _is_number(v) or (integer and isinstance(v, float) and not v.is_integer()):
            return "error.expected.jsnumber"
        if minimum is not None and v < minimum:
            return f"error.min: must be greater than or equal to {minimum:g}"
        if maximum is not None and v > maximum:
            return f"error.max: must be less than or equal to {maximum:g}"
        return None

    return check


def integer(minimum: int | None = None, maximum: int | None = None, nullable: bool = False) -> Rule:
    return number(minimum, maximum, nullable, integer=True)


def boolean() -> Rule:
    return lambda v: None if isinstance(v, bool) else "error.expected.jsboolean"


def enum(*values: str) -> Rule:
    return lambda v: None if v in values else "error.expected.validenumvalue"


def array(item: Rule | None = None, max_items: int | None = None) -> Rule:
    def check(v):
        if not isinstance(v, list):
            return "error.expected.jsarray"
        if max_items is not None and len(v) > max_items:
            return f"error.maxItems: at most {max_items} items"
        if item is not None:
            for i, x in enumerate(v):
                msg = item(x)
                if msg:
                    return f"[{i}] {msg}"
        return None

    return check


def obj() -> Rule:
    return lambda v: None if isinstance(v, dict) else "error.expected.jsobject"


def check_fields(body: object, rules: dict[str, Rule], required: tuple[str, ...] = (),
                 prefix: str = "") -> dict[str, str]:
    """Errors keyed by field path; an empty dict when the body is valid."""
    if not isinstance(body, dict):
        return {prefix.rstrip(".") or "body": "error.expected.jsobject"}
    errors = {}
    for name in required:
        if name not in body:
            errors[prefix + name] = "error.path.missing"
    for name, rule in rules.items():
        if name in body:
            msg = rule(body[name])
            if msg:
                errors[prefix + name] = msg
    return errors


def require_valid(errors: dict[str, str]) -> None:
    if errors:
        raise invalid(errors)


def json_array(body: object, max_items: int, what: str = "items") -> list:
    if not isinstance(body, list):
        raise invalid({"body": "error.expected.jsarray"})
    if len(body) > max_items:
        raise ApiError(413, f"The request payload is too large. The maximum {what} allowed in the array is "
                       f"{max_items}.", {})
    return body


# --- products (product_Base_POST / product_Base_PUT) ---------------------------------------------

_DIM = number(0, 9999999999)
PRODUCT_RULES: dict[str, Rule] = {
    "name": string(1, 250),
    "type": enum("physical", "digital"),
    "sku": string(0, 255),
    "description": string(),
    "weight": _DIM, "width": _DIM, "depth": _DIM, "height": _DIM,
    "price": number(0), "cost_price": number(0), "retail_price": number(0), "sale_price": number(0),
    "map_price": number(),
    "tax_class_id": number(0, 255),
    "product_tax_code": string(0, 255),
    "categories": array(number(), max_items=1000),
    "brand_id": integer(0, 1000000000),
    "brand_name": string(0, 255),
    "inventory_level": integer(0, INT32[1]),
    "inventory_warning_level": integer(0, INT32[1]),
    "inventory_tracking": enum("none", "product", "variant"),
    "fixed_cost_shipping_price": number(0),
    "is_free_shipping": boolean(), "is_visible": boolean(), "is_featured": boolean(),
    "related_products": array(integer()),
    "warranty": string(0, 65535),
    "bin_picking_number": string(0, 255),
    "layout_file": string(0, 500),
    "upc": string(0, 14),
    "search_keywords": string(0, 65535),
    "availability_description": string(0, 255),
    "availability": enum("available", "disabled", "preorder"),
    "gift_wrapping_options_type": enum("any", "none", "list"),
    "gift_wrapping_options_list": array(integer()),
    "sort_order": integer(*INT32),
    "condition": enum("New", "Used", "Refurbished"),
    "is_condition_shown": boolean(),
    "order_quantity_minimum": integer(0, 1000000000),
    "order_quantity_maximum": integer(0, 1000000000),
    "page_title": string(0, 255),
    "meta_keywords": array(string()),
    "meta_description": string(0, 65535),
    "preorder_release_date": string(nullable=True),
    "preorder_message": string(0, 255),
    "is_preorder_only": boolean(), "is_price_hidden": boolean(),
    "price_hidden_label": string(0, 200),
    "custom_url": obj(),
    "open_graph_type": enum("product", "album", "book", "drink", "food", "game", "movie", "song", "tv_show"),
    "open_graph_title": string(), "open_graph_description": string(),
    "open_graph_use_meta_description": boolean(), "open_graph_use_product_name": boolean(),
    "open_graph_use_image": boolean(),
    "gtin": string(0, 14),
    "mpn": string(),
    "custom_fields": array(obj()),
    "images": array(obj()),
    "variants": array(obj()),
}
PRODUCT_REQUIRED = ("name", "type", "weight", "price")

CUSTOM_URL_RULES = {"url": string(1, 255), "is_customized": boolean(), "create_redirect": boolean()}
CUSTOM_FIELD_RULES = {"id": integer(1), "name": string(1, 250), "value": string(1, 250)}
IMAGE_RULES = {
    "image_url": string(1, 255), "is_thumbnail": boolean(), "sort_order": integer(*INT32),
    "description": string(), "id": integer(),
}

# --- variants (productVariant_Base / _Post / _Put) -------------------------------------------------

_NUM0 = number(0, nullable=True)
VARIANT_RULES: dict[str, Rule] = {
    "sku": string(1, 255),
    "cost_price": _NUM0, "price": _NUM0, "sale_price": _NUM0, "retail_price": _NUM0, "map_price": number(),
    "weight": _NUM0, "width": _NUM0, "height": _NUM0, "depth": _NUM0,
    "is_free_shipping": boolean(), "fixed_cost_shipping_price": _NUM0,
    "purchasing_disabled": boolean(), "purchasing_disabled_message": string(0, 255),
    "image_url": string(), "upc": string(0, 14),
    "inventory_level": integer(None, INT32[1], nullable=True),
    "inventory_warning_level": integer(None, INT32[1], nullable=True),
    "bin_picking_number": string(0, 255, nullable=True),
    "mpn": string(), "gtin": string(0, 14),
    "option_values": array(obj()),
    "product_id": integer(), "id": integer(),
}
OPTION_VALUE_REF_RULES = {
    "option_display_name": string(1, 255), "label": string(1, 255), "id": integer(), "option_id": integer(),
}

# --- options ------------------------------------------------------------------------------------

OPTION_TYPES = ("radio_buttons", "rectangles", "dropdown", "product_list", "product_list_with_images", "swatch")
OPTION_RULES = {
    "display_name": string(1, 255), "type": enum(*OPTION_TYPES), "sort_order": integer(),
    "option_values": array(obj()), "config": obj(),
}
OPTION_VALUE_RULES = {
    "label": string(1, 255), "sort_order": integer(*INT32), "is_default": boolean(), "value_data": obj(),
}

# --- brands ---------------------------------------------------------------------------------------

BRAND_RULES = {
    "name": string(1, 255), "page_title": string(0, 255), "meta_keywords": array(string()),
    "meta_description": string(0, 65535), "search_keywords": string(0, 65535), "image_url": string(),
    "custom_url": obj(),
}

# --- category trees -------------------------------------------------------------------------------

CATEGORY_RULES = {
    "name": string(1, 50), "parent_id": integer(0), "tree_id": integer(1), "category_id": integer(1),
    "description": string(0, 65535), "views": integer(), "sort_order": integer(*INT32),
    "page_title": string(), "meta_keywords": array(string()), "meta_description": string(0, 65535),
    "layout_file": string(0, 50), "image_url": string(), "is_visible": boolean(),
    "search_keywords": string(0, 255),
    "default_product_sort": enum("use_store_settings", "featured", "newest", "best_selling", "alpha_asc",
                                 "alpha_desc", "avg_customer_review", "price_asc", "price_desc"),
    "url": obj(),
}
CATEGORY_URL_RULES = {"path": string(1, 255), "is_customized": boolean()}
TREE_RULES = {"id": integer(1), "name": string(1, 255), "channels": array(integer())}
