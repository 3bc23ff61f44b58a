"""Categories: the main category's subtree becomes the category tree of the store's channel.

- The main category's children are the tree's top-level categories; deeper levels keep their parents
  and their PIM positions (`sort_order`). BigCommerce nests at most 8 levels: deeper ones are skipped
  with a warning.
- Names: the label in the tenant's locale (the code when there is none), cut to 50 characters with a
  warning; siblings with the same name (case-insensitively, as BigCommerce compares) get a suffix.
- Writes: creates level by level (a child needs its parent's id), updates in one array; every array
  in batches of 50 (the client's helpers). A hash of each category's payload makes an unchanged
  category cost 0 writes.
- Exactly once: a category already in the tree under the same parent with the same name and not owned
  by another PIM category is adopted instead of created (a crash between a create and the id-map
  write heals this way, as does a store that already had the tree).
- Categories that left the subtree are hidden (`is_visible: false`), kept in the id map, and shown
  again if they come back. A category the merchant deleted in BigCommerce is created again.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, Protocol

import redis

from service.clients.bigcommerce import BigCommerceClient
from service.clients.bigcommerce_batch import BatchResult, ItemError
from service.store.ledger import StoreLedger
from service.transform.fields import Issue

log = logging.getLogger("connector.categories")

MAX_NAME = 50  # BigCommerce category names
MAX_DEPTH = 8  # BigCommerce nesting
COUNT_FIELDS = ("created", "updated", "unchanged", "hidden", "deleted", "failed")


@dataclass
class CategoryResult:
    ids: dict[str, int] = field(default_factory=dict)  # PIM code lower-cased -> BigCommerce category id
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COUNT_FIELDS, 0))
    warnings: list[Issue] = field(default_factory=list)
    errors: list[Issue] = field(default_factory=list)
    writes: int = 0  # BigCommerce write requests made (POST/PUT batches)


class _Main(Protocol):
    locale: str
    category: str


class CategoryJob(Protocol):
    """What sync_categories reads from the engine's `workers.sync.context.SyncContext`."""

    tenant: str
    pim: Any  # AkeneoClient
    bc: BigCommerceClient
    main: _Main
    redis: redis.Redis
    channel_id: int
    ledger: StoreLedger  # what was learned about this store (category ids among it)


@dataclass
class _Node:
    code: str  # as stored in the PIM
    parent: str | None  # lower-cased code; None for a top-level category of the tree
    label: str
    position: int
    depth: int  # 1 = top level
    name: str = ""


