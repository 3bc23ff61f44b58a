"""A model's variants in the store converge to the plan's, by the PIM's identity (variant uuids).

State `v`: {variant uuid: {"id": BC variant id, "sku", "h": hash of the fields sent, "ov": the option
labels [(option display name, value label)...], "img": media code of its image}}.

For one product, in this order (each step frees what the next needs):
1. variants no longer planned (deleted in the PIM, out of scope) are deleted when the import setting
   `removed` is `delete`, else kept with `purchasing_disabled: true` (their history and stock stay; one
   that comes back is sold again); a variant that moved to another item (another model, a simple
   product) is deleted by the loader before its new owner writes it (products.py, `_settle_moves`);
2. variants whose options changed (an axis value fixed, an option or axis label renamed) are deleted
   and created again: BigCommerce fixes a variant's option values when it is created;
3. changed variants are updated, 50 a request (`purchasing_disabled` always sent, true or false);
4. new variants are created, after their option values exist;
5. option values (and options) no variant uses any more are deleted.
A refused variant is an error of the run and leaves the product incomplete: it is tried again on the next
sync, never forgotten.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from service.clients.bigcommerce import BigCommerceClient
from service.clients.bigcommerce_errors import BigCommerceError
from service.store.imports import PageCommit
from workers.sync.images import issue, media_code


def _hash(*parts: Any) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, separators=(",", ":"), default=str).encode()).hexdigest()


def variant_fields(variant: dict) -> dict:
    """What a variant update sends: everything but its option values (fixed at creation) and image."""
    return {k: v for k, v in variant.items() if k not in ("option_values", "image_url")}


def option_labels(variant: dict) -> list[list[str]]:
    return [[str(ov.get("option_display_name")), str(ov.get("label"))] for ov in variant.get("option_values") or []]


def entry_for(variant: dict, variant_id: int) -> dict:
    fields = variant_fields(variant)
    return {"id": int(variant_id), "sku": str(variant.get("sku")), "h": _hash(fields),
            "ov": option_labels(variant), "img": media_code(variant.get("image_url"))}


def entries_from_answer(plan_variants: list[tuple[str, dict]], product: dict) -> dict[str, dict]:
    """{uuid: entry} of a just-created (or adopted) product's variants, matched by SKU once."""
    by_sku = {str(v.get("sku", "")).lower(): v for v in product.get("variants") or []
              if v.get("sku") and v.get("option_values")}
    out = {}
    for uuid, variant in plan_variants:
        found = by_sku.get(str(variant.get("sku")).lower())
        if found is not None:
            entry = entry_for(variant, int(found["id"]))
            found_labels = [[str(ov.get("option_display_name")), str(ov.get("label"))]
                            for ov in found.get("option_values") or []]
            if found_labels != entry["ov"]:
                entry["ov"] = found_labels  # adopted with other options: fixed on this sync
            out[uuid] = entry
    return out


@dataclass
class VariantWork:
    """One product's variants to converge."""

    product_id: int
    label: str
    planned: list[tuple[str, dict]]  # (uuid, variant as sent), in the plan's order
    state: dict
    complete: bool = True
    to_delete: list[tuple[str, int]] = field(default_factory=list)
    to_retire: list[tuple[str, int]] = field(default_factory=list)
    to_create: list[tuple[str, dict]] = field(default_factory=list)
    to_update: list[tuple[str, dict]] = field(default_factory=list)


