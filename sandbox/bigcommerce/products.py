"""`/v3/catalog/products` and channel assignments."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from . import catalog as cat
from . import validate as val
from .errors import ApiError, conflict, invalid, not_found
from .gateway import no_content, ok, read_json
from .images import download
from .query import int_list, int_param, paginate, str_list
from .state import Store, now_iso

MAX_CUSTOM_FIELDS = 200
MAX_VARIANTS = 600
MAX_BATCH = 10
SUBRESOURCES = {"variants", "images", "custom_fields"}


# --- validation ----------------------------------------------------------------------------------

def product_errors(body: object, creating: bool, prefix: str = "") -> dict[str, str]:
    required = val.PRODUCT_REQUIRED if creating else ()
    errors = val.check_fields(body, val.PRODUCT_RULES, required, prefix)
    if errors or not isinstance(body, dict):
        return errors
    if "custom_url" in body:
        errors |= val.check_fields(body["custom_url"], val.CUSTOM_URL_RULES, ("url",), f"{prefix}custom_url.")
    if "brand_id" in body and "brand_name" in body:
        # product_Base: "Use either the `brand_id` or the `brand_name` field" (strictest: both is refused)
        errors[f"{prefix}brand_name"] = "Use either brand_id or brand_name, not both"
    fields = body.get("custom_fields", [])
    if len(fields) > MAX_CUSTOM_FIELDS:
        errors[f"{prefix}custom_fields"] = f"A product can have at most {MAX_CUSTOM_FIELDS} custom fields"
    for i, f in enumerate(fields):
        need = ("name", "value") if creating or "id" not in f else ()
        errors |= val.check_fields(f, val.CUSTOM_FIELD_RULES, need, f"{prefix}custom_fields.{i}.")
    for i, image in enumerate(body.get("images", [])):
        need = ("image_url",) if "id" not in image else ()
        errors |= val.check_fields(image, val.IMAGE_RULES, need, f"{prefix}images.{i}.")
    variants = body.get("variants", []) if creating else []
    if len(variants) > MAX_VARIANTS:
        errors[f"{prefix}variants"] = f"A product can have at most {MAX_VARIANTS} variants"
    for i, v in enumerate(variants):
        errors |= val.check_fields(v, val.VARIANT_RULES, ("sku",), f"{prefix}variants.{i}.")
        for j, ov in enumerate(v.get("option_values", []) if isinstance(v.get("option_values"), list) else []):
            errors |= val.check_fields(ov, val.OPTION_VALUE_REF_RULES, ("option_display_name", "label"),
                                       f"{prefix}variants.{i}.option_values.{j}.")
    return errors


def check_conflicts(store: Store, body: dict, pid: int | None, taken: dict[str, str] | None = None) -> None:
    """409 on anything clashing with stored data (or, through `taken`, with earlier items of a batch)."""
    taken = taken if taken is not None else {}
    name = body.get("name")
    if name is not None:
        owner = store.name_index.get(name.lower())
        if (owner is not None and owner != pid) or taken.get("name:" + name.lower()):
            raise conflict("The product name is a duplicate", {"name": f"Product name '{name}' is not unique"})
    sku = body.get("sku")
    if sku:
        owner = cat.sku_owner(store, sku)
        if (owner is not None and owner != ("product", pid)) or taken.get("sku:" + sku.lower()):
            raise conflict("The product sku is a duplicate", {"sku": f"Sku '{sku}' is not unique"})
    variant_skus: set[str] = set()
    combos: set[tuple] = set()
    for i, v in enumerate(body.get("variants", [])):
        vsku = v["sku"].lower()
        if cat.sku_owner(store, vsku) or vsku in variant_skus or (sku and vsku == sku.lower()):
            raise conflict("The variant sku is a duplicate",
                           {f"variants.{i}.sku": f"Sku '{v['sku']}' is not unique"})
        variant_skus.add(vsku)
        combo = tuple(sorted((ov["option_display_name"], ov["label"]) for ov in v.get("option_values", [])))
        if combo in combos:
            raise conflict("Duplicate variant options",
                           {f"variants.{i}.option_values": "A variant with these option values exists"})
        combos.add(combo)
    url = (body.get("custom_url") or {}).get("url")
    if url:
        owner = store.url_index.get(url.lower())
        if (owner is not None and owner != pid) or taken.get("url:" + url.lower()):
            raise conflict("The product custom_url is a duplicate", {"custom_url": f"URL '{url}' is taken"})
    missing = [c for c in body.get("categories", []) if int(c) not in store.categories]
    if missing:
        raise conflict("Invalid categories", {"categories": f"Categories {missing} do not exist"})
    brand_id = body.get("brand_id")
    if brand_id and brand_id not in store.brands:
        raise conflict("Invalid brand_id", {"brand_id": f"Brand {brand_id} does not exist"})


async def fetch_images(body: dict) -> list[tuple[dict, tuple[str, bytes]]]:
    return [(image, await download(image["image_url"])) for image in body.get("images", []) if "id" not in image]


# --- applying ------------------------------------------------------------------------------------

def apply_fields(store: Store, p: dict, body: dict) -> None:
    if "name" in body and body["name"] != p["name"]:
        store.name_index.pop(p["name"].lower(), None)
        store.name_index[body["name"].lower()] = p["id"]
    if "sku" in body and body["sku"] != p["sku"]:
        cat.unindex_sku(store, p["sku"], "product", p["id"])
        cat.index_sku(store, body["sku"], "product", p["id"])
        if p["id"] in store.base_variants:
            store.base_variants[p["id"]]["sku"] = body["sku"]
    for k in cat.WRITABLE:
        if k in body:
            p[k] = body[k]
    p["categories"] = [int(c) for c in p["categories"]]
    # brand_id 0 is "no brand" (the spec's minimum, and what a product without one answers); brand_name finds
    # or creates a brand by name, so "" names none and changes nothing (undocumented: it never clears)
    if body.get("brand_name"):
        brand = cat.brand_by_name(store, body["brand_name"])
        if brand is None:
            brand = new_brand(store, body["brand_name"])
        p["brand_id"] = brand["id"]
    if "custom_url" in body:
        store.url_index.pop(p["custom_url"]["url"].lower(), None)
        p["custom_url"] = {"url": body["custom_url"]["url"],
                           "is_customized": body["custom_url"].get("is_customized", True)}
        store.url_index[p["custom_url"]["url"].lower()] = p["id"]
    p["date_modified"] = now_iso()


def new_brand(store: Store, name: str) -> dict:
    brand = {"id": store.next_id(), "name": name, "page_title": "", "meta_keywords": [],
             "meta_description": "", "search_keywords": "", "image_url": "",
             "custom_url": {"url": f"/{cat.slugify(name)}/", "is_customized": False}}
    store.brands[brand["id"]] = brand
    return brand


def check_custom_fields(store: Store, p: dict, fields: list[dict], prefix: str = "") -> None:
    for i, f in enumerate(fields):
        if "id" in f:
            existing = store.custom_fields.get(f["id"])
            if existing is None or existing["product_id"] != p["id"]:
                raise invalid({f"{prefix}custom_fields.{i}.id": f"Custom field {f['id']} does not exist"})
    count = len(cat.product_custom_fields(store, p["id"])) + sum("id" not in f for f in fields)
    if count > MAX_CUSTOM_FIELDS:
        raise invalid({f"{prefix}custom_fields": f"A product can have at most {MAX_CUSTOM_FIELDS} custom fields"})


def apply_custom_fields(store: Store, p: dict, fields: list[dict]) -> None:
    for f in fields:
        if "id" in f:
            existing = store.custom_fields[f["id"]]
            existing.update({k: f[k] for k in ("name", "value") if k in f})
        else:
            cat.new_custom_field(store, p["id"], f["name"], f["value"])


def apply_images(store: Store, p: dict, images: list[dict], blobs: list, base_url: str) -> None:
    for image, blob in blobs:
        cat.new_image(store, p["id"], blob, base_url, image["image_url"], image.get("is_thumbnail", False),
                      image.get("sort_order"), image.get("description", ""))
    for image in images:
        if "id" in image and image["id"] in store.images and store.images[image["id"]]["product_id"] == p["id"]:
            update_image(store, store.images[image["id"]], image)


def update_image(store: Store, image: dict, body: dict) -> None:
    if body.get("is_thumbnail"):
        for other in cat.product_images(store, image["product_id"]):
            other["is_thumbnail"] = False
        image["is_thumbnail"] = True
    for k in ("sort_order", "description"):
        if k in body:
            image[k] = body[k]
    image["date_modified"] = now_iso()


def create_product(store: Store, body: dict, blobs: list, base_url: str) -> dict:
    pid = store.next_id()
    p = {"id": pid, **{k: (list(v) if isinstance(v, list) else v) for k, v in cat.PRODUCT_DEFAULTS.items()},
         "custom_url": {"url": "", "is_customized": False}, "date_created": now_iso(),
         "date_modified": now_iso()}
    store.products[pid] = p
    body = dict(body)
    if "custom_url" not in body:  # derived from the name, made unique as the control panel does
        body["custom_url"] = {"url": cat.unique_url(store, f"/{cat.slugify(body['name'])}/"),
                              "is_customized": False}
    apply_fields(store, p, body)
    variants = body.get("variants", [])
    for v in variants:
        refs = [cat.ensure_option_value(store, pid, ov["option_display_name"], ov["label"])
                for ov in v.get("option_values", [])]
        if refs:
            cat.new_variant(store, pid, v, refs)
        else:  # a variant without options is the base variant
            base = cat.new_base_variant(store, p)
            base.update({k: v[k] for k in cat.VARIANT_WRITABLE if k in v})
    if not cat.product_variants(store, pid):
        cat.new_base_variant(store, p)
    apply_custom_fields(store, p, [{"name": f["name"], "value": f["value"]} for f in body.get("custom_fields", [])])
    apply_images(store, p, body.get("images", []), blobs, base_url)
    return p


# --- handlers ------------------------------------------------------------------------------------

def _include(request: Request) -> set[str]:
    return set(str_list(request, "include") or [])


def _include_fields(request: Request) -> list[str] | None:
    return str_list(request, "include_fields")


def get_product_or_404(store: Store, pid: int) -> dict:
    p = store.products.get(pid)
    if p is None:
        raise not_found(f"Product {pid} not found")
    return p


def _candidates(request: Request, store: Store) -> list[dict]:
    """The products a `sku` / `sku:in` filter can match, from the SKU index (the import's look-ups, 50 SKUs per
    request, must not cost a scan of the whole store); every product otherwise. The filters below still apply."""
    q = request.query_params
    skus = [q["sku"]] if "sku" in q else str_list(request, "sku:in")
    if skus is None or not all(skus):
        return list(store.products.values())
    found = []
    for sku in skus:
        owner = store.sku_index.get(sku.lower())
        if owner is not None and owner[0] == "product" and owner[1] in store.products:
            found.append(store.products[owner[1]])
    return list({p["id"]: p for p in found}.values())


async def list_products(request: Request, store: Store) -> Response:
    q = request.query_params
    items = sorted(_candidates(request, store), key=lambda p: p["id"])
    one_id = int_param(request, "id")
    if one_id is not None:
        items = [p for p in items if p["id"] == one_id]
    ids = int_list(request, "id:in")
    if ids is not None:
        items = [p for p in items if p["id"] in set(ids)]
    not_ids = int_list(request, "id:not_in")
    if not_ids is not None:
        items = [p for p in items if p["id"] not in set(not_ids)]
    if "sku" in q:
        items = [p for p in items if p["sku"].lower() == q["sku"].lower()]
    skus = str_list(request, "sku:in")
    if skus is not None:
        wanted = {s.lower() for s in skus}
        items = [p for p in items if p["sku"].lower() in wanted]
    if "name" in q:
        items = [p for p in items if p["name"].lower() == q["name"].lower()]
    if "name:like" in q:
        items = [p for p in items if q["name:like"].lower() in p["name"].lower()]
    brand = int_param(request, "brand_id")
    if brand is not None:
        items = [p for p in items if p["brand_id"] == brand]
    cats = int_list(request, "categories:in")
    if cats is not None:
        items = [p for p in items if set(p["categories"]) & set(cats)]
    if "is_visible" in q:
        visible = q["is_visible"].lower() in ("1", "true")
        items = [p for p in items if p["is_visible"] == visible]
    channels = int_list(request, "channel_id:in")
    if channels is not None:
        items = [p for p in items if any((p["id"], c) in store.assignments for c in channels)]
    page, meta = paginate(request, items)
    include, fields = _include(request), _include_fields(request)
    return ok([cat.render_product(store, p, include, fields) for p in page], meta)


async def create(request: Request, store: Store) -> Response:
    body = await read_json(request)
    val.require_valid(product_errors(body, creating=True))
    check_conflicts(store, body, None)
    blobs = await fetch_images(body)
    check_conflicts(store, body, None)  # others may have written while the images downloaded
    p = create_product(store, body, blobs, str(request.base_url))
    include = SUBRESOURCES | _include(request)
    return ok(cat.render_product(store, p, include, _include_fields(request)))


async def get_one(request: Request, store: Store) -> Response:
    p = get_product_or_404(store, request.path_params["product_id"])
    return ok(cat.render_product(store, p, _include(request), _include_fields(request)))


async def update_one(request: Request, store: Store) -> Response:
    p = get_product_or_404(store, request.path_params["product_id"])
    body = await read_json(request)
    val.require_valid(product_errors(body, creating=False))
    body.pop("variants", None)
    check_conflicts(store, body, p["id"])
    blobs = await fetch_images(body)
    p = get_product_or_404(store, p["id"])
    check_conflicts(store, body, p["id"])
    check_custom_fields(store, p, body.get("custom_fields", []))
    apply_fields(store, p, body)
    apply_custom_fields(store, p, body.get("custom_fields", []))
    apply_images(store, p, body.get("images", []), blobs, str(request.base_url))
    return ok(cat.render_product(store, p, SUBRESOURCES | _include(request), _include_fields(request)))


async def update_batch(request: Request, store: Store) -> Response:
    body = val.json_array(await read_json(request), MAX_BATCH)
    errors: dict[str, str] = {}
    for i, item in enumerate(body):
        errors |= val.check_fields(item, {"id": val.integer(1)}, ("id",), f"{i}.")
        errors |= product_errors(item, creating=False, prefix=f"{i}.")
    val.require_valid(errors)

    def check_all() -> None:
        taken: dict[str, str] = {}
        for item in body:
            get_product_or_404(store, item["id"])
            check_conflicts(store, item, item["id"], taken)
            for key in ("name", "sku"):
                if item.get(key):
                    taken[f"{key}:{item[key].lower()}"] = "1"
            if (item.get("custom_url") or {}).get("url"):
                taken["url:" + item["custom_url"]["url"].lower()] = "1"

    check_all()
    blobs = [await fetch_images(item) for item in body]
    check_all()
    for i, item in enumerate(body):
        check_custom_fields(store, store.products[item["id"]], item.get("custom_fields", []), prefix=f"{i}.")
    out = []
    for item, item_blobs in zip(body, blobs, strict=True):
        p = store.products[item["id"]]
        fields = {k: v for k, v in item.items() if k not in ("id", "variants")}
        apply_fields(store, p, fields)
        apply_custom_fields(store, p, item.get("custom_fields", []))
        apply_images(store, p, item.get("images", []), item_blobs, str(request.base_url))
        out.append(cat.render_product(store, p, SUBRESOURCES | _include(request), _include_fields(request)))
    return ok(out, {})


async def delete_one(request: Request, store: Store) -> Response:
    p = get_product_or_404(store, request.path_params["product_id"])
    cat.delete_product(store, p["id"])
    return no_content()


async def delete_many(request: Request, store: Store) -> Response:
    q = request.query_params
    ids = int_list(request, "id:in")
    if ids is None and "sku" not in q and "name" not in q:
        raise invalid({"id:in": "A filter is required to delete products"}, "Filter required")
    if ids is not None and len(ids) > 250:
        raise invalid({"id:in": "At most 250 products can be deleted at once"})
    doomed = [p["id"] for p in store.products.values()
              if (ids is None or p["id"] in ids)
              and ("sku" not in q or p["sku"].lower() == q["sku"].lower())
              and ("name" not in q or p["name"].lower() == q["name"].lower())]
    for pid in doomed:
        cat.delete_product(store, pid)
    return no_content()


# --- channel assignments -------------------------------------------------------------------------

async def get_assignments(request: Request, store: Store) -> Response:
    products, channels = int_list(request, "product_id:in"), int_list(request, "channel_id:in")
    items = [{"product_id": p, "channel_id": c} for p, c in sorted(store.assignments)
             if (products is None or p in products) and (channels is None or c in channels)]
    page, meta = paginate(request, items)
    return ok(page, meta)


async def put_assignments(request: Request, store: Store) -> Response:
    body = await read_json(request)
    if not isinstance(body, list) or not body:
        raise invalid({"body": "error.expected.jsarray"})
    errors: dict[str, str] = {}
    for i, a in enumerate(body):
        errors |= val.check_fields(a, {"product_id": val.integer(1), "channel_id": val.integer(1)},
                                   ("product_id", "channel_id"), f"{i}.")
    val.require_valid(errors)
    for i, a in enumerate(body):
        if a["product_id"] not in store.products:
            errors[f"{i}.product_id"] = f"Product {a['product_id']} does not exist"
        if a["channel_id"] not in store.channels:
            errors[f"{i}.channel_id"] = f"Channel {a['channel_id']} does not exist"
    if errors:
        raise ApiError(422, "Invalid product or channel", errors)
    store.assignments |= {(a["product_id"], a["channel_id"]) for a in body}
    return no_content()


async def delete_assignments(request: Request, store: Store) -> Response:
    products, channels = int_list(request, "product_id:in"), int_list(request, "channel_id:in")
    if products is None and channels is None:
        raise invalid({"product_id:in": "A filter is required"})
    store.assignments = {(p, c) for p, c in store.assignments
                         if not ((products is None or p in products) and (channels is None or c in channels))}
    return no_content()
