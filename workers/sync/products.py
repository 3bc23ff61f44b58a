"""Load product plans into BigCommerce: exactly once, only what changed, in the fewest requests.

A page of plans (service.transform builders' output) goes through:
1. names made unique per store (a Redis registry; a taken name gets " (SKU)" and a warning);
2. classification against the id map and the stored sync state: unchanged (same hash: no request),
   new, changed, to hide;
3. adoption: new plans are looked up by SKU first (`get_products_by_skus`, 50 per GET) so a product
   that exists in the store (a pre-existing catalog, or a create whose id-map write was lost) is
   linked, never duplicated;
4. creates, one POST each with inline variants, images and custom fields, a few at a time; the id map
   is written as soon as BigCommerce confirms. A create refused for an image is made without images,
   then each image is posted alone (a bad image never costs a product);
5. updates, 10 products per PUT /v3/catalog/products (custom fields by id), 50 variants per
   PUT /v3/catalog/variants, only new images posted, removed ones deleted;
6. channel assignment of created/adopted products, batched, under a per-store Redis lease.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import hashlib
import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from service.clients.akeneo import AkeneoError
from service.clients.bigcommerce import BigCommerceConflict, BigCommerceError, BigCommerceNotFound
from service.store.imports import PageCommit
from service.store.leases import run_sync
from workers.sync.context import SyncContext

log = logging.getLogger("connector.sync.products")

MEDIA_MARK = "pim-media:"  # placeholder image URL during a build: stable hashes, real URL at send time
CREATE_CONCURRENCY = 32  # creates in flight per page (BigCommerce has no one-at-a-time rule for them); the shared rate governor still paces them
MAX_NAME = 250
INCLUDE = "variants,images,custom_fields"


def placeholder_url(code: str) -> str:
    return f"{MEDIA_MARK}{code}"


def _media_code(url: Any) -> str | None:
    return url[len(MEDIA_MARK):] if isinstance(url, str) and url.startswith(MEDIA_MARK) else None


def _hash(*parts: Any) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, separators=(",", ":"), default=str).encode()).hexdigest()


def issue(item: str, message: str, field_name: str | None = None) -> dict:
    doc = {"item": item, "message": message}
    if field_name:
        doc["field"] = field_name
    return doc


def _bc_message(exc: BigCommerceError) -> str:
    """BigCommerce's refusal in words a merchant can act on: the fields it names and why."""
    details = "; ".join(f"{k}: {v}" for k, v in (exc.errors or {}).items())
    return f"BigCommerce refused it ({exc.status}): {exc.title}" + (f" — {details}" if details else "")


@dataclass
class Item:
    """One plan on its way to the store."""

    key: str
    sku: str
    label: str  # how a merchant recognises it in the run's issues
    payload: dict
    variants: list[dict]
    media: list[str]
    hash: str
    name: str
    state: dict | None = None
    product_id: int | None = None
    outcome: str | None = None
    adopted: dict | None = None  # the BigCommerce product found by SKU


@dataclass
class LoadResult:
    commit: PageCommit = field(default_factory=PageCommit)
    states: dict[str, dict] = field(default_factory=dict)
    to_assign: list[int] = field(default_factory=list)


class _IdMapWrites:
    """Id-map writes of creates confirmed at about the same time, in one Redis transaction (a thread hop and
    a round trip per product cost more CPU than the request itself). Each create still waits for its own
    write before it counts, so "written as soon as BigCommerce confirms" holds."""

    def __init__(self, ctx: SyncContext) -> None:
        self.ctx = ctx
        self.pending: list[tuple[tuple, asyncio.Future]] = []
        self.flusher: asyncio.Task | None = None

    async def write(self, key: str, product_id: int, variants: dict[str, int], state: dict) -> None:
        done = asyncio.get_running_loop().create_future()
        # a snapshot: the create goes on changing its state (images posted alone) after this
        self.pending.append(((key, product_id, dict(variants), copy.deepcopy(state)), done))
        if self.flusher is None or self.flusher.done():
            self.flusher = asyncio.create_task(self._flush())
        await done

    async def _flush(self) -> None:
        while self.pending:
            batch, self.pending = self.pending, []
            try:
                await run_sync(self.ctx.ledger.map_products, [entry for entry, _ in batch])
            except Exception as exc:  # noqa: BLE001 - each create fails with it, as its own write would
                for _, done in batch:
                    if not done.done():
                        done.set_exception(exc)
            else:
                for _, done in batch:
                    if not done.done():
                        done.set_result(None)