class VariantSync:
    def __init__(self, bc: BigCommerceClient, for_send: Any, *, delete_gone: bool = False) -> None:
        self.bc = bc
        self.for_send = for_send  # variant -> variant with a real image URL (or without one)
        self.delete_gone = delete_gone  # the import setting `removed` is `delete`

    def plan(self, work: VariantWork) -> None:
        entries: dict[str, dict] = dict(work.state.get("v") or {})
        planned = dict(work.planned)
        for uuid, entry in entries.items():
            if uuid in planned:
                continue
            if self.delete_gone:
                work.to_delete.append((uuid, int(entry["id"])))
            elif not entry.get("off"):
                work.to_retire.append((uuid, int(entry["id"])))
        for uuid, variant in work.planned:
            entry = entries.get(uuid)
            if entry is None:
                work.to_create.append((uuid, variant))
            elif entry.get("ov") != option_labels(variant):
                work.to_delete.append((uuid, int(entry["id"])))
                work.to_create.append((uuid, variant))
            elif entry.get("off") or entry.get("h") != _hash(variant_fields(variant)) or entry.get("img") != media_code(
                    variant.get("image_url")):
                work.to_update.append((uuid, variant))
        # a kept (unbuyable) variant holding the options a new one needs makes way: the store takes one
        # variant per combination of option values
        wanted = {tuple(map(tuple, option_labels(v))) for _, v in work.to_create}
        for uuid, entry in entries.items():
            holds = tuple(map(tuple, entry.get("ov") or []))
            if uuid not in planned and holds in wanted and (entry.get("off") or (uuid, int(entry["id"])) in work.to_retire):
                work.to_retire = [r for r in work.to_retire if r[0] != uuid]
                work.to_delete.append((uuid, int(entry["id"])))

    async def converge(self, works: list[VariantWork], commit: PageCommit) -> None:
        for work in works:
            self.plan(work)
            work.state["v"] = dict(work.state.get("v") or {})
        await self._delete(works, commit)
        await self._update(works, commit)
        for work in works:
            if work.to_create:
                await self._create(work, commit)
            if work.to_create or work.to_delete:
                await self._drop_unused_options(work)

    async def _delete(self, works: list[VariantWork], commit: PageCommit) -> None:
        for work in works:
            for uuid, variant_id in work.to_delete:
                try:
                    await self.bc.delete_variant(work.product_id, variant_id)
                except BigCommerceError as exc:
                    work.complete = False
                    commit.errors.append(issue(work.label, f"A variant could not be removed: {exc.title} "
                                                             "(tried again on the next sync)", "variants"))
                    continue
                work.state["v"].pop(uuid, None)

    async def _update(self, works: list[VariantWork], commit: PageCommit) -> None:
        bodies: list[dict] = []
        owners: dict[int, tuple[VariantWork, str, dict | None]] = {}
        for work in works:
            for uuid, variant_id in work.to_retire:  # not sold any more; kept with its history
                bodies.append({"id": variant_id, "purchasing_disabled": True})
                owners[variant_id] = (work, uuid, None)
            for uuid, variant in work.to_update:
                entry = work.state["v"].get(uuid)
                if entry is None:
                    continue
                body = {**variant_fields(variant), "id": int(entry["id"])}
                body.setdefault("purchasing_disabled", False)  # always said: a price that arrives sells
                code = media_code(variant.get("image_url"))
                if code != entry.get("img"):
                    sent = self.for_send(variant)
                    if "image_url" in sent:
                        body["image_url"] = sent["image_url"]
                bodies.append(body)
                owners[int(entry["id"])] = (work, uuid, variant)
        if not bodies:
            return
        batch = await self.bc.update_variants(bodies)
        refused = {int(e.item.get("id", 0)): e for e in batch.errors}
        for variant_id, (work, uuid, variant) in owners.items():
            error = refused.get(variant_id)
            if variant is None:  # a retirement
                if error is None or error.status == 404:
                    entry = work.state["v"].get(uuid)
                    if error is None and entry is not None:
                        work.state["v"][uuid] = {**entry, "off": True, "h": None}
                    else:
                        work.state["v"].pop(uuid, None)
                else:
                    work.complete = False
                continue
            if error is not None:
                work.complete = False
                if error.status == 404:  # deleted in the store by hand: made again
                    work.state["v"].pop(uuid, None)
                    work.to_create.append((uuid, variant))
                    continue
                commit.errors.append(issue(f"{work.label} / {variant.get('sku')}",
                                             f"BigCommerce refused the variant: {error.title} {error.errors or ''} "
                                             "(tried again on the next sync)", "variants"))
                continue
            work.state["v"][uuid] = entry_for(variant, variant_id)

    async def _create(self, work: VariantWork, commit: PageCommit) -> None:
        try:
            options = await self.bc.list_options(work.product_id)
        except BigCommerceError as exc:
            work.complete = False
            commit.errors.append(issue(work.label, f"The variants' options could not be read: {exc.title}",
                                         "variants"))
            return
        bodies, owners = [], []
        for uuid, variant in work.to_create:
            try:
                values = [await self._option_value(work.product_id, ov, options)
                          for ov in variant.get("option_values") or []]
            except BigCommerceError as exc:
                work.complete = False
                commit.errors.append(issue(f"{work.label} / {variant.get('sku')}",
                                             f"The new variant's options could not be created: {exc.title}",
                                             "variants"))
                continue
            body = {k: v for k, v in self.for_send(variant).items() if k != "option_values"}
            body.setdefault("purchasing_disabled", False)
            body.update(product_id=work.product_id, option_values=values)
            bodies.append(body)
            owners.append((uuid, variant))
        if not bodies:
            return
        batch = await self.bc.update_variants(bodies)
        made = {str(v.get("sku", "")).lower(): int(v["id"]) for v in batch.data if "id" in v}
        errors = {str(e.item.get("sku", "")).lower(): e for e in batch.errors}
        for uuid, variant in owners:
            sku = str(variant.get("sku"))
            variant_id = made.get(sku.lower())
            if variant_id is None:
                work.complete = False
                error = errors.get(sku.lower())
                why = f"{error.title} {error.errors or ''}" if error is not None else "no answer for it"
                commit.errors.append(issue(f"{work.label} / {sku}", f"BigCommerce refused the new variant: "
                                                                      f"{why} (tried again on the next sync)",
                                             "variants"))
                continue
            work.state["v"][uuid] = entry_for(variant, variant_id)

    async def _option_value(self, product_id: int, ov: dict, options: list[dict]) -> dict:
        name, label = ov.get("option_display_name"), str(ov.get("label"))
        option = next((o for o in options if o.get("display_name") == name), None)
        if option is None:
            option = await self.bc.create_option(
                product_id, {"display_name": name, "type": "rectangles",
                             "option_values": [{"label": label, "sort_order": 0}]})
            options.append(option)
        value = next((x for x in option.get("option_values") or [] if str(x.get("label")) == label), None)
        if value is None:
            # the same label in another case (a renamed option): its variants went in step 1; the store
            # compares labels case-insensitively, so the old value goes before the new one comes
            for old in [x for x in option.get("option_values") or [] if str(x.get("label")).lower() == label.lower()]:
                await self.bc.delete_option_value(product_id, int(option["id"]), int(old["id"]))
                option["option_values"].remove(old)
            value = await self.bc.create_option_value(product_id, int(option["id"]), label)
            option.setdefault("option_values", []).append(value)
        return {"id": int(value["id"]), "option_id": int(option["id"])}

    async def _drop_unused_options(self, work: VariantWork) -> None:
        used: dict[str, set[str]] = {}
        for _, variant in work.planned:
            for name, label in option_labels(variant):
                used.setdefault(name, set()).add(label)
        for entry in (work.state.get("v") or {}).values():  # retired variants keep their options
            if entry.get("off"):
                for name, label in entry.get("ov") or []:
                    used.setdefault(name, set()).add(label)
        if not await self.drop_unused_options(work.product_id, used):
            work.complete = False  # tried again on the next sync

    async def drop_unused_options(self, product_id: int, used: dict[str, set[str]]) -> bool:
        """Option values (and options) that no variant uses: the store offers only what is sold."""
        try:
            for option in await self.bc.list_options(product_id):
                name = str(option.get("display_name"))
                if name not in used:
                    await self.bc.delete_option(product_id, int(option["id"]))
                    continue
                for value in option.get("option_values") or []:
                    if str(value.get("label")) not in used[name]:
                        await self.bc.delete_option_value(product_id, int(option["id"]), int(value["id"]))
        except BigCommerceError:
            return False
        return True
