"""The PIM mutations of the model-based test (test_converge_model.py): rules of a hypothesis state machine,
each a merchant's edit through the sandbox PIM's routes (or the store's, or the connector's configuration),
recording which items it touched. The syncs and the checks are the test's own (`Converge`)."""

from __future__ import annotations

import copy
import functools
import os
import time

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, precondition, rule

from tests.sync import harness
from tests.sync.catalog import media
from tests.sync.desired import desired_state

PICK = st.integers(min_value=0, max_value=97)
TEXTS = st.sampled_from(["Fish & chips", "Plain words", "Straw hat", "x"])
MARKUP = st.sampled_from(["Tote bag <Limited> edition", "1 < 2 & 3 > 2", "<b>bold</b>"])
AMOUNTS = st.sampled_from(["7.50", "19", "42.25", "0"])


def tolerant(fn):
    """A mutation the PIM refuses (422) changed nothing: noted, no item touched."""
    @functools.wraps(fn)
    def run(self, *args, **kwargs):
        try:
            return fn(self, *args, **kwargs)
        except harness.Refused:
            self.log[-1] += " (refused by the PIM)"
    return run


def live(name: str):
    """A rule set aside while its defect is known (the precondition keeps hypothesis from choosing it)."""
    return precondition(lambda self: self.enabled(name))


