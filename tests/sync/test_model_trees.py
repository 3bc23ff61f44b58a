"""Two-level product models (root -> colour sub-models -> size variants, icecat's clothing) reach the store
whole, through the import and the change-event path, and their sub-model attributes reach the product
([converge] 16 and 14). The sandbox PIM answers `parent IN` with direct children only, as Akeneo documents
[pim-api-docs content/rest-api/filter.md, "On their parent"]. Expectations come from the icecat CSVs."""

from __future__ import annotations

import asyncio
import csv

from sandbox.pim import DEFAULT_CATALOG
from service.settings import load_settings
from service.store.mapping import save_mapping
from tests.import_env import expected_catalog, import_env
from workers.sync.context import open_sync_context
from workers.sync.dirty import sync_dirty

ROOT = "model-tshirt-divided"


def _rows(name: str) -> list[dict]:
    with open(DEFAULT_CATALOG / name, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f, delimiter=";"))


def _variant_skus(state: dict, sku: str) -> set[str] | None:
    product = next((p for p in state["products"] if p["sku"].lower() == sku.lower()), None)
    return None if product is None else {v["sku"] for v in product.get("variants") or [] if v.get("sku") != sku}


def _two_level_roots() -> set[str]:
    return {m["parent"].lower() for m in _rows("product_models.csv") if m["parent"]}


def test_a_full_import_sends_every_variant_of_two_level_models(redis_url, tmp_path):
    expected = expected_catalog("tshirts")
    two_level = {code for code in expected.models if code.lower() in _two_level_roots()}
    assert ROOT in two_level and len(expected.models[ROOT]) == 12
    with import_env(redis_url, tmp_path, category="tshirts") as env:
        run_id = env.start("full")
        env.work()
        assert env.run(run_id)["status"] in ("succeeded", "partial")
        state = env.state()
        for code in two_level:
            assert _variant_skus(state, code) == expected.models[code], code


def test_an_event_on_a_sub_model_sends_its_whole_tree(redis_url, tmp_path):
    """The change-event path (sync_dirty, what the events worker runs) reads a model tree the same way."""
    expected = expected_catalog("tshirts")
    with import_env(redis_url, tmp_path, category="tshirts") as env:
        settings = load_settings({k: env.env[k] for k in ("REDIS_URL", "SECRET_KEY", "BC_API_URL", "APP_URL",
                                                         "DATA_DIR", "ALLOW_PRIVATE_URLS")})

        async def event() -> None:
            async with open_sync_context(settings, env.conn, env.store, env.tenant, None) as ctx:
                await sync_dirty(ctx, model_codes=["model-tshirt-divided-grey"], categories=True)

        asyncio.run(event())
        assert _variant_skus(env.state(), ROOT) == expected.models[ROOT]


def test_sub_model_attributes_reach_the_product(redis_url, tmp_path):
    """`composition` and `material` sit on the colour sub-models of model-tshirt-divided (the root has neither):
    the product's custom fields read them, the sub-models' distinct values joined by ", " in code order
    (docs/desired-state.md); a select's as its option labels."""
    models = {m["code"]: m for m in _rows("product_models.csv")}
    subs = sorted(c for c, m in models.items() if m["parent"].lower() == ROOT)
    labels = {o["code"]: o["label-en_US"] for o in _rows("attribute_options.csv") if o["attribute"] == "material"}
    assert not models[ROOT]["composition"] and not models[ROOT]["material"]

    def joined(values: list[str]) -> str:
        return ", ".join(dict.fromkeys(v for v in values if v))

    compositions = joined([models[c]["composition"] for c in subs])
    materials = joined([labels[models[c]["material"]] for c in subs if models[c]["material"]])
    assert ", " in compositions and ", " in materials  # the sub-models differ: both rules are exercised
    with import_env(redis_url, tmp_path, category="tshirts") as env:
        save_mapping(env.store, env.tenant, {"fields": {"name": "name", "sku": "sku", "price": "price",
                                                        "custom_fields": ["composition", "material"]},
                                             "families": {}})
        run_id = env.start("full")
        env.work()
        assert env.run(run_id)["status"] in ("succeeded", "partial")
        product = next(p for p in env.state()["products"] if p["sku"] == ROOT)
        fields = {f["name"]: f["value"] for f in product["custom_fields"]}
        assert fields == {"Composition": compositions, "Material": materials}
