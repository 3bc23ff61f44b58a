"""Catalog trees and their categories (`/v3/catalog/trees`, `/v3/catalog/trees/categories`)."""

from __future__ import annotations

import uuid

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from . import catalog as cat
from . import validate as val
from .errors import STATUS_DOCS, ApiError, invalid, not_found
from .gateway import no_content, ok, read_json
from .query import int_list, paginate, str_list
from .state import Store

MAX_DEPTH = 8
MAX_CATEGORIES = 16000
MAX_TREES_BATCH = 50
MAX_CATEGORY_BATCH = 1000

CATEGORY_FIELDS = ("name", "description", "views", "sort_order", "page_title", "meta_keywords",
                   "meta_description", "layout_file", "image_url", "is_visible", "search_keywords",
                   "default_product_sort")


class ItemError(Exception):
    def __init__(self, status: int, field: str, message: str):
        super().__init__(message)
        self.status, self.field, self.message = status, field, message


def depth(store: Store, c: dict) -> int:
    d = 1
    while c["parent_id"]:
        c = store.categories[c["parent_id"]]
        d += 1
    return d


def subtree_height(store: Store, cid: int) -> int:
    kids = [c for c in store.categories.values() if c["parent_id"] == cid]
    return 1 + max((subtree_height(store, k["category_id"]) for k in kids), default=0)


def descendants(store: Store, cid: int) -> list[int]:
    out = []
    for c in list(store.categories.values()):
        if c["parent_id"] == cid:
            out += [c["category_id"], *descendants(store, c["category_id"])]
    return out


def sibling_named(store: Store, tree_id: int, parent_id: int, name: str, exclude: int | None) -> bool:
    lowered = name.lower()
    return any(c["tree_id"] == tree_id and c["parent_id"] == parent_id and c["name"].lower() == lowered
               and c["category_id"] != exclude for c in store.categories.values())


def url_taken(store: Store, path: str, exclude: int | None) -> bool:
    return any(c["url"]["path"].lower() == path.lower() and c["category_id"] != exclude
               for c in store.categories.values())


def _batch_result(status_ok: int, total: int, data: list | None, failures: dict[str, str],
                  statuses: set[int]) -> Response:
    success = total - len({k.split(".")[0] for k in failures})
    meta = {"total": total, "success": success, "failed": total - success}
    if not failures:
        body = {"meta": meta} if data is None else {"data": data, "meta": meta}
        return JSONResponse(body, status_code=status_ok)
    status = 409 if 409 in statuses else 422
    error = {"status": status, "title": "Some categories could not be saved", "type": STATUS_DOCS,
             "errors": failures}
    if success == 0:
        return JSONResponse({**error, "meta": meta}, status_code=status)
    body = {"errors": error, "meta": meta}
    if data is not None:
        body["data"] = data
    return JSONResponse(body, status_code=207)


def _format_errors(body: list, creating: bool) -> None:
    errors: dict[str, str] = {}
    for i, item in enumerate(body):
        errors |= val.check_fields(item, val.CATEGORY_RULES, ("name",) if creating else ("category_id",), f"{i}.")
        if isinstance(item, dict) and isinstance(item.get("url"), dict):
            errors |= val.check_fields(item["url"], val.CATEGORY_URL_RULES, ("path",), f"{i}.url.")
        if creating and isinstance(item, dict) and "tree_id" not in item and "parent_id" not in item:
            errors[f"{i}.tree_id"] = "tree_id or parent_id is required"
    val.require_valid(errors)


# --- categories ----------------------------------------------------------------------------------

def _place(store: Store, item: dict, current: dict | None) -> tuple[int, int]:
    """The (tree_id, parent_id) an item asks for, checked against the stored tree."""
    parent_id = item.get("parent_id", current["parent_id"] if current else 0)
    tree_id = item.get("tree_id", current["tree_id"] if current else None)
    if parent_id:
        parent = store.categories.get(parent_id)
        if parent is None:
            raise ItemError(422, "parent_id", f"Parent category {parent_id} does not exist")
        if tree_id is not None and tree_id != parent["tree_id"]:
            raise ItemError(422, "tree_id", "The parent category belongs to another tree")
        tree_id = parent["tree_id"]
        if current is not None and (parent_id == current["category_id"]
                                    or parent_id in descendants(store, current["category_id"])):
            raise ItemError(422, "parent_id", "A category cannot move under itself")
        height = subtree_height(store, current["category_id"]) if current else 1
        if depth(store, parent) + height > MAX_DEPTH:
            raise ItemError(422, "parent_id", f"Categories can be nested at most {MAX_DEPTH} levels deep")
    elif tree_id is None:
        raise ItemError(422, "tree_id", "A top-level category needs a tree_id")
    if tree_id not in store.trees:
        raise ItemError(422, "tree_id", f"Tree {tree_id} does not exist")
    return tree_id, parent_id


