"""The store (the sandbox's state dump) against tests/sync/desired.py: a list of differences, each one line.

The connector owns every product in the test's store (the test never adds one by hand), so a product is
matched to its PIM item by the item's SKU; `history` names every SKU an item ever had (renames, variants
that left), so what an item left behind is found too."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from tests.sync.desired import Desired, Product

CENT = 0.005


def _num(value: object) -> float | None:
    return None if value is None else float(value)  # type: ignore[arg-type]


def _same(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return abs(a - b) < CENT


class StoreView:
    def __init__(self, state: dict, digest: Callable[[int], str]) -> None:
        self.products = state["products"]
        self.by_sku = {p["sku"].lower(): p for p in self.products}
        self.brands = {b["id"]: b["name"] for b in state["brands"]}
        self.categories = {c["category_id"]: c for c in state["categories"]}
        self.digest = digest

    def path(self, cid: int) -> tuple[str, ...] | None:
        names: list[str] = []
        cat = self.categories.get(cid)
        while cat is not None:
            if not cat["is_visible"]:
                return None
            names.insert(0, cat["name"])
            cat = self.categories.get(cat["parent_id"])
        return tuple(names)


def _product(view: StoreView, want: Product) -> list[str]:
    sp = view.by_sku.get(want.sku.lower())
    tag = f"{want.key} ({want.sku})"
    if sp is None:
        return [f"{tag}: not in the store"]
    out: list[str] = []

    def check(name: str, got: object, expected: object, ok: bool | None = None) -> None:
        if not (got == expected if ok is None else ok):
            # a field a sub-model's value feeds is tagged: the checks of one known defect can be set aside
            mark = "[submodel] " if name in want.from_submodels else ""
            out.append(f"{mark}{tag}: {name} is {got!r}, wanted {expected!r}")

    check("name", sp["name"], want.name, sp["name"] in (want.name, f"{want.name} ({want.sku})"))
    check("is_visible", sp["is_visible"], want.visible)
    check("price", sp["price"], want.price, _same(_num(sp["price"]), want.price))
    check("weight", sp["weight"], want.weight, _same(_num(sp["weight"]), want.weight))
    paths = {view.path(c) for c in sp["categories"]}
    check("categories", sorted(map(str, paths)), sorted(map(str, want.categories)), paths == set(want.categories))
    for name, value in want.owned.items():
        if name == "sale_price":
            check(name, sp["sale_price"], value, _same(_num(sp["sale_price"]), value))
        elif name == "brand":
            check(name, view.brands.get(sp["brand_id"], ""), value)
        else:
            check(name, sp[name], value)
    check("custom fields", {c["name"]: c["value"] for c in sp["custom_fields"]}, want.custom_fields)
    images = sorted(sp["images"], key=lambda i: (i["sort_order"], i["id"]))
    check("images", [view.digest(i["id"])[:8] for i in images], [d[:8] for d in want.images],
          [view.digest(i["id"]) for i in images] == want.images)
    if images and not images[0]["is_thumbnail"]:
        out.append(f"{tag}: the first image is not the thumbnail")
    if want.key.startswith("model:"):
        store_variants = {v["sku"].lower(): v for v in sp["variants"]}
        for sku, wv in want.variants.items():
            sv = store_variants.get(sku)
            if sv is None:
                out.append(f"{tag}: variant {wv.sku} missing")
                continue
            options = frozenset((o["option_display_name"], o["label"]) for o in sv["option_values"])
            check(f"variant {wv.sku} options", sorted(options), sorted(wv.options), options == wv.options)
            check(f"variant {wv.sku} price", sv["price"], wv.price, _same(_num(sv["price"]), wv.price))
            check(f"variant {wv.sku} weight", sv["weight"], wv.weight, _same(_num(sv["weight"]), wv.weight))
            check(f"variant {wv.sku} purchasing_disabled", sv["purchasing_disabled"], wv.purchasing_disabled)
        for sku, sv in store_variants.items():
            if sku not in want.variants and not sv["purchasing_disabled"]:
                out.append(f"{tag}: variant {sv['sku']} is not the model's any more but can be bought")
    return out


def differences(view: StoreView, desired: Desired, history: dict[str, set[str]],
                keys: Iterable[str] | None = None) -> list[str]:
    """`keys` None: the whole store (after a full import); else only those items."""
    wanted_skus = {w.sku.lower(): w for w in desired.products.values()}
    wanted_variants = {s for w in desired.products.values() for s in w.variants}
    chosen = set(desired.products) | set(history) if keys is None else set(keys)
    out: list[str] = []
    for key in sorted(chosen):
        want = desired.products.get(key)
        if want is not None:
            out += _product(view, want)
        for sku in history.get(key, set()) | desired.skus.get(key, set()):
            sp = view.by_sku.get(sku)
            if sp is not None and sp["is_visible"] and sku not in wanted_skus:
                out.append(f"{key}: store product {sp['sku']} is visible, but no PIM item in scope has that SKU")
            for product in view.products:
                for variant in product["variants"] if product["sku"].lower() != sku else []:
                    if variant["sku"].lower() == sku and product["is_visible"] and not variant["purchasing_disabled"] \
                            and (sku not in wanted_variants or product["sku"].lower() not in wanted_skus
                                 or sku not in wanted_skus[product["sku"].lower()].variants):
                        out.append(f"{key}: variant {variant['sku']} of {product['sku']} can be bought, but is not "
                                   f"a wanted variant there")
    if keys is None:
        for sp in view.products:
            if sp["is_visible"] and sp["sku"].lower() not in wanted_skus:
                out.append(f"store product {sp['sku']} is visible but wanted by no PIM item")
    return sorted(set(out))
