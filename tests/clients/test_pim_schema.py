"""load_catalog against the sandbox PIM and load_store_settings against the sandbox store, over real HTTP."""

from __future__ import annotations

import asyncio

import pytest

from sandbox.bigcommerce import create_app as create_store_app
from sandbox.pim import create_app as create_pim_app
from service.clients.akeneo import AkeneoClient
from service.clients.akeneo_errors import AkeneoUnreachable
from service.clients.bigcommerce import BigCommerceClient
from service.pim_schema import load_catalog, load_store_settings, option_attributes_for
from service.transform.mapping import Mapping, suggest_mapping
from tests.servers import serve

CLIENT = ("sandbox-client", "sandbox-secret", "admin", "admin")


@pytest.fixture(scope="module")
def pim_url():
    app = create_pim_app()
    with serve(app) as base_url:
        yield base_url


def run(coro):
    return asyncio.run(coro)


async def _catalog(url: str, **kwargs):
    async with AkeneoClient(url, *CLIENT, allow_private_addresses=True) as pim:
        catalog = await load_catalog(pim, **kwargs)
        return catalog, pim.requests_made


def test_load_catalog_reads_the_schema(pim_url):
    catalog, requests = run(_catalog(pim_url, option_attributes=["color", "size", "not_an_attribute"]))
    assert len(catalog.attributes) == 77
    assert catalog.attributes["weight"]["metric_family"] == "Weight"
    assert "_links" not in catalog.attributes["weight"]
    assert len(catalog.families) == 17
    assert catalog.families["clothing"]["attribute_as_label"] == "variation_name"
    assert set(catalog.family_variants) >= {"clothing/clothing_color_size", "shoes/shoes_size", "led_tvs/tv"}
    levels = catalog.family_variants["clothing/clothing_color_size"]["variant_attribute_sets"]
    assert [(lv["level"], lv["axes"]) for lv in levels] == [(1, ["color"]), (2, ["size"])]
    assert set(catalog.options) == {"color", "size"}
    assert catalog.options["color"]["blue"]["labels"]["fr_FR"] == "Bleu"
    weight = catalog.measurement_families["Weight"]
    assert weight["standard_unit_code"] == "KILOGRAM"
    assert weight["units"]["GRAM"]["convert_from_standard"] == [{"operator": "mul", "value": "0.001"}]
    # token + attributes + families + measurement families + 17 family variant lists + 2 option lists
    assert requests == 1 + 3 + 17 + 2


def test_load_catalog_with_a_mapping_loads_the_options_it_needs(pim_url):
    catalog, _ = run(_catalog(pim_url))
    assert catalog.options == {}
    mapping = suggest_mapping(catalog)
    mapping = Mapping(1, {**mapping.fields, "custom_fields": ["collection", "release_date"]},
                      {"webcams": {"brand": "camera_brand"}})
    wanted = option_attributes_for(mapping, catalog)
    # brand (mapped), collection (custom field), camera_brand (override), the variant axes
    assert wanted == {"brand", "collection", "camera_brand", "color", "size", "eu_shoes_size", "material"}
    loaded, _ = run(_catalog(pim_url, mapping=mapping))
    assert set(loaded.options) == wanted
    assert "display_diagonal" not in loaded.options  # a metric axis has no options


def test_load_catalog_raises_typed_errors(pim_url):
    with pytest.raises(AkeneoUnreachable):
        run(_catalog("http://127.0.0.1:9"))


def test_list_measurement_families_is_a_list(pim_url):
    async def go():
        async with AkeneoClient(pim_url, *CLIENT, allow_private_addresses=True) as pim:
            return await pim.list_measurement_families()

    families = run(go())
    assert {f["code"] for f in families} >= {"Weight", "Length"}


@pytest.mark.parametrize(("weight_units", "expected"), [("KGS", "KGS"), ("LBS", "LBS")])
def test_load_store_settings(weight_units, expected):
    app = create_store_app()
    app.state.bc.create_store("abc123", token="tok", weight_units=weight_units)
    with serve(app) as base_url:
        async def go():
            async with BigCommerceClient("abc123", "tok", api_url=base_url) as bc:
                return await load_store_settings(bc)

        settings = run(go())
    assert settings.currency == "EUR"  # the sandbox store's currency
    assert settings.weight_units == expected
    assert settings.dimension_units == "Centimeters"