class ProductLoader:
    """Loads one page of plans for one tenant (`load`), or hides products (`hide`)."""

    def __init__(self, ctx: SyncContext, image_url: Any = None, image_bytes: Any = None) -> None:
        self.ctx = ctx
        self.tenant = ctx.tenant
        self.run_id = ctx.run_id or ""
        # media code -> URL BigCommerce downloads (None: upload the bytes instead)
        self.image_url = image_url
        self.image_bytes = image_bytes  # async media code -> (filename, bytes, content type)
        self._id_maps = _IdMapWrites(ctx)
        self.failed: set[str] = set()  # keys whose write failed (a delta tries them again)

    # -- public ---------------------------------------------------------------------------------
    async def load(self, plans: list[Any], commit: PageCommit) -> None:
        result = LoadResult(commit=commit)
        items = await self._prepare(plans, result)
        if items:
            await self._classify(items, result)
        new = [i for i in items if i.product_id is None]
        if new:
            await self._adopt(new)
        creates = [i for i in new if i.adopted is None]
        updates = [i for i in items if i.outcome is None and (i.product_id is not None or i.adopted is not None)]
        await self._create_all(creates, result)
        await self._update_all(updates, result)
        await self._assign(result)
        keys = [p.key for p in plans]
        await run_sync(self.ctx.ledger.save_product_states, result.states,
                       failed=[k for k in keys if k in self.failed], ok=[k for k in keys if k not in self.failed])

    async def hide(self, keys: list[str], commit: PageCommit, *, delete: bool = False,
                   deleted_keys: Iterable[str] = ()) -> None:
        """Hide (or, for `deleted_keys` when `delete`, delete) known products that left the scope."""
        ledger = self.ctx.ledger
        ids = await run_sync(ledger.product_ids, keys)
        states = await run_sync(ledger.product_states, keys)
        gone = set(deleted_keys) if delete else set()
        to_delete = [k for k in keys if k in gone and k in ids]
        to_hide = [k for k in keys if k not in gone and k in ids and not (states.get(k) or {}).get("hidden")]
        commit.count("products", "unchanged", len([k for k in keys if k in ids]) - len(to_delete) - len(to_hide))
        new_states: dict[str, dict] = {}
        if to_hide:
            result = await self.ctx.bc.update_products([{"id": ids[k], "is_visible": False} for k in to_hide])
            failed = {int(e.item.get("id", 0)) for e in result.errors}
            for k in to_hide:
                if ids[k] in failed:
                    self.failed.add(k)
                    commit.count("products", "failed")
                    commit.errors.append(issue(k, "BigCommerce refused to hide it"))
                    continue
                state = dict(states.get(k) or {})
                state.update(hidden=True, h=None, r=self.run_id, o="hidden")
                new_states[k] = state
                commit.count("products", "hidden")
        if to_delete:
            await self.ctx.bc.delete_products([ids[k] for k in to_delete])
            skus = [sku for k in to_delete for sku in ((states.get(k) or {}).get("v") or {})]
            names = {k: (states.get(k) or {}).get("n") for k in to_delete if (states.get(k) or {}).get("n")}
            await run_sync(ledger.release_names, names)
            await run_sync(ledger.unmap, to_delete, skus)
            commit.count("products", "deleted", len(to_delete))
        # a key we never sent, or one deleted above, has nothing left to retry either
        await run_sync(ledger.save_product_states, new_states,
                       failed=[k for k in keys if k in self.failed], ok=[k for k in keys if k not in self.failed])

    # -- preparation ----------------------------------------------------------------------------
    async def _prepare(self, plans: list[Any], result: LoadResult) -> list[Item]:
        commit = result.commit
        items: list[Item] = []
        for plan in plans:
            label = f"{plan.sku or plan.key}"
            commit.warnings += [issue(label, w.message, w.field) for w in plan.warnings]
            if plan.errors:
                commit.errors += [issue(label, e.message, e.field) for e in plan.errors]
                self.failed.add(plan.key)
                commit.count("products", "failed")
                continue
            payload = dict(plan.payload)
            items.append(Item(key=plan.key, sku=plan.sku, label=label, payload=payload,
                              variants=list(plan.variants), media=list(plan.media), hash=plan.content_hash,
                              name=str(payload.get("name") or plan.sku)))
        if not items:
            return []
        owners = await run_sync(self.ctx.ledger.claim_names, {i.key: i.name for i in items})
        for item in items:
            if owners.get(item.key) != item.key:
                self._suffix_name(item, commit)
        for item in items:
            item.payload["name"] = item.name
            # the final name is part of what BigCommerce holds: a rename is a change
            item.hash = _hash(item.hash, item.name)
        return items

    @staticmethod
    def _suffix_name(item: Item, commit: PageCommit) -> None:
        suffix = f" ({item.sku})"
        base = item.name[: MAX_NAME - len(suffix)]
        if item.name.endswith(suffix):
            return
        commit.warnings.append(issue(item.label, f"Another product is named '{item.name}': this one is named "
                                                 f"'{base}{suffix}' in the store; give it a distinct name in the "
                                                 "PIM", "name"))
        item.name = base + suffix

    async def _classify(self, items: list[Item], result: LoadResult) -> None:
        ledger = self.ctx.ledger
        keys = [i.key for i in items]
        ids = await run_sync(ledger.product_ids, keys)
        states = await run_sync(ledger.product_states, keys)
        for item in items:
            item.product_id = ids.get(item.key)
            item.state = states.get(item.key)
            if item.product_id is None or item.state is None:
                continue
            old_name = item.state.get("n")
            if old_name and old_name.lower() != item.name.lower():
                await run_sync(ledger.release_names, {item.key: old_name})
            if item.state.get("h") == item.hash:
                # a page redone after a crash reports what the first attempt did, not "unchanged"
                outcome = item.state.get("o") if item.state.get("r") == self.run_id else "unchanged"
                item.outcome = outcome or "unchanged"
                result.commit.count("products", item.outcome)
                if not item.state.get("ch"):
                    result.to_assign.append(item.product_id)
                    result.states[item.key] = item.state

    async def _adopt(self, items: list[Item]) -> None:
        """Link products that already exist in the store with the same SKU (case-insensitive)."""
        found = await self.ctx.bc.get_products_by_skus([i.sku for i in items], include=INCLUDE)
        by_sku = {str(p.get("sku", "")).lower(): p for p in found}
        for item in items:
            product = by_sku.get(item.sku.lower())
            if product is not None:
                item.adopted = product
                item.product_id = int(product["id"])
                item.state = self._state_from_product(item, product)
                variants = {str(v.get("sku")): int(v["id"]) for v in product.get("variants") or []
                            if v.get("sku") and v.get("option_values")}
                await run_sync(self.ctx.ledger.map_product, item.key, item.product_id, variants,
                               item.state)

    # -- creates ----------------------------------------------------------------------------------
    async def _create_all(self, items: list[Item], result: LoadResult) -> None:
        if not items:
            return
        gate = asyncio.Semaphore(CREATE_CONCURRENCY)

        async def one(item: Item) -> None:
            async with gate:
                await self._create(item, result)

        await asyncio.gather(*(one(i) for i in items))

    async def _create(self, item: Item, result: LoadResult) -> None:
        commit = result.commit
        payload = await self._send_payload(item.payload, inline_images=self.image_url is not None)
        try:
            product = await self._post(item, payload, commit)
        except BigCommerceError as exc:
            if (payload.get("images") or any("image_url" in v for v in payload.get("variants", []))) \
                    and _image_refusal(exc):
                commit.warnings.append(issue(item.label, "An image could not be sent with the product; it was "
                                                         f"created without images and they were sent alone ({exc.title})",
                                             "images"))
                bare = {**payload, "images": [],
                        "variants": [{k: v for k, v in x.items() if k != "image_url"} for x in payload.get("variants", [])]}
                if not payload.get("variants"):
                    bare.pop("variants")
                try:
                    product = await self._post(item, bare, commit)
                except BigCommerceError as exc2:
                    self._failed(item, exc2, commit)
                    return
            else:
                self._failed(item, exc, commit)
                return
        item.product_id = int(product["id"])
        variants = {str(v.get("sku")): int(v["id"]) for v in product.get("variants") or []
                    if v.get("sku") and v.get("option_values")}
        state = self._state_from_product(item, product)
        # no hash yet: a crash before the images below are posted leaves it to be completed, not skipped
        state.update(h=None, r=self.run_id, o="created", ch=False)
        await self._id_maps.write(item.key, item.product_id, variants, state)
        await self._post_missing_images(item, state, commit)
        state["h"] = item.hash
        result.states[item.key] = state
        result.to_assign.append(item.product_id)
        commit.count("products", "created")

    async def _post(self, item: Item, payload: dict, commit: PageCommit) -> dict:
        try:
            return await self.ctx.bc.create_product(payload, include=INCLUDE)
        except BigCommerceConflict as exc:
            text = " ".join(map(str, exc.errors)).lower() + " " + exc.title.lower()
            if "sku" in text:  # created meanwhile (by another attempt): adopt it, never a second one
                found = await self.ctx.bc.get_products_by_skus([item.sku], include=INCLUDE)
                if found:
                    return found[0]
                raise
            # a product we do not know holds the name: take the suffixed one (deterministic)
            if "name" not in text:
                raise
            before = item.name
            self._suffix_name(item, commit)
            if item.name == before:
                raise
            item.payload["name"] = item.name
            item.hash = _hash(item.hash, item.name)
            return await self.ctx.bc.create_product({**payload, "name": item.name}, include=INCLUDE)

    def _failed(self, item: Item, exc: BigCommerceError, commit: PageCommit) -> None:
        fields = ", ".join(str(k) for k in (exc.errors or {}))
        commit.errors.append(issue(item.label, _bc_message(exc), fields or None))
        self.failed.add(item.key)
        commit.count("products", "failed")
        log.warning("product refused", extra={"item": item.label, "status": exc.status})

    def _state_from_product(self, item: Item, product: dict) -> dict:
        """What we know of a product just created or found: ids of its images (by media code, in
        order), custom fields (by name) and variants (by SKU)."""
        images = sorted(product.get("images") or [], key=lambda i: (i.get("sort_order", 0), i.get("id", 0)))
        img: dict[str, int] = {}
        for code, image in zip(item.media, images, strict=False):
            img[code] = int(image["id"])
        cf = [[f.get("name"), int(f["id"])] for f in product.get("custom_fields") or [] if "id" in f]
        if item.adopted is not None:  # a found product's other custom fields are the merchant's: not ours
            ours = {f.get("name") for f in item.payload.get("custom_fields") or []}
            cf = [entry for entry in cf if entry[0] in ours]
        # a simple product's base variant (no option values) is the product itself, not ours to manage
        v = {str(x.get("sku")): [int(x["id"]), None, None] for x in product.get("variants") or []
             if x.get("sku") and x.get("option_values")}
        for variant in item.variants:
            entry = v.get(str(variant.get("sku")))
            if entry is not None and item.adopted is None:
                entry[1], entry[2] = _hash(_variant_body(variant)), _media_code(variant.get("image_url"))
        return {"sku": item.sku, "n": item.name, "img": img, "cf": cf, "v": v, "hidden": False}

    async def _post_missing_images(self, item: Item, state: dict, commit: PageCommit) -> None:
        """Images the create did not carry (upload mode, or a refused inline image), one POST each."""
        for position, code in enumerate(item.media):
            if code in state["img"]:
                continue
            image_id = await self._post_image(item, code, position == 0, commit)
            if image_id is not None:
                state["img"][code] = image_id

    async def _post_image(self, item: Item, code: str, thumbnail: bool, commit: PageCommit) -> int | None:
        bc = self.ctx.bc
        try:
            url = self.image_url(code) if self.image_url is not None else None
            if url is not None and len(url) <= 255:
                image = await bc.create_image(item.product_id, image_url=url, is_thumbnail=thumbnail)
            else:
                image = await bc.create_image(item.product_id, file=await self.image_bytes(code),
                                              is_thumbnail=thumbnail)
            return int(image["id"])
        except (BigCommerceError, AkeneoError) as exc:
            message = getattr(exc, "title", None) or str(exc)
            commit.warnings.append(issue(item.label, f"Image {code.rsplit('/', 1)[-1]} was not accepted: {message}; "
                                                     "check the file in the PIM", "images"))
            return None

    async def _send_payload(self, payload: dict, *, inline_images: bool) -> dict:
        """The payload with real image URLs (or without images when they are uploaded)."""
        out = dict(payload)
        images = []
        for image in payload.get("images") or []:
            code = _media_code(image.get("image_url"))
            if code is None:
                images.append(image)
                continue
            url = self.image_url(code) if inline_images else None
            if url is not None and len(url) <= 255:
                images.append({**image, "image_url": url})
        if "images" in payload:
            out["images"] = images
        if "variants" in payload:
            out["variants"] = [self._variant_for_send(v) for v in payload["variants"]]
        return out

    def _variant_for_send(self, variant: dict) -> dict:
        code = _media_code(variant.get("image_url"))
        if code is None:
            return variant
        url = self.image_url(code) if self.image_url is not None else None
        out = dict(variant)
        if url is not None and len(url) <= 255:
            out["image_url"] = url
        else:
            out.pop("image_url", None)
        return out

    # -- updates ----------------------------------------------------------------------------------
    async def _update_all(self, items: list[Item], result: LoadResult) -> None:
        if not items:
            return
        commit = result.commit
        items = await self._with_state(items, result)
        bodies: list[dict] = []
        for item in items:
            state = item.state or {}
            body = {k: v for k, v in item.payload.items() if k not in ("variants", "images", "custom_fields")}
            body["id"] = item.product_id
            body["custom_fields"] = self._custom_fields_update(item.payload.get("custom_fields") or [], state)
            bodies.append(body)
        by_id_body = {b["id"]: b for b in bodies}
        batch = await self.ctx.bc.update_products(bodies)
        refused = {int(e.item.get("id", 0)): e for e in batch.errors}
        answered = {int(p["id"]): p for p in batch.data if "id" in p}
        variant_updates: list[tuple[Item, dict]] = []
        for item in items:
            error = refused.get(item.product_id)
            if error is not None and error.status == 404:
                await self._recreate(item, result)  # the merchant deleted it in the store
                continue
            if error is not None:
                details = "; ".join(f"{k}: {v}" for k, v in (error.errors or {}).items())
                commit.errors.append(issue(item.label, f"BigCommerce refused the update ({error.status}): "
                                                       f"{error.title}" + (f" — {details}" if details else ""),
                                           ", ".join(map(str, error.errors or {})) or None))
                self.failed.add(item.key)
                commit.count("products", "failed")
                continue
            state = dict(item.state or {})
            product = answered.get(item.product_id)
            fields = (product or {}).get("custom_fields")
            added = any("id" not in f for f in by_id_body[item.product_id].get("custom_fields") or [])
            if fields is None and added:  # new fields' ids, else the next change would add them twice
                with contextlib.suppress(BigCommerceError):
                    fields = await self.ctx.bc.list_custom_fields(item.product_id)
            if fields is not None:  # ours: fields we knew, or named as the mapping names them
                known = {fid for _, fid in state.get("cf") or []}
                names = {f.get("name") for f in item.payload.get("custom_fields") or []}
                state["cf"] = [[f.get("name"), int(f["id"])] for f in fields
                               if "id" in f and (int(f["id"]) in known or f.get("name") in names)]
            await self._delete_stale_custom_fields(item, state)
            await self._sync_images(item, state, commit)
            variant_updates.append((item, state))
            adopted = item.adopted is not None
            # finishing a create that a killed worker left half done still counts as the create
            outcome = "created" if state.get("r") == self.run_id and state.get("o") == "created" else "updated"
            state.update(n=item.name, sku=item.sku, hidden=False, h=item.hash, r=self.run_id,
                         o=outcome, ch=state.get("ch", False) and not adopted)
            result.states[item.key] = state
            if not state["ch"]:
                result.to_assign.append(item.product_id)
            commit.count("products", outcome)
        await self._sync_variants(variant_updates, commit)

    async def _with_state(self, items: list[Item], result: LoadResult) -> list[Item]:
        """Known products without a sync state (an id map from elsewhere): read what the store holds
        (custom field and image ids) before updating, so nothing is added twice."""
        ready = []
        for item in items:
            if item.state is not None:
                ready.append(item)
                continue
            try:
                body = await self.ctx.bc.request("GET", f"/v3/catalog/products/{item.product_id}",
                                                 params={"include": INCLUDE})
            except BigCommerceNotFound:
                await self._recreate(item, result)
                continue
            item.state = self._state_from_product(item, (body or {}).get("data") or {})
            item.state["ch"] = False
            ready.append(item)
        return ready

    async def _recreate(self, item: Item, result: LoadResult) -> None:
        await run_sync(self.ctx.ledger.unmap, [item.key], list((item.state or {}).get("v") or {}))
        item.product_id, item.state, item.adopted = None, None, None
        await self._create(item, result)

    @staticmethod
    def _custom_fields_update(fields: list[dict], state: dict) -> list[dict]:
        """Known fields by id (matched by name, in order), new ones without: BigCommerce adds them."""
        free: dict[str, list[int]] = {}
        for name, fid in state.get("cf") or []:
            free.setdefault(name, []).append(fid)
        out = []
        for f in fields:
            ids = free.get(f.get("name"))
            out.append({"id": ids.pop(0), **f} if ids else dict(f))
        return out

    async def _delete_stale_custom_fields(self, item: Item, state: dict) -> None:
        wanted: dict[str, int] = {}
        for f in item.payload.get("custom_fields") or []:
            wanted[f.get("name")] = wanted.get(f.get("name"), 0) + 1
        keep = []
        for name, fid in state.get("cf") or []:
            if wanted.get(name, 0) > 0:
                wanted[name] -= 1
                keep.append([name, fid])
                continue
            try:
                await self.ctx.bc.delete_custom_field(item.product_id, fid)
            except BigCommerceError:
                keep.append([name, fid])  # tried again on the next change
        state["cf"] = keep

    async def _sync_images(self, item: Item, state: dict, commit: PageCommit) -> None:
        """Post the images whose media code is new, delete those no longer mapped; never resend one."""
        known: dict[str, int] = dict(state.get("img") or {})
        for code, image_id in list(known.items()):
            if code not in item.media:
                with contextlib.suppress(BigCommerceError):  # already gone: nothing to undo
                    await self.ctx.bc.delete_image(item.product_id, image_id)
                known.pop(code)
        state["img"] = known
        for position, code in enumerate(item.media):
            if code not in known:
                image_id = await self._post_image(item, code, position == 0, commit)
                if image_id is not None:
                    known[code] = image_id

    async def _sync_variants(self, pairs: list[tuple[Item, dict]], commit: PageCommit) -> None:
        """Changed variants in batches of 50 (by id); new ones after their option values exist."""
        updates: list[dict] = []
        creates: list[tuple[Item, dict, dict]] = []
        by_id: dict[int, tuple[Item, dict, str, str | None]] = {}
        for item, state in pairs:
            v: dict[str, list] = {k: list(x) for k, x in (state.get("v") or {}).items()}
            state["v"] = v
            planned = {str(x.get("sku")): x for x in item.variants}
            for sku, variant in planned.items():
                entry = v.get(sku)
                body_hash = _hash(_variant_body(variant))
                code = _media_code(variant.get("image_url"))
                if entry is None:
                    creates.append((item, state, variant))
                    continue
                if entry[1] == body_hash and entry[2] == code and len(entry) < 4:
                    continue
                body = {k: val for k, val in _variant_body(variant).items()}
                body["id"] = entry[0]
                if code != entry[2]:
                    sent = self._variant_for_send(variant)
                    if "image_url" in sent:
                        body["image_url"] = sent["image_url"]
                if len(entry) >= 4:
                    body["purchasing_disabled"] = False
                updates.append(body)
                by_id[entry[0]] = (item, state, body_hash, code)
            for sku, entry in v.items():
                if sku not in planned and len(entry) < 4:
                    # a variant gone from the PIM (or disabled): not purchasable, kept for its history
                    updates.append({"id": entry[0], "purchasing_disabled": True})
                    by_id[entry[0]] = (item, state, "", None)
        if updates:
            batch = await self.ctx.bc.update_variants(updates)
            refused = {int(e.item.get("id", 0)): e for e in batch.errors}
            for body in updates:
                item, state, body_hash, code = by_id[body["id"]]
                sku = next((s for s, e in state["v"].items() if e[0] == body["id"]), None)
                if sku is None:
                    continue
                error = refused.get(body["id"])
                if error is not None:
                    commit.warnings.append(issue(f"{item.label} / {sku}", f"BigCommerce refused the variant: "
                                                                          f"{error.title} {error.errors}"))
                    state["v"][sku][1] = None  # retried on the next run
                    continue
                if body.get("purchasing_disabled") is True:
                    state["v"][sku] = [body["id"], None, None, "disabled"]
                else:
                    state["v"][sku] = [body["id"], body_hash, code]
        if creates:
            await self._create_variants(creates, commit)

    async def _create_variants(self, creates: list[tuple[Item, dict, dict]], commit: PageCommit) -> None:
        bc = self.ctx.bc
        options_cache: dict[int, list[dict]] = {}
        bodies: list[dict] = []
        owners: list[tuple[Item, dict, dict]] = []
        for item, state, variant in creates:
            pid = item.product_id
            try:
                if pid not in options_cache:
                    options_cache[pid] = await bc.list_options(pid)
                option_values = []
                for ov in variant.get("option_values") or []:
                    option_values.append(await self._option_value(pid, ov, options_cache[pid]))
            except BigCommerceError as exc:
                commit.warnings.append(issue(f"{item.label} / {variant.get('sku')}",
                                             f"The new variant's options could not be created: {exc.title}"))
                continue
            body = {k: val for k, val in self._variant_for_send(variant).items() if k != "option_values"}
            body.update(product_id=pid, option_values=option_values)
            bodies.append(body)
            owners.append((item, state, variant))
        if not bodies:
            return
        batch = await bc.update_variants(bodies)
        made = {str(v.get("sku", "")).lower(): int(v["id"]) for v in batch.data if "id" in v}
        mapped = {}
        for item, state, variant in owners:
            sku = str(variant.get("sku"))
            vid = made.get(sku.lower())
            if vid is None:
                commit.warnings.append(issue(f"{item.label} / {sku}", "BigCommerce refused the new variant"))
                continue
            state["v"][sku] = [vid, _hash(_variant_body(variant)), _media_code(variant.get("image_url"))]
            mapped[sku] = vid
        await run_sync(self.ctx.ledger.map_variants, mapped)

    async def _option_value(self, pid: int, ov: dict, options: list[dict]) -> dict:
        name, label = ov.get("option_display_name"), str(ov.get("label"))
        option = next((o for o in options if o.get("display_name") == name), None)
        if option is None:
            option = await self.ctx.bc.create_option(
                pid, {"display_name": name, "type": "rectangles", "option_values": [{"label": label, "sort_order": 0}]})
            options.append(option)
        value = next((x for x in option.get("option_values") or [] if str(x.get("label")).lower() == label.lower()),
                     None)
        if value is None:
            value = await self.ctx.bc.create_option_value(pid, int(option["id"]), label)
            option.setdefault("option_values", []).append(value)
        return {"id": int(value["id"]), "option_id": int(option["id"])}

    # -- channel ----------------------------------------------------------------------------------
    async def _assign(self, result: LoadResult) -> None:
        ids = sorted(set(result.to_assign))
        if not ids:
            return
        lease = self.ctx.channel_lease()
        try:
            async with lease.held(wait=300):
                await self.ctx.bc.assign_channels(ids, self.ctx.channel_id)
        except (BigCommerceError, TimeoutError) as exc:
            # the products exist; they are assigned on the next page or run (state keeps ch=False)
            result.commit.warnings.append(issue("channel", f"Channel assignment postponed: {exc}"))
            return
        assigned = set(ids)
        keyed = await run_sync(self.ctx.ledger.product_ids, list(result.states))
        for key, state in result.states.items():
            pid = keyed.get(key)
            if pid in assigned:
                state["ch"] = True


def _variant_body(variant: dict) -> dict:
    """What a variant update sends: everything but its option values (fixed at creation) and image."""
    return {k: v for k, v in variant.items() if k not in ("option_values", "image_url")}


def _image_refusal(exc: BigCommerceError) -> bool:
    text = (exc.title + " " + json.dumps(exc.errors or {}, default=str)).lower()
    return exc.status in (400, 422, 207) and ("image" in text or "download" in text or "invalid_reason" in text)


__all__ = ["ProductLoader", "issue", "placeholder_url"]
