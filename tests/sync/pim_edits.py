"""Changes a merchant makes in the PIM, through the sandbox PIM's merchant routes (sandbox/pim/admin.py,
edits.py), and what the store should then show, read straight from the sandbox PIM's data (never through
the connector's transforms)."""

from __future__ import annotations

import httpx

from tests.import_env import Env


def pim(env: Env):
    return env.pim_app.state.pim


def patch_product(env: Env, identifier: str, body: dict) -> None:
    answer = httpx.patch(f"{env.pim_url}/sandbox/products/{identifier}", json=body, timeout=30)
    assert answer.status_code == 200, answer.text


def delete_product(env: Env, identifier: str) -> None:
    assert httpx.delete(f"{env.pim_url}/sandbox/products/{identifier}", timeout=30).status_code == 200


def _ok(answer: httpx.Response) -> None:
    assert answer.status_code < 300, answer.text


def rename_identifier(env: Env, old: str, new: str) -> None:
    """The PIM's product form: the identifier attribute changed (the uuid stays)."""
    _ok(httpx.post(f"{env.pim_url}/sandbox/products/{old}/rename", json={"identifier": new}, timeout=30))


def rename_option(env: Env, attribute: str, code: str, label: str) -> None:
    """Settings > Attributes > options: an option's en_US label changed (no product's `updated` moves)."""
    _ok(httpx.patch(f"{env.pim_url}/sandbox/attributes/{attribute}/options/{code}",
                    json={"labels": {"en_US": label}}, timeout=30))


def rename_attribute(env: Env, attribute: str, label: str) -> None:
    _ok(httpx.patch(f"{env.pim_url}/sandbox/attributes/{attribute}", json={"labels": {"en_US": label}}, timeout=30))


def _value(values: dict, code: str):
    entries = values.get(code) or []
    return entries[0]["data"] if entries else None


def expected_variants(env: Env, model_code: str) -> set[tuple[str, tuple]]:
    """{(SKU lower-cased, ((axis label, option label), ...))} of a root model (one or two levels), from the
    PIM's data: a variant's axis values are its own or its sub-model's."""
    store = pim(env).store
    catalog = store.catalog
    model = store.model(model_code)
    family_variant = next(v for v in catalog.family_variants[model["family"]] if v["code"] == model["family_variant"])
    axes = [a for level in family_variant["variant_attribute_sets"] for a in level["axes"]]
    subs = {m["code"].lower(): m for m in store.models.values()
            if str(m.get("parent") or "").lower() == model_code.lower()}
    out = set()
    for product in store.products.values():
        parent = str(product.get("parent") or "").lower()
        if (parent != model_code.lower() and parent not in subs) or not product.get("enabled", True):
            continue
        labels = []
        for axis in axes:
            code = _value(product["values"], axis) or _value(subs.get(parent, {}).get("values") or {}, axis)
            option = next(o for o in catalog.options[axis] if o["code"].lower() == str(code).lower())
            labels.append((catalog.attribute(axis)["labels"]["en_US"], option["labels"]["en_US"]))
        out.add((product["identifier"].lower(), tuple(labels)))
    return out


def store_variants(env: Env, model_code: str) -> set[tuple[str, tuple]]:
    """The same, as the store shows the model's product."""
    product = next(p for p in env.state()["products"] if p["sku"].lower() == model_code.lower())
    return {(v["sku"].lower(), tuple((ov["option_display_name"], ov["label"]) for ov in v["option_values"]))
            for v in product["variants"] if v.get("option_values")}


def store_option_labels(env: Env, model_code: str) -> dict[str, set[str]]:
    """{option display name: its values' labels}: what the storefront offers to choose from."""
    product = next(p for p in env.state()["products"] if p["sku"].lower() == model_code.lower())
    return {o["display_name"]: {v["label"] for v in o["option_values"]} for o in product.get("options") or []}
