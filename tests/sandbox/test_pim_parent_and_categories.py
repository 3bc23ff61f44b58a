"""Sandbox PIM fidelity needed by the import: a variant's `parent` comes back as the model's stored code
(Akeneo resolves the case-insensitive reference), and categories can be renamed, moved, added and removed
through the admin routes, with `updated` and positions as the API shows them."""

from __future__ import annotations

import csv
import json

import httpx
import pytest

from sandbox.pim import DEFAULT_CATALOG, create_app
from tests.servers import serve

API = "/api/rest/v1"


@pytest.fixture
def pim():
    app = create_app()
    with serve(app) as base_url, httpx.Client(base_url=base_url, timeout=30) as http:
        token = http.post("/api/oauth/v1/token", auth=("sandbox-client", "sandbox-secret"),
                          json={"grant_type": "password", "username": "admin", "password": "admin"})
        http.headers["Authorization"] = f"Bearer {token.json()['access_token']}"
        yield app, http


def _csv_parents() -> dict[str, str]:
    with open(DEFAULT_CATALOG / "products.csv", newline="", encoding="utf-8") as f:
        return {row["sku"]: row["parent"] for row in csv.DictReader(f, delimiter=";") if row["parent"]}


def test_variant_parent_is_the_models_stored_code(pim):
    _, http = pim
    parents = _csv_parents()
    miscased = sorted(sku for sku, parent in parents.items() if parent == "Model-tshirt-divided-blue")
    assert len(miscased) >= 4  # the fixture really names the parent with another case
    for sku in miscased:
        body = http.get(f"{API}/products/{sku}").json()
        assert body["parent"] == "model-tshirt-divided-blue", sku
    # lists too, and every variant's parent is a model code exactly as the models list spells it
    models = {m["code"] for m in _all(http, f"{API}/product-models")}
    variants = [p for p in _all(http, f"{API}/products-uuid") if p["parent"]]
    assert len(variants) == len(parents)
    assert {p["parent"] for p in variants} <= models


def test_parent_set_by_an_admin_patch_is_returned_as_stored(pim):
    _, http = pim
    # its size is a grey one's already: Akeneo refuses siblings with the same axis values
    taken = http.patch("/sandbox/products/Tshirt-divided-blue-s", json={"parent": "MODEL-TSHIRT-DIVIDED-GREY"})
    assert taken.status_code == 422 and "already has this value" in taken.json()["message"], taken.text
    assert http.get(f"{API}/products/Tshirt-divided-blue-s").json()["parent"] != "model-tshirt-divided-grey"
    response = http.patch("/sandbox/products/Tshirt-divided-blue-s", json={
        "parent": "MODEL-TSHIRT-DIVIDED-GREY", "values": {"size": [{"locale": None, "scope": None, "data": "xxl"}]}})
    assert response.status_code == 200, response.text
    assert response.json()["parent"] == "model-tshirt-divided-grey"
    assert http.get(f"{API}/products/Tshirt-divided-blue-s").json()["parent"] == "model-tshirt-divided-grey"


def _all(http: httpx.Client, path: str, **params) -> list[dict]:
    items, url = [], path
    query = {"limit": 100, **params}
    while url:
        body = http.get(url, params=query).json()
        items += body["_embedded"]["items"]
        url, query = body["_links"].get("next", {}).get("href"), None
    return items


def _children(http: httpx.Client, parent: str) -> list[tuple[str, int]]:
    search = json.dumps({"parent": [{"operator": "=", "value": parent}]})
    return [(c["code"], c["position"]) for c in _all(http, f"{API}/categories", search=search, with_position="true")]


def test_category_rename_move_add_remove(pim):
    app, http = pim
    before = {c["code"]: c for c in _all(http, f"{API}/categories")}
    renamed = http.patch("/sandbox/categories/cameras", json={"labels": {"en_US": "Photo", "de_DE": None}})
    assert renamed.status_code == 200, renamed.text
    cameras = http.get(f"{API}/categories/cameras").json()
    assert cameras["labels"] == {"en_US": "Photo", "fr_FR": "Caméras"}
    assert cameras["updated"] > before["cameras"]["updated"]
    since = json.dumps({"updated": [{"operator": ">", "value": before["cameras"]["updated"]}]})
    assert [c["code"] for c in _all(http, f"{API}/categories", search=since)] == ["cameras"]

    moved = http.patch("/sandbox/categories/webcams", json={"parent": "audio_video", "position": 1})
    assert moved.status_code == 200 and moved.json()["parent"] == "audio_video"
    assert _children(http, "audio_video")[:2] == [("webcams", 1), ("headphones", 2)]
    assert [c for c, _ in _children(http, "cameras")] == ["digital_cameras", "camcorders"]
    assert [p for _, p in _children(http, "cameras")] == [1, 2]

    reordered = http.patch("/sandbox/categories/camcorders", json={"position": 1})
    assert reordered.status_code == 200
    assert _children(http, "cameras") == [("camcorders", 1), ("digital_cameras", 2)]

    added = http.post("/sandbox/categories", json={"code": "drones", "parent": "cameras", "labels": {"en_US": "Drones"}})
    assert added.status_code == 201, added.text
    assert _children(http, "cameras")[-1] == ("drones", 3)
    assert http.post("/sandbox/categories", json={"code": "DRONES", "parent": "cameras"}).status_code == 422

    product = http.patch("/sandbox/products/10970033", json={"categories": ["drones", "webcams"]})
    assert product.status_code == 200, product.text
    removed = http.delete("/sandbox/categories/cameras")
    assert removed.status_code == 200 and set(removed.json()["deleted"]) == {
        "cameras", "digital_cameras", "camcorders", "drones"}
    assert http.get(f"{API}/categories/drones").status_code == 404
    assert http.get(f"{API}/products/10970033").json()["categories"] == ["webcams"]

    # refused edits change nothing
    assert http.patch("/sandbox/categories/audio_video", json={"parent": "headphones"}).status_code == 422
    assert http.patch("/sandbox/categories/audio_video", json={"parent": "nope"}).status_code == 422
    assert http.patch("/sandbox/categories/master", json={"parent": "sales"}).status_code == 422
    assert http.patch("/sandbox/categories/nope", json={}).status_code == 404
    assert http.get(f"{API}/categories/audio_video").json()["parent"] == "master"


def test_category_edits_do_not_leak_into_another_sandbox(pim):
    _, http = pim
    assert http.patch("/sandbox/categories/scanners", json={"labels": {"en_US": "Changed"}}).status_code == 200
    other = create_app()
    with serve(other) as url, httpx.Client(base_url=url, timeout=30) as second:
        token = second.post("/api/oauth/v1/token", auth=("sandbox-client", "sandbox-secret"),
                            json={"grant_type": "password", "username": "admin", "password": "admin"})
        headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
        assert second.get(f"{API}/categories/scanners", headers=headers).json()["labels"]["en_US"] == "Scanners"
