"""The mapping API over real HTTP, with the sandbox PIM (icecat catalog) and the sandbox BigCommerce: the
suggested defaults of a fresh tenant, saves and their versions, validation that names the field and the
accepted types and saves nothing, and a fuzz of PUT bodies (never a 500, never a partial save)."""

from __future__ import annotations

import asyncio
import copy
import json
import random

import httpx
import pytest

from service.clients.akeneo import AkeneoClient
from service.pim_schema import load_catalog
from service.store import mapping as mapping_store
from service.transform.mapping import FIELD_SPECS, suggest_mapping
from tests.config_env import (
    PIM_CLIENT,
    PIM_PASSWORD,
    PIM_SECRET,
    PIM_USER,
    client_of,
)
from tests.mapping.support import connect, fields_of, saved, with_value

PRICE = "pim_catalog_price_collection"


@pytest.fixture(scope="module")
def catalog(pim):
    async def read():
        async with AkeneoClient(pim[0], PIM_CLIENT, PIM_SECRET, PIM_USER, PIM_PASSWORD,
                                allow_private_addresses=True) as client:
            return await load_catalog(client)
    return asyncio.run(read())


@pytest.fixture
def merchant(service, redis_conn, pim):
    """A tenant with both connections green and the main configuration saved."""
    with client_of(service) as c:
        connect(c, pim[0])
        yield c


# --- connections ---------------------------------------------------------------------------------------


def test_nothing_before_the_pim_is_connected(service, redis_conn):
    with client_of(service) as c:
        for response in (c.get("/api/mapping"), c.put("/api/mapping", {"fields": {}}),
                         c.http.post("/api/mapping/preview", json={"identifier": "x"})):
            assert response.status_code == 409, response.text
            assert response.json()["error"] == "pim_not_connected"


def test_saving_and_preview_need_the_store_connection_too(service, redis_conn, pim):
    with client_of(service) as c:
        connect(c, pim[0], bigcommerce=False)
        assert c.get("/api/mapping").status_code == 200  # reading the choices needs only the PIM
        response = c.put("/api/mapping", {"fields": {"name": "name"}})
        assert response.status_code == 409 and response.json()["error"] == "bigcommerce_not_connected"
        response = c.http.post("/api/mapping/preview", json={"identifier": "1111111171"})
        assert response.status_code == 409 and response.json()["error"] == "bigcommerce_not_connected"
        assert saved(c) is None


# --- GET ------------------------------------------------------------------------------------------------


def test_a_fresh_tenant_gets_the_suggested_defaults(merchant, catalog):
    response = merchant.get("/api/mapping")
    assert response.status_code == 200, response.text
    doc = response.json()
    assert doc["saved"] is False and doc["version"] == 0
    assert doc["connections"] == {"pim": True, "bigcommerce": True}
    fields = fields_of(doc)
    assert list(fields) == list(FIELD_SPECS)
    suggested = suggest_mapping(catalog).to_json()
    assert {name: f["value"] for name, f in fields.items()} == suggested["fields"]
    assert all(f["value"] == f["suggested"] for f in fields.values())
    assert doc["families"] == suggested["families"]
    # What the icecat catalog makes obvious.
    assert fields["name"]["value"] == "name" and fields["sku"]["value"] == "sku"
    assert fields["price"]["value"] == "price" and fields["weight"]["value"] == "weight"
    assert fields["visibility"]["value"] == "enabled"
    assert fields["images"]["value"] and fields["custom_fields"]["max_items"] == 200
    assert {f["code"] for f in doc["family_list"]} >= {"clothing", "tshirts", "webcams"}
    assert saved(merchant) is None  # suggestions are in force without being stored


def test_each_field_offers_only_compatible_attributes(merchant, catalog):
    fields = fields_of(merchant.get("/api/mapping").json())
    for name, f in fields.items():
        accepts = set(FIELD_SPECS[name].accepts)
        assert f["accepts"] == list(FIELD_SPECS[name].accepts)
        offered = f["attributes"]
        assert offered, name
        assert all(a["type"] in accepts for a in offered), name
        expected = {c for c, a in catalog.attributes.items() if a["type"] in accepts}
        assert {a["code"] for a in offered} - {"enabled"} == expected, name
    prices = {a["code"] for a in fields["price"]["attributes"]}
    assert "price" in prices and "name" not in prices and "description" not in prices
    assert {a["type"] for a in fields["images"]["attributes"]} == {"pim_catalog_image"}


def test_the_catalog_is_cached_and_refresh_reads_it_again(merchant, pim):
    counts = pim[1].state.pim.request_counts
    merchant.get("/api/mapping")
    before = dict(counts)
    merchant.get("/api/mapping")
    assert dict(counts) == before  # the second page load did not touch the PIM
    assert merchant.get("/api/mapping?refresh=1").status_code == 200
    attributes = [k for k in counts if k.endswith("/attributes")]
    assert attributes and counts[attributes[0]] == before[attributes[0]] + 1