def _create_one(store: Store, item: dict) -> dict:
    if len(store.categories) >= MAX_CATEGORIES:
        raise ItemError(422, "name", f"A store can have at most {MAX_CATEGORIES} categories")
    tree_id, parent_id = _place(store, item, None)
    if sibling_named(store, tree_id, parent_id, item["name"], None):
        raise ItemError(422, "name", f"A category named '{item['name']}' already exists under this parent")
    if "url" in item:
        path = item["url"]["path"]
        if url_taken(store, path, None):
            raise ItemError(422, "url", f"The URL '{path}' is already in use")
        url = {"path": path, "is_customized": item["url"].get("is_customized", True)}
    else:
        base = f"/{cat.slugify(item['name'])}/"
        path, n = base, 1
        while url_taken(store, path, None):
            n += 1
            path = f"{base.rstrip('/')}-{n}/"
        url = {"path": path, "is_customized": False}
    cid = store.next_id()
    c = {"category_id": cid, "category_uuid": str(uuid.uuid4()), "parent_id": parent_id, "tree_id": tree_id,
         "name": "", "description": "", "views": 0, "sort_order": 0, "page_title": "", "meta_keywords": [],
         "meta_description": "", "layout_file": "category.html", "image_url": "", "is_visible": True,
         "search_keywords": "", "default_product_sort": "use_store_settings", "url": url}
    c.update({k: item[k] for k in CATEGORY_FIELDS if k in item})
    store.categories[cid] = c
    return c


def _update_one(store: Store, item: dict) -> None:
    c = store.categories.get(item["category_id"])
    if c is None:
        raise ItemError(422, "category_id", f"Category {item['category_id']} does not exist")
    tree_id, parent_id = _place(store, item, c)
    name = item.get("name", c["name"])
    if sibling_named(store, tree_id, parent_id, name, c["category_id"]):
        raise ItemError(422, "name", f"A category named '{name}' already exists under this parent")
    if "url" in item and url_taken(store, item["url"]["path"], c["category_id"]):
        raise ItemError(422, "url", f"The URL '{item['url']['path']}' is already in use")
    c.update({k: item[k] for k in CATEGORY_FIELDS if k in item})
    c["tree_id"], c["parent_id"] = tree_id, parent_id
    if "url" in item:
        c["url"] = {"path": item["url"]["path"], "is_customized": item["url"].get("is_customized", True)}


async def create_categories(request: Request, store: Store) -> Response:
    body = val.json_array(await read_json(request), MAX_CATEGORY_BATCH, "categories")
    _format_errors(body, creating=True)
    data, failures, statuses = [], {}, set()
    for i, item in enumerate(body):
        try:
            data.append(_create_one(store, item))
        except ItemError as exc:
            failures[f"{i}.{exc.field}"] = exc.message
            statuses.add(exc.status)
    return _batch_result(201, len(body), data, failures, statuses)


async def update_categories(request: Request, store: Store) -> Response:
    body = val.json_array(await read_json(request), MAX_CATEGORY_BATCH, "categories")
    _format_errors(body, creating=False)
    failures, statuses = {}, set()
    for i, item in enumerate(body):
        try:
            _update_one(store, item)
        except ItemError as exc:
            failures[f"{i}.{exc.field}"] = exc.message
            statuses.add(exc.status)
    return _batch_result(200, len(body), None, failures, statuses)


def _filtered(request: Request, store: Store) -> list[dict]:
    items = sorted(store.categories.values(), key=lambda c: c["category_id"])
    for param, key in (("category_id:in", "category_id"), ("tree_id:in", "tree_id"), ("parent_id:in", "parent_id")):
        wanted = int_list(request, param)
        if wanted is not None:
            items = [c for c in items if c[key] in wanted]
    for param, key in (("category_id:not_in", "category_id"), ("tree_id:not_in", "tree_id"),
                       ("parent_id:not_in", "parent_id")):
        unwanted = int_list(request, param)
        if unwanted is not None:
            items = [c for c in items if c[key] not in unwanted]
    uuids = str_list(request, "category_uuid:in")
    if uuids is not None:
        items = [c for c in items if c["category_uuid"] in uuids]
    q = request.query_params
    if "name" in q:
        items = [c for c in items if c["name"].lower() == q["name"].lower()]
    if "name:like" in q:
        items = [c for c in items if q["name:like"].lower() in c["name"].lower()]
    if "is_visible" in q:
        items = [c for c in items if c["is_visible"] == (q["is_visible"].lower() in ("1", "true"))]
    return items


