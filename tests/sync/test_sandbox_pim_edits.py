"""The sandbox PIM's merchant edits the model-based test needs (sandbox/pim/edits.py), over HTTP."""

from __future__ import annotations

import httpx

from sandbox.pim import create_app
from tests.servers import serve
from tests.sync.catalog import write_catalog


def _token(client: httpx.Client) -> dict:
    answer = client.post("/api/oauth/v1/token", auth=("sandbox-client", "sandbox-secret"),
                         json={"grant_type": "password", "username": "admin", "password": "admin"})
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


def test_label_edits_and_an_identifier_rename(tmp_path):
    catalog = write_catalog(tmp_path / "catalog")
    app, other = create_app(catalog), create_app(catalog)
    with serve(app) as url, httpx.Client(base_url=url, timeout=30) as client:
        auth = _token(client)
        before = client.get("/api/rest/v1/products/HAT-1", headers=auth).json()
        assert client.patch("/sandbox/attributes/color", json={"labels": {"en_US": "Colour"}}).status_code == 200
        assert client.patch("/sandbox/attributes/color/options/blue",
                            json={"labels": {"en_US": "Navy"}}).status_code == 200
        assert client.get("/api/rest/v1/attributes/color", headers=auth).json()["labels"]["en_US"] == "Colour"
        option = client.get("/api/rest/v1/attributes/color/options/blue", headers=auth).json()
        assert option["labels"] == {"en_US": "Navy"}
        # a label change moves no product's `updated`
        assert client.get("/api/rest/v1/products/HAT-1", headers=auth).json()["updated"] == before["updated"]
        # refused edits change nothing
        assert client.patch("/sandbox/attributes/color", json={"labels": ["x"]}).status_code == 422
        assert client.patch("/sandbox/attributes/nope", json={"labels": {}}).status_code == 404
        assert client.patch("/sandbox/attributes/color/options/nope", json={"labels": {}}).status_code == 404

        renamed = client.post("/sandbox/products/HAT-1/rename", json={"identifier": "HAT-9"})
        assert renamed.status_code == 200, renamed.text
        assert client.get("/api/rest/v1/products/HAT-1", headers=auth).status_code == 404
        product = client.get(f"/api/rest/v1/products-uuid/{before['uuid']}", headers=auth).json()
        assert product["values"]["sku"][0]["data"] == "HAT-9" and product["updated"] > before["updated"]
        assert client.post("/sandbox/products/HAT-9/rename", json={"identifier": "HAT-2"}).status_code == 422
    # the fixture is shared by every sandbox of the process: another one still has the catalog's labels
    assert other.state.pim.catalog.attribute("color")["labels"]["en_US"] == "Color"