class PimMutations(RuleBasedStateMachine):
    """Needs `shop`, `history`, `pending`, `everything`, `hand_deleted`, `log`, `last` (set by the subclass) and
    `enabled(name)`."""

    shop: harness.Shop
    history: dict[str, set[str]]
    pending: set[str]
    everything: bool
    hand_deleted: set[str]
    log: list[str]
    last: float
    tree: list[dict]

    def enabled(self, name: str) -> bool:
        raise NotImplementedError

    # ---- the PIM as the test sees it

    @property
    def pim(self):
        return self.shop.pim_state().store

    def simples(self) -> list[dict]:
        return sorted((p for p in self.pim.products.values() if not p.get("parent")), key=lambda p: p["uuid"])

    def variants(self) -> list[dict]:
        return sorted((p for p in self.pim.products.values() if p.get("parent")), key=lambda p: p["uuid"])

    def roots(self) -> list[dict]:
        return sorted((m for m in self.pim.models.values() if not m.get("parent")), key=lambda m: m["code"].lower())

    def subs(self, family_variant: str | None = None) -> list[dict]:
        return sorted((m for m in self.pim.models.values() if m.get("parent") and
                       (family_variant is None or m["family_variant"] == family_variant)), key=lambda m: m["code"])

    def key_of(self, entity: dict) -> str:
        if "uuid" in entity and not entity.get("parent"):
            return f"product:{entity['uuid']}"
        model = entity if "uuid" not in entity else self.pim.model(entity["parent"])
        while model.get("parent"):
            model = self.pim.model(model["parent"])
        return f"model:{model['code'].lower()}"

    def desired(self, tree: list[dict] | None = None):
        return desired_state(self.shop.pim_state(), self.shop.mapping, self.shop.settings, harness.MAIN_CATEGORY,
                             tree)

    def snapshot_tree(self) -> None:
        """An import brings the store's category tree to the PIM's: what events are checked against."""
        self.tree = copy.deepcopy(self.shop.pim_state().catalog.categories)

    def touched(self, *entities: dict) -> None:
        for entity in entities:
            self.pending.add(self.key_of(entity))
        self.remember()

    def remember(self) -> None:
        for key, skus in self.desired().skus.items():
            self.history.setdefault(key, set()).update(skus)

    def note(self, text: str) -> None:
        now = time.monotonic()
        if self.log and os.environ.get("CONVERGE_VERBOSE"):
            self.log[-1] += f" ({now - self.last:.1f}s)"
        self.last = now
        self.log.append(text)


    # ---- PIM mutations

    def _value(self, attr: str, data) -> dict:
        catalog_attr = self.shop.pim_state().catalog.attribute(attr)
        locale = harness.LOCALE if catalog_attr["localizable"] else None
        scope = harness.CHANNEL if catalog_attr["scopable"] else None
        return {"values": {attr: [{"locale": locale, "scope": scope, "data": data}]}}

    def _product_or_root(self, pick: int) -> tuple[str, dict]:
        items = [("product", p) for p in self.simples()] + [("model", m) for m in self.roots()]
        return items[pick % len(items)]

    def _patch(self, kind: str, entity: dict, body: dict) -> None:
        if kind == "product":
            self.shop.patch_product(entity["identifier"], body)
        else:
            self.shop.patch_model(entity["code"], body)

    @rule(pick=PICK, attr=st.sampled_from(["name", "description", "keywords", "warranty", "ean"]), text=TEXTS)
    @tolerant
    @live("set_text")
    def set_text(self, pick: int, attr: str, text: str) -> None:
        self._set_text(pick, attr, text)

    def _set_text(self, pick: int, attr: str, text: str) -> None:
        kind, entity = self._product_or_root(pick)
        if kind == "model" and attr == "ean" or kind == "model" and attr == "warranty":
            return  # not a root attribute of the model families
        family = self.pim.families[(entity["family"] or "").lower()] if entity.get("family") else None
        if family is None or attr not in family["attributes"]:
            return
        if attr == "description":
            text = f"<p>{text.replace('&', '&amp;').replace('<', '&lt;')}</p>"
        self.note(f"set {attr} of {entity.get('identifier') or entity['code']} to {text!r}")
        self._patch(kind, entity, self._value(attr, text))
        self.touched(entity)

    @rule(pick=PICK, attr=st.sampled_from(["name", "keywords", "warranty"]), text=MARKUP)
    @tolerant
    @live("set_markup_text")
    def set_markup_text(self, pick: int, attr: str, text: str) -> None:
        """Text attributes holding characters HTML gives a meaning to: kept as written (escaped where the
        store takes HTML)."""
        self._set_text(pick, attr, text)

    @rule(pick=PICK, attr=st.sampled_from(["description", "keywords", "warranty", "ean", "sale_price", "brand",
                                           "material", "picture"]))
    @tolerant
    @live("clear_value")
    def clear_value(self, pick: int, attr: str) -> None:
        kind, entity = self._product_or_root(pick)
        if attr not in entity["values"]:
            return
        self.note(f"clear {attr} of {entity.get('identifier') or entity['code']}")
        self._patch(kind, entity, self._value(attr, None))
        self.touched(entity)

    @rule(pick=PICK, amount=AMOUNTS)
    @tolerant
    @live("set_price")
    def set_price(self, pick: int, amount: str) -> None:
        items = [p for p in self.simples() + self.variants() if "price" in self.pim.merged_values(p) or
                 p.get("parent") and "price" in p["values"]]
        items += [m for m in self.roots() if "price" in m["values"]]
        if not items:
            return
        entity = items[pick % len(items)]
        feeds_variants = "family_variant" in entity or bool(entity.get("parent"))
        if float(amount) == 0 and feeds_variants and not self.enabled("remove_variant_price"):
            return  # a variant's price (its own or its model's) set to 0 fails as its removal does (defect 3)
        self.note(f"set price of {entity.get('identifier') or entity['code']} to {amount}")
        self._patch("product" if "uuid" in entity else "model", entity,
                    self._value("price", [{"amount": amount, "currency": "EUR"}]))
        self.touched(entity)

    @rule(pick=PICK)
    @tolerant
    @live("remove_price")
    def remove_price(self, pick: int) -> None:
        items = [p for p in self.simples() if "price" in p["values"]]
        if not items:
            return
        entity = items[pick % len(items)]
        self.note(f"remove price of {entity['identifier']}")
        self.shop.patch_product(entity["identifier"], self._value("price", None))
        self.touched(entity)

    @rule(pick=PICK)
    @tolerant
    @live("remove_variant_price")
    def remove_variant_price(self, pick: int) -> None:
        items = [p for p in self.variants() if "price" in p["values"]]
        if not items:
            return
        entity = items[pick % len(items)]
        self.note(f"remove price of variant {entity['identifier']}")
        self.shop.patch_product(entity["identifier"], self._value("price", None))
        self.touched(entity)

    @rule(pick=PICK, size=st.sampled_from(["s", "m", "l"]))
    @tolerant
    @live("change_axis_value")
    def change_axis_value(self, pick: int, size: str) -> None:
        items = [v for v in self.variants() if "size" in v["values"]]
        if not items:
            return
        entity = items[pick % len(items)]
        self.note(f"size of {entity['identifier']} -> {size}")
        self.shop.patch_product(entity["identifier"], self._value("size", size))
        self.touched(entity)

    @rule(option=st.sampled_from([("color", "blue"), ("size", "m"), ("eu_size", "eu40"), ("brand", "acme")]),
          label=st.sampled_from(["Navy", "Medium", "Forty", "ACME Corp"]))
    @tolerant
    @live("rename_option")
    def rename_option(self, option: tuple[str, str], label: str) -> None:
        self.note(f"option {option} label -> {label}")
        self.shop.label_option(*option, label)
        self.everything = True
        self.schema_stale = self.schema_stale or self.events_cached

    @rule(attr=st.sampled_from(["color", "size", "material", "composition"]),
          label=st.sampled_from(["Colour", "Fit", "Fabric", "Made of"]))
    @tolerant
    @live("rename_attribute")
    def rename_attribute(self, attr: str, label: str) -> None:
        self.note(f"attribute {attr} label -> {label}")
        self.shop.label_attribute(attr, label)
        self.everything = True
        self.schema_stale = self.schema_stale or self.events_cached

    @rule(pick=PICK, suffix=st.sampled_from(["-B", "-NEW"]))
    @tolerant
    @live("rename_identifier")
    def rename_identifier(self, pick: int, suffix: str) -> None:
        items = self.simples() + self.variants()
        entity = items[pick % len(items)]
        new = entity["identifier"] + suffix
        if self.pim.product(new) or self.pim.model(new):
            return
        self.note(f"rename {entity['identifier']} -> {new}")
        self.shop.rename_product(entity["identifier"], new)
        self.touched(entity)

    @rule(pick=PICK)
    @tolerant
    @live("delete_product")
    def delete_product(self, pick: int) -> None:
        items = self.simples()
        if not items:
            return
        entity = items[pick % len(items)]
        self.note(f"delete product {entity['identifier']}")
        self.pending.add(self.key_of(entity))
        self.shop.delete_product(entity["identifier"])
        self.unseen_deletions |= self.pending  # what their change was about may be gone with it
        self.remember()

    @rule(pick=PICK)
    @tolerant
    @live("delete_variant")
    def delete_variant(self, pick: int) -> None:
        items = self.variants()
        if not items:
            return
        entity = items[pick % len(items)]
        self.note(f"delete variant {entity['identifier']}")
        key = self.key_of(entity)
        self.shop.delete_product(entity["identifier"])
        self.unseen_deletions.add(key)  # its model: a delta cannot see it, an event or a full import does
        self.unseen_deletions |= self.pending  # what their change was about may be gone with it
        self.remember()

    @rule(pick=PICK)
    @tolerant
    @live("delete_model")
    def delete_model(self, pick: int) -> None:
        items = self.roots() + self.subs()
        if not items:
            return
        entity = items[pick % len(items)]
        self.note(f"delete model {entity['code']}")
        if entity.get("parent"):  # a sub-model: its root stays, and a delta cannot see the deletion
            self.unseen_deletions.add(self.key_of(entity))
        else:
            self.pending.add(self.key_of(entity))
        self.shop.delete_model(entity["code"])
        # its variants go with it: a change pending elsewhere may have been about one of them (moved there)
        self.unseen_deletions |= self.pending - {self.key_of(entity)}
        self.remember()

    @rule(pick=PICK, to=PICK)
    @tolerant
    @live("move_variant")
    def move_variant(self, pick: int, to: int) -> None:
        items = [v for v in self.variants() if "size" in v["values"]]
        subs = self.subs("clothing_color_size")
        if not items or not subs:
            return
        entity, target = items[pick % len(items)], subs[to % len(subs)]
        self.note(f"move {entity['identifier']} to {target['code']}")
        before = self.key_of(entity)
        self.shop.patch_product(entity["identifier"], {"parent": target["code"]})
        self.pending.add(before)
        self.touched(entity)

    @rule(pick=PICK, to=PICK, size=st.sampled_from(["s", "l"]))
    @tolerant
    @live("product_to_variant")
    def product_to_variant(self, pick: int, to: int, size: str) -> None:
        items, subs = self.simples(), self.subs("clothing_color_size")
        if not items or not subs:
            return
        entity, target = items[pick % len(items)], subs[to % len(subs)]
        self.note(f"product {entity['identifier']} becomes a variant of {target['code']} ({size})")
        self.pending.add(self.key_of(entity))
        self.shop.patch_product(entity["identifier"], {"parent": target["code"], **self._value("size", size)})
        self.touched(entity)

    @rule(pick=PICK)
    @tolerant
    @live("variant_to_product")
    def variant_to_product(self, pick: int) -> None:
        items = self.variants()
        if not items:
            return
        entity = items[pick % len(items)]
        self.note(f"variant {entity['identifier']} becomes a simple product in hats")
        self.pending.add(self.key_of(entity))
        self.shop.patch_product(entity["identifier"], {"parent": None, "categories": ["hats"]})
        self.touched(entity)

    @rule(cat=st.sampled_from(["hats", "totes", "apparel"]), parent=st.sampled_from(["shop", "bags", "archive"]))
    @tolerant
    @live("move_category")
    def move_category(self, cat: str, parent: str) -> None:
        state = self.shop.pim_state()
        if cat not in self.pim.categories or parent not in self.pim.categories or \
                cat in state.store.category_descendants(parent) or cat == parent:
            return
        self.note(f"category {cat} under {parent}")
        self.shop.patch_category(cat, {"parent": parent})
        self.everything = True

    @rule(cat=st.sampled_from(["hats", "bags", "totes", "apparel"]), label=st.sampled_from(["Caps", "Sacks"]))
    @tolerant
    @live("rename_category")
    def rename_category(self, cat: str, label: str) -> None:
        if cat not in self.pim.categories:
            return
        label = f"{label} {cat}"  # distinct per category: siblings sharing a name get a suffix in the store
        self.note(f"category {cat} label -> {label}")
        self.shop.patch_category(cat, {"labels": {harness.LOCALE: label}})
        self.everything = True

    @rule(cat=st.sampled_from(["hats", "totes", "apparel"]))
    @tolerant
    @live("delete_category")
    def delete_category(self, cat: str) -> None:
        if cat not in self.pim.categories:
            return
        self.note(f"delete category {cat}")
        self.shop.delete_category(cat)
        self.everything = True

    @rule(pick=PICK, cat=st.sampled_from(["archive", "hats", "totes", "shop"]))
    @tolerant
    @live("move_product")
    def move_product(self, pick: int, cat: str) -> None:
        kind, entity = self._product_or_root(pick)
        if cat not in self.pim.categories:
            return
        self.note(f"{entity.get('identifier') or entity['code']} categories -> [{cat}]")
        self._patch(kind, entity, {"categories": [cat]})
        self.touched(entity)

    @rule(pick=PICK)
    @tolerant
    @live("toggle_enabled")
    def toggle_enabled(self, pick: int) -> None:
        items = self.simples() + self.variants()
        entity = items[pick % len(items)]
        self.note(f"{entity['identifier']} enabled -> {not entity['enabled']}")
        self.shop.patch_product(entity["identifier"], {"enabled": not entity["enabled"]})
        self.touched(entity)

    @rule(pick=PICK, image=st.integers(0, 4), attr=st.sampled_from(["picture", "picture_2"]))
    @tolerant
    @live("set_image")
    def set_image(self, pick: int, image: int, attr: str) -> None:
        items = [p for p in self.simples() if p["family"] == "accessories"] + \
                [m for m in self.roots() if m["family"] in ("clothing",)] if attr == "picture" else \
                [p for p in self.simples() if p["family"] == "accessories"]
        if not items:
            return
        entity = items[pick % len(items)]
        self.note(f"{attr} of {entity.get('identifier') or entity['code']} -> image {image}")
        self._patch("product" if "uuid" in entity else "model", entity, self._value(attr, media(image)))
        self.touched(entity)

    @rule(pick=PICK)
    @tolerant
    @live("reorder_images")
    def reorder_images(self, pick: int) -> None:
        items = [p for p in self.simples() if "picture" in p["values"] and "picture_2" in p["values"]]
        if not items:
            return
        entity = items[pick % len(items)]
        first, second = entity["values"]["picture"][0]["data"], entity["values"]["picture_2"][0]["data"]
        self.note(f"swap the pictures of {entity['identifier']}")
        self.shop.patch_product(entity["identifier"], {"values": {
            "picture": [{"locale": None, "scope": None, "data": second}],
            "picture_2": [{"locale": None, "scope": None, "data": first}]}})
        self.touched(entity)

    @rule(pick=PICK)
    @tolerant
    @live("change_family")
    def change_family(self, pick: int) -> None:
        items = self.simples()
        entity = items[pick % len(items)]
        family = "gadgets" if entity["family"] == "accessories" else "accessories"
        self.note(f"{entity['identifier']} family -> {family}")
        self.shop.patch_product(entity["identifier"], {"family": family})
        self.touched(entity)

    @rule(change=st.sampled_from(["custom_fields", "keywords", "images"]))
    @tolerant
    @live("change_mapping")
    def change_mapping(self, change: str) -> None:
        fields = dict(self.shop.mapping)
        if change == "custom_fields":
            fields["custom_fields"] = ["composition"] if len(fields["custom_fields"]) == 2 else ["material",
                                                                                                 "composition"]
        elif change == "keywords":
            fields["search_keywords"] = None if fields.get("search_keywords") else "keywords"
        else:
            fields["images"] = list(reversed(fields["images"]))
        self.note(f"mapping: {change} -> {fields.get(change, fields.get('search_keywords'))}")
        self.shop.set_mapping(fields)
        self.everything = True

    @rule(families=st.sampled_from([[], ["accessories", "clothing"], ["gadgets", "shoes"]]))
    @tolerant
    @live("families_filter")
    def families_filter(self, families: list[str]) -> None:
        self.note(f"families filter -> {families}")
        self.shop.set_settings(families=families)
        self.everything = True

    @rule(threshold=st.sampled_from([None, 100]))
    @tolerant
    @live("completeness_filter")
    def completeness_filter(self, threshold: int | None) -> None:
        self.note(f"completeness -> {threshold}")
        self.shop.set_settings(completeness=threshold)
        self.everything = True

    @rule(pick=PICK)
    @tolerant
    @live("delete_in_store")
    def delete_in_store(self, pick: int) -> None:
        products = self.shop.state()["products"]
        if not products:
            return
        product = products[pick % len(products)]
        keys = [k for k, skus in self.history.items() if product["sku"].lower() in skus and
                (k.startswith("model:") and product["sku"].lower() == k.partition(":")[2] or k.startswith("product"))]
        self.note(f"delete store product {product['sku']} by hand")
        self.shop.delete_store_product(product["id"])
        self.hand_deleted.update(keys)

    @rule(a=PICK, b=PICK)
    @tolerant
    @live("equal_names")
    def equal_names(self, a: int, b: int) -> None:
        items = [p for p in self.simples() if "name" in p["values"]]
        if len(items) < 2 or items[a % len(items)] is items[b % len(items)]:
            return
        first, second = items[a % len(items)], items[b % len(items)]
        name = first["values"]["name"][0]["data"]
        self.note(f"name of {second['identifier']} -> {name!r} (as {first['identifier']})")
        self.shop.patch_product(second["identifier"], self._value("name", name))
        self.touched(second)
