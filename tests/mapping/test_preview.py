"""The mapping preview over real HTTP (sandbox PIM with the icecat catalog, sandbox BigCommerce): it shows
exactly what the import builds for a product or a product model: the payload of build_* with the Context
of build_context (the function the import calls), image URLs signed for this tenant."""

from __future__ import annotations

import asyncio
import copy
import random

import pytest

from service.clients.akeneo import AkeneoClient
from service.clients.bigcommerce import BigCommerceClient
from service.media import read_media_token
from service.store import mapping as mapping_store
from service.sync_context import build_context, fetch_model_tree, fetch_product
from service.transform.product import build_product_model, build_simple_product
from tests.config_env import (
    BC_TOKEN,
    PIM_CLIENT,
    PIM_PASSWORD,
    PIM_SECRET,
    PIM_USER,
    STORE,
    client_of,
)
from tests.mapping.support import connect, fields_of, with_value

CAMERA = "10970033"   # digital camera: picture, weight in grams, categories
STICKER = "AKNSTK"    # the one simple product with a price (EUR and USD)
TWO_LEVELS = "apollon"  # root model, 4 sub-models (colour), 13 variants (size)
ONE_LEVEL = "amor"


@pytest.fixture
def merchant(service, redis_conn, pim):
    with client_of(service) as c:
        connect(c, pim[0])
        # Categories an earlier import created in the store: the preview names them as the import would.
        c.store.ledger(c.tenant).save_categories({
            "digital_cameras": {"code": "digital_cameras", "id": 21, "hash": "h", "visible": True},
            "goodies": {"code": "goodies", "id": 7, "hash": "h", "visible": True},
            "fujifilm": {"code": "fujifilm", "id": 8, "hash": "h", "visible": False}})  # hidden: not filed under
        yield c


def preview(client, **body):
    return client.http.post("/api/mapping/preview", json=body)


def import_plan(client, pim_url: str, bc_url: str, *, identifier: str | None = None, model: str | None = None):
    """What the import builds: its own clients, build_context, the PIM's data, build_*."""
    app = client.app

    async def build():
        async with AkeneoClient(pim_url, PIM_CLIENT, PIM_SECRET, PIM_USER, PIM_PASSWORD,
                                allow_private_addresses=True) as akeneo, \
                BigCommerceClient(STORE, BC_TOKEN, api_url=bc_url) as store_api:
            ids = {"digital_cameras": 21, "goodies": 7}  # what the import's category sync hands over
            ctx = await build_context(app.state.store, client.tenant, app.state.settings, pim=akeneo, bc=store_api,
                                      category_ids=ids)
            if identifier:
                return build_simple_product(await fetch_product(akeneo, identifier), ctx)
            tree = await fetch_model_tree(akeneo, model)
            return build_product_model(tree.model, tree.sub_models, tree.variants, ctx)

    return asyncio.run(build())


def unsigned(client, payload: dict) -> dict:
    """The payload with each signed media URL replaced by what it names, after checking it is this tenant's
    and points at this connector: the tokens carry their signing time, so two builds differ there only."""
    payload = copy.deepcopy(payload)
    secret, app_url = client.app.state.settings.secret_key, client.app.state.settings.app_url
    for holder in [*payload.get("images", []), *payload.get("variants", [])]:
        if holder.get("image_url"):  # "" is a variant's clear, no URL
            assert holder["image_url"].startswith(f"{app_url}/media/")
            tenant, code = read_media_token(secret, holder["image_url"].rsplit("/", 1)[1])
            assert tenant == client.tenant
            holder["image_url"] = f"media:{code}"
    return payload


def assert_same_as_import(client, answer: dict, plan) -> None:
    assert unsigned(client, answer["payload"]) == unsigned(client, plan.payload)
    assert answer["sku"] == plan.sku and answer["key"] == plan.key
    assert answer["content_hash"] == plan.content_hash
    assert answer["warnings"] == [{"item": w.item, "field": w.field, "message": w.message} for w in plan.warnings]
    assert answer["errors"] == [{"item": e.item, "field": e.field, "message": e.message} for e in plan.errors]
    assert answer["media"] == list(plan.media)