def _hash(payload: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def _item(code: str) -> str:
    return f"category {code}"


async def _pim_categories(pim: Any) -> AsyncIterator[dict]:
    async for category in pim.iter_categories(with_position=True):
        yield category


async def read_subtree(pim: Any, main_code: str, locale: str) -> tuple[list[_Node], list[Issue], bool]:
    """The main category's descendants, parents before children: (nodes, warnings, main found)."""
    children: dict[str, list[tuple[int, str, dict]]] = {}
    found = False
    order = 0
    async for category in _pim_categories(pim):
        code = str(category.get("code") or "")
        if code.lower() == main_code.lower():
            found = True
        parent = str(category.get("parent") or "").lower()
        if parent:
            order += 1
            position = category.get("position")
            rank = int(position) if isinstance(position, int) else order
            # only what a node needs: a 185,000-category PIM must not cost its full JSON in memory
            labels = category.get("labels") or {}
            children.setdefault(parent, []).append((rank, code, {"label": labels.get(locale)}))
    nodes: list[_Node] = []
    warnings: list[Issue] = []
    level = [(main_code.lower(), 0)]
    while level:
        following = []
        for parent, depth in level:
            for rank, code, info in sorted(children.get(parent, []), key=lambda c: (c[0], c[1].lower())):
                if depth + 1 > MAX_DEPTH:
                    warnings.append(Issue(_item(code), "parent", (
                        f"Category {code} is nested more than {MAX_DEPTH} levels below the main category: "
                        "BigCommerce allows 8 levels, so it and its children are not sent. Move it higher "
                        "in the PIM.")))
                    continue
                label = str(info["label"] or "").strip() or code
                nodes.append(_Node(code, parent if depth else None, label, rank, depth + 1))
                following.append((code.lower(), depth + 1))
        level = following
    return nodes, warnings, found


def _name_nodes(nodes: list[_Node], warnings: list[Issue]) -> None:
    """Cut to 50 characters, then make sibling names unique (BigCommerce compares case-insensitively)."""
    by_parent: dict[str | None, list[_Node]] = {}
    for node in nodes:
        name = node.label
        if len(name) > MAX_NAME:
            name = name[:MAX_NAME].rstrip()
            warnings.append(Issue(_item(node.code), "label", (
                f"The label “{node.label}” is longer than {MAX_NAME} characters, BigCommerce's limit for "
                f"category names: it is sent as “{name}”. Shorten the label in the PIM to choose the name.")))
        node.name = name
        by_parent.setdefault(node.parent, []).append(node)
    for siblings in by_parent.values():
        taken: set[str] = set()
        duplicates: list[_Node] = []
        for node in siblings:  # parents before children, siblings in PIM order: the first keeps the name
            if node.name.lower() in taken:
                duplicates.append(node)
            else:
                taken.add(node.name.lower())
        for node in duplicates:
            original = node.name
            for suffix in [f" ({node.code})", *(f" ({n})" for n in range(2, 10000))]:
                candidate = node.name[: MAX_NAME - len(suffix)].rstrip() + suffix
                if candidate.lower() not in taken:
                    break
            node.name = candidate
            taken.add(candidate.lower())
            warnings.append(Issue(_item(node.code), "label", (
                f"Another category under the same parent is also named “{original}”; BigCommerce needs "
                f"sibling names to differ, so this one is sent as “{node.name}”. Give it another label in "
                "the PIM to choose the name.")))


async def _tree_id(bc: BigCommerceClient, channel_id: int) -> int:
    trees = await bc.list_trees(channel_id)
    if trees:
        return int(trees[0]["id"])
    # a channel without a tree (a new storefront): give it one
    body = await bc.request("PUT", "/v3/catalog/trees", json=[{"name": "Catalog", "channels": [channel_id]}])
    return int(body["data"][0]["id"])


def _refusal(error: ItemError) -> str:
    details = "; ".join(f"{k}: {v}" for k, v in (error.errors or {}).items())
    return f"BigCommerce refused it ({error.title}{': ' + details if details else ''})"


async def _to_thread(func, *args):
    return await asyncio.wait_for(asyncio.to_thread(func, *args), 10)


async def sync_categories(job: CategoryJob) -> CategoryResult:
    result = CategoryResult()
    bc = job.bc
    ledger = job.ledger
    nodes, warnings, found = await read_subtree(job.pim, job.main.category, job.main.locale)
    result.warnings += warnings
    if not found:
        result.errors.append(Issue(_item(job.main.category), "category", (
            f"The main category {job.main.category} does not exist in the PIM any more: no category is "
            "sent. Choose another main category in the configuration.")))
        return result
    _name_nodes(nodes, result.warnings)

    tree_id = await _tree_id(bc, job.channel_id)
    existing: dict[int, dict] = {}
    async for category in bc.iter_tree_categories(tree_id):
        existing[int(category["category_id"])] = category
    states = await _to_thread(ledger.category_states)
    # a mapped category the merchant deleted in BigCommerce is created again
    states = {code: s for code, s in states.items() if int(s.get("id") or 0) in existing}
    wanted = {n.code.lower(): n for n in nodes}
    mapped_by_id = {int(s["id"]): code for code, s in states.items()}
    active_ids = {int(states[c]["id"]) for c in wanted if c in states}
    ids: dict[str, int] = {c: int(states[c]["id"]) for c in wanted if c in states}
    changed: dict[str, dict] = {}  # states to write after this batch
    failed: set[str] = set()

    def payload_of(node: _Node) -> dict[str, Any] | None:
        parent_id = ids.get(node.parent) if node.parent else 0
        if parent_id is None:
            return None
        return {"name": node.name, "parent_id": parent_id, "sort_order": node.position, "is_visible": True}

    async def flush() -> None:
        if changed:
            await _to_thread(ledger.save_categories, dict(changed))
            changed.clear()

    async def write(method: str, items: list[dict]) -> BatchResult:
        if not items:
            return BatchResult()
        before = bc.requests_made
        outcome = await (bc.create_categories(items) if method == "POST" else bc.update_categories(items))
        result.writes += bc.requests_made - before
        return outcome

    # 1. what exists: unchanged, or an update (parents that are new come later: phase 3)
    updates: dict[str, dict] = {}
    later: list[_Node] = []
    for node in nodes:
        code = node.code.lower()
        if code not in states:
            continue
        payload = payload_of(node)
        if payload is None:
            later.append(node)
            continue
        digest = _hash(payload)
        if states[code].get("hash") == digest and states[code].get("visible", True):
            result.counts["unchanged"] += 1
            continue
        updates[code] = {"category_id": ids[code], **payload, **({} if node.parent else {"tree_id": tree_id})}
    # hidden: mapped, visible, and gone from the subtree
    hides = {code: {"category_id": int(s["id"]), "is_visible": False}
             for code, s in states.items() if code not in wanted and s.get("visible", True)}

    async def apply_updates(batch: dict[str, dict], retry: bool) -> dict[str, dict]:
        """Write updates; returns those refused (ordering problems are retried once by the caller)."""
        outcome = await write("PUT", list(batch.values()))
        refused: dict[str, dict] = {}
        by_id = {item["category_id"]: code for code, item in batch.items()}
        bad = {}
        for error in outcome.errors:
            code = by_id.get(error.item.get("category_id"))
            if code is not None:
                bad[code] = error
            else:  # an error BigCommerce did not attribute: every item of the batch is in doubt
                bad.update({c: error for c in batch})
        for code, item in batch.items():
            if code in bad:
                refused[code] = item
                if not retry:
                    node = wanted.get(code)
                    result.errors.append(Issue(_item(node.code if node else code), "name",
                                               f"The category could not be updated: {_refusal(bad[code])}."))
                    result.counts["failed"] += 1
                    failed.add(code)
                continue
            visible = item.get("is_visible", True)
            payload = {k: item[k] for k in ("name", "parent_id", "sort_order", "is_visible")} if visible else None
            changed[code] = {"code": wanted[code].code if code in wanted else states[code].get("code", code),
                             "id": item["category_id"], "visible": visible,
                             "hash": _hash(payload) if payload else "hidden"}
            result.counts["updated" if visible else "hidden"] += 1
        await flush()
        return refused

    refused = await apply_updates({**updates, **hides}, retry=True)

    # 2. creates, level by level (a child needs its parent's id); adopt what is already there
    by_place: dict[tuple[int, str], int] = {}
    for cid, category in existing.items():
        by_place.setdefault((int(category.get("parent_id") or 0), str(category["name"]).lower()), cid)
    for depth in range(1, MAX_DEPTH + 1):
        creates: dict[str, dict] = {}
        for node in nodes:
            code = node.code.lower()
            if node.depth != depth or code in ids:
                continue
            payload = payload_of(node)
            if payload is None:
                result.errors.append(Issue(_item(node.code), "parent", (
                    f"The category was not created because its parent {node.parent} could not be.")))
                result.counts["failed"] += 1
                failed.add(code)
                continue
            adopt = by_place.get((payload["parent_id"], node.name.lower()))
            if adopt is not None and adopt not in active_ids:
                ids[code] = adopt
                active_ids.add(adopt)
                current = existing[adopt]
                previous = mapped_by_id.get(adopt)
                if previous is not None and previous != code:  # it was another, vanished, PIM category's
                    await _to_thread(ledger.forget_categories, [previous])
                    changed.pop(previous, None)
                same = (current.get("name") == node.name and int(current.get("sort_order") or 0) == node.position
                        and current.get("is_visible", True) and previous in (None, code))
                if same:
                    changed[code] = {"code": node.code, "id": adopt, "visible": True, "hash": _hash(payload)}
                    result.counts["unchanged"] += 1
                else:
                    refused[code] = {"category_id": adopt, **payload}
                continue
            creates[code] = {**payload, **({} if node.parent else {"tree_id": tree_id})}
        await flush()
        if not creates:
            continue
        outcome = await write("POST", list(creates.values()))
        made = {(int(c.get("parent_id") or 0), str(c.get("name", "")).lower()): c for c in outcome.data}
        refusals = {(int(e.item.get("parent_id") or 0), str(e.item.get("name", "")).lower()): e
                    for e in outcome.errors if e.item}
        for code, item in creates.items():
            place = (item["parent_id"], item["name"].lower())
            created = made.get(place)
            if created is None:
                error = refusals.get(place) or (outcome.errors[0] if outcome.errors else None)
                reason = _refusal(error) if error else "BigCommerce did not return it"
                result.errors.append(Issue(_item(wanted[code].code), "name",
                                           f"The category “{item['name']}” could not be created: {reason}."))
                result.counts["failed"] += 1
                failed.add(code)
                continue
            cid = int(created.get("category_id") or created.get("id"))
            ids[code] = cid
            active_ids.add(cid)
            payload = {k: item[k] for k in ("name", "parent_id", "sort_order", "is_visible")}
            changed[code] = {"code": wanted[code].code, "id": cid, "visible": True, "hash": _hash(payload)}
            result.counts["created"] += 1
        await flush()

    # 3. updates that waited for a new parent, and those refused once (a move or a rename that
    #    depended on another change of the same batch)
    for node in later:
        code = node.code.lower()
        payload = payload_of(node)
        if payload is not None:
            refused[code] = {"category_id": ids[code], **payload}
    if refused:
        await apply_updates(refused, retry=False)

    result.ids = {code: ids[code] for code in wanted if code in ids}
    # counts nested: "created" is a LogRecord attribute and may not be an `extra` key
    log.info("categories synced", extra={"tenant": job.tenant, "counts": dict(result.counts), "writes": result.writes})
    return result
