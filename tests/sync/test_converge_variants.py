"""A variant's `purchasing_disabled` follows its price on every sync (issue 19). A variant created
without a price cannot be bought; once the price arrives in the PIM, the next import makes it buyable."""

from __future__ import annotations

from tests.import_env import import_env
from tests.sync.converge_support import edit_model, full_import, product, value, variants

APHRODITE = "aphrodite"  # a one-level model of master_women_blouses; its price sits on the root model
PRICE = value([{"amount": "299.00", "currency": "EUR"}])  # the sandbox store's currency


def test_a_variant_created_without_a_price_becomes_buyable_when_the_price_arrives(redis_url, tmp_path):
    with import_env(redis_url, tmp_path, category="master_women_blouses") as env:
        edit_model(env, APHRODITE, price=value(None))
        full_import(env)
        model = product(env, APHRODITE)
        assert model["is_visible"] is False and variants(model)
        assert all(v["purchasing_disabled"] is True for v in variants(model).values())

        edit_model(env, APHRODITE, price=PRICE)
        full_import(env)
        model = product(env, APHRODITE)
        assert model["is_visible"] is True and model["price"] == 299
        assert {sku: (v["purchasing_disabled"], v["price"]) for sku, v in variants(model).items()} == \
            {sku: (False, 299) for sku in variants(model)}


def test_a_variant_whose_price_is_removed_can_no_longer_be_bought(redis_url, tmp_path):
    with import_env(redis_url, tmp_path, category="master_women_blouses") as env:
        full_import(env)
        assert not any(v["purchasing_disabled"] for v in variants(product(env, APHRODITE)).values())
        edit_model(env, APHRODITE, price=value(None))
        full_import(env)
        model = product(env, APHRODITE)
        assert model["is_visible"] is False
        # no price of its own any more (null: the product's 0 applies) and not purchasable
        assert {sku: (v["purchasing_disabled"], v["price"]) for sku, v in variants(model).items()} == \
            {sku: (True, None) for sku in variants(model)}


def test_a_variant_without_a_price_stays_unbuyable_when_its_product_changes_again(redis_url, tmp_path):
    with import_env(redis_url, tmp_path, category="master_women_blouses") as env:
        full_import(env)
        edit_model(env, APHRODITE, price=value(None))
        full_import(env)
        edit_model(env, APHRODITE, description=value("<p>Gauze, again</p>", "en_US", "ecommerce"))
        full_import(env)
        model = product(env, APHRODITE)
        assert "again" in model["description"]
        assert all(v["purchasing_disabled"] is True for v in variants(model).values())