def test_preview_of_a_simple_product_is_what_the_import_sends(merchant, pim, bc):
    response = preview(merchant, identifier=CAMERA)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert_same_as_import(merchant, answer, import_plan(merchant, pim[0], bc[0], identifier=CAMERA))
    payload = answer["payload"]
    product = pim[1].state.pim.store.product(CAMERA)
    assert answer["sku"] == CAMERA and payload["sku"] == CAMERA
    assert payload["name"] == product["values"]["name"][0]["data"]
    assert payload["weight"] == pytest.approx(0.533)  # 533 g in a KGS store
    assert payload["categories"] == [21] and payload["type"] == "physical"
    assert [i["image_url"] for i in unsigned(merchant, payload)["images"]] == \
        ["media:" + product["values"]["picture"][0]["data"]]
    # No EUR price in the PIM: hidden at price 0, with a warning naming the price attribute.
    assert payload["price"] == 0 and payload["is_visible"] is False
    assert any(w["field"] == "price" and "price" in w["message"] for w in answer["warnings"])
    assert answer["mapping_version"] == 0 and answer["notes"] == []


def test_preview_uses_the_store_currency(merchant, pim, bc):
    answer = preview(merchant, identifier=STICKER).json()
    assert answer["payload"]["price"] == 2.0  # EUR, the sandbox store's currency (USD would be 3)
    assert answer["payload"]["categories"] == [7]
    assert_same_as_import(merchant, answer, import_plan(merchant, pim[0], bc[0], identifier=STICKER))


@pytest.mark.parametrize("code", [TWO_LEVELS, ONE_LEVEL])
def test_preview_of_a_product_model_is_what_the_import_sends(merchant, pim, bc, code):
    response = preview(merchant, model=code)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert_same_as_import(merchant, answer, import_plan(merchant, pim[0], bc[0], model=code))
    state = pim[1].state.pim.store
    leaves = {p["identifier"] for p in state.products.values() if any(a["code"] == code for a in state.ancestors(p))}
    assert {v["sku"] for v in answer["payload"]["variants"]} == leaves
    assert answer["key"] == f"model:{code}" and answer["sku"] not in leaves


def test_a_sub_model_or_a_variant_previews_its_root_model(merchant):
    whole = preview(merchant, model=TWO_LEVELS).json()
    sub = preview(merchant, model="apollon_blue").json()
    assert sub["key"] == whole["key"] and sub["sku"] == whole["sku"]
    variant = next(v["sku"] for v in whole["payload"]["variants"])
    answer = preview(merchant, identifier=variant).json()
    assert answer["key"] == whole["key"]
    assert answer["notes"] and TWO_LEVELS in answer["notes"][0]


def test_preview_of_unsaved_edits_changes_nothing_stored(merchant):
    doc = merchant.get("/api/mapping").json()
    edited = with_value(doc, "name", "sku")
    answer = preview(merchant, identifier=CAMERA, mapping=edited).json()
    assert answer["payload"]["name"] == CAMERA  # the edit is in the payload…
    assert mapping_store.get_mapping(merchant.store, merchant.tenant) is None  # …not in the store
    assert preview(merchant, identifier=CAMERA).json()["payload"]["name"] != CAMERA
    bad = preview(merchant, identifier=CAMERA, mapping=with_value(doc, "price", "name"))
    assert bad.status_code == 422 and "price" in bad.json()["fields"]


def test_preview_follows_the_saved_mapping_and_its_version(merchant, pim, bc):
    doc = merchant.get("/api/mapping").json()
    edited = with_value(doc, "custom_fields", ["release_date", "sensor_type", "total_megapixels"])
    edited["families"] = {"digital_cameras": {"name": "sku"}}
    assert merchant.put("/api/mapping", edited).status_code == 200
    answer = preview(merchant, identifier=CAMERA).json()
    assert answer["mapping_version"] == 1 and answer["payload"]["name"] == CAMERA  # the family override
    names = [f["name"] for f in answer["payload"]["custom_fields"]]
    assert names and all(isinstance(n, str) for n in names)
    before = preview(merchant, identifier=STICKER).json()["content_hash"]
    assert_same_as_import(merchant, answer, import_plan(merchant, pim[0], bc[0], identifier=CAMERA))
    # Any saved change changes every product's hash, even one whose payload it leaves alone.
    current = merchant.get("/api/mapping").json()
    warranty = "erp_name" if fields_of(current)["warranty"]["value"] != "erp_name" else None
    assert merchant.put("/api/mapping", with_value(current, "warranty", warranty)).status_code == 200
    after = preview(merchant, identifier=STICKER).json()
    assert after["mapping_version"] == 2 and after["content_hash"] != before


