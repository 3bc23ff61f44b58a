"""Per-product sub-resources: variants, options and their values, images, custom fields."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from . import catalog as cat
from . import validate as val
from .errors import ApiError, conflict, invalid, not_found
from .gateway import no_content, ok, read_json
from .images import check_upload, download, shared_bytes
from .products import MAX_CUSTOM_FIELDS, MAX_VARIANTS, get_product_or_404, update_image
from .query import int_list, paginate
from .state import Store

MAX_OPTION_VALUES = 250
MAX_VARIANT_BATCH = 50


def _product(request: Request, store: Store) -> dict:
    return get_product_or_404(store, request.path_params["product_id"])


def _child(items: dict, cid: int, pid: int, what: str) -> dict:
    item = items.get(cid)
    if item is None or item["product_id"] != pid:
        raise not_found(f"{what} {cid} not found")
    return item


# --- variants ------------------------------------------------------------------------------------

def resolve_option_refs(store: Store, pid: int, values: list[dict], prefix: str) -> list[tuple[int, int]]:
    """Variant option values given as {id, option_id} must name existing values of this product."""
    refs = []
    for j, ov in enumerate(values):
        option = store.options.get(ov.get("option_id"))
        if option is None or option["product_id"] != pid:
            raise invalid({f"{prefix}option_values.{j}.option_id": f"Option {ov.get('option_id')} not found"})
        if not any(x["id"] == ov.get("id") for x in option["option_values"]):
            raise invalid({f"{prefix}option_values.{j}.id": f"Option value {ov.get('id')} not found"})
        refs.append((option["id"], ov["id"]))
    return refs


def add_variant(store: Store, pid: int, body: dict, prefix: str = "") -> dict:
    errors = val.check_fields(body, val.VARIANT_RULES, ("sku", "option_values"), prefix)
    val.require_valid(errors)
    if not body["option_values"]:
        raise invalid({f"{prefix}option_values": "A variant needs at least one option value"})
    refs = resolve_option_refs(store, pid, body["option_values"], prefix)
    if cat.sku_owner(store, body["sku"]):
        raise conflict("The variant sku is a duplicate", {f"{prefix}sku": f"Sku '{body['sku']}' is not unique"})
    existing = store.variants.for_product(pid)
    if len(existing) >= MAX_VARIANTS:
        raise invalid({f"{prefix}variants": f"A product can have at most {MAX_VARIANTS} variants"})
    if any(sorted(v["option_refs"]) == sorted(refs) for v in existing):
        raise conflict("Duplicate variant options", {f"{prefix}option_values": "A variant with these values exists"})
    return cat.new_variant(store, pid, body, refs)


def update_variant(store: Store, v: dict, body: dict, prefix: str = "") -> None:
    val.require_valid(val.check_fields(body, val.VARIANT_RULES, (), prefix))
    if "sku" in body and body["sku"].lower() != v["sku"].lower():
        owner = cat.sku_owner(store, body["sku"])
        if owner and owner != ("variant", v["id"]):
            raise conflict("The variant sku is a duplicate", {f"{prefix}sku": f"Sku '{body['sku']}' is not unique"})


def apply_variant_update(store: Store, v: dict, body: dict) -> None:
    if "sku" in body:
        is_base = store.base_variants.get(v["product_id"]) is v
        kind, owner = ("product", v["product_id"]) if is_base else ("variant", v["id"])
        cat.unindex_sku(store, v["sku"], kind, owner)
        cat.index_sku(store, body["sku"], kind, owner)
        if is_base:
            store.products[v["product_id"]]["sku"] = body["sku"]
    v.update({k: body[k] for k in (*cat.VARIANT_WRITABLE, "sku") if k in body})


def find_variant(store: Store, pid: int, vid: int) -> dict:
    v = store.variants.get(vid)
    if v is None:
        base = store.base_variants.get(pid)
        v = base if base and base["id"] == vid else None
    if v is None or v["product_id"] != pid:
        raise not_found(f"Variant {vid} not found")
    return v


async def list_variants(request: Request, store: Store) -> Response:
    p = _product(request, store)
    page, meta = paginate(request, cat.product_variants(store, p["id"]))
    return ok([cat.render_variant(store, v) for v in page], meta)


async def create_variant(request: Request, store: Store) -> Response:
    p = _product(request, store)
    body = await read_json(request)
    v = add_variant(store, p["id"], body)
    return ok(cat.render_variant(store, v))


async def get_variant(request: Request, store: Store) -> Response:
    p = _product(request, store)
    return ok(cat.render_variant(store, find_variant(store, p["id"], request.path_params["variant_id"])))


async def put_variant(request: Request, store: Store) -> Response:
    p = _product(request, store)
    v = find_variant(store, p["id"], request.path_params["variant_id"])
    body = await read_json(request)
    update_variant(store, v, body)
    apply_variant_update(store, v, body)
    return ok(cat.render_variant(store, v))


async def delete_variant(request: Request, store: Store) -> Response:
    p = _product(request, store)
    v = find_variant(store, p["id"], request.path_params["variant_id"])
    if v["id"] not in store.variants:
        raise ApiError(422, "The base variant cannot be deleted", {})
    cat.delete_variant(store, v["id"])
    return no_content()


async def all_variants(request: Request, store: Store) -> Response:
    with_options = {v["product_id"] for v in store.variants.values()}  # their base variants are hidden
    bases = [b for pid, b in store.base_variants.items() if pid not in with_options]
    items = sorted([*store.variants.values(), *bases], key=lambda v: v["id"])
    ids, pids = int_list(request, "id:in"), int_list(request, "product_id:in")
    if ids is not None:
        items = [v for v in items if v["id"] in ids]
    if pids is not None:
        items = [v for v in items if v["product_id"] in pids]
    if "sku" in request.query_params:
        items = [v for v in items if v["sku"].lower() == request.query_params["sku"].lower()]
    page, meta = paginate(request, items)
    return ok([cat.render_variant(store, v) for v in page], meta)


async def batch_variants(request: Request, store: Store) -> Response:
    """Updates variants by `id`, or creates them from `product_id`, `sku` and `option_values`."""
    body = val.json_array(await read_json(request), MAX_VARIANT_BATCH)
    errors: dict[str, str] = {}
    for i, item in enumerate(body):
        need = ("id",) if isinstance(item, dict) and "id" in item else ("product_id", "sku", "option_values")
        errors |= val.check_fields(item, val.VARIANT_RULES, need, f"{i}.")
    val.require_valid(errors)
    seen: set[str] = set()
    for i, item in enumerate(body):  # check everything before changing anything
        if "sku" in item:
            if item["sku"].lower() in seen:
                raise conflict("The variant sku is a duplicate", {f"{i}.sku": f"Sku '{item['sku']}' is not unique"})
            seen.add(item["sku"].lower())
        if "id" in item:
            v = store.variants.get(item["id"]) or next(
                (b for b in store.base_variants.values() if b["id"] == item["id"]), None)
            if v is None:
                raise not_found(f"Variant {item['id']} not found")
            update_variant(store, v, item, f"{i}.")
        else:
            get_product_or_404(store, item["product_id"])
            resolve_option_refs(store, item["product_id"], item["option_values"], f"{i}.")
            if cat.sku_owner(store, item["sku"]):
                raise conflict("The variant sku is a duplicate", {f"{i}.sku": f"Sku '{item['sku']}' is not unique"})
    out = []
    for i, item in enumerate(body):
        if "id" in item:
            v = store.variants.get(item["id"]) or next(
                b for b in store.base_variants.values() if b["id"] == item["id"])
            apply_variant_update(store, v, item)
        else:
            v = add_variant(store, item["product_id"], item, f"{i}.")
        out.append(cat.render_variant(store, v))
    return ok(out, {})


# --- options -------------------------------------------------------------------------------------

async def list_options(request: Request, store: Store) -> Response:
    p = _product(request, store)
    page, meta = paginate(request, cat.product_options(store, p["id"]))
    return ok(page, meta)


async def create_option(request: Request, store: Store) -> Response:
    p = _product(request, store)
    body = await read_json(request)
    val.require_valid(val.check_fields(body, val.OPTION_RULES, ("display_name", "type", "option_values")))
    if any(o["display_name"] == body["display_name"] for o in cat.product_options(store, p["id"])):
        raise conflict("The option display_name is a duplicate",
                       {"display_name": f"Option '{body['display_name']}' exists on this product"})
    values = body["option_values"]
    if len(values) > MAX_OPTION_VALUES:
        raise invalid({"option_values": f"An option can have at most {MAX_OPTION_VALUES} values"})
    errors: dict[str, str] = {}
    for j, x in enumerate(values):
        errors |= val.check_fields(x, val.OPTION_VALUE_RULES, ("label", "sort_order"), f"option_values.{j}.")
    val.require_valid(errors)
    option = {"id": store.next_id(), "product_id": p["id"], "display_name": body["display_name"],
              "type": body["type"], "config": body.get("config", {}), "sort_order": body.get("sort_order", 0),
              "option_values": [], "name": f"{body['display_name']}{p['id']}"}
    for x in values:
        option["option_values"].append(_new_value(store, x))
    store.options[option["id"]] = option
    return ok(option)


def _new_value(store: Store, body: dict) -> dict:
    return {"id": store.next_id(), "label": body["label"], "sort_order": body.get("sort_order", 0),
            "value_data": body.get("value_data"), "is_default": body.get("is_default", False)}


async def get_option(request: Request, store: Store) -> Response:
    p = _product(request, store)
    return ok(_child(store.options, request.path_params["option_id"], p["id"], "Option"))


async def delete_option(request: Request, store: Store) -> Response:
    p = _product(request, store)
    option = _child(store.options, request.path_params["option_id"], p["id"], "Option")
    for v in [v for v in store.variants.values() if any(o == option["id"] for o, _ in v["option_refs"])]:
        cat.delete_variant(store, v["id"])
    del store.options[option["id"]]
    return no_content()


async def list_values(request: Request, store: Store) -> Response:
    p = _product(request, store)
    option = _child(store.options, request.path_params["option_id"], p["id"], "Option")
    page, meta = paginate(request, option["option_values"])
    return ok(page, meta)


async def create_value(request: Request, store: Store) -> Response:
    p = _product(request, store)
    option = _child(store.options, request.path_params["option_id"], p["id"], "Option")
    body = await read_json(request)
    val.require_valid(val.check_fields(body, val.OPTION_VALUE_RULES, ("label", "sort_order")))
    if any(x["label"] == body["label"] for x in option["option_values"]):
        raise conflict("The option value label is a duplicate", {"label": f"'{body['label']}' exists"})
    if len(option["option_values"]) >= MAX_OPTION_VALUES:
        raise invalid({"option_values": f"An option can have at most {MAX_OPTION_VALUES} values"})
    value = _new_value(store, body)
    option["option_values"].append(value)
    return ok(value)


async def delete_value(request: Request, store: Store) -> Response:
    p = _product(request, store)
    option = _child(store.options, request.path_params["option_id"], p["id"], "Option")
    vid = request.path_params["value_id"]
    if not any(x["id"] == vid for x in option["option_values"]):
        raise not_found(f"Option value {vid} not found")
    for v in [v for v in store.variants.values() if (option["id"], vid) in v["option_refs"]]:
        cat.delete_variant(store, v["id"])
    option["option_values"] = [x for x in option["option_values"] if x["id"] != vid]
    return no_content()


# --- images --------------------------------------------------------------------------------------

async def list_images(request: Request, store: Store) -> Response:
    p = _product(request, store)
    page, meta = paginate(request, cat.product_images(store, p["id"]))
    return ok(page, meta)


async def create_image(request: Request, store: Store) -> Response:
    p = _product(request, store)
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        async with request.form(max_part_size=16 * 1024 * 1024) as form:
            upload = form.get("image_file")
            if upload is None or isinstance(upload, str):
                raise invalid({"image_file": "image_file must be present if uploading by file"})
            data = await upload.read()
            blob = (check_upload(data, upload.filename or "upload"), shared_bytes(data))
            filename = upload.filename or ""
            fields = {k: v for k, v in form.items() if isinstance(v, str)}
        body = {"is_thumbnail": fields.get("is_thumbnail", "").lower() == "true",
                "description": fields.get("description", "")}
        if fields.get("sort_order", "").lstrip("-").isdigit():
            body["sort_order"] = int(fields["sort_order"])
        image_url = ""
    else:
        filename = ""
        body = await read_json(request)
        val.require_valid(val.check_fields(body, val.IMAGE_RULES))
        if not body.get("image_url"):
            raise ApiError(422, "image_url must be present if uploading by url", {})
        image_url = body["image_url"]
        blob = await download(image_url)
        p = get_product_or_404(store, p["id"])
    image = cat.new_image(store, p["id"], blob, str(request.base_url), image_url, body.get("is_thumbnail", False),
                          body.get("sort_order"), body.get("description", ""), filename)
    return ok(image)


async def get_image(request: Request, store: Store) -> Response:
    p = _product(request, store)
    return ok(_child(store.images, request.path_params["image_id"], p["id"], "Image"))


async def put_image(request: Request, store: Store) -> Response:
    p = _product(request, store)
    image = _child(store.images, request.path_params["image_id"], p["id"], "Image")
    body = await read_json(request)
    val.require_valid(val.check_fields(body, val.IMAGE_RULES))
    update_image(store, image, body)
    return ok(image)


async def delete_image(request: Request, store: Store) -> Response:
    p = _product(request, store)
    image = _child(store.images, request.path_params["image_id"], p["id"], "Image")
    cat.delete_image(store, image["id"])
    return no_content()


# --- custom fields -------------------------------------------------------------------------------

def _field_out(f: dict) -> dict:
    return {k: f[k] for k in ("id", "name", "value")}


async def list_fields(request: Request, store: Store) -> Response:
    p = _product(request, store)
    page, meta = paginate(request, cat.product_custom_fields(store, p["id"]))
    return ok([_field_out(f) for f in page], meta)


async def create_field(request: Request, store: Store) -> Response:
    p = _product(request, store)
    body = await read_json(request)
    val.require_valid(val.check_fields(body, val.CUSTOM_FIELD_RULES, ("name", "value")))
    if len(cat.product_custom_fields(store, p["id"])) >= MAX_CUSTOM_FIELDS:
        raise invalid({"custom_fields": f"A product can have at most {MAX_CUSTOM_FIELDS} custom fields"})
    return ok(_field_out(cat.new_custom_field(store, p["id"], body["name"], body["value"])))


async def get_field(request: Request, store: Store) -> Response:
    p = _product(request, store)
    return ok(_field_out(_child(store.custom_fields, request.path_params["field_id"], p["id"], "Custom field")))


async def put_field(request: Request, store: Store) -> Response:
    p = _product(request, store)
    field = _child(store.custom_fields, request.path_params["field_id"], p["id"], "Custom field")
    body = await read_json(request)
    val.require_valid(val.check_fields(body, val.CUSTOM_FIELD_RULES))
    field.update({k: body[k] for k in ("name", "value") if k in body})
    return ok(_field_out(field))


async def delete_field(request: Request, store: Store) -> Response:
    p = _product(request, store)
    field = _child(store.custom_fields, request.path_params["field_id"], p["id"], "Custom field")
    del store.custom_fields[field["id"]]
    return no_content()

