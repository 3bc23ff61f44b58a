"""The import's completeness threshold is on the synced channel AND locale, and applies to variants: a
variant below it is not sold, a model with no variant above it is out of the scope ([converge] 13).

Items are made in a fresh category through the sandbox PIM's admin routes. The icecat mugs family requires
6 attributes on ecommerce (container_material, description, main_color, name, price in USD and EUR, sku);
clothing 8 (collection, color, description, ean, size, sku, variation_image, variation_name). The store
syncs en_US; the threshold is 80."""

from __future__ import annotations

import asyncio

import httpx

from service.settings import load_settings
from tests.import_env import import_env
from workers.sync.context import open_sync_context
from workers.sync.dirty import sync_dirty

CATEGORY = "cmpl_shop"
PRICE = [{"amount": "9.00", "currency": "USD"}, {"amount": "8.00", "currency": "EUR"}]


def _one(data) -> list[dict]:
    return [{"locale": None, "scope": None, "data": data}]


def _described(*locales: str) -> list[dict]:
    return [{"locale": loc, "scope": "ecommerce", "data": f"<p>{loc}</p>"} for loc in locales]


def _post(pim_url: str, path: str, body: dict) -> None:
    made = httpx.post(f"{pim_url}/sandbox/{path}", json=body, timeout=30)
    assert made.status_code == 201, made.text


def _seed(pim_url: str) -> None:
    _post(pim_url, "categories", {"code": CATEGORY, "parent": "master", "labels": {"en_US": "Completeness"}})
    mug = {"family": "mugs", "categories": [CATEGORY]}
    # en_US 100%
    _post(pim_url, "products", {**mug, "identifier": "cmpl-mug-en", "values": {
        "name": _one("English mug"), "container_material": _one("ceramic"), "main_color": _one("white"),
        "price": _one(PRICE), "description": _described("en_US")}})
    # fr_FR 83%, en_US 66% (no English description): complete enough in another locale only
    _post(pim_url, "products", {**mug, "identifier": "cmpl-mug-fr", "values": {
        "name": _one("French mug"), "container_material": _one("ceramic"),
        "price": _one(PRICE), "description": _described("fr_FR")}})
    # a one-level clothing model: root values, then variants on colour and size (no variation_image: 7/8)
    root = {"collection": _one(["summer_2016"]), "description": _described("en_US"), "name": _one("Tee"),
            "price": _one(PRICE)}
    for code in ("cmpl-tee", "cmpl-bare"):
        _post(pim_url, "product-models", {"code": code, "family_variant": "clothing_colorsize",
                                          "categories": [CATEGORY], "values": root})

    def variant(identifier: str, parent: str, size: str, *, ean: bool) -> dict:
        values = {"color": _one("blue"), "size": _one(size),
                  "variation_name": [{"locale": "en_US", "scope": None, "data": f"Tee {size}"}]}
        if ean:
            values["ean"] = _one(f"ean-{identifier}")
        return {"identifier": identifier, "parent": parent, "values": values}

    _post(pim_url, "products", variant("cmpl-tee-s", "cmpl-tee", "s", ean=True))  # 87%
    _post(pim_url, "products", variant("cmpl-tee-m", "cmpl-tee", "m", ean=False))  # 75%
    _post(pim_url, "products", variant("cmpl-bare-s", "cmpl-bare", "s", ean=False))  # 75%


def _scores(pim_url: str, identifier: str) -> dict[str, int]:
    env_http = httpx.Client(base_url=pim_url, timeout=30)
    token = env_http.post("/api/oauth/v1/token", auth=("sandbox-client", "sandbox-secret"),
                          json={"grant_type": "password", "username": "admin", "password": "admin"}).json()
    answer = env_http.get(f"/api/rest/v1/products/{identifier}", params={"with_completenesses": "true"},
                          headers={"Authorization": f"Bearer {token['access_token']}"})
    env_http.close()
    assert answer.status_code == 200, answer.text
    return {c["locale"]: c["data"] for c in answer.json()["completenesses"] if c["scope"] == "ecommerce"}


def _sold(state: dict) -> dict[str, set[str]]:
    """SKU -> the SKUs of its variants (empty for a simple product), of the products shown in the store."""
    return {p["sku"]: {v["sku"] for v in p.get("variants") or [] if v["sku"] != p["sku"]}
            for p in state["products"] if p.get("is_visible")}


def test_the_threshold_is_on_the_synced_locale_and_on_variants(redis_url, tmp_path):
    with import_env(redis_url, tmp_path, category=CATEGORY, options={"completeness": 80}) as env:
        _seed(env.pim_url)
        # the premises, as the PIM computes them
        assert _scores(env.pim_url, "cmpl-mug-en")["en_US"] == 100
        assert _scores(env.pim_url, "cmpl-mug-fr")["en_US"] < 80 <= _scores(env.pim_url, "cmpl-mug-fr")["fr_FR"]
        assert _scores(env.pim_url, "cmpl-tee-s")["en_US"] >= 80 > _scores(env.pim_url, "cmpl-tee-m")["en_US"]
        assert _scores(env.pim_url, "cmpl-bare-s")["en_US"] < 80
        run_id = env.start("full")
        env.work()
        assert env.run(run_id)["status"] in ("succeeded", "partial")
        sold = _sold(env.state())
        assert sold == {"cmpl-mug-en": set(), "cmpl-tee": {"cmpl-tee-s"}}, sold


def test_an_event_applies_the_threshold_to_variants(redis_url, tmp_path):
    with import_env(redis_url, tmp_path, category=CATEGORY, options={"completeness": 80}) as env:
        _seed(env.pim_url)
        settings = load_settings({k: env.env[k] for k in ("REDIS_URL", "SECRET_KEY", "BC_API_URL", "APP_URL",
                                                         "DATA_DIR", "ALLOW_PRIVATE_URLS")})

        async def event() -> None:
            async with open_sync_context(settings, env.conn, env.store, env.tenant, None) as ctx:
                await sync_dirty(ctx, model_codes=["cmpl-tee", "cmpl-bare"], categories=True)

        asyncio.run(event())
        assert _sold(env.state()) == {"cmpl-tee": {"cmpl-tee-s"}}


def test_a_delta_drops_a_variant_that_fell_below_the_threshold(redis_url, tmp_path):
    """The delta's variants phase sees a variant that fell below the threshold (it searches without the
    threshold) so its model is rebuilt: here without any variant left, so the product is hidden."""
    with import_env(redis_url, tmp_path, category=CATEGORY, options={"completeness": 80}) as env:
        clock = env.pim_app.state.pim
        clock.advance_clock(-3600)  # the items are older than the delta's window; only the edit is in it
        _seed(env.pim_url)
        clock.advance_clock(3600)
        run_id = env.start("full")
        env.work()
        assert _sold(env.state())["cmpl-tee"] == {"cmpl-tee-s"}
        cleared = httpx.patch(f"{env.pim_url}/sandbox/products/cmpl-tee-s", timeout=30,
                              json={"values": {"ean": [{"locale": None, "scope": None, "data": None}]}})
        assert cleared.status_code == 200, cleared.text
        assert _scores(env.pim_url, "cmpl-tee-s")["en_US"] < 80
        run_id = env.start("delta")
        env.work()
        run = env.run(run_id)
        assert run["status"] in ("succeeded", "partial") and run["progress"]["done"] == 1, run  # the variant alone
        assert _sold(env.state()) == {"cmpl-mug-en": set()}
