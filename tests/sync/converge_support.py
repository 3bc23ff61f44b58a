"""Shared steps of the convergence tests: a tenant on both sandboxes with a chosen mapping, merchant edits
in the sandbox PIM (its `/sandbox/...` routes, as a merchant's save), full imports run by a real worker,
and the store read back from the BigCommerce sandbox's state."""

from __future__ import annotations

import httpx

from service.store.mapping import save_mapping
from service.transform.mapping import suggest_mapping
from tests.import_env import Env
from tests.transform.icecat import icecat


def use_mapping(env: Env, families: dict | None = None, **fields) -> None:
    """The suggested mapping with `fields` on top, saved as the merchant would."""
    doc = suggest_mapping(icecat().catalog).to_json()
    doc["fields"].update(fields)
    if families is not None:
        doc["families"] = families
    save_mapping(env.store, env.tenant, doc)


def edit_product(env: Env, identifier: str, **values) -> None:
    """One merchant save of a product: `values` as attribute -> [{locale, scope, data}] (data None clears)."""
    response = httpx.patch(f"{env.pim_url}/sandbox/products/{identifier}", json={"values": values}, timeout=30)
    assert response.status_code == 200, response.text


def edit_model(env: Env, code: str, **values) -> None:
    response = httpx.patch(f"{env.pim_url}/sandbox/product-models/{code}", json={"values": values}, timeout=30)
    assert response.status_code == 200, response.text


def value(data, locale: str | None = None, scope: str | None = None) -> list[dict]:
    return [{"locale": locale, "scope": scope, "data": data}]


def full_import(env: Env, mode: str = "full") -> dict:
    run_id = env.start(mode)
    env.work()
    run = env.run(run_id)
    assert run["status"] == "succeeded", run
    return run


def product(env: Env, sku: str) -> dict:
    """The store's product with this SKU, with its variants (by SKU) as the sandbox holds them."""
    found = [p for p in env.state()["products"] if p["sku"].lower() == sku.lower()]
    assert len(found) == 1, [p["sku"] for p in env.state()["products"]]
    return found[0]


def variants(found: dict) -> dict[str, dict]:
    return {v["sku"]: v for v in found.get("variants") or [] if v.get("option_values")}