# --- PUT ------------------------------------------------------------------------------------------------


def test_put_round_trip_keeps_the_choice(merchant):
    doc = merchant.get("/api/mapping").json()
    edited = with_value(doc, "name", "erp_name")
    edited["families"] = {"clothing": {"name": "variation_name"}}
    response = merchant.put("/api/mapping", edited)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["saved"] is True and body["version"] == 1 and body["changed"] is True
    again = merchant.get("/api/mapping").json()
    assert again["saved"] is True and again["version"] == 1
    assert fields_of(again)["name"]["value"] == "erp_name"
    assert fields_of(again)["name"]["suggested"] == "name"
    assert again["families"] == {"clothing": {"name": "variation_name"}}
    assert body["mapping"] == again
    stored = saved(merchant)
    assert stored["version"] == 1 and stored["fields"]["name"] == "erp_name"
    # Everything else kept its suggested value.
    assert {k: v for k, v in stored["fields"].items() if k != "name"} == \
        {f["field"]: f["value"] for f in doc["fields"] if f["field"] != "name"}


def test_the_short_form_is_accepted_and_versions_increment(merchant):
    first = merchant.put("/api/mapping", {"fields": {"name": "name", "price": "price"}}).json()
    assert first["version"] == 1
    second = merchant.put("/api/mapping", {"fields": {"name": "erp_name", "price": "price"}}).json()
    assert second["version"] == 2 and second["changed"] is True
    same = merchant.put("/api/mapping", {"fields": {"name": "erp_name", "price": "price"}}).json()
    assert same["version"] == 2 and same["changed"] is False  # nothing changed: no re-evaluation
    assert mapping_store.mapping_versions(merchant.store, merchant.tenant) == [1, 2]
    assert mapping_store.get_mapping_version(merchant.store, merchant.tenant, 1)["mapping"]["fields"]["name"] == "name"
    assert mapping_store.get_mapping_version(merchant.store, merchant.tenant, 2)["by"] == "m@example.com"


def test_an_incompatible_attribute_is_refused_naming_the_field_and_the_accepted_types(merchant):
    doc = merchant.get("/api/mapping").json()
    response = merchant.put("/api/mapping", with_value(doc, "price", "description"))
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["error"] == "invalid" and set(body["fields"]) == {"price"}
    assert PRICE in body["fields"]["price"] and "pim_catalog_number" in body["fields"]["price"]
    assert "pim_catalog_textarea" in body["fields"]["price"]  # what it got
    assert saved(merchant) is None
    images = merchant.put("/api/mapping", with_value(doc, "images", ["picture", "name"]))
    assert images.status_code == 422 and "pim_catalog_image" in images.json()["fields"]["images"]
    assert saved(merchant) is None


def test_an_unknown_code_is_refused_and_nothing_is_saved(merchant):
    merchant.put("/api/mapping", {"fields": {"name": "name"}})
    doc = merchant.get("/api/mapping").json()
    edited = with_value(with_value(doc, "name", "erp_name"), "brand", "no_such_attribute")
    response = merchant.put("/api/mapping", edited)
    assert response.status_code == 422
    fields = response.json()["fields"]
    assert set(fields) == {"brand"} and "no_such_attribute" in fields["brand"]
    assert "pim_catalog_simpleselect" in fields["brand"]
    assert saved(merchant)["fields"]["name"] == "name" and saved(merchant)["version"] == 1  # not even the valid part
    for families, key in (({"no_such_family": {"name": "name"}}, "families.no_such_family"),
                          ({"clothing": {"price": "name"}}, "families.clothing.price"),
                          ({"clothing": {"no_such_field": "name"}}, "families.clothing.no_such_field")):
        response = merchant.put("/api/mapping", {"fields": {"name": "name"}, "families": families})
        assert response.status_code == 422 and key in response.json()["fields"], response.text
    assert saved(merchant)["version"] == 1


def test_a_stale_version_is_a_conflict(merchant):
    doc = merchant.get("/api/mapping").json()
    assert merchant.put("/api/mapping", with_value(doc, "name", "erp_name")).status_code == 200
    stale = merchant.put("/api/mapping", with_value(doc, "name", "variation_name"))  # still says version 0
    assert stale.status_code == 409 and stale.json()["error"] == "mapping_changed"
    assert stale.json()["current_version"] == 1
    assert saved(merchant)["fields"]["name"] == "erp_name"


def test_custom_fields_cap_is_enforced(merchant, catalog):
    textual = [c for c, a in catalog.attributes.items() if a["type"] in FIELD_SPECS["custom_fields"].accepts]
    ok = merchant.put("/api/mapping", {"fields": {"custom_fields": textual[:10]}})
    assert ok.status_code == 200 and saved(merchant)["fields"]["custom_fields"] == textual[:10]
    too_many = merchant.put("/api/mapping", {"fields": {"custom_fields": (textual * 5)[:201]}})
    assert too_many.status_code == 422 and "custom_fields" in too_many.json()["fields"]


