"""Catalog model operations shared by the route handlers (no HTTP here)."""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import urlsplit

from .state import Store, now_iso

PRODUCT_DEFAULTS = {
    "name": "", "type": "physical", "sku": "", "description": "", "weight": 0, "width": 0, "depth": 0,
    "height": 0, "price": 0, "cost_price": 0, "retail_price": 0, "sale_price": 0, "map_price": 0,
    "tax_class_id": 0, "product_tax_code": "", "categories": [], "brand_id": 0, "inventory_level": 0,
    "inventory_warning_level": 0, "inventory_tracking": "none", "reviews_rating_sum": 0, "reviews_count": 0,
    "total_sold": 0, "fixed_cost_shipping_price": 0, "is_free_shipping": False, "is_visible": True,
    "is_featured": False, "related_products": [], "warranty": "", "bin_picking_number": "",
    "layout_file": "product.html", "upc": "", "mpn": "", "gtin": "", "search_keywords": "",
    "availability": "available", "availability_description": "", "gift_wrapping_options_type": "any",
    "gift_wrapping_options_list": [], "sort_order": 0, "condition": "New", "is_condition_shown": False,
    "order_quantity_minimum": 0, "order_quantity_maximum": 0, "page_title": "", "meta_keywords": [],
    "meta_description": "", "view_count": 0, "preorder_release_date": None, "preorder_message": "",
    "is_preorder_only": False, "is_price_hidden": False, "price_hidden_label": "",
    "open_graph_type": "product", "open_graph_title": "", "open_graph_description": "",
    "open_graph_use_meta_description": True, "open_graph_use_product_name": True,
    "open_graph_use_image": True,
}
# fields a client may write directly (sub-resources and derived fields are handled apart)
WRITABLE = tuple(k for k in PRODUCT_DEFAULTS if k not in ("view_count",))

VARIANT_DEFAULTS = {
    "cost_price": 0, "price": None, "sale_price": None, "retail_price": None, "weight": None, "width": None,
    "height": None, "depth": None, "is_free_shipping": False, "fixed_cost_shipping_price": None,
    "purchasing_disabled": False, "purchasing_disabled_message": "", "image_url": "", "upc": "",
    "inventory_level": 0, "inventory_warning_level": 0, "bin_picking_number": "", "mpn": "", "gtin": "",
}
VARIANT_WRITABLE = tuple(VARIANT_DEFAULTS)


def slugify(text: str) -> str:
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "product"


# --- unique keys ---------------------------------------------------------------------------------

def sku_owner(store: Store, sku: str) -> tuple[str, int] | None:
    return store.sku_index.get(sku.lower()) if sku else None


def index_sku(store: Store, sku: str, kind: str, id: int) -> None:
    if sku:
        store.sku_index[sku.lower()] = (kind, id)


def unindex_sku(store: Store, sku: str, kind: str, id: int) -> None:
    if sku and store.sku_index.get(sku.lower()) == (kind, id):
        del store.sku_index[sku.lower()]


def brand_by_name(store: Store, name: str) -> dict | None:
    lowered = name.lower()
    return next((b for b in store.brands.values() if b["name"].lower() == lowered), None)


def unique_url(store: Store, base: str) -> str:
    url, n = base, 1
    while url.lower() in store.url_index:
        n += 1
        url = f"{base.rstrip('/')}-{n}/"
    return url


# --- sub-resources -------------------------------------------------------------------------------

def product_variants(store: Store, pid: int) -> list[dict]:
    found = store.variants.for_product(pid)
    if found:
        return found
    base = store.base_variants.get(pid)
    return [base] if base else []


def product_images(store: Store, pid: int) -> list[dict]:
    return sorted(store.images.for_product(pid),
                  key=lambda i: (i["sort_order"], i["id"]))


def product_custom_fields(store: Store, pid: int) -> list[dict]:
    return store.custom_fields.for_product(pid)


def product_options(store: Store, pid: int) -> list[dict]:
    return store.options.for_product(pid)


def render_variant(store: Store, v: dict) -> dict:
    product = store.products[v["product_id"]]
    out = {k: val for k, val in v.items() if k != "option_refs"}
    values = []
    for option_id, value_id in v["option_refs"]:
        option = store.options[option_id]
        value = next(x for x in option["option_values"] if x["id"] == value_id)
        values.append({"id": value_id, "label": value["label"], "option_id": option_id,
                       "option_display_name": option["display_name"]})
    out["option_values"] = values
    out["calculated_price"] = variant_price(product, v)
    out["calculated_weight"] = v["weight"] if v["weight"] is not None else product["weight"]
    return out


def variant_price(product: dict, v: dict) -> float:
    """The storefront price of a variant (productVariant_Full.calculated_price "takes into account
    sale_price"): a null price or sale price is the product's (productVariant_Base); a
    sale price of 0 is no sale, as on the product, whose `sale_price` 0 answers "not on sale"."""
    price = v["price"] if v["price"] is not None else product["price"]
    sale = v["sale_price"] if v["sale_price"] is not None else product["sale_price"]
    return sale if sale else price