async def list_categories(request: Request, store: Store) -> Response:
    page, meta = paginate(request, _filtered(request, store))
    return ok(page, meta)


def _remove_categories(store: Store, ids: list[int]) -> None:
    doomed = set()
    for cid in ids:
        if cid in store.categories:
            doomed |= {cid, *descendants(store, cid)}
    for cid in doomed:
        del store.categories[cid]
    for p in store.products.values():
        p["categories"] = [c for c in p["categories"] if c not in doomed]


async def delete_categories(request: Request, store: Store) -> Response:
    if not any(k in request.query_params for k in ("category_id:in", "tree_id:in", "parent_id:in",
                                                     "category_uuid:in")):
        raise invalid({"category_id:in": "A filter is required to delete categories"}, "Filter required")
    ids = [c["category_id"] for c in _filtered(request, store)]
    _remove_categories(store, ids)
    return JSONResponse({"meta": {"total": len(ids), "success": len(ids), "failed": 0}}, status_code=202)


def _node(store: Store, c: dict, level: int, path: list[int], max_depth: int | None) -> dict:
    here = [*path, c["category_id"]]
    kids = sorted((k for k in store.categories.values() if k["parent_id"] == c["category_id"]),
                  key=lambda k: (k["sort_order"], k["category_id"]))
    children = [] if max_depth is not None and level >= max_depth else [
        _node(store, k, level + 1, here, max_depth) for k in kids]
    return {"id": c["category_id"], "parent_id": c["parent_id"], "depth": level, "path": path,
            "name": c["name"], "is_visible": c["is_visible"], "url": c["url"]["path"], "children": children}


async def tree_categories(request: Request, store: Store) -> Response:
    tree_id = request.path_params["tree_id"]
    if tree_id not in store.trees:
        raise not_found(f"Tree {tree_id} not found")
    raw = request.query_params.get("depth")
    max_depth = int(raw) if raw and raw.isdigit() else None
    roots = sorted((c for c in store.categories.values() if c["tree_id"] == tree_id and c["parent_id"] == 0),
                   key=lambda c: (c["sort_order"], c["category_id"]))
    return ok([_node(store, c, 1, [], max_depth) for c in roots], {})


# --- trees ---------------------------------------------------------------------------------------

async def list_trees(request: Request, store: Store) -> Response:
    items = sorted(store.trees.values(), key=lambda t: t["id"])
    ids, channels = int_list(request, "id:in"), int_list(request, "channel_id:in")
    if ids is not None:
        items = [t for t in items if t["id"] in ids]
    if channels is not None:
        items = [t for t in items if set(t["channels"]) & set(channels)]
    page, meta = paginate(request, items)
    return ok(page, meta)


async def upsert_trees(request: Request, store: Store) -> Response:
    body = val.json_array(await read_json(request), MAX_TREES_BATCH, "trees")
    errors: dict[str, str] = {}
    for i, item in enumerate(body):
        errors |= val.check_fields(item, val.TREE_RULES, (), f"{i}.")
    val.require_valid(errors)
    for i, item in enumerate(body):
        if "id" in item:
            if item["id"] not in store.trees:
                errors[f"{i}.id"] = f"Tree {item['id']} does not exist"
            if "channels" in item:
                errors[f"{i}.channels"] = "channels cannot be changed on an existing tree"
        else:
            if "name" not in item:
                errors[f"{i}.name"] = "error.path.missing"
            chans = item.get("channels") or []
            if len(chans) != 1:
                errors[f"{i}.channels"] = "A new tree needs exactly one channel"
            elif chans[0] not in store.channels:
                errors[f"{i}.channels"] = f"Channel {chans[0]} does not exist"
            elif any(chans[0] in t["channels"] for t in store.trees.values()):
                errors[f"{i}.channels"] = f"Channel {chans[0]} already has a tree"
    if errors:
        raise ApiError(422, "Invalid category trees", errors)
    out = []
    for item in body:
        if "id" in item:
            tree = store.trees[item["id"]]
            tree["name"] = item.get("name", tree["name"])
        else:
            tid = max(store.trees, default=0) + 1
            tree = store.trees[tid] = {"id": tid, "name": item["name"], "channels": list(item["channels"])}
        out.append(tree)
    return ok(out, {"total": len(out), "success": len(out), "failed": 0})


async def delete_trees(request: Request, store: Store) -> Response:
    ids = int_list(request, "id:in")
    if not ids:
        raise invalid({"id:in": "A filter is required to delete trees"}, "Filter required")
    for tid in ids:
        if tid in store.trees:
            roots = [c["category_id"] for c in store.categories.values() if c["tree_id"] == tid]
            _remove_categories(store, roots)
            del store.trees[tid]
    return no_content()