# --- fuzz -----------------------------------------------------------------------------------------------

ODD_VALUES = [None, True, False, 0, -1, 1.5, 10**30, "", " ", "name ", "NAME", "\u0000", "\ud800", "a" * 5000,
              [], [None], [1, 2], ["name", "name"], {}, {"code": "name"}, [[["picture"]]], "enabled",
              "__proto__", "../../etc", ["picture"] * 300]


def random_json(rng: random.Random, depth: int = 0):
    kind = rng.randrange(7 if depth < 3 else 4)
    if kind == 0:
        return rng.choice(ODD_VALUES[:13])
    if kind == 1:
        return rng.choice(["name", "price", "picture", "sku", "weight", "brand", "clothing", "fields", "x"])
    if kind == 2:
        return rng.randint(-5, 5)
    if kind == 3:
        return None
    if kind == 4:
        return [random_json(rng, depth + 1) for _ in range(rng.randrange(4))]
    return {rng.choice(["fields", "families", "version", "name", "value", "field", "clothing", "images"]):
            random_json(rng, depth + 1) for _ in range(rng.randrange(4))}


def fuzz_bodies(doc: dict) -> list:
    bodies: list = [None, [], "text", 42, True, {"fields": None}, {"fields": "name"}, {"fields": [1, 2]},
                    {"fields": [{"field": 3, "value": "name"}]}, {"fields": [{"value": "name"}]},
                    {"fields": {"name": {"code": "name"}}}, {"families": []}, {"families": {"clothing": []}},
                    {"families": {"clothing": {"name": ["name", "erp_name"]}}},
                    {"version": "1"}, {"version": -1}, {"version": True}, {"version": 10**40},
                    {"fields": {"": "name"}}, {"fields": {"\ud800": "name"}}]
    for value in ODD_VALUES:
        for field in ("name", "images", "custom_fields", "visibility", "price", "variant_image"):
            bodies.append(with_value(doc, field, value))
        bodies.append({"fields": {"name": "name"}, "families": {"clothing": {"images": value}}})
        bodies.append({"fields": {"name": "name"}, "families": {str(value)[:20]: {"name": "name"}}})
    rng = random.Random(20261202)
    for _ in range(150):
        body = copy.deepcopy(doc)
        target = rng.choice(["field", "families", "top", "version"])
        if target == "field":
            entry = rng.choice(body["fields"])
            entry[rng.choice(["value", "field", "attributes"])] = random_json(rng)
        elif target == "families":
            body["families"] = random_json(rng)
        elif target == "version":
            body["version"] = random_json(rng)
        else:
            body = random_json(rng)
        bodies.append(body)
    return bodies


def test_fuzzed_put_bodies_never_fail_and_never_save_a_refusal(merchant):
    merchant.put("/api/mapping", {"fields": {"name": "name", "price": "price"}})
    doc = merchant.get("/api/mapping").json()
    for body in fuzz_bodies(doc):
        before = saved(merchant)
        raw = json.dumps(body)  # lone surrogates become \ud800 escapes, as a browser would send them
        response = merchant.put("/api/mapping", content=raw.encode(), headers={"Content-Type": "application/json"})
        assert response.status_code < 500, (raw[:300], response.text)
        assert response.headers["content-type"].startswith("application/json")
        if response.status_code != 200:
            assert saved(merchant) == before, raw[:300]
            assert response.json()["error"] in ("invalid", "mapping_changed"), response.text
        else:
            # Whatever was accepted is a mapping the page can show again.
            again = merchant.get("/api/mapping")
            assert again.status_code == 200
            doc = again.json()  # keep the version current


def test_raw_bodies_that_are_not_json(merchant):
    for raw in (b"", b"{", b"\xff\xfe", b"[" * 100000, b'{"fields": {"name": "name"}' + b" " * 10):
        response = merchant.put("/api/mapping", content=raw, headers={"Content-Type": "application/json"})
        assert response.status_code == 422, (raw[:20], response.text)
    huge = b'{"fields": {"name": "' + b"a" * (17 * 1024 * 1024) + b'"}}'
    response = merchant.put("/api/mapping", content=huge, headers={"Content-Type": "application/json"})
    assert response.status_code == 413
    assert saved(merchant) is None


def test_the_routes_are_in_the_openapi_document(service):
    schema = httpx.get(f"{service[1]}/openapi.json").json()
    assert {"get", "put"} <= set(schema["paths"]["/api/mapping"])
    assert "422" in schema["paths"]["/api/mapping"]["put"]["responses"]
    assert "404" in schema["paths"]["/api/mapping/preview"]["post"]["responses"]