def render_product(store: Store, p: dict, include: set[str] = frozenset(),
                   include_fields: list[str] | None = None) -> dict:
    out = dict(p)
    out["categories"] = list(p["categories"])
    out["custom_url"] = dict(p["custom_url"])
    # product_Full: a sale price, "if entered, will be used instead of value in the price field"; 0 is none
    out["calculated_price"] = p["sale_price"] or p["price"]
    base = store.base_variants.get(p["id"])
    if base and not store.variants.of.get(p["id"]):
        out["base_variant_id"] = base["id"]
    if include_fields is not None:
        out = {k: v for k, v in out.items() if k == "id" or k in include_fields}
    if "variants" in include:
        out["variants"] = [render_variant(store, v) for v in product_variants(store, p["id"])]
    if "images" in include:
        out["images"] = [dict(i) for i in product_images(store, p["id"])]
    if "custom_fields" in include:
        out["custom_fields"] = [{k: c[k] for k in ("id", "name", "value")}
                                for c in product_custom_fields(store, p["id"])]
    if "options" in include:
        out["options"] = [dict(o) for o in product_options(store, p["id"])]
    if "primary_image" in include:
        thumb = next((i for i in product_images(store, p["id"]) if i["is_thumbnail"]), None)
        out["primary_image"] = dict(thumb) if thumb else {}
    if "modifiers" in include:
        out["modifiers"] = []
    if "bulk_pricing_rules" in include:
        out["bulk_pricing_rules"] = []
    if "videos" in include:
        out["videos"] = []
    return out


def new_base_variant(store: Store, p: dict) -> dict:
    vid = store.next_id()
    v = {"id": vid, "product_id": p["id"], "sku": p["sku"], "sku_id": vid,
         **VARIANT_DEFAULTS, "option_refs": []}
    store.base_variants[p["id"]] = v
    return v


def new_variant(store: Store, pid: int, body: dict, option_refs: list[tuple[int, int]]) -> dict:
    vid = store.next_id()
    v = {"id": vid, "product_id": pid, "sku": body["sku"], "sku_id": vid, **VARIANT_DEFAULTS,
         "option_refs": option_refs}
    for k in VARIANT_WRITABLE:
        if k in body:
            v[k] = body[k]
    store.variants[vid] = v
    index_sku(store, v["sku"], "variant", vid)
    return v


def ensure_option_value(store: Store, pid: int, display_name: str, label: str) -> tuple[int, int]:
    """The (option id, value id) for a display name and label, created when missing."""
    option = next((o for o in product_options(store, pid) if o["display_name"] == display_name), None)
    if option is None:
        option = {"id": store.next_id(), "product_id": pid, "display_name": display_name,
                  "type": "rectangles", "config": {}, "sort_order": len(product_options(store, pid)),
                  "option_values": [], "name": f"{display_name}{pid}"}
        store.options[option["id"]] = option
    value = next((x for x in option["option_values"] if x["label"] == label), None)
    if value is None:
        value = {"id": store.next_id(), "label": label, "sort_order": len(option["option_values"]),
                 "value_data": None, "is_default": False}
        option["option_values"].append(value)
    return option["id"], value["id"]


def image_urls(base_url: str, image_id: int) -> dict:
    url = f"{base_url.rstrip('/')}/sandbox/images/{image_id}"
    return {"url_zoom": url, "url_standard": url, "url_thumbnail": url, "url_tiny": url}


def _file_stem(name: str) -> str:
    """BigCommerce keeps the uploaded file's name in `image_file` (`shirt__12345.png`), made URL-safe."""
    stem = name.rsplit("/", 1)[-1].rsplit(".", 1)[0]
    return re.sub(r"[^A-Za-z0-9_-]+", "_", stem)[:100] or "image"


def new_image(store: Store, pid: int, blob: tuple[str, bytes], base_url: str, image_url: str = "",
              is_thumbnail: bool = False, sort_order: int | None = None, description: str = "",
              filename: str = "") -> dict:
    iid = store.next_id()
    existing = product_images(store, pid)
    if is_thumbnail or not existing:  # one thumbnail per product; the first image gets it by default
        for other in existing:
            other["is_thumbnail"] = False
        is_thumbnail = True
    ext = blob[0].split("/")[1]
    image = {"id": iid, "product_id": pid, "is_thumbnail": is_thumbnail,
             "sort_order": sort_order if sort_order is not None else len(existing),
             "description": description, "image_file": f"sandbox/{pid}/{_file_stem(filename or urlsplit(image_url).path)}__{iid}.{ext}",
             **image_urls(base_url, iid), "date_modified": now_iso()}
    if image_url:
        image["image_url"] = image_url
    store.images[iid] = image
    store.image_blobs[iid] = blob
    return image


def delete_image(store: Store, iid: int) -> None:
    image = store.images.pop(iid)
    store.image_blobs.pop(iid, None)
    if image["is_thumbnail"]:
        rest = product_images(store, image["product_id"])
        if rest:
            rest[0]["is_thumbnail"] = True


def new_custom_field(store: Store, pid: int, name: str, value: str) -> dict:
    field = {"id": store.next_id(), "product_id": pid, "name": name, "value": value}
    store.custom_fields[field["id"]] = field
    return field


def delete_variant(store: Store, vid: int) -> None:
    v = store.variants.pop(vid)
    unindex_sku(store, v["sku"], "variant", vid)


def delete_product(store: Store, pid: int) -> None:
    p = store.products.pop(pid)
    unindex_sku(store, p["sku"], "product", pid)
    store.name_index.pop(p["name"].lower(), None)
    store.url_index.pop(p["custom_url"]["url"].lower(), None)
    store.base_variants.pop(pid, None)
    for v in store.variants.for_product(pid):
        delete_variant(store, v["id"])
    for o in product_options(store, pid):
        del store.options[o["id"]]
    for i in product_images(store, pid):
        store.images.pop(i["id"])
        store.image_blobs.pop(i["id"], None)
    for c in product_custom_fields(store, pid):
        del store.custom_fields[c["id"]]
    store.assignments = {a for a in store.assignments if a[0] != pid}
