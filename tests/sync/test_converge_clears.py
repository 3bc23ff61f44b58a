"""A value cleared in the PIM is cleared in the store (issue 19). Each test imports a small
catalog into the sandboxes, clears values as a merchant would in the sandbox PIM, runs a full import
again and reads the BigCommerce sandbox: every mapped field holds its documented empty
(docs/desired-state.md), never the old value."""

from __future__ import annotations

from tests.import_env import import_env
from tests.sync.converge_support import (
    edit_model,
    edit_product,
    full_import,
    product,
    use_mapping,
    value,
    variants,
)

BAG = "1111111171"  # a simple product, alone in master_accessories_bags
BAG_VALUES = {
    "description": value("<p>Soft <b>leather</b></p>", "en_US", "ecommerce"),
    "meta_title": value("The bag", "en_US"),
    "keywords": value("bag, leather", "en_US"),
    "meta_description": value("A leather bag", "en_US"),
    "brand": value("akeneo"),
    "ean": value("1234567890183"),
    "iso_sensitivity": value("012345678905"),  # mapped to upc below
    "camera_model_name": value("BAG-42"),  # mpn
    "thd": value(5),  # sale_price
    "snr": value(20),  # retail_price
    "power_requirements": value("Two years"),  # warranty
    "display_diagonal": value({"amount": 30, "unit": "CENTIMETER"}),  # width
}
BAG_MAPPING = {"upc": "iso_sensitivity", "mpn": "camera_model_name", "sale_price": "thd", "retail_price": "snr",
               "warranty": "power_requirements", "width": "display_diagonal"}


def test_values_cleared_in_the_pim_are_cleared_on_a_simple_product(redis_url, tmp_path):
    with import_env(redis_url, tmp_path, category="master_accessories_bags") as env:
        use_mapping(env, **BAG_MAPPING)
        edit_product(env, BAG, **BAG_VALUES)
        full_import(env)
        before = product(env, BAG)
        assert before["description"] == "<p>Soft <b>leather</b></p>"
        assert (before["sale_price"], before["retail_price"], before["width"]) == (5, 20, 30)
        assert before["brand_id"] != 0 and before["warranty"] == "Two years"
        assert (before["upc"], before["gtin"], before["mpn"]) == ("012345678905", "1234567890183", "BAG-42")
        assert (before["page_title"], before["search_keywords"], before["meta_description"]) == \
            ("The bag", "bag, leather", "A leather bag")

        edit_product(env, BAG, **{code: [{**entry, "data": None} for entry in entries]
                                  for code, entries in BAG_VALUES.items()})
        full_import(env)
        after = product(env, BAG)
        assert {k: after[k] for k in ("description", "sale_price", "retail_price", "width", "brand_id", "warranty",
                                      "upc", "gtin", "mpn", "page_title", "search_keywords",
                                      "meta_description")} == {
            "description": "", "sale_price": 0, "retail_price": 0, "width": 0, "brand_id": 0, "warranty": "",
            "upc": "", "gtin": "", "mpn": "", "page_title": "", "search_keywords": "", "meta_description": ""}
        assert after["calculated_price"] == after["price"]  # the promotion ended: no sale price any more
        assert after["name"] == before["name"] and after["weight"] == before["weight"]  # untouched values stay


def test_a_delta_import_clears_too(redis_url, tmp_path):
    with import_env(redis_url, tmp_path, category="master_accessories_bags") as env:
        use_mapping(env, sale_price="thd")
        edit_product(env, BAG, description=BAG_VALUES["description"], thd=value(5))
        full_import(env)
        assert product(env, BAG)["sale_price"] == 5
        edit_product(env, BAG, description=value(None, "en_US", "ecommerce"), thd=value(None))
        run = full_import(env, "delta")
        assert run["mode"] == "delta", run
        bag = product(env, BAG)
        assert (bag["description"], bag["sale_price"], bag["calculated_price"]) == ("", 0, bag["price"])


def test_fields_the_mapping_does_not_map_are_never_written(redis_url, tmp_path):
    """Not ours: a store value of an unmapped field (the merchant's) survives every import."""
    with import_env(redis_url, tmp_path, category="master_accessories_bags") as env:
        use_mapping(env, warranty=None, upc=None)
        full_import(env)
        bag = product(env, BAG)
        store = env.bc_state
        store.products[bag["id"]].update(warranty="Merchant's own", upc="999")
        edit_product(env, BAG, name=value("Bag (renamed)"))
        full_import(env)
        after = product(env, BAG)
        assert after["name"] == "Bag (renamed)"
        assert (after["warranty"], after["upc"]) == ("Merchant's own", "999")


APHRODITE = "aphrodite"  # a one-level model (colour and size) of master_women_blouses
XXL = "1111111114"  # one of its variants
BAG_IMAGE = "a/c/e/9/ace9b44f39b167c12b05ad9a06b64db67bdfd4da_bag.jpg"  # a media file the PIM holds
BELT_IMAGE = "2/4/0/2/2402474a8ef7b65ac3fae047d79b54ef6ba2349e_belt.jpg"
XS = "1111111118"  # another variant, before XXL in the size order


def test_values_cleared_in_the_pim_are_cleared_on_a_model_and_its_variant(redis_url, tmp_path):
    with import_env(redis_url, tmp_path, category="master_women_blouses") as env:
        variant_values = {"weight": value({"amount": 250, "unit": "GRAM"}), "variation_image": value(BAG_IMAGE)}
        edit_product(env, XXL, **variant_values)
        # the first variant's picture is the product's (the model has none of its own): XXL's is its own
        edit_product(env, XS, variation_image=value(BELT_IMAGE))
        full_import(env)
        model = product(env, APHRODITE)
        assert "gauze" in model["description"].lower()
        xxl = variants(model)[XXL]
        assert xxl["weight"] == 0.25 and "/media/" in xxl["image_url"]

        edit_product(env, XXL, **{code: value(None) for code in variant_values})
        edit_model(env, APHRODITE, description=value(None, "en_US", "ecommerce"))
        full_import(env)
        model = product(env, APHRODITE)
        assert model["description"] == ""
        xxl = variants(model)[XXL]
        # null weight: the product's applies again (the variants spec); "" is no image of its own
        assert (xxl["weight"], xxl["image_url"]) == (None, "")
        assert xxl["calculated_weight"] == model["weight"]


def test_a_variant_s_ended_promotion_is_cleared(redis_url, tmp_path):
    """Sale and retail prices read at each variant: cleared, they are null (the product's, here 0, apply)."""
    with import_env(redis_url, tmp_path, category="master_women_blouses") as env:
        use_mapping(env, sale_price="thd", retail_price="snr")
        edit_product(env, XXL, thd=value(199), snr=value(349))
        full_import(env)
        xxl = variants(product(env, APHRODITE))[XXL]
        assert (xxl["sale_price"], xxl["retail_price"], xxl["calculated_price"]) == (199, 349, 199)

        edit_product(env, XXL, thd=value(None), snr=value(None))
        full_import(env)
        model = product(env, APHRODITE)
        xxl = variants(model)[XXL]
        assert (xxl["sale_price"], xxl["retail_price"]) == (None, None)
        assert (model["sale_price"], model["retail_price"]) == (0, 0)
        assert xxl["calculated_price"] == xxl["price"] == 299  # sold at its price again
