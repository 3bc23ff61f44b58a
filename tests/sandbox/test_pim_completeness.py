"""The sandbox PIM's completeness as Akeneo computes and filters it: per channel AND locale, a price
collection complete only with an amount in every currency of the channel (pim-community-dev,
Completeness/Checker/PriceCompleteChecker.php), and the `completeness` filter's per-locale form
`GREATER OR EQUALS THAN ON ALL LOCALES` with `locales` [pim-api-docs content/rest-api/filter.md, "On their
completeness"]. Products are made through the sandbox's admin routes; the mugs family of icecat requires
container_material, description, main_color, name, price and sku on the ecommerce channel (USD, EUR)."""

from __future__ import annotations

import json

import httpx
import pytest

from tests.sandbox.pim_client import pim_api_client

API = "/api/rest/v1"


def _one(data) -> list[dict]:
    return [{"locale": None, "scope": None, "data": data}]


def _mug(identifier: str, *, prices: list[dict], description_locales: list[str]) -> dict:
    return {"identifier": identifier, "family": "mugs", "categories": ["master"], "values": {
        "name": _one(f"Mug {identifier}"), "container_material": _one("ceramic"), "main_color": _one("white"),
        "price": _one(prices),
        "description": [{"locale": loc, "scope": "ecommerce", "data": f"<p>{loc}</p>"} for loc in description_locales],
    }}


@pytest.fixture(scope="module")
def http():
    with pim_api_client() as client:
        both = [{"amount": "9.00", "currency": "USD"}, {"amount": "8.00", "currency": "EUR"}]
        for body in (_mug("cmpl-english", prices=both, description_locales=["en_US"]),
                     _mug("cmpl-usd-only", prices=both[:1], description_locales=["en_US", "fr_FR", "de_DE"]),
                     _mug("cmpl-all", prices=both, description_locales=["en_US", "fr_FR", "de_DE"])):
            made = client.post("/sandbox/products", json=body)
            assert made.status_code == 201, made.text
        yield client


def _scores(http: httpx.Client, identifier: str) -> dict[str, int]:
    answer = http.get(f"{API}/products/{identifier}", params={"with_completenesses": "true"})
    assert answer.status_code == 200, answer.text
    return {c["locale"]: c["data"] for c in answer.json()["completenesses"] if c["scope"] == "ecommerce"}


def _found(http: httpx.Client, condition: dict) -> set[str]:
    search = {"identifier": [{"operator": "STARTS WITH", "value": "cmpl-"}], "completeness": [condition]}
    answer = http.get(f"{API}/products", params={"limit": 100, "search": json.dumps(search)})
    assert answer.status_code == 200, answer.text
    return {p["identifier"] for p in answer.json()["_embedded"]["items"]}


def test_completeness_is_per_locale(http):
    # 6 requirements; the description only in English: 5/6 elsewhere
    assert _scores(http, "cmpl-english") == {"en_US": 100, "fr_FR": 83, "de_DE": 83}


def test_a_price_is_complete_with_every_currency_of_the_channel(http):
    assert _scores(http, "cmpl-usd-only") == {"en_US": 83, "fr_FR": 83, "de_DE": 83}
    assert _scores(http, "cmpl-all") == {"en_US": 100, "fr_FR": 100, "de_DE": 100}


def test_the_filter_on_one_locale_of_the_channel(http):
    def on(locales: list[str]) -> set[str]:
        return _found(http, {"operator": "GREATER OR EQUALS THAN ON ALL LOCALES", "value": 100,
                             "scope": "ecommerce", "locales": locales})

    assert on(["en_US"]) == {"cmpl-english", "cmpl-all"}
    assert on(["fr_FR"]) == {"cmpl-all"}
    assert on(["en_US", "fr_FR"]) == {"cmpl-all"}
    # the plain operator holds when ANY locale of the channel does
    assert _found(http, {"operator": ">=", "value": 100, "scope": "ecommerce"}) == {"cmpl-english", "cmpl-all"}
    assert _found(http, {"operator": ">=", "value": 80, "scope": "ecommerce"}) == \
        {"cmpl-english", "cmpl-all", "cmpl-usd-only"}
