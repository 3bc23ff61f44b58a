"""The sandbox PIM's `parent` filters as Akeneo documents them [pim-api-docs content/rest-api/filter.md,
"On their parent"]: on products `=` one code is every descendant, `IN` a list is DIRECT children only; on
product models `IN` gives the sub-models of roots and `=` is not a documented operator. Expectations come
from the icecat CSVs, not from the sandbox's code."""

from __future__ import annotations

import csv
import json

import httpx
import pytest

from sandbox.pim import DEFAULT_CATALOG
from tests.sandbox.pim_client import pim_api_client

API = "/api/rest/v1"


def _rows(name: str) -> list[dict]:
    with open(DEFAULT_CATALOG / name, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f, delimiter=";"))


MODELS = _rows("product_models.csv")
PRODUCTS = _rows("products.csv")
ROOT = "model-tshirt-divided"  # two levels: root -> colour sub-models -> size variants
SUBS = sorted(m["code"] for m in MODELS if m["parent"].lower() == ROOT)
ONE_LEVEL = next(m["code"] for m in MODELS if m["family_variant"] == "clothing_colorsize" and not m["parent"])


def _children_of(codes: list[str]) -> set[str]:
    wanted = {c.lower() for c in codes}
    return {p["sku"] for p in PRODUCTS if p["parent"].lower() in wanted}


@pytest.fixture(scope="module")
def http():
    with pim_api_client() as client:
        yield client


def _search(http: httpx.Client, path: str, search: dict) -> httpx.Response:
    return http.get(f"{API}/{path}", params={"limit": 100, "search": json.dumps(search)})


def _codes(http: httpx.Client, path: str, search: dict) -> set[str]:
    answer = _search(http, path, search)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert "next" not in body["_links"]  # every answer here fits one page
    return {i.get("identifier") or i["code"] for i in body["_embedded"]["items"]}


def test_the_fixture_has_a_two_level_model_with_variants_under_its_sub_models():
    assert len(SUBS) == 3 and len(_children_of(SUBS)) == 12 and not _children_of([ROOT])


def test_products_parent_in_a_root_code_returns_its_direct_children_only(http):
    # a two-level root has no direct variant: its variants hang under its sub-models
    assert _codes(http, "products", {"parent": [{"operator": "IN", "value": [ROOT]}]}) == set()
    assert _codes(http, "products", {"parent": [{"operator": "IN", "value": [ONE_LEVEL]}]}) == \
        _children_of([ONE_LEVEL]) != set()


def test_products_parent_in_sub_model_codes_returns_their_variants(http):
    found = _codes(http, "products", {"parent": [{"operator": "IN", "value": [ROOT, *SUBS]}]})
    assert found == _children_of(SUBS)
    # case-insensitive, as every code in Akeneo (the CSV names `Model-tshirt-divided-blue` for some)
    upper = _codes(http, "products", {"parent": [{"operator": "IN", "value": [s.upper() for s in SUBS]}]})
    assert upper == found


def test_products_parent_equals_one_code_returns_every_descendant(http):
    assert _codes(http, "products", {"parent": [{"operator": "=", "value": ROOT}]}) == _children_of(SUBS)
    assert _codes(http, "products", {"parent": [{"operator": "=", "value": SUBS[0]}]}) == _children_of(SUBS[:1])


def test_product_models_parent_in_returns_the_sub_models_of_roots(http):
    assert _codes(http, "product-models", {"parent": [{"operator": "IN", "value": [ROOT]}]}) == set(SUBS)
    # a sub-model has no sub-model of its own
    assert _codes(http, "product-models", {"parent": [{"operator": "IN", "value": SUBS}]}) == set()


def test_product_models_parent_equals_is_not_an_operator(http):
    answer = _search(http, "product-models", {"parent": [{"operator": "=", "value": ROOT}]})
    assert answer.status_code == 422
    assert answer.json()["message"] == 'Filter on property "parent" is not supported or does not support operator "="'