def test_a_product_outside_the_main_category_says_the_import_skips_it(merchant):
    response = merchant.put("/api/config/main", {"locale": "en_US", "channel": "ecommerce", "category": "cameras"})
    assert response.status_code == 200, response.text
    camera = preview(merchant, identifier=CAMERA).json()
    assert camera["notes"] == []  # a digital camera lies under "cameras"
    sticker = preview(merchant, identifier=STICKER).json()
    assert sticker["payload"]["sku"] == STICKER
    assert len(sticker["notes"]) == 1 and "not in the main category" in sticker["notes"][0]


def test_unknown_codes_are_404_with_a_clear_message(merchant):
    response = preview(merchant, identifier="no-such-product")
    assert response.status_code == 404
    assert "no-such-product" in response.json()["message"] and "identifier" in response.json()["message"]
    response = preview(merchant, model="no_such_model")
    assert response.status_code == 404 and "product model" in response.json()["message"]


@pytest.mark.parametrize("body, field", [
    ({}, "identifier"), ({"identifier": "a", "model": "b"}, "identifier"), ({"identifier": 12}, "identifier"),
    ({"model": ["amor"]}, "model"), ({"identifier": " "}, "identifier"), ({"model": ".."}, "model"),
    ({"identifier": "a\nb"}, "identifier"), ({"identifier": "x" * 300}, "identifier"),
    ({"identifier": "a", "mapping": "name"}, "mapping"), ({"identifier": "a", "mapping": [1]}, "mapping"),
])
def test_malformed_preview_requests_are_422(merchant, body, field):
    response = preview(merchant, **body)
    assert response.status_code == 422, response.text
    assert field in response.json()["fields"]


def test_preview_needs_the_main_configuration(service, redis_conn, pim):
    with client_of(service) as c:
        connect(c, pim[0], main=False)
        response = preview(c, identifier=CAMERA)
        assert response.status_code == 409 and response.json()["error"] == "main_not_configured"


def test_fuzzed_preview_bodies_never_fail(merchant):
    rng = random.Random(7)
    odd = ["%", "%2F", "a/b", "..", "./x", "#1", "?q=1", "é", "\u202e", "A" * 255, "1111111171 ", "AMOR",
           "Model-tshirt-divided-blue", "*", "\\", '"', "null", "0"]
    bodies: list = [{"identifier": v} for v in odd] + [{"model": v} for v in odd]
    for _ in range(20):
        body = {rng.choice(["identifier", "model", "mapping", "x"]): rng.choice(
            [*odd, None, 1, [], {}, {"fields": {"name": rng.choice(odd)}}]) for _ in range(rng.randint(1, 3))}
        bodies.append(body)
    for body in bodies:
        response = preview(merchant, **body)
        assert response.status_code in (200, 404, 422), (body, response.text)
        assert set(response.json()) >= ({"payload", "sku"} if response.status_code == 200 else {"error", "message"})
    assert mapping_store.get_mapping(merchant.store, merchant.tenant) is None


def test_previews_share_the_tenant_pim_token_and_free_their_slots(merchant, pim):
    counts = pim[1].state.pim.request_counts
    preview(merchant, identifier=CAMERA)
    grants = counts["POST /api/oauth/v1/token"]
    for code in (CAMERA, STICKER, CAMERA):
        assert preview(merchant, identifier=code).status_code == 200
    assert counts["POST /api/oauth/v1/token"] == grants  # the cached token, no password grant each
    assert not [k for k in merchant.store.redis.scan_iter("connector:slots:akeneo:*")
                if merchant.store.redis.zcard(k)]  # every slot given back
