"""How one product reaches the store: a page of plans (service.transform builders' output) converges to
what the plans say, in the fewest requests, exactly once, touching only what is ours.

The walk of one plan:
1. its name is made unique per store (a Redis registry; a taken name gets " (SKU)" and a warning);
2. stale plans are dropped: built from PIM data read before the data the store holds now was read, or
   before the PIM deleted the item (events and pages are not ordered; the newest read wins);
3. it is classified against the store ledger (id map and sync state): unchanged (same hash) costs no
   write, but its product must still be in the store (`id:in`, 250 a request; one deleted by hand is
   created again); otherwise new or changed;
4. identity moves are settled first: a variant moved to another model, a simple product that became a
   variant (or the reverse) leaves its old place in the store, so its SKU is free;
5. a new plan is looked up by SKU (a product already in the store is adopted, never duplicated) unless
   another item of ours owns that product: then it is refused, naming both;
6. creates: one POST each with inline variants, images and custom fields, its URL unique and kept
   after; the id map is written as soon as BigCommerce confirms;
7. updates: 10 products per PUT (every owned field, clears included), custom fields by id, images
   (workers/sync/images.py) and variants (workers/sync/variants.py) converged;
8. channel assignment of created/adopted products, batched, under a per-store Redis lease;
9. the states are saved; a product with a part that did not go through is saved incomplete (no hash)
   and noted failed: the next sync (a delta's retry phase) tries it again.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import hashlib
import json
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from service.clients.bigcommerce_errors import BigCommerceConflict, BigCommerceError, BigCommerceNotFound
from service.store.imports import PageCommit
from service.store.leases import run_sync
from workers.sync import custom_fields
from workers.sync.context import SyncContext
from workers.sync.images import ImageSync, MediaURLs, images_from_answer, issue, known_images, placeholder_url
from workers.sync.variants import VariantSync, VariantWork, entries_from_answer

log = logging.getLogger("connector.sync.products")

CREATE_CONCURRENCY = 32  # creates in flight per page; the shared rate governor still paces them
MAX_NAME = 250
INCLUDE = "variants,images,custom_fields"
NOT_UPDATED = ("variants", "images", "custom_fields", "custom_url")  # sent apart, or kept from the create


def _hash(*parts: Any) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, separators=(",", ":"), default=str).encode()).hexdigest()


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
    variants: list[tuple[str, dict]]  # (variant uuid, variant as planned)
    media: list[str]
    hash: str
    name: str
    read_at: float
    state: dict | None = None
    product_id: int | None = None
    outcome: str | None = None
    adopted: dict | None = None  # the BigCommerce product found by SKU
    complete: bool = True


@dataclass
class LoadResult:
    commit: PageCommit = field(default_factory=PageCommit)
    states: dict[str, dict] = field(default_factory=dict)
    to_assign: list[int] = field(default_factory=list)


class _IdMapWrites:
    """Id-map writes of creates confirmed at about the same time, in one Redis transaction. Each create
    still waits for its own write before it counts, so "written as soon as BigCommerce confirms" holds."""

    def __init__(self, ctx: SyncContext) -> None:
        self.ctx = ctx
        self.pending: list[tuple[tuple, asyncio.Future]] = []
        self.flusher: asyncio.Task | None = None

    async def write(self, key: str, product_id: int, state: dict) -> None:
        done = asyncio.get_running_loop().create_future()
        # a snapshot: the create goes on changing its state (images posted alone) after this
        self.pending.append(((key, product_id, copy.deepcopy(state)), done))
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

    def __init__(self, ctx: SyncContext, image_url: Any = None, image_bytes: Any = None, *,
                 check_presence: bool = True) -> None:
        """`check_presence` False: the caller checks that unchanged products are still in the store
        itself (a full import's sweep, 250 a request)."""
        self.ctx = ctx
        self.check_presence = check_presence
        self.ledger = ctx.ledger
        self.run_id = ctx.run_id or ""
        self.images = ImageSync(ctx.bc, image_url, image_bytes)
        self.urls = MediaURLs(image_url)
        self.variants = VariantSync(ctx.bc, self.urls.variant_for_send, delete_gone=ctx.options.removed == "delete")
        self._id_maps = _IdMapWrites(ctx)
        self.failed: set[str] = set()  # keys whose write failed (a delta tries them again)
        self.disturbed: set[str] = set()  # other items whose store product this load took a variant from

    # -- public ---------------------------------------------------------------------------------
    async def load(self, plans: list[Any], commit: PageCommit) -> None:
        result = LoadResult(commit=commit)
        items = await self._prepare(plans, result)
        items = await self._fresh(items, commit)
        if items:
            await self._classify(items, result)
            await self._still_there(items, result)
            await self._settle_moves(items)
        new = [i for i in items if i.product_id is None]
        if new:
            await self._adopt(new, result)
        creates = [i for i in new if i.adopted is None and i.outcome is None]
        updates = [i for i in items if i.outcome is None and (i.product_id is not None or i.adopted is not None)]
        await self._create_all(creates, result)
        await self._update_all(updates, result)
        await self._assign(result)
        await self._save(result, [p.key for p in plans])

    async def hide(self, keys: list[str], commit: PageCommit, *, delete: bool = False,
                   deleted_keys: Iterable[str] = (), read_at: float | None = None) -> None:
        """Hide (or, for `deleted_keys` when `delete`, delete) known products that left the scope or
        the PIM. `deleted_keys` are what the PIM no longer has: no page read before now brings them back."""
        read_at = time.time() if read_at is None else read_at
        ledger = self.ledger
        deleted = list(deleted_keys)
        if deleted:
            await run_sync(ledger.note_gone, deleted, read_at)
        ids = await run_sync(ledger.product_ids, keys)
        states = await run_sync(ledger.product_states, keys)
        # written from data read later than the decision to hide: that write stands
        keys = [k for k in keys if float((states.get(k) or {}).get("w") or 0) <= read_at]
        gone = set(deleted) if delete else set()
        to_delete = [k for k in keys if k in gone and k in ids]
        to_hide = [k for k in keys if k not in gone and k in ids and not (states.get(k) or {}).get("hidden")]
        commit.count("products", "unchanged", len([k for k in keys if k in ids]) - len(to_delete) - len(to_hide))
        new_states: dict[str, dict] = {}
        if to_hide:
            result = await self.ctx.bc.update_products([{"id": ids[k], "is_visible": False} for k in to_hide])
            refused = {int(e.item.get("id", 0)): e for e in result.errors}
            for k in to_hide:
                error = refused.get(ids[k])
                if error is not None and error.status != 404:  # gone from the store: hidden enough
                    self.failed.add(k)
                    commit.count("products", "failed")
                    commit.errors.append(issue(k, "BigCommerce refused to hide it"))
                    continue
                state = dict(states.get(k) or {})
                state.update(hidden=True, h=None, r=self.run_id, o="hidden", w=read_at)
                new_states[k] = state
                commit.count("products", "hidden")
        if to_delete:
            await self.ctx.bc.delete_products([ids[k] for k in to_delete])
            names = {k: (states.get(k) or {}).get("n") for k in to_delete if (states.get(k) or {}).get("n")}
            await run_sync(ledger.release_names, names)
            await run_sync(ledger.unmap, to_delete)
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
            keys = getattr(plan, "variant_keys", {}) or {}
            variants = [(keys.get(str(v.get("sku"))) or f"sku:{str(v.get('sku')).lower()}", v)
                        for v in plan.variants]
            items.append(Item(key=plan.key, sku=plan.sku, label=label, payload=payload, variants=variants,
                              media=list(plan.media), hash=plan.content_hash,
                              name=str(payload.get("name") or plan.sku),
                              read_at=float(getattr(plan, "read_at", 0.0) or time.time())))
        if not items:
            return []
        owners = await run_sync(self.ledger.claim_names, {i.key: i.name for i in items})
        for item in items:
            if owners.get(item.key) != item.key:
                self._suffix_name(item, commit)
        for item in items:
            item.payload["name"] = item.name
            # the final name is part of what BigCommerce holds: a rename is a change
            item.hash = _hash(item.hash, item.name)
        return items

    async def _fresh(self, items: list[Item], commit: PageCommit) -> list[Item]:
        """Drop plans built from PIM data read before the data the store holds (or before the PIM
        deleted the item): events and pages are not ordered, the newest read wins."""
        if not items:
            return items
        keys = [i.key for i in items]
        states = await run_sync(self.ledger.product_states, keys)
        gone = await run_sync(self.ledger.gone_at, keys)
        fresh = []
        for item in items:
            item.state = states.get(item.key)  # what _classify goes on with
            written = float((item.state or {}).get("w") or 0)
            if item.read_at < written or item.read_at <= gone.get(item.key, 0):
                commit.count("products", "unchanged")
                continue
            fresh.append(item)
        return fresh

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
        """Against the ledger (the states `_fresh` read): unchanged (same hash) or to be written."""
        ids = await run_sync(self.ledger.product_ids, [i.key for i in items])
        renamed: dict[str, str] = {}
        for item in items:
            item.product_id = ids.get(item.key)
            if item.product_id is None or item.state is None:
                continue
            old_name = item.state.get("n")
            if old_name and old_name.lower() != item.name.lower():
                renamed[item.key] = old_name
            if item.state.get("h") == item.hash:
                # a page redone after a crash reports what the first attempt did, not "unchanged"
                outcome = item.state.get("o") if item.state.get("r") == self.run_id else "unchanged"
                item.outcome = outcome or "unchanged"
        if renamed:  # the old names are free for others
            await run_sync(self.ledger.release_names, renamed)

    async def _still_there(self, items: list[Item], result: LoadResult) -> None:
        """Unchanged products must still be in the store: one deleted there by hand is created again."""
        unchanged = [i for i in items if i.outcome is not None and i.state.get("r") != self.run_id]
        if unchanged and self.check_presence:
            present = await self.ctx.bc.existing_product_ids([i.product_id for i in unchanged])
            for item in unchanged:
                if item.product_id not in present:
                    await self._forget(item)
        for item in items:
            if item.outcome is None:
                continue
            result.commit.count("products", item.outcome)
            if not item.state.get("ch"):
                result.to_assign.append(item.product_id)
                result.states[item.key] = item.state

    async def _forget(self, item: Item) -> None:
        """The store lost this product (deleted by hand): it is new again."""
        await run_sync(self.ledger.unmap, [item.key])
        item.product_id, item.state, item.adopted, item.outcome = None, None, None, None

    async def _settle_moves(self, items: list[Item]) -> None:
        """A variant that moved (to another model, from or to a simple product) leaves its old place in
        the store first, so its SKU is free for the new one. Two ledger reads for the whole page."""
        bc, ledger = self.ctx.bc, self.ledger
        mine: dict[str, str] = {}  # uuid -> the key that wants it now (as a simple product or a variant)
        for item in items:
            if item.outcome is not None:
                continue
            if item.key.startswith("product:"):
                mine[item.key.partition(":")[2]] = item.key
            else:
                mine.update({uuid: item.key for uuid, _ in item.variants})
        if not mine:
            return
        owners = await run_sync(ledger.variant_owners, list(mine))
        variant_uuids = [u for u, key in mine.items() if key.startswith("model:")]
        simple = await run_sync(ledger.product_ids, [f"product:{u}" for u in variant_uuids])
        if simple:  # simple products that became a model's variants: they go
            with contextlib.suppress(BigCommerceNotFound):
                await bc.delete_products(list(simple.values()))
            await run_sync(ledger.unmap, list(simple))
        for uuid, owner in owners.items():
            if owner == mine[uuid]:
                continue
            pid = (await run_sync(ledger.product_ids, [owner])).get(owner)
            state = (await run_sync(ledger.product_states, [owner])).get(owner) or {}
            entry = (state.get("v") or {}).get(uuid)
            if pid is not None and entry is not None:
                await bc.delete_variant(pid, int(entry["id"]))
                state["v"].pop(uuid, None)
                used: dict[str, set[str]] = {}
                for other in state["v"].values():
                    for name, label in other.get("ov") or []:
                        used.setdefault(name, set()).add(label)
                await self.variants.drop_unused_options(pid, used)
                state["h"] = None  # no longer what its last plan said: synced again after this load
                await run_sync(ledger.save_product_states, {owner: state})
                self.disturbed.add(owner)
            await run_sync(ledger.drop_variant_owners, {uuid: owner})

    async def _adopt(self, items: list[Item], result: LoadResult) -> None:
        """Link products that already exist in the store with the same SKU (case-insensitive), unless an
        item of ours owns that product already: one store product is one PIM item."""
        found = await self.ctx.bc.get_products_by_skus([i.sku for i in items], include=INCLUDE)
        by_sku = {str(p.get("sku", "")).lower(): p for p in found}
        owners = await run_sync(self.ledger.owners_of, [int(p["id"]) for p in found])
        for item in items:
            product = by_sku.get(item.sku.lower())
            if product is None:
                continue
            owner = owners.get(int(product["id"]))
            if owner is not None and owner != item.key:
                result.commit.errors.append(issue(
                    item.label, f"The store product with SKU {item.sku} is already {owner}'s: {item.key} is not "
                                "merged into it. Give one of them another SKU in the PIM (or another mapping)",
                    "sku"))
                self.failed.add(item.key)
                result.commit.count("products", "failed")
                item.outcome = "failed"
                continue
            item.adopted = product
            item.product_id = int(product["id"])
            item.state = self._state_from_product(item, product)
            await run_sync(self.ledger.map_product, item.key, item.product_id, item.state)

    # -- creates ----------------------------------------------------------------------------------
    async def _create_all(self, items: list[Item], result: LoadResult) -> None:
        if not items:
            return
        gate = asyncio.Semaphore(CREATE_CONCURRENCY)
        # the biggest first: the page ends when its longest create does
        items = sorted(items, key=lambda i: -(len(i.media) + len(i.variants)))

        async def one(item: Item) -> None:
            async with gate:
                await self._create(item, result)

        await asyncio.gather(*(one(i) for i in items))

    async def _create(self, item: Item, result: LoadResult) -> None:
        commit = result.commit
        url = (item.payload.get("custom_url") or {}).get("url")
        if url:  # unique per store, and kept after the create (a rename does not move it)
            claimed = await run_sync(self.ledger.claim_url, item.key, url)
            item.payload["custom_url"] = {**item.payload["custom_url"], "url": claimed}
        payload = self.urls.send_payload(item.payload)
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
        state = self._state_from_product(item, product)
        # no hash yet: a crash before the images below are posted leaves it to be completed, not skipped
        state.update(h=None, r=self.run_id, o="created", ch=False, w=item.read_at,
                     url=(product.get("custom_url") or {}).get("url") or url)
        await self._id_maps.write(item.key, item.product_id, state)
        complete = await self.images.converge(item.product_id, item.media, state, item.label, commit)
        if len(state.get("v") or {}) < len(item.variants):  # a variant the create did not make: made alone
            work = VariantWork(item.product_id, item.label, item.variants, state)
            await self.variants.converge([work], commit)
            complete = complete and work.complete
        self._finish(item, state, complete)
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
                owners = await run_sync(self.ledger.owners_of, [int(p["id"]) for p in found])
                if found and owners.get(int(found[0]["id"]), item.key) == item.key:
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
        """What we know of a product just created or found: its images (by media code, in order), custom
        fields (by name) and variants (by the PIM's uuid, matched by SKU once)."""
        cf = [[f.get("name"), int(f["id"])] for f in product.get("custom_fields") or [] if "id" in f]
        if item.adopted is not None:  # a found product's other custom fields are the merchant's: not ours
            ours = {f.get("name") for f in item.payload.get("custom_fields") or []}
            cf = [entry for entry in cf if entry[0] in ours]
        v = entries_from_answer(item.variants, product)
        if item.adopted is not None:
            for entry in v.values():
                entry["h"] = None  # sent once at least: what the merchant had may differ
        return {"sku": item.sku, "n": item.name, "img": images_from_answer(item.media, product), "cf": cf,
                "v": v, "hidden": False}

    def _finish(self, item: Item, state: dict, complete: bool) -> None:
        """A product whose every part went through is done (its hash saved); else it stays to be
        completed: no hash, and noted failed so that the next sync tries it again."""
        state["h"] = item.hash if complete else None
        if not complete:
            self.failed.add(item.key)

    # -- updates ----------------------------------------------------------------------------------
    async def _update_all(self, items: list[Item], result: LoadResult) -> None:
        if not items:
            return
        commit = result.commit
        items = await self._with_state(items, result)
        bodies: list[dict] = []
        for item in items:
            state = item.state or {}
            body = {k: v for k, v in item.payload.items() if k not in NOT_UPDATED}
            body["id"] = item.product_id
            body["custom_fields"] = custom_fields.with_ids(item.payload.get("custom_fields") or [], state)
            bodies.append(body)
        by_id_body = {b["id"]: b for b in bodies}
        batch = await self.ctx.bc.update_products(bodies)
        refused = {int(e.item.get("id", 0)): e for e in batch.errors}
        answered = {int(p["id"]): p for p in batch.data if "id" in p}
        works: list[tuple[Item, dict, VariantWork]] = []
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
            wanted = item.payload.get("custom_fields") or []
            await custom_fields.note_ours(self.ctx.bc, item.product_id, wanted,
                                          by_id_body[item.product_id].get("custom_fields") or [],
                                          (answered.get(item.product_id) or {}).get("custom_fields"), state)
            fields_done = await custom_fields.delete_stale(self.ctx.bc, item.product_id, wanted, state)
            images_done = await self.images.converge(item.product_id, item.media, state, item.label, commit)
            item.complete = fields_done and images_done
            works.append((item, state, VariantWork(item.product_id, item.label, item.variants, state)))
        if works:
            await self.variants.converge([w for _, _, w in works], commit)
        for item, state, work in works:
            adopted = item.adopted is not None
            # finishing a create that a killed worker left half done still counts as the create
            outcome = "created" if state.get("r") == self.run_id and state.get("o") == "created" else "updated"
            state.update(n=item.name, sku=item.sku, hidden=False, r=self.run_id, o=outcome, w=item.read_at,
                         ch=state.get("ch", False) and not adopted)
            self._finish(item, state, item.complete and work.complete)
            result.states[item.key] = state
            if not state["ch"]:
                result.to_assign.append(item.product_id)
            commit.count("products", outcome)

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
        await self._forget(item)
        await self._create(item, result)

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
        keyed = await run_sync(self.ledger.product_ids, list(result.states))
        for key, state in result.states.items():
            pid = keyed.get(key)
            if pid in assigned:
                state["ch"] = True

    # -- saving ---------------------------------------------------------------------------------
    async def _save(self, result: LoadResult, keys: list[str]) -> None:
        """The states, unless a sync that read the PIM later wrote meanwhile: then ours is not kept and the
        item is noted to be tried again (from the PIM as it is then)."""
        states = dict(result.states)
        if states:
            now = await run_sync(self.ledger.product_states, list(states))
            for key, state in list(states.items()):
                if float((now.get(key) or {}).get("w") or 0) > float(state.get("w") or 0):
                    states.pop(key)
                    self.failed.add(key)
        owners = {u: key for key, state in states.items() for u in state.get("v") or {}}
        if owners:
            await run_sync(self.ledger.set_variant_owners, owners)
        await run_sync(self.ledger.save_product_states, states,
                       failed=[k for k in keys if k in self.failed], ok=[k for k in keys if k not in self.failed])


def _image_refusal(exc: BigCommerceError) -> bool:
    text = (exc.title + " " + json.dumps(exc.errors or {}, default=str)).lower()
    return exc.status in (400, 422, 207) and ("image" in text or "download" in text or "invalid_reason" in text)


__all__ = ["ProductLoader", "issue", "placeholder_url", "known_images"]
